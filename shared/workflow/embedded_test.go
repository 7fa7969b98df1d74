package workflow

import (
	"context"
	"encoding/json"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/asl"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/ids"
)

// These tests run the same scenarios as TestLocalSFNScenarios on the
// embedded ASL runner (shared/asl), wired the way a host wires it: the
// invoker calls HandleTask and fails the task with ErrorName(err). Waits,
// retries and question timeouts run on a virtual clock.

// namedErr is an action error with a chosen Step Functions error name.
type namedErr struct{ name, cause string }

func (e *namedErr) Error() string     { return e.cause }
func (e *namedErr) ErrorName() string { return e.name }

// scriptedActions answers each action from the scenario's responses, keyed
// by state name (the step id; RecordFailure for record_failure).
type scriptedActions struct {
	mu        sync.Mutex
	responses map[string][]response
	tokens    map[string]string // ask state -> task token awaiting an answer
	record    func(t Task, params any)
}

func (s *scriptedActions) next(state string) (response, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.responses[state]
	if len(q) == 0 {
		return response{}, false
	}
	s.responses[state] = q[1:]
	return q[0], true
}

func (s *scriptedActions) result(t Task, dst any) error {
	state := t.Step
	if t.Action == ActionRecordFailure {
		state = stateRecordFailure
	}
	r, ok := s.next(state)
	if !ok {
		return nil
	}
	if r.Error == ErrorTransient {
		return Transient(&namedErr{r.Error, r.Cause})
	}
	if r.Error != "" {
		return &namedErr{r.Error, r.Cause}
	}
	if dst != nil && r.Payload != nil {
		b, _ := json.Marshal(r.Payload)
		return json.Unmarshal(b, dst)
	}
	return nil
}

func (s *scriptedActions) note(t Task, p any) {
	if s.record != nil {
		s.record(t, p)
	}
}

func (s *scriptedActions) Snapshot(_ context.Context, t Task) (Snapshot, error) {
	s.note(t, struct{}{})
	var out Snapshot
	return out, s.result(t, &out)
}
func (s *scriptedActions) Assign(_ context.Context, t Task, p AssignParams) (AssignResult, error) {
	s.note(t, p)
	out := AssignResult{Status: AssignAssigned}
	return out, s.result(t, &out)
}
func (s *scriptedActions) Comment(_ context.Context, t Task, p CommentParams) error {
	s.note(t, p)
	return s.result(t, nil)
}
func (s *scriptedActions) SendMessage(_ context.Context, t Task, p SendMessageParams) error {
	s.note(t, p)
	return s.result(t, nil)
}
func (s *scriptedActions) UpdateContact(_ context.Context, t Task, p UpdateContactParams) error {
	s.note(t, p)
	return s.result(t, nil)
}
func (s *scriptedActions) Escalate(_ context.Context, t Task, p EscalateParams) error {
	s.note(t, p)
	return s.result(t, nil)
}
func (s *scriptedActions) Handoff(_ context.Context, t Task, p HandoffParams) error {
	s.note(t, p)
	return s.result(t, nil)
}
func (s *scriptedActions) Close(_ context.Context, t Task) error {
	s.note(t, struct{}{})
	return s.result(t, nil)
}
func (s *scriptedActions) RecordFailure(_ context.Context, t Task, _ Failure) error {
	s.note(t, struct{}{})
	return s.result(t, nil)
}
func (s *scriptedActions) Ask(_ context.Context, t Task, p AskParams) error {
	s.note(t, p)
	s.mu.Lock()
	s.tokens[t.Step] = t.TaskToken
	s.mu.Unlock()
	return nil
}

// invocation is one task the machine invoked: its state, payload and what
// the task function answered (for aws-local-stepfunctions to replay).
type invocation struct {
	State   string
	Payload TaskInput
	Output  json.RawMessage
	Err     *asl.TaskError
}

// embeddedRun is a scenario run the way a host runs it: the starter runs the
// prelude (PreludeOf), then the machine runs on the embedded runner.
type embeddedRun struct {
	status      string
	states      []string // states the machine entered (what Standard bills)
	calls       []string // every action, in order: "action:params"
	invocations []invocation
	input       ExecutionInput
	definition  []byte
	started     bool // a machine was started
}

func runEmbedded(t *testing.T, c scenario) embeddedRun {
	t.Helper()
	responses := map[string][]response{}
	for k, v := range c.responses {
		responses[k] = append([]response(nil), v...)
	}
	var mu sync.Mutex
	run := embeddedRun{}
	record := func(a Task, raw any) {
		b, _ := json.Marshal(raw)
		mu.Lock()
		run.calls = append(run.calls, a.Action+":"+string(b))
		mu.Unlock()
	}
	acts := &scriptedActions{responses: responses, tokens: map[string]string{}, record: record}
	inv := asl.InvokerFunc(func(ctx context.Context, in asl.Invocation) (json.RawMessage, error) {
		var p struct{ Payload json.RawMessage }
		if err := json.Unmarshal(in.Parameters, &p); err != nil {
			t.Errorf("parameters: %v", err)
		}
		var ti TaskInput
		_ = json.Unmarshal(p.Payload, &ti)
		out, err := HandleTask(ctx, acts, p.Payload)
		iv := invocation{State: ti.StateName, Payload: ti, Output: out}
		if err != nil {
			iv.Err = &asl.TaskError{Name: ErrorName(err), Cause: err.Error()}
		}
		mu.Lock()
		run.invocations = append(run.invocations, iv)
		mu.Unlock()
		if iv.Err != nil {
			return nil, iv.Err
		}
		return out, nil
	})
	clk := clock.NewVirtual(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	runner := asl.NewRunner(asl.NewMemoryRunStore(), clk, inv, &ids.Sequence{})
	req := newRequest(t, c.src, c.input, nil)
	run.input, run.definition = req.Input, req.Definition
	input, _ := json.Marshal(req.Input)
	ctx := context.Background()
	def := parseFile(t, sources(t)[c.src])
	if pre, ok := PreludeOf(def, req.Definition); ok {
		// what the dispatcher does: run the leading stretch, retry a
		// transient failure (the event is redelivered), record any other
		pt := Task{Action: ActionRun, Step: pre.Entry, ConversationID: req.Input.ConversationID, WorkflowID: def.ID, Version: 1,
			State: input, Execution: "run", StateName: pre.Entry, EnteredTime: "dispatcher"}
		var res RunResult
		var err error
		for attempt := 0; attempt < 5; attempt++ {
			if res, err = RunStretch(ctx, acts, pt, pre.Params); !IsTransient(err) {
				break
			}
		}
		if err != nil {
			rf := pt
			rf.Action, rf.Step, rf.StateName = ActionRecordFailure, "", stateRecordFailure
			record(rf, struct{}{})
			run.status = "FAILED"
			return run
		}
		if pre.Whole || res.Next == End {
			run.status = "SUCCEEDED"
			return run
		}
	}
	run.started = true
	ex, err := runner.Start(ctx, asl.StartInput{Name: "run", Definition: req.Definition, Input: input})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200 && ex.Status == asl.StatusRunning; i++ {
		answered := false
		acts.mu.Lock()
		pending := acts.tokens
		acts.tokens = map[string]string{}
		acts.mu.Unlock()
		for state, token := range pending {
			r, _ := acts.next(state)
			switch {
			case r.Answer != nil:
				answer, _ := json.Marshal(r.Answer)
				err = runner.SendTaskSuccess(ctx, token, answer)
				answered = true
			case r.Error == ErrorInvalidAnswer:
				err = runner.SendTaskFailure(ctx, token, ErrorInvalidAnswer, "too many invalid answers")
				answered = true
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !answered {
			wake, ok := runner.NextWake()
			if !ok {
				break
			}
			clk.Set(wake)
			if _, err := runner.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if ex, err = runner.Describe(ctx, "run"); err != nil {
			t.Fatal(err)
		}
	}
	run.status = string(ex.Status)
	run.states = ex.StatesEntered()
	return run
}

// TestEmbeddedRunnerScenarios runs every scenario the way a host does and
// checks the states the machine entered (the transitions Standard bills,
// written out in each scenario) and every action, in order.
func TestEmbeddedRunnerScenarios(t *testing.T) {
	for _, c := range scenarios() {
		t.Run(c.name, func(t *testing.T) {
			run := runEmbedded(t, c)
			if run.status != c.status {
				t.Fatalf("status %s, want %s; states %v", run.status, c.status, run.states)
			}
			if len(run.states) != len(c.states) || len(c.states) > 0 && !reflect.DeepEqual(run.states, c.states) {
				t.Errorf("states\n got %v\nwant %v", run.states, c.states)
			}
			if c.calls != nil && !reflect.DeepEqual(normCalls(run.calls), normCalls(c.calls)) {
				t.Errorf("task calls\n got %v\nwant %v", run.calls, c.calls)
			}
		})
	}
}
