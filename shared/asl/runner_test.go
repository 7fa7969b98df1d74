package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

func scheduledTimes(ex Execution, state string) []time.Duration {
	var out []time.Duration
	for _, ev := range eventsOf(ex, EventTaskScheduled) {
		if ev.StateName == state {
			out = append(out, ev.Timestamp.Sub(t0))
		}
	}
	return out
}

func TestRetryBackoffOnVirtualClock(t *testing.T) {
	h := newHarness(t)
	transient := &TaskError{Name: "TransientError", Cause: "busy"}
	h.inv.sequence("T", transient, transient, transient, `{"ok": true}`)
	def := `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": true, "Parameters": {"retry.$": "$$.State.RetryCount"},
	  "Retry": [{"ErrorEquals": ["Other"], "MaxAttempts": 9},
	            {"ErrorEquals": ["TransientError"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3, "MaxDelaySeconds": 10}]}}}`
	ex := h.start("retry", def, `{}`)
	wantStatus(t, ex, StatusRunning)
	// Attempts at 0s, 2s, 2+6=8s, then 8+min(18,10)=18s.
	steps := []struct {
		advance time.Duration
		moved   int
	}{{time.Second, 0}, {time.Second, 1}, {5 * time.Second, 0}, {time.Second, 1}, {9 * time.Second, 0}, {time.Second, 1}}
	for i, s := range steps {
		if got := h.advance(s.advance); got != s.moved {
			t.Fatalf("step %d: RunDue advanced %d, want %d", i, got, s.moved)
		}
	}
	ex = h.describe("retry")
	wantStatus(t, ex, StatusSucceeded)
	got := scheduledTimes(ex, "T")
	want := []time.Duration{0, 2 * time.Second, 8 * time.Second, 18 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("attempts at %v, want %v", got, want)
	}
	attempts := h.inv.callsTo("T")
	for i, c := range attempts {
		if c.Attempt != i {
			t.Errorf("call %d has Attempt %d", i, c.Attempt)
		}
		mustJSONEqual(t, fmt.Sprintf("call %d parameters", i), c.Parameters, fmt.Sprintf(`{"retry": %d}`, i))
	}
	wantStates(t, ex, "T")
	if ex.Transitions() != 4 {
		t.Errorf("Transitions = %d, want 4 (1 entry + 3 retries)", ex.Transitions())
	}
}

func TestRetryFullJitterStaysWithinTheBackoff(t *testing.T) {
	h := newHarness(t)
	h.inv.sequence("T", &TaskError{Name: "E"}, &TaskError{Name: "E"}, `{}`)
	def := `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": true,
	  "Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 100, "BackoffRate": 1, "MaxAttempts": 2, "JitterStrategy": "FULL"}]}}}`
	h.start("jitter", def, `{}`)
	for range 2 {
		wake, ok := h.runner.NextWake()
		if !ok || wake.Sub(h.clk.Now()) > 100*time.Second {
			t.Fatalf("next retry at %v (now %v), want within 100 s", wake, h.clk.Now())
		}
		h.advance(wake.Sub(h.clk.Now()))
	}
	wantStatus(t, h.describe("jitter"), StatusSucceeded)
}

func TestRetryExhaustedFallsToCatch(t *testing.T) {
	h := newHarness(t)
	h.inv.sequence("T", &TaskError{Name: "TransientError", Cause: "still busy"})
	def := `{"StartAt": "T", "States": {
	  "T": {"Type": "Task", "Resource": "r", "Next": "Done",
	    "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1}],
	    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Record"}]},
	  "Record": {"Type": "Pass", "End": true},
	  "Done": {"Type": "Succeed"}}}`
	h.start("exhaust", def, `{"k": 1}`)
	h.advance(10 * time.Second)
	ex := h.describe("exhaust")
	wantStatus(t, ex, StatusSucceeded)
	wantStates(t, ex, "T", "Record")
	mustJSONEqual(t, "output", ex.Output, `{"k": 1, "error": {"Error": "TransientError", "Cause": "still busy"}}`)
	if got := scheduledTimes(ex, "T"); fmt.Sprint(got) != fmt.Sprint([]time.Duration{0, time.Second, 2 * time.Second}) {
		t.Errorf("attempts at %v", got)
	}
}

func TestRetryMaxAttemptsZeroAndFirstMatchingRetrierDecides(t *testing.T) {
	h := newHarness(t)
	h.inv.sequence("T", &TaskError{Name: "A"})
	def := `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": true,
	  "Retry": [{"ErrorEquals": ["A"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}]}}}`
	ex := h.start("zero", def, `{}`)
	wantStatus(t, ex, StatusFailed)
	if ex.Error != "A" || len(h.inv.callsTo("T")) != 1 {
		t.Errorf("error %q after %d calls", ex.Error, len(h.inv.callsTo("T")))
	}
}

func TestSyncTaskTimeout(t *testing.T) {
	h := newHarness(t)
	// The task takes 45 virtual seconds; TimeoutSeconds is 30.
	h.inv.on("T", func(context.Context, Invocation) (json.RawMessage, error) {
		h.clk.Advance(45 * time.Second)
		return json.RawMessage(`{}`), nil
	})
	def := `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "TimeoutSeconds": 30, "End": true,
	  "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"}, {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.e", "Next": "Late"}]},
	  "Wrong": {"Type": "Fail"}, "Late": {"Type": "Pass", "End": true}}}`
	ex := h.start("slow", def, `{}`)
	wantStatus(t, ex, StatusSucceeded)
	wantStates(t, ex, "T", "Late")
	mustJSONEqual(t, "output", ex.Output, `{"e": {"Error": "States.Timeout", "Cause": ""}}`)
	if len(eventsOf(ex, EventTaskTimedOut)) != 1 {
		t.Errorf("no TaskTimedOut event")
	}
	if exited := eventsOf(ex, "PassStateEntered"); len(exited) != 1 || !exited[0].Timestamp.Equal(t0.Add(45*time.Second)) {
		t.Errorf("Late entered at %v, want +45s (the task's duration counts)", exited)
	}
}

const askDef = `{"StartAt": "Ask", "States": {
  "Ask": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
    "Parameters": {"FunctionName": "${TaskFunctionArn}", "Payload": {"action": "ask", "TaskToken.$": "$$.Task.Token", "state.$": "$"}},
    "TimeoutSeconds": 300, "ResultPath": "$.vars.answer", "Next": "Done",
    "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "NoAnswer"},
              {"ErrorEquals": ["InvalidAnswer"], "ResultPath": "$.error", "Next": "Invalid"}]},
  "NoAnswer": {"Type": "Pass", "End": true},
  "Invalid": {"Type": "Pass", "End": true},
  "Done": {"Type": "Succeed"}}}`

func (h *harness) askToken(name string) string {
	h.t.Helper()
	calls := h.inv.callsTo("Ask")
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].ExecutionName == name {
			var p struct{ Payload struct{ TaskToken string } }
			if err := json.Unmarshal(calls[i].Parameters, &p); err != nil {
				h.t.Fatal(err)
			}
			if p.Payload.TaskToken == "" || p.Payload.TaskToken != calls[i].TaskToken {
				h.t.Fatalf("token in payload %q, in invocation %q", p.Payload.TaskToken, calls[i].TaskToken)
			}
			return calls[i].TaskToken
		}
	}
	h.t.Fatalf("Ask was not invoked for %s", name)
	return ""
}

func TestTaskTokenSuccess(t *testing.T) {
	h := newHarness(t)
	h.inv.returns("Ask", `{"sent": true}`)
	ex := h.start("q", askDef, `{"vars": {}}`)
	wantStatus(t, ex, StatusRunning)
	token := h.askToken("q")
	if sub := eventsOf(ex, EventTaskSubmitted); len(sub) != 1 {
		t.Errorf("TaskSubmitted events = %d", len(sub))
	}
	h.clk.Advance(100 * time.Second)
	if err := h.runner.SendTaskSuccess(context.Background(), token, json.RawMessage(`"billing"`)); err != nil {
		t.Fatal(err)
	}
	ex = h.describe("q")
	wantStatus(t, ex, StatusSucceeded)
	wantStates(t, ex, "Ask", "Done")
	mustJSONEqual(t, "output", ex.Output, `{"vars": {"answer": "billing"}}`)
	if s := eventsOf(ex, EventTaskSucceeded); len(s) != 1 || !s[0].Timestamp.Equal(t0.Add(100*time.Second)) {
		t.Errorf("TaskSucceeded = %+v", s)
	}
	err := h.runner.SendTaskSuccess(context.Background(), token, json.RawMessage(`"again"`))
	if !routing.IsNotFound(err) {
		t.Errorf("second SendTaskSuccess = %v, want NotFound", err)
	}
	if err := h.runner.SendTaskSuccess(context.Background(), "tok_unknown", json.RawMessage(`1`)); !routing.IsNotFound(err) {
		t.Errorf("unknown token = %v, want NotFound", err)
	}
	if _, ok := h.runner.NextWake(); ok {
		t.Errorf("timer left after success")
	}
}

func TestTaskTokenTimeoutAndFailure(t *testing.T) {
	h := newHarness(t)
	h.inv.returns("Ask", `null`)
	h.start("late", askDef, `{}`)
	token := h.askToken("late")
	h.advance(299 * time.Second)
	wantStatus(t, h.describe("late"), StatusRunning)
	h.advance(time.Second)
	ex := h.describe("late")
	wantStatus(t, ex, StatusSucceeded)
	wantStates(t, ex, "Ask", "NoAnswer")
	mustJSONEqual(t, "output", ex.Output, `{"error": {"Error": "States.Timeout", "Cause": ""}}`)
	if to := eventsOf(ex, EventTaskTimedOut); len(to) != 1 || !to[0].Timestamp.Equal(t0.Add(300*time.Second)) {
		t.Errorf("TaskTimedOut = %+v", to)
	}
	if err := h.runner.SendTaskSuccess(context.Background(), token, json.RawMessage(`"x"`)); !routing.IsNotFound(err) {
		t.Errorf("answer after timeout = %v, want NotFound", err)
	}

	// A late answer when RunDue has not run yet: the timeout wins.
	h.start("late2", askDef, `{}`)
	token = h.askToken("late2")
	h.clk.Advance(time.Hour)
	if err := h.runner.SendTaskSuccess(context.Background(), token, json.RawMessage(`"x"`)); !routing.IsNotFound(err) {
		t.Errorf("answer after the deadline = %v, want NotFound", err)
	}
	wantStates(t, h.describe("late2"), "Ask", "NoAnswer")

	h.start("bad", askDef, `{}`)
	token = h.askToken("bad")
	if err := h.runner.SendTaskFailure(context.Background(), token, "InvalidAnswer", "3 invalid answers"); err != nil {
		t.Fatal(err)
	}
	ex = h.describe("bad")
	wantStates(t, ex, "Ask", "Invalid")
	mustJSONEqual(t, "output", ex.Output, `{"error": {"Error": "InvalidAnswer", "Cause": "3 invalid answers"}}`)
}

func TestHeartbeat(t *testing.T) {
	h := newHarness(t)
	h.inv.returns("Work", `{}`)
	def := `{"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
	  "Parameters": {"t.$": "$$.Task.Token"}, "HeartbeatSeconds": 60, "TimeoutSeconds": 600, "End": true,
	  "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "TimedOut"}]}, "TimedOut": {"Type": "Pass", "End": true}}}`
	h.start("hb", def, `{}`)
	token := h.inv.callsTo("Work")[0].TaskToken
	for range 3 {
		h.advance(50 * time.Second)
		if err := h.runner.SendTaskHeartbeat(context.Background(), token); err != nil {
			t.Fatal(err)
		}
	}
	wantStatus(t, h.describe("hb"), StatusRunning)
	h.advance(60 * time.Second)
	ex := h.describe("hb")
	wantStates(t, ex, "Work", "TimedOut")
	mustJSONEqual(t, "output", ex.Output, `{"Error": "States.HeartbeatTimeout", "Cause": ""}`)
	if to := eventsOf(ex, EventTaskTimedOut); len(to) != 1 || !to[0].Timestamp.Equal(t0.Add(210*time.Second)) {
		t.Errorf("TaskTimedOut = %+v, want at +210s", to)
	}
}

func TestStop(t *testing.T) {
	h := newHarness(t)
	h.inv.returns("Ask", `null`)
	h.start("s", askDef, `{}`)
	token := h.askToken("s")
	if err := h.runner.Stop(context.Background(), "s", "Closed", "conversation closed"); err != nil {
		t.Fatal(err)
	}
	ex := h.describe("s")
	wantStatus(t, ex, StatusAborted)
	if ex.Error != "Closed" || ex.History[len(ex.History)-1].Type != EventExecutionAborted {
		t.Errorf("stopped: %q, last %s", ex.Error, ex.History[len(ex.History)-1].Type)
	}
	if err := h.runner.SendTaskSuccess(context.Background(), token, json.RawMessage(`1`)); !routing.IsNotFound(err) {
		t.Errorf("answer after stop = %v", err)
	}
	if err := h.runner.Stop(context.Background(), "s", "", ""); err != nil {
		t.Errorf("second Stop = %v", err)
	}
	if err := h.runner.Stop(context.Background(), "nope", "", ""); !routing.IsNotFound(err) {
		t.Errorf("Stop unknown = %v", err)
	}
	if _, ok := h.runner.NextWake(); ok {
		t.Errorf("timer left after stop")
	}
}

func TestStartIdempotentByName(t *testing.T) {
	h := newHarness(t)
	h.inv.returns("T", `1`)
	def := `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "Next": "W"}, "W": {"Type": "Wait", "Seconds": 60, "End": true}}}`
	first := h.start("same", def, `{"a": 1, "b": [1, 2]}`)
	again := h.start("same", def, `{"b": [1, 2], "a": 1}`)
	if again.ID != first.ID || len(again.History) != len(first.History) || len(h.inv.callsTo("T")) != 1 {
		t.Errorf("second Start ran again: %d vs %d events, %d calls", len(again.History), len(first.History), len(h.inv.callsTo("T")))
	}
	_, err := h.runner.Start(context.Background(), StartInput{Name: "same", MachineID: "test", Definition: []byte(def), Input: json.RawMessage(`{"a": 2}`)})
	if !routing.IsConflict(err, routing.ReasonExists) {
		t.Errorf("different input = %v, want conflict %s", err, routing.ReasonExists)
	}
	h.advance(time.Minute)
	done := h.start("same", def, `{"a": 1, "b": [1, 2]}`)
	wantStatus(t, done, StatusSucceeded)

	for _, name := range []string{"", strings.Repeat("a", 81), "has space", "slash/", "ünïcode"} {
		_, err := h.runner.Start(context.Background(), StartInput{Name: name, Definition: []byte(def)})
		if routing.ErrorCode(err) != routing.CodeInvalid {
			t.Errorf("Start(%q) = %v, want invalid_argument", name, err)
		}
	}
	if _, err := h.runner.Start(context.Background(), StartInput{Name: strings.Repeat("a", 80), Definition: []byte(def), Input: json.RawMessage(`{`)}); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Errorf("bad input = %v", err)
	}
	if _, err := h.runner.Start(context.Background(), StartInput{Name: "bad-def", Definition: []byte(`{}`)}); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Errorf("bad definition = %v", err)
	}
	if _, err := h.runner.Describe(context.Background(), "missing"); !routing.IsNotFound(err) {
		t.Errorf("Describe(missing) = %v", err)
	}
}

func TestReentrantInvoker(t *testing.T) {
	h := newHarness(t)
	// The Ask task answers its own question right away, through the runner.
	h.inv.on("Ask", func(ctx context.Context, inv Invocation) (json.RawMessage, error) {
		if err := h.runner.SendTaskSuccess(ctx, inv.TaskToken, json.RawMessage(`"fast"`)); err != nil {
			return nil, err
		}
		if err := h.runner.SendTaskSuccess(ctx, inv.TaskToken, json.RawMessage(`"twice"`)); !routing.IsNotFound(err) {
			t.Errorf("second answer in the same call = %v, want NotFound", err)
		}
		// Reading itself and starting another execution are fine too.
		if ex, err := h.runner.Describe(ctx, inv.ExecutionName); err != nil || ex.Status != StatusRunning {
			t.Errorf("Describe self = %v, %v", ex.Status, err)
		}
		if _, err := h.runner.Start(ctx, StartInput{Name: inv.ExecutionName + "-child", Definition: []byte(`{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}`)}); err != nil {
			t.Errorf("child Start = %v", err)
		}
		return nil, nil
	})
	ex := h.start("self", askDef, `{}`)
	wantStatus(t, ex, StatusSucceeded)
	mustJSONEqual(t, "output", ex.Output, `{"vars": {"answer": "fast"}}`)
	wantStatus(t, h.describe("self-child"), StatusSucceeded)
}

func TestSlowTaskDoesNotBlockOtherExecutions(t *testing.T) {
	h := newHarness(t)
	release := make(chan struct{})
	entered := make(chan struct{})
	h.inv.on("T", func(_ context.Context, inv Invocation) (json.RawMessage, error) {
		if inv.ExecutionName == "slow" {
			close(entered)
			<-release
		}
		return json.RawMessage(`{}`), nil
	})
	def := `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": true}}}`
	done := make(chan Execution)
	go func() { done <- h.start("slow", def, `{}`) }()
	<-entered
	// While "slow" is inside its task: another execution runs, RunDue and
	// Describe answer, and a second Start of "slow" waits for the first.
	wantStatus(t, h.start("fast", def, `{}`), StatusSucceeded)
	if _, err := h.runner.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ex := h.describe("slow"); ex.Status != StatusRunning {
		t.Errorf("slow is %s while its task runs", ex.Status)
	}
	second := make(chan Execution)
	go func() { second <- h.start("slow", def, `{}`) }()
	close(release)
	wantStatus(t, <-done, StatusSucceeded)
	if ex := <-second; ex.Status != StatusSucceeded || len(h.inv.callsTo("T")) != 2 {
		t.Errorf("second Start saw %s after %d calls", ex.Status, len(h.inv.callsTo("T")))
	}
}

func TestRunLoopWithRealClock(t *testing.T) {
	store := NewMemoryRunStore()
	inv := newScript()
	r := NewRunner(store, clock.Real{}, inv, &ids.Sequence{})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- r.Run(ctx) }()
	def := `{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}`
	if _, err := r.Start(ctx, StartInput{Name: "real", Definition: []byte(def)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(2 * time.Minute)
	for {
		ex, err := r.Describe(ctx, "real")
		if err != nil {
			t.Fatal(err)
		}
		if ex.Status == StatusSucceeded {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("the Run loop did not finish a 1 s wait (status %s)", ex.Status)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Errorf("Run returned %v", err)
	}
}
