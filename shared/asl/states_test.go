package asl

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// Each state type, run through the Runner.

func TestPassState(t *testing.T) {
	tests := []struct {
		name, state, input, want string
	}{
		{"passes input", `{"Type": "Pass", "End": true}`, `{"a": 1}`, `{"a": 1}`},
		{"result replaces", `{"Type": "Pass", "Result": {"x": [1, 2]}, "End": true}`, `{"a": 1}`, `{"x": [1, 2]}`},
		{"falsy result", `{"Type": "Pass", "Result": false, "End": true}`, `{"a": 1}`, `false`},
		{"result at path", `{"Type": "Pass", "Result": "hi", "ResultPath": "$.greeting", "End": true}`, `{"a": 1}`, `{"a": 1, "greeting": "hi"}`},
		{"result path null", `{"Type": "Pass", "Result": "hi", "ResultPath": null, "End": true}`, `{"a": 1}`, `{"a": 1}`},
		{"parameters", `{"Type": "Pass", "Parameters": {"copy.$": "$.a", "fixed": "f", "nested": {"n.$": "$.a"}, "list": [{"l.$": "$.a"}]}, "End": true}`, `{"a": 1}`, `{"copy": 1, "fixed": "f", "nested": {"n": 1}, "list": [{"l": 1}]}`},
		{"input and output path", `{"Type": "Pass", "InputPath": "$.in", "ResultPath": "$.out", "OutputPath": "$.out", "End": true}`, `{"in": {"v": 2}}`, `{"v": 2}`},
		{"input path null", `{"Type": "Pass", "InputPath": null, "End": true}`, `{"a": 1}`, `{}`},
		{"output path null", `{"Type": "Pass", "OutputPath": null, "End": true}`, `{"a": 1}`, `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ex := h.start("e1", `{"StartAt": "P", "States": {"P": `+tc.state+`}}`, tc.input)
			wantStatus(t, ex, StatusSucceeded)
			mustJSONEqual(t, "output", ex.Output, tc.want)
			wantStates(t, ex, "P")
		})
	}
}

func TestSucceedAndFailStates(t *testing.T) {
	h := newHarness(t)
	ex := h.start("ok", `{"StartAt": "S", "States": {"S": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}}}`, `{"a": {"b": 5}}`)
	wantStatus(t, ex, StatusSucceeded)
	mustJSONEqual(t, "output", ex.Output, `5`)

	ex = h.start("fixed", `{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Oops", "Cause": "because"}}}`, `{}`)
	wantStatus(t, ex, StatusFailed)
	if ex.Error != "Oops" || ex.Cause != "because" || len(ex.Output) != 0 {
		t.Errorf("failure = %q %q output %s", ex.Error, ex.Cause, ex.Output)
	}

	ex = h.start("paths", `{"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('code {}', $.code)"}}}`, `{"e": "Dyn", "code": 7}`)
	wantStatus(t, ex, StatusFailed)
	if ex.Error != "Dyn" || ex.Cause != "code 7" {
		t.Errorf("failure = %q %q", ex.Error, ex.Cause)
	}
	last := ex.History[len(ex.History)-1]
	if last.Type != EventExecutionFailed || last.Error != "Dyn" {
		t.Errorf("last event = %+v", last)
	}
	if got := eventsOf(ex, "FailStateEntered"); len(got) != 1 {
		t.Errorf("FailStateEntered events = %d", len(got))
	}

	ex = h.start("badpath", `{"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e"}}}`, `{"e": 1}`)
	if ex.Status != StatusFailed || ex.Error != ErrRuntime {
		t.Errorf("non-string ErrorPath: %s %q", ex.Status, ex.Error)
	}
}

func TestChoiceState(t *testing.T) {
	def := `{"StartAt": "C", "States": {
	  "C": {"Type": "Choice", "InputPath": "$.data", "OutputPath": "$.keep", "Choices": [
	    {"And": [{"Variable": "$.team", "IsPresent": true}, {"Not": {"Variable": "$.team", "StringEquals": "sales"}}], "Next": "Team"},
	    {"Or": [{"Variable": "$.n", "NumericGreaterThan": 10}, {"Variable": "$.vip", "BooleanEquals": true}], "Next": "Big"}],
	    "Default": "Other"},
	  "Team": {"Type": "Pass", "Result": "team", "ResultPath": "$.route", "End": true},
	  "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.route", "End": true},
	  "Other": {"Type": "Pass", "Result": "other", "ResultPath": "$.route", "End": true}}}`
	tests := []struct {
		input, next string
	}{
		{`{"data": {"team": "support", "keep": {}}}`, "Team"},
		{`{"data": {"team": "sales", "n": 11, "keep": {}}}`, "Big"},
		{`{"data": {"vip": true, "n": 1, "keep": {}}}`, "Big"},
		{`{"data": {"n": 3, "vip": false, "keep": {}}}`, "Other"},
	}
	for i, tc := range tests {
		h := newHarness(t)
		ex := h.start("c"+string(rune('a'+i)), def, tc.input)
		wantStatus(t, ex, StatusSucceeded)
		wantStates(t, ex, "C", tc.next)
		mustJSONEqual(t, "output", ex.Output, `{"route": "`+strings.ToLower(tc.next)+`"}`)
		exited := eventsOf(ex, "ChoiceStateExited")
		if len(exited) != 1 || !EqualJSON(exited[0].Output, []byte(`{}`)) {
			t.Errorf("ChoiceStateExited = %+v, want output {} (OutputPath $.keep)", exited)
		}
	}

	h := newHarness(t)
	ex := h.start("nomatch", `{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "D"}]}, "D": {"Type": "Succeed"}}}`, `{}`)
	if ex.Status != StatusFailed || ex.Error != ErrNoChoiceMatched {
		t.Errorf("no match: %s %q", ex.Status, ex.Error)
	}
	ex = h.start("badvar", `{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": "a", "Next": "D"}], "Default": "D"}, "D": {"Type": "Succeed"}}}`, `{}`)
	if ex.Status != StatusFailed || ex.Error != ErrRuntime || !strings.Contains(ex.Cause, "$.x") {
		t.Errorf("missing variable: %s %q %q", ex.Status, ex.Error, ex.Cause)
	}
}

func TestWaitState(t *testing.T) {
	tests := []struct {
		name, state, input string
		wait               time.Duration
	}{
		{"seconds", `{"Type": "Wait", "Seconds": 3600, "Next": "D"}`, `{}`, time.Hour},
		{"seconds path", `{"Type": "Wait", "SecondsPath": "$.s", "Next": "D"}`, `{"s": 90}`, 90 * time.Second},
		{"timestamp", `{"Type": "Wait", "Timestamp": "2026-03-14T11:30:00Z", "Next": "D"}`, `{}`, 150 * time.Minute},
		{"timestamp path", `{"Type": "Wait", "TimestampPath": "$.at", "Next": "D"}`, `{"at": "2026-03-14T09:00:45Z"}`, 45 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			def := `{"StartAt": "W", "States": {"W": ` + tc.state + `, "D": {"Type": "Succeed"}}}`
			ex := h.start("w", def, tc.input)
			wantStatus(t, ex, StatusRunning)
			wake, ok := h.runner.NextWake()
			if !ok || !wake.Equal(t0.Add(tc.wait)) {
				t.Fatalf("NextWake = %v %v, want %v", wake, ok, t0.Add(tc.wait))
			}
			if n := h.advance(tc.wait - time.Second); n != 0 {
				t.Fatalf("RunDue before the wait ended advanced %d executions", n)
			}
			wantStatus(t, h.describe("w"), StatusRunning)
			if n := h.advance(time.Second); n != 1 {
				t.Fatalf("RunDue advanced %d executions, want 1", n)
			}
			ex = h.describe("w")
			wantStatus(t, ex, StatusSucceeded)
			wantStates(t, ex, "W", "D")
			mustJSONEqual(t, "output", ex.Output, tc.input)
			exited := eventsOf(ex, "WaitStateExited")
			if len(exited) != 1 || !exited[0].Timestamp.Equal(t0.Add(tc.wait)) {
				t.Errorf("WaitStateExited = %+v, want one at %v", exited, t0.Add(tc.wait))
			}
			if _, ok := h.runner.NextWake(); ok {
				t.Errorf("a timer is left after the execution ended")
			}
		})
	}

	h := newHarness(t)
	ex := h.start("past", `{"StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": "2020-01-01T00:00:00Z", "End": true}}}`, `{"k": 1}`)
	wantStatus(t, ex, StatusSucceeded)
	ex = h.start("badpath", `{"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}}`, `{"s": "soon"}`)
	if ex.Status != StatusFailed || ex.Error != ErrRuntime {
		t.Errorf("bad SecondsPath: %s %q", ex.Status, ex.Error)
	}
}

func TestLongWaitChainSettlesInOneRunDue(t *testing.T) {
	h := newHarness(t)
	def := `{"StartAt": "W1", "States": {
	  "W1": {"Type": "Wait", "Seconds": 3600, "Next": "W2"},
	  "W2": {"Type": "Wait", "Seconds": 7200, "Next": "T"},
	  "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "Next": "W3"},
	  "W3": {"Type": "Wait", "Seconds": 86400, "End": true}}}`
	h.inv.returns("T", `{"done": true}`)
	h.start("chain", def, `{}`)
	h.advance(48 * time.Hour)
	ex := h.describe("chain")
	wantStatus(t, ex, StatusSucceeded)
	wantStates(t, ex, "W1", "W2", "T", "W3")
	if want := t0.Add(27 * time.Hour); !ex.StopTime.Equal(want) {
		t.Errorf("StopTime = %v, want %v (logical time of the last wait)", ex.StopTime, want)
	}
	if sched := eventsOf(ex, EventTaskScheduled); len(sched) != 1 || !sched[0].Timestamp.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("TaskScheduled = %+v, want one at +3h", sched)
	}
}

func TestTaskStateAndLambdaEnvelope(t *testing.T) {
	h := newHarness(t)
	def := `{"StartAt": "Assign", "States": {
	  "Assign": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
	    "Parameters": {"FunctionName": "${TaskFunctionArn}", "Payload": {"action": "assign", "params": {"teamId.$": "$.form.team"}, "state.$": "$"}},
	    "ResultSelector": {"r.$": "$.Payload"}, "ResultPath": "$.assign", "Next": "Raw"},
	  "Raw": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f", "Payload": {}}, "ResultPath": "$.raw", "Next": "Plain"},
	  "Plain": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:plain", "ResultPath": "$.plain", "End": true}}}`
	h.inv.returns("Assign", `{"status": "assigned", "agentId": "agt_1"}`).returns("Raw", `"x"`).returns("Plain", `{"p": 1}`)
	ex := h.start("env", def, `{"form": {"team": "support"}}`)
	wantStatus(t, ex, StatusSucceeded)

	calls := h.inv.callsTo("Assign")
	if len(calls) != 1 {
		t.Fatalf("Assign called %d times", len(calls))
	}
	c := calls[0]
	if c.Resource != ResourceLambdaInvoke || c.ExecutionName != "env" || c.TaskToken != "" || c.Attempt != 0 || c.ExecutionID != ExecutionARN("test", "env") {
		t.Errorf("invocation = %+v", c)
	}
	mustJSONEqual(t, "parameters", c.Parameters, `{"FunctionName": "${TaskFunctionArn}", "Payload": {"action": "assign", "params": {"teamId": "support"}, "state": {"form": {"team": "support"}}}}`)

	var out struct {
		Assign struct{ R map[string]any } `json:"assign"`
		Raw    map[string]any             `json:"raw"`
		Plain  map[string]any             `json:"plain"`
	}
	if err := json.Unmarshal(ex.Output, &out); err != nil {
		t.Fatal(err)
	}
	if out.Assign.R["agentId"] != "agt_1" {
		t.Errorf("assign result = %v", out.Assign.R)
	}
	reqID := LambdaRequestID("env", "Raw", 1)
	wantEnvelope := `{"ExecutedVersion": "$LATEST", "Payload": "x", "StatusCode": 200,
	  "SdkHttpMetadata": {"AllHttpHeaders": {"Content-Type": ["application/json"], "X-Amz-Executed-Version": ["$LATEST"], "x-amzn-RequestId": ["` + reqID + `"]},
	    "HttpHeaders": {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": "` + reqID + `"}, "HttpStatusCode": 200},
	  "SdkResponseMetadata": {"RequestId": "` + reqID + `"}}`
	mustJSONEqual(t, "raw envelope", mustEncode(out.Raw), wantEnvelope)
	mustJSONEqual(t, "plain result", mustEncode(out.Plain), `{"p": 1}`)

	var types []string
	for _, ev := range ex.History {
		if ev.StateName == "Assign" || ev.Type == EventExecutionStarted {
			types = append(types, ev.Type)
		}
	}
	want := []string{EventExecutionStarted, "TaskStateEntered", EventTaskScheduled, EventTaskStarted, EventTaskSucceeded, "TaskStateExited"}
	if strings.Join(types, ",") != strings.Join(want, ",") {
		t.Errorf("events = %v, want %v", types, want)
	}
	if ex.Transitions() != 3 {
		t.Errorf("Transitions = %d, want 3", ex.Transitions())
	}
	for i, ev := range ex.History {
		if ev.ID != int64(i+1) || ev.PreviousEventID != int64(i) || !ev.Timestamp.Equal(t0) {
			t.Errorf("event %d = id %d prev %d at %v", i, ev.ID, ev.PreviousEventID, ev.Timestamp)
		}
	}
}

func TestTaskErrorsAndCatch(t *testing.T) {
	def := `{"StartAt": "T", "States": {
	  "T": {"Type": "Task", "Resource": "r", "Next": "Done", "Catch": [
	    {"ErrorEquals": ["Custom"], "ResultPath": "$.custom", "Next": "Recover"},
	    {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Recover"}]},
	  "Recover": {"Type": "Pass", "End": true},
	  "Done": {"Type": "Succeed"}}}`
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"named", &TaskError{Name: "Custom", Cause: "why"}, `{"in": 1, "custom": {"Error": "Custom", "Cause": "why"}}`},
		{"other named", &TaskError{Name: "Other", Cause: "c"}, `{"in": 1, "error": {"Error": "Other", "Cause": "c"}}`},
		{"plain error", errors.New("boom"), `{"in": 1, "error": {"Error": "States.TaskFailed", "Cause": "boom"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.inv.sequence("T", tc.err)
			ex := h.start("e", def, `{"in": 1}`)
			wantStatus(t, ex, StatusSucceeded)
			wantStates(t, ex, "T", "Recover")
			mustJSONEqual(t, "output", ex.Output, tc.want)
			if f := eventsOf(ex, EventTaskFailed); len(f) != 1 {
				t.Errorf("TaskFailed events = %d", len(f))
			}
		})
	}

	h := newHarness(t)
	h.inv.sequence("T", &TaskError{Name: "Uncaught", Cause: "x"})
	ex := h.start("uncaught", `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": true, "Catch": [{"ErrorEquals": ["Nope"], "Next": "T"}]}}}`, `{}`)
	if ex.Status != StatusFailed || ex.Error != "Uncaught" || ex.Cause != "x" {
		t.Errorf("uncaught: %s %q %q", ex.Status, ex.Error, ex.Cause)
	}

	// A catcher without ResultPath replaces the input with the error output.
	h.inv.sequence("T", &TaskError{Name: "E", Cause: "c"})
	ex = h.start("whole", `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": true, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "R"}]}, "R": {"Type": "Pass", "End": true}}}`, `{"a": 1}`)
	mustJSONEqual(t, "output", ex.Output, `{"Error": "E", "Cause": "c"}`)

	// States.Runtime is neither retried nor caught.
	ex = h.start("runtime", `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "InputPath": "$.missing", "End": true,
	  "Retry": [{"ErrorEquals": ["States.ALL"]}], "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "R"}]}, "R": {"Type": "Pass", "End": true}}}`, `{}`)
	if ex.Status != StatusFailed || ex.Error != ErrRuntime {
		t.Errorf("runtime: %s %q", ex.Status, ex.Error)
	}
	if len(h.inv.callsTo("T")) != 2 {
		t.Errorf("the task was invoked %d times in total, want 2 (not for the runtime failure)", len(h.inv.callsTo("T")))
	}
}

func TestResultPathMatchFailureIsCatchable(t *testing.T) {
	h := newHarness(t)
	h.inv.returns("T", `1`)
	ex := h.start("e", `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "ResultPath": "$.a.b", "End": true,
	  "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "ResultPath": "$.err", "Next": "R"}]}, "R": {"Type": "Pass", "End": true}}}`, `{"a": "text"}`)
	wantStatus(t, ex, StatusSucceeded)
	wantStates(t, ex, "T", "R")
	var out struct{ Err struct{ Error string } }
	if err := json.Unmarshal(ex.Output, &out); err != nil || out.Err.Error != ErrResultPathMatchFailure {
		t.Errorf("output = %s", ex.Output)
	}
}

func TestContextObject(t *testing.T) {
	h := newHarness(t)
	def := `{"StartAt": "Wait", "States": {
	  "Wait": {"Type": "Wait", "Seconds": 10, "Next": "Ctx"},
	  "Ctx": {"Type": "Pass", "Parameters": {
	    "id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "input.$": "$$.Execution.Input", "start.$": "$$.Execution.StartTime",
	    "state.$": "$$.State.Name", "entered.$": "$$.State.EnteredTime", "machine.$": "$$.StateMachine.Id",
	    "uuid.$": "States.UUID()", "who.$": "States.Format('{} in {}', $.who, $$.State.Name)"}, "End": true}}}`
	ex, err := h.runner.Start(context.Background(), StartInput{Name: "ctx", MachineID: "arn:aws:states:eu-west-1:123456789012:stateMachine:routing", Definition: []byte(def), Input: json.RawMessage(`{"who": "Ada"}`)})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, ex, StatusRunning) // in the Wait
	h.advance(10 * time.Second)
	ex = h.describe("ctx")
	wantStatus(t, ex, StatusSucceeded)
	var out map[string]any
	if err := json.Unmarshal(ex.Output, &out); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id":      "arn:aws:states:eu-west-1:123456789012:execution:routing:ctx",
		"name":    "ctx",
		"start":   "2026-03-14T09:00:00.000Z",
		"state":   "Ctx",
		"entered": "2026-03-14T09:00:10.000Z",
		"machine": "arn:aws:states:eu-west-1:123456789012:stateMachine:routing",
		"who":     "Ada in Ctx",
	}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("%s = %v, want %v", k, out[k], v)
		}
	}
	if in, _ := out["input"].(map[string]any); in["who"] != "Ada" {
		t.Errorf("input = %v", out["input"])
	}
	if u, _ := out["uuid"].(string); len(u) != 36 || u[14] != '4' {
		t.Errorf("uuid = %v", out["uuid"])
	}
	if ex.ID != "arn:aws:states:eu-west-1:123456789012:execution:routing:ctx" {
		t.Errorf("ID = %s", ex.ID)
	}
}

func TestExecutionTimeout(t *testing.T) {
	h := newHarness(t)
	ex := h.start("slow", `{"StartAt": "W", "TimeoutSeconds": 60, "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}`, `{}`)
	wantStatus(t, ex, StatusRunning)
	h.advance(59 * time.Second)
	wantStatus(t, h.describe("slow"), StatusRunning)
	h.advance(2 * time.Hour)
	ex = h.describe("slow")
	wantStatus(t, ex, StatusTimedOut)
	if !ex.StopTime.Equal(t0.Add(time.Minute)) || ex.History[len(ex.History)-1].Type != EventExecutionTimedOut {
		t.Errorf("stop %v, last event %s", ex.StopTime, ex.History[len(ex.History)-1].Type)
	}
}

func TestHistoryCap(t *testing.T) {
	h := newHarness(t)
	ex := h.start("loop", `{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}`, `{}`)
	wantStatus(t, ex, StatusFailed)
	if ex.Error != ErrRuntime || !strings.Contains(ex.Cause, "25000") {
		t.Errorf("error = %q %q", ex.Error, ex.Cause)
	}
	if len(ex.History) != MaxHistoryEvents {
		t.Errorf("history has %d events, want %d", len(ex.History), MaxHistoryEvents)
	}
	if last := ex.History[len(ex.History)-1]; last.Type != EventExecutionFailed || last.ID != MaxHistoryEvents {
		t.Errorf("last event = %s #%d", last.Type, last.ID)
	}
}
