package asl

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// stepKeyMachine: Task T reads its step key from the context object, is
// retried on Boom, and a Pass/Choice pair loops back to it once without
// waiting.
const stepKeyMachine = `{
  "StartAt": "T",
  "States": {
    "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"Payload": {"execution.$": "$$.Execution.Name", "stateName.$": "$$.State.Name",
        "enteredTime.$": "$$.State.EnteredTime", "retry.$": "$$.State.RetryCount"}},
      "ResultPath": null,
      "Retry": [{"ErrorEquals": ["Boom", "Lambda.ServiceException"], "IntervalSeconds": 1, "MaxAttempts": 3}],
      "Next": "Again"},
    "Again": {"Type": "Choice", "Choices": [{"Variable": "$.looped", "IsPresent": true, "Next": "Done"}], "Default": "Mark"},
    "Mark": {"Type": "Pass", "Result": true, "ResultPath": "$.looped", "Next": "T"},
    "Done": {"Type": "Succeed"}
  }
}`

type stepKey struct {
	Execution   string `json:"execution"`
	StateName   string `json:"stateName"`
	EnteredTime string `json:"enteredTime"`
	Retry       int    `json:"retry"`
}

func keysOf(t *testing.T, calls []Invocation) []stepKey {
	t.Helper()
	out := make([]stepKey, len(calls))
	for i, c := range calls {
		var p struct{ Payload stepKey }
		if err := json.Unmarshal(c.Parameters, &p); err != nil {
			t.Fatal(err)
		}
		out[i] = p.Payload
	}
	return out
}

// TestEnteredTimeStableAcrossRetriesNewPerEntry: a Retry keeps the state's
// EnteredTime (Step Functions does not re-enter the state), a second entry
// gets another one even when the clock has not moved.
func TestEnteredTimeStableAcrossRetriesNewPerEntry(t *testing.T) {
	h := newHarness(t)
	h.inv.sequence("T", &TaskError{Name: "Boom"}, `{}`, `{}`)
	h.start("keys", stepKeyMachine, `{}`)
	h.advance(5 * time.Second)
	ex := h.describe("keys")
	wantStatus(t, ex, StatusSucceeded)
	k := keysOf(t, h.inv.callsTo("T"))
	if len(k) != 3 {
		t.Fatalf("%d calls", len(k))
	}
	if k[0].EnteredTime != k[1].EnteredTime || k[1].Retry != 1 {
		t.Errorf("a retry must keep EnteredTime: %+v then %+v", k[0], k[1])
	}
	if k[2].EnteredTime == k[1].EnteredTime {
		t.Errorf("a second entry must get a new EnteredTime: %+v", k[2])
	}
	for _, x := range k {
		if x.Execution != "keys" || x.StateName != "T" {
			t.Errorf("context fields: %+v", x)
		}
	}
	// On a clock that never moves (no retry, so no back-off), too.
	h2 := newHarness(t)
	h2.inv.returns("T", `{}`)
	wantStatus(t, h2.start("still", stepKeyMachine, `{}`), StatusSucceeded)
	k = keysOf(t, h2.inv.callsTo("T"))
	if len(k) != 2 || k[0].EnteredTime == k[1].EnteredTime {
		t.Errorf("two entries at one instant share EnteredTime: %+v", k)
	}
}

// TestFailAfterEffectRedeliversSameEntry: a Standard Retry after an effect
// was committed re-delivers the same step (same step key fields).
func TestFailAfterEffectRedeliversSameEntry(t *testing.T) {
	h := newHarness(t)
	h.inv.returns("T", `{}`)
	first := true
	h.runner.SetFaults(Faults{FailAfterEffect: func(inv Invocation) bool {
		f := first
		first = false
		return f
	}})
	h.start("lost", stepKeyMachine, `{}`)
	h.advance(5 * time.Second)
	wantStatus(t, h.describe("lost"), StatusSucceeded)
	k := keysOf(t, h.inv.callsTo("T"))
	if len(k) != 3 || k[0].EnteredTime != k[1].EnteredTime || k[0].StateName != k[1].StateName {
		t.Fatalf("want the first entry delivered twice with one key, then the loop's entry: %+v", k)
	}
}

const oneTask = `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
  "Parameters": {"Payload": {"execution.$": "$$.Execution.Name", "stateName.$": "$$.State.Name", "enteredTime.$": "$$.State.EnteredTime"}},
  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
  "Caught": {"Type": "Pass", "End": true}}}`

// TestExpressStartsAreNotDeduplicated: an Express Start with a known name
// runs again (AWS: "Idempotency is not automatically managed"); Standard
// keeps answering the existing execution.
func TestExpressStartsAreNotDeduplicated(t *testing.T) {
	h := newHarness(t)
	h.inv.returns("T", `{}`)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		ex, err := h.runner.Start(ctx, StartInput{Name: "dup", MachineID: "m", Definition: []byte(oneTask), Input: json.RawMessage(`{}`), Express: true})
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, ex, StatusSucceeded)
	}
	if n := len(h.inv.callsTo("T")); n != 2 {
		t.Fatalf("two Express starts of one name ran the task %d times, want 2", n)
	}
	for _, k := range keysOf(t, h.inv.callsTo("T")) {
		if k.Execution != "dup" {
			t.Errorf("$$.Execution.Name = %q, want the started name", k.Execution)
		}
	}
	for i := 0; i < 2; i++ {
		if _, err := h.runner.Start(ctx, StartInput{Name: "std", MachineID: "m", Definition: []byte(oneTask), Input: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.inv.callsTo("T")); n != 3 {
		t.Fatalf("two Standard starts of one name ran the task %d times in all, want 3", n)
	}
}

// TestExpressDuplicateDelivery: the fault delivers one attempt twice.
func TestExpressDuplicateDelivery(t *testing.T) {
	h := newHarness(t)
	h.inv.returns("T", `{}`)
	h.runner.SetFaults(Faults{DuplicateDelivery: func(Invocation) bool { return true }})
	ex, err := h.runner.Start(context.Background(), StartInput{Name: "twice", Definition: []byte(oneTask), Express: true})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, ex, StatusSucceeded)
	k := keysOf(t, h.inv.callsTo("T"))
	if len(k) != 2 || k[0] != k[1] {
		t.Fatalf("want one attempt delivered twice with the same fields, got %+v", k)
	}
}

// TestExpressFiveMinuteCap: an Express execution still running after 5
// minutes ends TIMED_OUT with States.Timeout; its Catch does not see it.
func TestExpressFiveMinuteCap(t *testing.T) {
	h := newHarness(t)
	def := `{"StartAt": "W", "States": {
	  "W": {"Type": "Wait", "Seconds": 400, "Next": "T"},
	  "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"Payload": {}},
	    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
	  "Caught": {"Type": "Pass", "End": true}}}`
	h.inv.returns("T", `{}`)
	ex, err := h.runner.Start(context.Background(), StartInput{Name: "long", Definition: []byte(def), Express: true})
	if err != nil {
		t.Fatal(err)
	}
	h.advance(10 * time.Minute)
	ex = h.describe(ex.Name)
	wantStatus(t, ex, StatusTimedOut)
	if ex.Error != ErrTimeout || !ex.StopTime.Equal(t0.Add(5*time.Minute)) || len(h.inv.callsTo("T")) != 0 {
		t.Fatalf("got %s at %v, %d task calls", ex.Error, ex.StopTime, len(h.inv.callsTo("T")))
	}
	// Express machines cannot wait for task tokens.
	_, err = h.runner.Start(context.Background(), StartInput{Name: "tok", Express: true, Definition: []byte(`{"StartAt": "A", "States": {"A": {"Type": "Task",
	  "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "Parameters": {"Payload": {"t.$": "$$.Task.Token"}}, "End": true}}}`)})
	if routing.ErrorCode(err) != routing.CodeInvalid {
		t.Fatalf("token task on Express: %v", err)
	}
}

// TestDataLimitExceeded: a state payload over 256 KiB fails the execution
// with States.DataLimitExceeded, which States.ALL does not catch; an
// execution input or task output over it is refused.
func TestDataLimitExceeded(t *testing.T) {
	big := `{"text": "` + strings.Repeat("<", MaxPayloadSize) + `"}`
	h := newHarness(t)
	h.inv.returns("T", big)
	ex := h.start("big-result", oneTask, `{}`)
	wantStatus(t, ex, StatusFailed)
	if ex.Error != ErrDataLimitExceeded {
		t.Fatalf("error %s (%s)", ex.Error, ex.Cause)
	}
	wantStates(t, ex, "T")

	// Parameters that build a too large input.
	h.inv.returns("T", `{}`)
	def := `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
	  "Parameters": {"a.$": "$.text", "b.$": "$.text"}, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
	  "Caught": {"Type": "Pass", "End": true}}}`
	half := `{"text": "` + strings.Repeat("x", MaxPayloadSize/2+10) + `"}`
	ex = h.start("big-params", def, half)
	if ex.Status != StatusFailed || ex.Error != ErrDataLimitExceeded || len(h.inv.callsTo("T")) != 1 {
		t.Fatalf("got %s %s, %d calls", ex.Status, ex.Error, len(h.inv.callsTo("T")))
	}

	_, err := h.runner.Start(context.Background(), StartInput{Name: "big-input", Definition: []byte(oneTask), Input: json.RawMessage(big)})
	if routing.ErrorCode(err) != routing.CodeInvalid {
		t.Fatalf("oversized input: %v", err)
	}
	if errorMatches([]string{ErrAll, ErrTaskFailed}, ErrDataLimitExceeded) {
		t.Fatal("States.ALL must not match States.DataLimitExceeded")
	}
}
