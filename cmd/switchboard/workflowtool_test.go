package main

import (
	"bytes"
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
