package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// TestTaskPayloadsCarryStepKeys: every Task state passes the execution
// name, its state name and its entered time to the task function, and an
// Express machine says it is one.
func TestTaskPayloadsCarryStepKeys(t *testing.T) {
	for _, name := range sortedKeys(sources(t)) {
		def, m := compileSource(t, name)
		express := ExpressEligible(def)
		for stateName, st := range states(m) {
			if st["Type"] != "Task" {
				continue
			}
			p := st["Parameters"].(map[string]any)["Payload"].(map[string]any)
			for k, want := range map[string]string{"execution.$": "$$.Execution.Name", "stateName.$": "$$.State.Name", "enteredTime.$": "$$.State.EnteredTime"} {
				if p[k] != want {
					t.Errorf("%s/%s: payload %s = %v, want %q", name, stateName, k, p[k], want)
				}
			}
			if got, _ := p["express"].(bool); got != express {
				t.Errorf("%s/%s: payload express = %v, want %v", name, stateName, p["express"], express)
			}
		}
	}
}

func TestStepKey(t *testing.T) {
	payload := func(entered string, express bool) json.RawMessage {
		b, _ := json.Marshal(map[string]any{"action": "comment", "step": "note", "params": map[string]string{"text": "x"},
			"state": map[string]any{"conversationId": "c1"}, "execution": "wf-v1-abc", "stateName": "note",
			"enteredTime": entered, "express": express})
		return b
	}
	keys := map[string]string{}
	rec := &keyRecorder{}
	for _, tc := range []struct {
		name    string
		entered string
		express bool
	}{
		{"first", "2026-01-01T00:00:00.000Z", false},
		{"retry", "2026-01-01T00:00:00.000Z", false},
		{"loop", "2026-01-01T00:15:00.000Z", false},
		{"express-run-1", "2026-01-01T00:00:00.000Z", true},
		{"express-run-2", "2026-01-01T00:00:03.250Z", true},
	} {
		if _, err := HandleTask(t.Context(), rec, payload(tc.entered, tc.express)); err != nil {
			t.Fatal(err)
		}
		keys[tc.name] = rec.last.StepKey()
	}
	if keys["first"] == "" || keys["first"] != keys["retry"] {
		t.Errorf("a retry of one entry must keep the key: %q vs %q", keys["first"], keys["retry"])
	}
	if keys["loop"] == keys["first"] {
		t.Errorf("a second entry of the state must get another key: %q", keys["loop"])
	}
	if keys["express-run-1"] != keys["express-run-2"] || keys["express-run-1"] != "wf-v1-abc/note" {
		t.Errorf("two runs of one Express execution must share the key: %q vs %q", keys["express-run-1"], keys["express-run-2"])
	}
	if (Task{}).StepKey() != "" {
		t.Error("a payload without step fields has no key")
	}
}

type keyRecorder struct {
	Actions
	last Task
}

func (k *keyRecorder) Comment(_ context.Context, t Task, _ CommentParams) error {
	k.last = t
	return nil
}

// expressWorstSeconds is the oracle for the Express cap, written from the
// ASL alone (not from the compiler's plan): the longest path through the
// state graph (Next, Default, Choices, Catch), each Task costing every
// attempt at its TimeoutSeconds plus every back-off at its largest
// (IntervalSeconds × BackoffRate^k, capped by MaxDelaySeconds; FULL jitter
// only shortens it). A Task without TimeoutSeconds is unbounded (+Inf).
func expressWorstSeconds(t *testing.T, asl []byte) float64 {
	t.Helper()
	var m struct {
		StartAt string
		States  map[string]map[string]any
	}
	if err := json.Unmarshal(asl, &m); err != nil {
		t.Fatal(err)
	}
	num := func(v any, def float64) float64 {
		if f, ok := v.(float64); ok {
			return f
		}
		return def
	}
	cost := func(st map[string]any) float64 {
		switch st["Type"] {
		case "Task":
		case "Wait":
			return math.Inf(1) // Express machines must not wait
		default:
			return 0
		}
		timeout := num(st["TimeoutSeconds"], math.Inf(1))
		attempts, delays := 1.0, 0.0
		retries, _ := st["Retry"].([]any)
		for _, r := range retries {
			r := r.(map[string]any)
			interval, max := num(r["IntervalSeconds"], 1), num(r["MaxAttempts"], 3)
			rate, cap := num(r["BackoffRate"], 2), num(r["MaxDelaySeconds"], math.Inf(1))
			for k := 0; k < int(max); k++ {
				delays += math.Min(interval*math.Pow(rate, float64(k)), cap)
			}
			attempts += max
		}
		return attempts*timeout + delays
	}
	memo := map[string]float64{}
	onPath := map[string]bool{}
	var longest func(name string) float64
	longest = func(name string) float64 {
		if v, ok := memo[name]; ok {
			return v
		}
		if onPath[name] {
			return math.Inf(1) // a loop
		}
		onPath[name] = true
		defer delete(onPath, name)
		st := m.States[name]
		var next []string
		if n, ok := st["Next"].(string); ok {
			next = append(next, n)
		}
		if n, ok := st["Default"].(string); ok {
			next = append(next, n)
		}
		for _, key := range []string{"Choices", "Catch"} {
			list, _ := st[key].([]any)
			for _, c := range list {
				if n, ok := c.(map[string]any)["Next"].(string); ok {
					next = append(next, n)
				}
			}
		}
		best := 0.0
		for _, n := range next {
			best = math.Max(best, longest(n))
		}
		memo[name] = cost(st) + best
		return memo[name]
	}
	return longest(m.StartAt)
}

// TestExpressMachinesFitFiveMinutes: every generated Express machine's
// worst case, computed from its ASL, stays well under AWS's 5-minute cap.
func TestExpressMachinesFitFiveMinutes(t *testing.T) {
	defs := map[string]*Definition{}
	for name, path := range sources(t) {
		defs[name] = parseFile(t, path)
	}
	// Longer Express-shaped chains: the ones past the budget must be Standard.
	for n := 1; n <= 8; n++ {
		defs[fmt.Sprintf("chain-%d", n)] = chain(n, 100)
	}
	express := 0
	for _, name := range sortedKeys(defs) {
		def := defs[name]
		asl, err := Compile(def)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !ExpressEligible(def) {
			continue
		}
		express++
		worst := expressWorstSeconds(t, asl)
		t.Logf("%s: Express, worst case %.0f s", name, worst)
		if worst > ExpressMaxSeconds || worst >= ExpressHardLimitSeconds {
			t.Errorf("%s deploys as Express but may run %.0f s (budget %d s, AWS cap %d s)", name, worst, ExpressMaxSeconds, ExpressHardLimitSeconds)
		}
	}
	if express < 3 {
		t.Fatalf("only %d Express machines checked", express)
	}
}

// chain is a valid workflow of n comment steps with texts of size bytes.
func chain(n, size int) *Definition {
	def := &Definition{ID: "chain", Name: "Chain", Trigger: Trigger{Type: TriggerConversationOpened}}
	for i := 0; i < n; i++ {
		def.Steps = append(def.Steps, Step{ID: fmt.Sprintf("s%d", i), Type: StepComment, Text: strings.Repeat("x", size)})
	}
	return def
}

// TestDefinitionSizeLimit: a valid workflow whose machine would exceed Step
// Functions' 1,048,576 characters is refused by Validate and Compile,
// naming the step whose state crosses the limit. With stretches a chain of
// actions is one Task about the size of its source; what grows past the
// limit is a chain entered from two places (an ask's answer and its
// timeout), which each stretch carries whole. The per-step compile crosses
// it with one long chain.
func TestDefinitionSizeLimit(t *testing.T) {
	def := chain(300, 1900) // its source is under 1 MiB, its state machine over
	ask := Step{ID: "ask", Type: StepAsk, Question: "?", Options: []Option{{ID: "a", Label: "A"}, {ID: "b", Label: "B"}},
		Variable: "v", Timeout: Duration("1h"), OnTimeout: "s1", Next: "s0"}
	def.Steps = append([]Step{ask}, def.Steps...)
	for what, errs := range map[string][]FieldError{"Validate": Validate(def, nil), "Compile": compileErrors(def)} {
		if len(errs) != 1 || errs[0].Step != "s1" || !strings.Contains(errs[0].Message, "1048576") {
			t.Fatalf("%s: got %v", what, errs)
		}
		t.Logf("%s: %s", what, errs[0])
	}
	perStep := chain(300, 3000)
	if _, err := CompileWith(perStep, Options{}); err != nil {
		t.Fatalf("one stretch of 300 comments: %v", err)
	}
	_, err := CompileWith(perStep, Options{PerStep: true})
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0].Step == "s0" || ve.Errors[0].Step == "s299" {
		t.Fatalf("per step: the crossing step should be in the middle, got %v", err)
	}
	// Under the limit it compiles, and the deployed size is within it.
	small := chain(200, 3900)
	asl, err := Compile(small)
	if err != nil {
		t.Fatal(err)
	}
	arn := strings.Repeat("a", taskARNAllowance)
	if n := len(strings.ReplaceAll(string(asl), TaskFunctionPlaceholder, arn)); n > MaxDefinitionSize {
		t.Fatalf("deployed size %d", n)
	}
}

func compileErrors(def *Definition) []FieldError {
	_, err := Compile(def)
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Errors
	}
	return nil
}

// TestEncodeInput: no HTML escaping (a message of '<' stays its size), and
// an input over 256 KiB is refused naming the field that makes it so.
func TestEncodeInput(t *testing.T) {
	in := ExecutionInput{ConversationID: "c1", WorkflowID: "wf", Version: 1, Trigger: TriggerEvent{Type: TriggerMessageReceived, Text: strings.Repeat("<", 50_000)}}
	raw, err := EncodeInput(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 50_000+300 || strings.Contains(string(raw), `\u003c`) {
		t.Fatalf("encoded %d bytes", len(raw))
	}
	var back ExecutionInput
	if err := json.Unmarshal(raw, &back); err != nil || back.Trigger.Text != in.Trigger.Text {
		t.Fatalf("round trip: %v", err)
	}
	in.Form = map[string]string{"summary": strings.Repeat("é", MaxPayloadSize/2)}
	_, err = EncodeInput(in)
	var re *routing.Error
	if !errors.As(err, &re) || re.Code != routing.CodeInvalid || re.Field != "form.summary" {
		t.Fatalf("got %v", err)
	}
}
