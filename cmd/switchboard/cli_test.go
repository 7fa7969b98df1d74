package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func runCLI(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), exitCode(err)
}

// -h is a request, not a mistake: exit 0. No command at all is a mistake: 2.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"dev", "-h"}, {"dev", "--help"}, {"token", "-h"}, {"bench", "-h"}, {"workflow", "simulate", "-h"}, {"workflow", "-h"}, {"help"}} {
		out, errOut, code := runCLI(args...)
		if code != 0 || out+errOut == "" {
			t.Errorf("%v: exit %d, output %q %q", args, code, out, errOut)
		}
	}
	if _, errOut, code := runCLI("dev", "-h"); !strings.Contains(errOut, "-log-format") {
		t.Errorf("dev -h (exit %d) does not show --log-format: %s", code, errOut)
	}
	for _, args := range [][]string{{}, {"nope"}, {"dev", "--nope"}, {"workflow"}} {
		if _, _, code := runCLI(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if _, _, code := runCLI("dev", "--log-format", "xml", "--data", t.TempDir()); code != 2 {
		t.Errorf("--log-format xml: exit %d", code)
	}
}

func TestUsageNamesEveryCommand(t *testing.T) {
	out, _, _ := runCLI("help")
	for _, cmd := range []string{"switchboard dev", "switchboard token", "switchboard workflow", "switchboard bench", "switchboard version"} {
		if !strings.Contains(out, cmd) {
			t.Errorf("usage lacks %q:\n%s", cmd, out)
		}
	}
}

func TestVersionFromBuildInfo(t *testing.T) {
	out, _, code := runCLI("version")
	if code != 0 || !regexp.MustCompile(`^(v\S+|dev(-[0-9a-f]{1,12}(-dirty)?)?)\n$`).MatchString(out) {
		t.Fatalf("version %q (exit %d)", out, code)
	}
}

// compile's result goes to stdout and its diagnostics to stderr, so
// `compile x.yaml > out.json` never writes an error into out.json.
func TestCompileDiagnosticsOnStderr(t *testing.T) {
	root := filepath.Join("..", "..", "docs", "examples", "s5-route-by-choice.yaml")
	out, errOut, code := runCLI("workflow", "compile", root)
	if code != 0 || errOut != "" || !json.Valid([]byte(out)) {
		t.Fatalf("valid: exit %d, stderr %q, stdout %.80q", code, errOut, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("id: bad\nname: Bad\ntrigger: {type: conversation_opened}\nsteps:\n  - {id: a, type: assign}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = runCLI("workflow", "compile", bad)
	if code != 2 || out != "" || errOut == "" {
		t.Fatalf("invalid: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// Issue 9.9: admins set the escalation order when they start the server; a
// wrong one is refused naming the flag, before anything starts.
func TestDevRefusesABadEscalationOrder(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"dev", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--escalation-order", "billing,urgent"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--escalation-order") || !strings.Contains(err.Error(), "urgent") {
		t.Fatalf("err = %v", err)
	}
}
