package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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

// A definition with everything that suspends: a Wait, a retry back-off and
// a task token.
const durableDef = `{"StartAt": "Load", "States": {
  "Load": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f", "Payload": {"step": "load"}},
    "ResultSelector": {"r.$": "$.Payload"}, "ResultPath": "$.load", "Next": "Pause",
    "Retry": [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 30, "MaxAttempts": 2}]},
  "Pause": {"Type": "Wait", "Seconds": 7200, "Next": "Ask"},
  "Ask": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
    "Parameters": {"FunctionName": "f", "Payload": {"TaskToken.$": "$$.Task.Token"}}, "TimeoutSeconds": 86400, "ResultPath": "$.answer", "End": true}}}`

func TestBoltPersistenceAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.db")
	clk := clock.NewVirtual(t0)
	gen := &ids.Sequence{}
	inv := newScript()
	inv.sequence("Load", &TaskError{Name: "TransientError"}, `{"loaded": 1}`).returns("Ask", `sent, not JSON`)

	open := func() (*BoltRunStore, *Runner) {
		t.Helper()
		st, err := NewBoltRunStore(path)
		if err != nil {
			t.Fatal(err)
		}
		return st, NewRunner(st, clk, inv, gen)
	}
	ctx := context.Background()

	st, r := open()
	ex, err := r.Start(ctx, StartInput{Name: "durable", MachineID: "m", Definition: []byte(durableDef), Input: json.RawMessage(`{"c": "conv_1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, ex, StatusRunning)
	st.Close()

	// Reopen: the retry back-off is still scheduled.
	st, r = open()
	if wake, ok := r.NextWake(); !ok || !wake.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("NextWake after reopen = %v %v", wake, ok)
	}
	clk.Advance(30 * time.Second)
	if n, err := r.RunDue(ctx); n != 1 || err != nil {
		t.Fatalf("RunDue = %d, %v", n, err)
	}
	st.Close()

	// Reopen in the Wait.
	st, r = open()
	ex, err = r.Describe(ctx, "durable")
	if err != nil {
		t.Fatal(err)
	}
	wantStates(t, ex, "Load", "Pause")
	clk.Advance(3 * time.Hour)
	if _, err := r.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// Reopen waiting for the token, and answer through the new runner.
	st, r = open()
	defer st.Close()
	token := inv.callsTo("Ask")[0].TaskToken
	if owner, err := st.TokenOwner(ctx, token); err != nil || owner != "durable" {
		t.Fatalf("TokenOwner = %q, %v", owner, err)
	}
	if err := r.SendTaskSuccess(ctx, token, json.RawMessage(`{"choice": "yes"}`)); err != nil {
		t.Fatal(err)
	}
	ex, err = r.Describe(ctx, "durable")
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, ex, StatusSucceeded)
	wantStates(t, ex, "Load", "Pause", "Ask")
	mustJSONEqual(t, "output", ex.Output, `{"c": "conv_1", "load": {"r": {"loaded": 1}}, "answer": {"choice": "yes"}}`)
	if got := scheduledTimes(ex, "Load"); fmt.Sprint(got) != fmt.Sprint([]time.Duration{0, 30 * time.Second}) {
		t.Errorf("Load attempts at %v", got)
	}
	for i, ev := range ex.History {
		if ev.ID != int64(i+1) {
			t.Fatalf("event %d has id %d", i, ev.ID)
		}
	}
	if _, ok := r.NextWake(); ok {
		t.Errorf("timer left")
	}
}

func TestCrashDuringTaskRedoesTheAttempt(t *testing.T) {
	// A record saved just before a task call (the process then died) is due
	// immediately and RunDue invokes the task again.
	path := filepath.Join(t.TempDir(), "runs.db")
	clk := clock.NewVirtual(t0)
	ctx := context.Background()
	st, err := NewBoltRunStore(path)
	if err != nil {
		t.Fatal(err)
	}
	crash := make(chan struct{})
	blocked := newScript().on("Load", func(ctx context.Context, _ Invocation) (json.RawMessage, error) {
		close(crash)
		<-ctx.Done() // the "process" stops while the task runs
		return nil, ctx.Err()
	})
	r := NewRunner(st, clk, blocked, &ids.Sequence{})
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() {
		_, err := r.Start(cctx, StartInput{Name: "crash", Definition: []byte(durableDef)})
		done <- err
	}()
	<-crash
	cancel()
	if err := <-done; err == nil {
		t.Fatal("Start succeeded although its context was cancelled mid-task")
	}
	st.Close()

	st, err = NewBoltRunStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	inv := newScript().returns("Load", `{"again": true}`).returns("Ask", `null`)
	r = NewRunner(st, clk, inv, &ids.Sequence{})
	if n, err := r.RunDue(ctx); n != 1 || err != nil {
		t.Fatalf("RunDue = %d, %v", n, err)
	}
	ex, _ := r.Describe(ctx, "crash")
	wantStates(t, ex, "Load", "Pause")
	if len(inv.callsTo("Load")) != 1 || len(eventsOf(ex, EventTaskScheduled)) != 2 {
		t.Errorf("calls after restart %d, TaskScheduled events %d", len(inv.callsTo("Load")), len(eventsOf(ex, EventTaskScheduled)))
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

func TestConcurrentExecutions(t *testing.T) {
	for _, backend := range []string{"memory", "bolt"} {
		t.Run(backend, func(t *testing.T) {
			clk := clock.NewVirtual(t0)
			var store RunStore = NewMemoryRunStore()
			if backend == "bolt" {
				bs, err := NewBoltRunStore(filepath.Join(t.TempDir(), "runs.db"))
				if err != nil {
					t.Fatal(err)
				}
				defer bs.Close()
				store = bs
			}
			inv := newScript()
			var r *Runner
			var tokens sync.Map
			inv.returns("Load", `{"n": 1}`)
			inv.on("Ask", func(_ context.Context, in Invocation) (json.RawMessage, error) {
				tokens.Store(in.ExecutionName, in.TaskToken)
				return nil, nil
			})
			r = NewRunner(store, clk, inv, &ids.Sequence{})
			const n = 40
			ctx := context.Background()
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					name := fmt.Sprintf("c%02d", i)
					for range 2 { // the duplicate start must be harmless
						if _, err := r.Start(ctx, StartInput{Name: name, Definition: []byte(durableDef), Input: json.RawMessage(fmt.Sprintf(`{"i": %d}`, i))}); err != nil {
							t.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			clk.Advance(3 * time.Hour)
			// Settle timers from several goroutines at once.
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := r.RunDue(ctx); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			// Every answer is sent by 3 goroutines: exactly one wins.
			var wins atomic.Int32
			for i := range n {
				tok, ok := tokens.Load(fmt.Sprintf("c%02d", i))
				if !ok {
					t.Fatalf("c%02d never asked", i)
				}
				for range 3 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						err := r.SendTaskSuccess(ctx, tok.(string), json.RawMessage(`"ok"`))
						switch {
						case err == nil:
							wins.Add(1)
						case !routing.IsNotFound(err):
							t.Error(err)
						}
					}()
				}
			}
			wg.Wait()
			if wins.Load() != n {
				t.Errorf("%d answers accepted, want %d", wins.Load(), n)
			}
			for i := range n {
				ex, err := r.Describe(ctx, fmt.Sprintf("c%02d", i))
				if err != nil {
					t.Fatal(err)
				}
				wantStatus(t, ex, StatusSucceeded)
				mustJSONEqual(t, "output", ex.Output, fmt.Sprintf(`{"i": %d, "load": {"r": {"n": 1}}, "answer": "ok"}`, i))
			}
			if got := len(inv.callsTo("Load")); got != n {
				t.Errorf("Load called %d times, want %d", got, n)
			}
		})
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
