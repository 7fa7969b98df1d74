package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func example(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "docs", "examples", "s2-reassign-unanswered.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidate(t *testing.T) {
	var out bytes.Buffer
	if err := Validate(&out, example(t)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`valid workflow "reassign-unanswered"`, "5 steps (2 assign, 1 wait, 1 branch, 1 comment)", "express eligible: no"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q lacks %q", out.String(), want)
		}
	}

	bad := write(t, "bad.yaml", "id: x\nname: X\ntrigger: {type: conversation_opened}\nsteps:\n  - {id: w, type: wait, duration: soon}\n  - {id: e, type: escalate, escalationType: later}\n")
	out.Reset()
	err := Validate(&out, bad)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `step "w": duration:`) || !strings.Contains(lines[1], `step "e": escalationType:`) {
		t.Fatalf("problems:\n%s", out.String())
	}

	out.Reset()
	if err := Validate(&out, write(t, "x.yaml", "id: [")); !errors.Is(err, ErrInvalid) || !strings.Contains(out.String(), "invalid YAML") {
		t.Fatalf("syntax error: %v %q", err, out.String())
	}
	if err := Validate(&out, filepath.Join(t.TempDir(), "missing.yaml")); err == nil || errors.Is(err, ErrInvalid) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestCompileAndGraph(t *testing.T) {
	var out bytes.Buffer
	if err := Compile(&out, example(t)); err != nil {
		t.Fatal(err)
	}
	var asl map[string]any
	if err := json.Unmarshal(out.Bytes(), &asl); err != nil || asl["StartAt"] != "wait_for_reply" { // assign_first runs in the dispatcher
		t.Fatalf("compile output: %v %s", err, out.String())
	}
	out.Reset()
	if err := Graph(&out, example(t)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "flowchart TD\n") || !strings.Contains(out.String(), "assign_first") {
		t.Fatalf("graph output: %s", out.String())
	}
	out.Reset()
	if err := Compile(&out, write(t, "bad.json", `{"id":"x"}`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("compile of an invalid definition: %v", err)
	}
}

func TestStdin(t *testing.T) {
	data, err := os.ReadFile(example(t))
	if err != nil {
		t.Fatal(err)
	}
	stdin = bytes.NewReader(data)
	defer func() { stdin = os.Stdin }()
	var out bytes.Buffer
	if err := Graph(&out, "-"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "reassign") {
		t.Fatalf("graph from stdin: %s", out.String())
	}
}

// Issue 9.15: workflow simulate runs against the user's own teams and agents
// (--teams), not only the demo's; without them, such a workflow is refused.
func TestSimulateWithOwnTeams(t *testing.T) {
	dir := t.TempDir()
	teams := filepath.Join(dir, "teams.yaml")
	wf := filepath.Join(dir, "wf.yaml")
	if err := os.WriteFile(teams, []byte("teams:\n  - {id: vip, name: VIP desk, strategy: least_open}\nagents:\n  - {id: zoe, name: Zoe, maxConcurrent: 3, teams: [vip]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wf, []byte("id: to-vip\nname: To VIP\ntrigger: {type: conversation_opened}\nsteps:\n  - {id: a, type: assign, team: vip}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"workflow", "simulate", "--teams", teams, wf}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "status=open team=vip assignee=zoe") {
		t.Fatalf("trace:\n%s", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"workflow", "simulate", wf}, &out, &errOut); err == nil || !strings.Contains(err.Error(), `unknown team "vip"`) {
		t.Fatalf("without --teams: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("teams:\n  - {id: vip, colour: red}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"workflow", "simulate", "--teams", bad, wf}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--teams") {
		t.Fatalf("an unknown field: %v", err)
	}
}
