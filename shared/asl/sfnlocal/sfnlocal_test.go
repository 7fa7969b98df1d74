package sfnlocal

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/asl"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/ids"
)

// machine is one equivalence case: a definition, an input, how each task
// answers on our runner, and how to drive it to its end.
type machine struct {
	name  string
	def   string
	input string
	// answers per state; a *asl.TaskError fails the call; a string is JSON.
	answers map[string][]any
	// drive, if set, is called after Start with the runner and the task
	// tokens handed out so far; it must bring the execution to its end.
	drive func(t *testing.T, r *asl.Runner, clk *clock.Virtual, tokens func() []string)
	// want is the expected status and states entered on both runners, so
	// the cases also check the machines do what they are meant to.
	wantStatus asl.Status
	wantStates []string
}

const taskFn = `"FunctionName": "${TaskFunctionArn}"`

var machines = []machine{
	{
		name: "envelope-resultselector",
		def: `{"StartAt": "Assign", "States": {
		  "Assign": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
		    "Parameters": {` + taskFn + `, "Payload": {"action": "assign", "params": {"teamId.$": "$.form.team", "onlineOnly": true}, "state.$": "$"}},
		    "ResultSelector": {"r.$": "$.Payload", "code.$": "$.StatusCode"}, "ResultPath": "$.assign", "Next": "Assigned?"},
		  "Assigned?": {"Type": "Choice", "Choices": [{"Variable": "$.assign.r.status", "StringEquals": "assigned", "Next": "Comment"}], "Default": "Queue"},
		  "Comment": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
		    "Parameters": {` + taskFn + `, "Payload": {"action": "comment", "params": {"text": "Assigned to {{contact.name}}"}, "state.$": "$"}},
		    "OutputPath": "$.Payload", "Next": "Done"},
		  "Queue": {"Type": "Pass", "Result": "queued", "ResultPath": "$.queued", "End": true},
		  "Done": {"Type": "Succeed"}}}`,
		input:      `{"conversationId": "conv_1", "form": {"team": "technical_support"}, "vars": {}}`,
		answers:    map[string][]any{"Assign": {`{"status": "assigned", "agentId": "agt_7"}`}, "Comment": {`{"noted": true}`}},
		wantStatus: asl.StatusSucceeded,
		wantStates: []string{"Assign", "Assigned?", "Comment", "Done"},
	},
	{
		name: "raw-envelope-in-output",
		def: `{"StartAt": "Snapshot", "States": {
		  "Snapshot": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {` + taskFn + `, "Payload": {"action": "snapshot"}},
		    "ResultPath": "$.raw", "End": true}}}`,
		input:      `{"x": 1}`,
		answers:    map[string][]any{"Snapshot": {`{"conversation": {"status": "open"}}`}},
		wantStatus: asl.StatusSucceeded,
		wantStates: []string{"Snapshot"},
	},
	{
		name: "choice-and-not-ispresent",
		def: `{"StartAt": "Route", "States": {
		  "Route": {"Type": "Choice", "Choices": [
		      {"And": [{"Variable": "$.form.team", "IsPresent": true}, {"Not": {"Variable": "$.form.team", "StringEquals": "sales"}}], "Next": "ToTeam"},
		      {"Not": {"Variable": "$.ctx.secondsSinceLastIncoming", "IsPresent": true}, "Next": "NoMessages"},
		      {"Or": [{"Variable": "$.ctx.secondsSinceLastIncoming", "NumericGreaterThanEquals": 3600}, {"Variable": "$.vip", "BooleanEquals": true}], "Next": "Stale"}],
		    "Default": "Fresh"},
		  "ToTeam": {"Type": "Pass", "Parameters": {"team.$": "$.form.team"}, "ResultPath": "$.route", "End": true},
		  "NoMessages": {"Type": "Pass", "Result": "none", "ResultPath": "$.route", "End": true},
		  "Stale": {"Type": "Pass", "Result": "stale", "ResultPath": "$.route", "Next": "Check"},
		  "Check": {"Type": "Choice", "InputPath": "$.ctx", "OutputPath": "$", "Choices": [{"Variable": "$.secondsSinceLastIncoming", "NumericLessThan": 7200, "Next": "Fresh"}], "Default": "Fresh"},
		  "Fresh": {"Type": "Succeed"}}}`,
		input:      `{"form": {"team": "sales"}, "ctx": {"secondsSinceLastIncoming": 5400}, "vip": false}`,
		wantStatus: asl.StatusSucceeded,
		wantStates: []string{"Route", "Stale", "Check", "Fresh"},
	},
	{
		name: "waits",
		def: `{"StartAt": "Short", "States": {
		  "Short": {"Type": "Wait", "Seconds": 900, "Next": "ByPath"},
		  "ByPath": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Until"},
		  "Until": {"Type": "Wait", "TimestampPath": "$.until", "Next": "Send"},
		  "Send": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {` + taskFn + `, "Payload": {"action": "send_message"}},
		    "ResultSelector": {"sent.$": "$.Payload.ok"}, "ResultPath": "$.send", "End": true}}}`,
		input:      `{"delay": 3600, "until": "2026-03-15T09:00:00Z"}`,
		answers:    map[string][]any{"Send": {`{"ok": true}`}},
		drive:      settle(48 * time.Hour),
		wantStatus: asl.StatusSucceeded,
		wantStates: []string{"Short", "ByPath", "Until", "Send"},
	},
	{
		name: "retry-then-success",
		def: `{"StartAt": "Assign", "States": {
		  "Assign": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {` + taskFn + `, "Payload": {"action": "assign"}},
		    "ResultSelector": {"r.$": "$.Payload"}, "ResultPath": "$.assign", "End": true,
		    "Retry": [{"ErrorEquals": ["TransientError", "Lambda.ServiceException", "Lambda.TooManyRequestsException"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2}],
		    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}]},
		  "RecordFailure": {"Type": "Fail", "Error": "Unexpected", "Cause": "should not happen"}}}`,
		input:      `{}`,
		answers:    map[string][]any{"Assign": {&asl.TaskError{Name: "TransientError", Cause: "db busy"}, &asl.TaskError{Name: "Lambda.TooManyRequestsException", Cause: "throttled"}, `{"status": "pending"}`}},
		drive:      settle(time.Minute),
		wantStatus: asl.StatusSucceeded,
		wantStates: []string{"Assign"},
	},
	{
		name: "catch-to-recovery",
		def: `{"StartAt": "Escalate", "States": {
		  "Escalate": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {` + taskFn + `, "Payload": {"action": "escalate", "state.$": "$"}},
		    "ResultPath": null, "Next": "Close",
		    "Retry": [{"ErrorEquals": ["TransientError"], "MaxAttempts": 1}],
		    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}]},
		  "RecordFailure": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {` + taskFn + `, "Payload": {"action": "record_failure", "state.$": "$"}},
		    "ResultPath": null, "Next": "Failed"},
		  "Close": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {` + taskFn + `, "Payload": {"action": "close"}}, "End": true},
		  "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}}}`,
		input:      `{"conversationId": "conv_9"}`,
		answers:    map[string][]any{"Escalate": {&asl.TaskError{Name: "TransientError", Cause: "1"}, &asl.TaskError{Name: "NotAllowed", Cause: "conversation is closed"}}, "RecordFailure": {`{}`}},
		drive:      settle(time.Minute),
		wantStatus: asl.StatusFailed,
		wantStates: []string{"Escalate", "RecordFailure", "Failed"},
	},
	{
		name: "task-failed-catch-all",
		def: `{"StartAt": "T", "States": {
		  "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:plain", "Next": "Ok",
		    "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Ok"}, {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err", "Next": "Handled"}]},
		  "Handled": {"Type": "Pass", "OutputPath": "$.err", "End": true},
		  "Ok": {"Type": "Succeed"}}}`,
		input:      `{"a": [1, 2]}`,
		answers:    map[string][]any{"T": {fmt.Errorf("connection reset")}},
		wantStatus: asl.StatusSucceeded,
		wantStates: []string{"T", "Handled"},
	},
	{
		name: "wait-for-task-token",
		def: `{"StartAt": "Ask", "States": {
		  "Ask": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
		    "Parameters": {` + taskFn + `, "Payload": {"action": "ask", "params": {"text": "Which team?", "options": [{"id": "billing", "label": "Billing"}, {"id": "tech", "label": "Tech"}], "maxAttempts": 3}, "TaskToken.$": "$$.Task.Token", "state.$": "$"}},
		    "TimeoutSeconds": 3600, "ResultPath": "$.vars.team", "Next": "Which",
		    "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "NoAnswer"}]},
		  "Which": {"Type": "Choice", "Choices": [{"Variable": "$.vars.team", "StringEquals": "billing", "Next": "Billing"}], "Default": "Tech"},
		  "Billing": {"Type": "Pass", "Result": {"teamId": "billing"}, "ResultPath": "$.route", "End": true},
		  "Tech": {"Type": "Pass", "Result": {"teamId": "tech"}, "ResultPath": "$.route", "End": true},
		  "NoAnswer": {"Type": "Pass", "End": true}}}`,
		input:   `{"vars": {}}`,
		answers: map[string][]any{"Ask": {`{"asked": true}`}},
		drive: func(t *testing.T, r *asl.Runner, clk *clock.Virtual, tokens func() []string) {
			clk.Advance(10 * time.Minute)
			if err := r.SendTaskSuccess(context.Background(), tokens()[0], json.RawMessage(`"billing"`)); err != nil {
				t.Fatal(err)
			}
		},
		wantStatus: asl.StatusSucceeded,
		wantStates: []string{"Ask", "Which", "Billing"},
	},
	{
		name: "task-token-timeout-and-invalid-answer",
		def: `{"StartAt": "Ask", "States": {
		  "Ask": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
		    "Parameters": {` + taskFn + `, "Payload": {"action": "ask", "TaskToken.$": "$$.Task.Token"}},
		    "HeartbeatSeconds": 300, "ResultPath": "$.vars.answer", "Next": "Done",
		    "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 60, "MaxAttempts": 1}],
		    "Catch": [{"ErrorEquals": ["InvalidAnswer"], "ResultPath": "$.error", "Next": "Invalid"}]},
		  "Invalid": {"Type": "Fail", "Error": "NoValidAnswer", "Cause": "the contact gave no valid answer"},
		  "Done": {"Type": "Succeed"}}}`,
		input:   `{}`,
		answers: map[string][]any{"Ask": {`null`}},
		drive: func(t *testing.T, r *asl.Runner, clk *clock.Virtual, tokens func() []string) {
			clk.Advance(6 * time.Minute) // heartbeat timeout, retried after 60 s
			if _, err := r.RunDue(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(tokens()) != 2 {
				t.Fatalf("asked %d times, want 2", len(tokens()))
			}
			if err := r.SendTaskFailure(context.Background(), tokens()[1], "InvalidAnswer", "3 invalid answers"); err != nil {
				t.Fatal(err)
			}
		},
		wantStatus: asl.StatusFailed,
		wantStates: []string{"Ask", "Invalid"},
	},
	{
		name: "fail-state",
		def: `{"StartAt": "Check", "States": {
		  "Check": {"Type": "Choice", "Choices": [{"Variable": "$.conversation.status", "StringEquals": "closed", "Next": "Closed"}], "Default": "Open"},
		  "Closed": {"Type": "Fail", "Error": "ConversationClosed", "Cause": "the conversation was closed"},
		  "Open": {"Type": "Succeed"}}}`,
		input:      `{"conversation": {"status": "closed"}}`,
		wantStatus: asl.StatusFailed,
		wantStates: []string{"Check", "Closed"},
	},
	{
		name: "intrinsics-and-context",
		def: `{"StartAt": "Shape", "States": {
		  "Shape": {"Type": "Pass", "Parameters": {
		      "greeting.$": "States.Format('Hello {}, you have {} new messages', $.contact.name, $.count)",
		      "tags.$": "States.Array($.contact.name, 'vip', $.count)",
		      "next.$": "States.MathAdd($.count, 1)",
		      "n.$": "States.ArrayLength($.list)",
		      "has.$": "States.ArrayContains($.list, 2)",
		      "parsed.$": "States.StringToJson($.json)",
		      "text.$": "States.JsonToString($.list)",
		      "exec.$": "$$.Execution.Name",
		      "execId.$": "$$.Execution.Id",
		      "started.$": "$$.Execution.StartTime",
		      "state.$": "$$.State.Name",
		      "machine.$": "$$.StateMachine.Id",
		      "original.$": "$$.Execution.Input.count"},
		    "ResultPath": "$.shaped", "Next": "Pick"},
		  "Pick": {"Type": "Pass", "InputPath": "$.shaped", "Parameters": {"g.$": "$.greeting", "first.$": "$.tags[0]", "all.$": "$.tags[*]"}, "OutputPath": "$", "End": true}}}`,
		input:      `{"contact": {"name": "Ada"}, "count": 2, "list": [1, 2, 3], "json": "{\"k\": [true, null]}"}`,
		wantStatus: asl.StatusSucceeded,
		wantStates: []string{"Shape", "Pick"},
	},
	{
		// Step keys: the context fields a compiled task payload carries, a
		// Retry of the entry, and a second entry through a loop.
		name: "step-keys-retry-and-loop",
		def: `{"StartAt": "T", "States": {
		  "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
		    "Parameters": {"Payload": {"execution.$": "$$.Execution.Name", "stateName.$": "$$.State.Name", "enteredTime.$": "$$.State.EnteredTime"}},
		    "ResultPath": null, "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 2}], "Next": "Again"},
		  "Again": {"Type": "Choice", "Choices": [{"Variable": "$.looped", "IsPresent": true, "Next": "Done"}], "Default": "Mark"},
		  "Mark": {"Type": "Pass", "Result": true, "ResultPath": "$.looped", "Next": "T"},
		  "Done": {"Type": "Succeed"}}}`,
		input:      `{}`,
		answers:    map[string][]any{"T": {&asl.TaskError{Name: "Boom", Cause: "once"}, `{}`, `{}`}},
		drive:      settle(time.Minute),
		wantStatus: asl.StatusSucceeded,
		wantStates: []string{"T", "Again", "Mark", "T", "Again", "Done"},
	},
	{
		name: "paths-null-and-nested",
		def: `{"StartAt": "A", "States": {
		  "A": {"Type": "Pass", "Result": {"deep": 1}, "ResultPath": "$.new.nested.value", "Next": "B"},
		  "B": {"Type": "Pass", "Result": 0, "ResultPath": "$.zero", "Next": "C"},
		  "C": {"Type": "Pass", "InputPath": null, "ResultPath": "$.fromNull", "Next": "D"},
		  "D": {"Type": "Pass", "ResultPath": null, "OutputPath": "$.new", "Next": "E"},
		  "E": {"Type": "Choice", "Choices": [{"Variable": "$.nested.value.deep", "NumericEquals": 1, "Next": "F"}], "Default": "G"},
		  "F": {"Type": "Succeed", "OutputPath": "$.nested"},
		  "G": {"Type": "Fail", "Error": "Wrong"}}}`,
		input:      `{"keep": true}`,
		wantStatus: asl.StatusSucceeded,
		wantStates: []string{"A", "B", "C", "D", "E", "F"},
	},
	{
		name: "type-tests-and-comparisons",
		def: `{"StartAt": "C1", "States": {
		  "C1": {"Type": "Choice", "Choices": [{"Variable": "$.n", "IsNull": false, "Next": "C2"}], "Default": "Bad"},
		  "C2": {"Type": "Choice", "Choices": [{"Variable": "$.s", "NumericGreaterThan": 1, "Next": "Bad"}, {"Variable": "$.s", "IsString": true, "Next": "C3"}], "Default": "Bad"},
		  "C3": {"Type": "Choice", "Choices": [{"Variable": "$.missing", "IsPresent": false, "Next": "C4"}], "Default": "Bad"},
		  "C4": {"Type": "Choice", "Choices": [{"Variable": "$.when", "TimestampLessThan": "2026-03-14T10:00:00Z", "Next": "C5"}], "Default": "Bad"},
		  "C5": {"Type": "Choice", "Choices": [{"Variable": "$.s", "StringMatches": "conv_*", "Next": "Good"}], "Default": "Bad"},
		  "Good": {"Type": "Succeed"},
		  "Bad": {"Type": "Fail", "Error": "Bad"}}}`,
		input:      `{"n": 5, "s": "conv_123", "when": "2026-03-14T09:30:00Z"}`,
		wantStatus: asl.StatusSucceeded,
		wantStates: []string{"C1", "C2", "C3", "C4", "C5", "Good"},
	},
	{
		name: "no-choice-matched",
		def: `{"StartAt": "C", "States": {
		  "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "D"}]},
		  "D": {"Type": "Succeed"}}}`,
		input:      `{"x": 2}`,
		wantStatus: asl.StatusFailed,
		wantStates: []string{"C"},
	},
}

// settle advances the clock and runs what is due.
func settle(d time.Duration) func(*testing.T, *asl.Runner, *clock.Virtual, func() []string) {
	return func(t *testing.T, r *asl.Runner, clk *clock.Virtual, _ func() []string) {
		clk.Advance(d)
		if _, err := r.RunDue(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// runOurs runs one case on the embedded runner and returns the ended execution.
func runOurs(t *testing.T, m machine) asl.Execution {
	t.Helper()
	clk := clock.NewVirtual(time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	var tokens []string
	calls := map[string]int{}
	inv := asl.InvokerFunc(func(_ context.Context, in asl.Invocation) (json.RawMessage, error) {
		mu.Lock()
		defer mu.Unlock()
		if in.TaskToken != "" {
			tokens = append(tokens, in.TaskToken)
		}
		script := m.answers[in.StateName]
		if len(script) == 0 {
			return nil, fmt.Errorf("no answer for %s", in.StateName)
		}
		a := script[min(calls[in.StateName], len(script)-1)]
		calls[in.StateName]++
		if err, ok := a.(error); ok {
			return nil, err
		}
		return json.RawMessage(a.(string)), nil
	})
	r := asl.NewRunner(asl.NewMemoryRunStore(), clk, inv, &ids.Sequence{})
	ctx := context.Background()
	ex, err := r.Start(ctx, asl.StartInput{Name: m.name, MachineID: "arn:aws:states:eu-west-1:123456789012:stateMachine:" + m.name, Definition: []byte(m.def), Input: json.RawMessage(m.input)})
	if err != nil {
		t.Fatalf("%s: Start: %v", m.name, err)
	}
	if m.drive != nil {
		m.drive(t, r, clk, func() []string {
			mu.Lock()
			defer mu.Unlock()
			return append([]string(nil), tokens...)
		})
		if ex, err = r.Describe(ctx, m.name); err != nil {
			t.Fatal(err)
		}
	}
	if ex.Status != m.wantStatus || strings.Join(ex.StatesEntered(), ",") != strings.Join(m.wantStates, ",") {
		t.Errorf("%s on the embedded runner: %s through %v (error %q %q), want %s through %v",
			m.name, ex.Status, ex.StatesEntered(), ex.Error, ex.Cause, m.wantStatus, m.wantStates)
	}
	return ex
}

func TestEmbeddedRunnerMatchesAWSLocalStepFunctions(t *testing.T) {
	Require(t)
	ctx := context.Background()
	var cases []Case
	for _, m := range machines {
		cases = append(cases, Case{Definition: []byte(m.def), Execution: runOurs(t, m)})
	}
	results := CompareAll(ctx, t, cases...)
	for i, m := range machines {
		// Both must also match what the case intends.
		if results[i].Status != string(m.wantStatus) {
			t.Errorf("%s: reference status %s, want %s", m.name, results[i].Status, m.wantStatus)
		}
	}
}

func TestMachinesAreValidASL(t *testing.T) {
	Require(t)
	var defs [][]byte
	for _, m := range machines {
		defs = append(defs, []byte(m.def))
	}
	if err := ValidateAll(context.Background(), defs...); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRejectsInvalid(t *testing.T) {
	Require(t)
	err := Validate(context.Background(), []byte(`{"StartAt": "A", "States": {"A": {"Type": "Pass", "Nxt": "B"}}}`))
	if err == nil || !strings.Contains(err.Error(), "invalid") {
		t.Fatalf("Validate = %v, want the validator's complaint", err)
	}
}

func TestHarnessReportsDifferences(t *testing.T) {
	Require(t)
	ctx := context.Background()
	def := []byte(`{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f", "Payload": {}}, "OutputPath": "$.Payload", "End": true}}}`)
	res, err := Run(ctx, def, json.RawMessage(`{}`), map[string][]json.RawMessage{"T": {json.RawMessage(`{"v": 1}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "SUCCEEDED" || !asl.EqualJSON(res.Output, []byte(`{"v": 1}`)) || strings.Join(res.States, ",") != "T" {
		t.Fatalf("harness result = %+v", res)
	}
	// A different outcome on our side is reported.
	ours := asl.Execution{Name: "x", Status: asl.StatusSucceeded, Output: json.RawMessage(`{"v": 2}`),
		History: []asl.HistoryEvent{{Type: "TaskStateEntered", StateName: "T"}}}
	if d := Diff(ours, res); len(d) != 1 || !strings.Contains(d[0], "output") {
		t.Errorf("Diff = %v, want one output difference", d)
	}
	// Too few scripted results is a harness error, not a silent pass.
	if _, err := Run(ctx, def, nil, nil); err == nil || !strings.Contains(err.Error(), "no result scripted") {
		t.Errorf("Run without results = %v", err)
	}
	// A failing task through the replay format.
	res, err = Run(ctx, def, nil, map[string][]json.RawMessage{"T": {TaskFailure("Boom", "bad")}})
	if err != nil || res.Status != "FAILED" || res.Error != "Boom" || res.Cause != "bad" {
		t.Errorf("failing task = %+v, %v", res, err)
	}
}
