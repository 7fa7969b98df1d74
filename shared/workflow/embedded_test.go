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

func (s *scriptedActions) Snapshot(_ context.Context, t Task) (Snapshot, error) {
	var out Snapshot
	return out, s.result(t, &out)
}
func (s *scriptedActions) Assign(_ context.Context, t Task, _ AssignParams) (AssignResult, error) {
	out := AssignResult{Status: AssignAssigned}
	return out, s.result(t, &out)
}
func (s *scriptedActions) Comment(_ context.Context, t Task, _ CommentParams) error {
	return s.result(t, nil)
}
func (s *scriptedActions) SendMessage(_ context.Context, t Task, _ SendMessageParams) error {
	return s.result(t, nil)
}
func (s *scriptedActions) UpdateContact(_ context.Context, t Task, _ UpdateContactParams) error {
	return s.result(t, nil)
}
func (s *scriptedActions) Escalate(_ context.Context, t Task, _ EscalateParams) error {
	return s.result(t, nil)
}
func (s *scriptedActions) Close(_ context.Context, t Task) error { return s.result(t, nil) }
func (s *scriptedActions) RecordFailure(_ context.Context, t Task, _ Failure) error {
	return s.result(t, nil)
}
func (s *scriptedActions) Ask(_ context.Context, t Task, _ AskParams) error {
	s.mu.Lock()
	s.tokens[t.Step] = t.TaskToken
	s.mu.Unlock()
	return nil
}

func TestEmbeddedRunnerScenarios(t *testing.T) {
	for _, c := range scenarios() {
		t.Run(c.name, func(t *testing.T) {
			responses := map[string][]response{}
			for k, v := range c.responses {
				responses[k] = append([]response(nil), v...)
			}
			acts := &scriptedActions{responses: responses, tokens: map[string]string{}}
			var calls []string
			var mu sync.Mutex
			inv := asl.InvokerFunc(func(ctx context.Context, in asl.Invocation) (json.RawMessage, error) {
				var p struct{ Payload json.RawMessage }
				if err := json.Unmarshal(in.Parameters, &p); err != nil {
					t.Errorf("parameters: %v", err)
				}
				var ti TaskInput
				_ = json.Unmarshal(p.Payload, &ti)
				mu.Lock()
				calls = append(calls, ti.Action+":"+string(ti.Params))
				mu.Unlock()
				out, err := HandleTask(ctx, acts, p.Payload)
				if err != nil {
					return nil, &asl.TaskError{Name: ErrorName(err), Cause: err.Error()}
				}
				return out, nil
			})
			clk := clock.NewVirtual(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
			runner := asl.NewRunner(asl.NewMemoryRunStore(), clk, inv, &ids.Sequence{})
			req := newRequest(t, c.src, c.input, nil)
			input, _ := json.Marshal(req.Input)
			ctx := context.Background()
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
			if string(ex.Status) != c.status {
				t.Fatalf("status %s (%s: %s), want %s; states %v", ex.Status, ex.Error, ex.Cause, c.status, ex.StatesEntered())
			}
			if got := ex.StatesEntered(); !reflect.DeepEqual(got, c.states) {
				t.Errorf("states\n got %v\nwant %v", got, c.states)
			}
			if c.calls != nil && !reflect.DeepEqual(normCalls(calls), normCalls(c.calls)) {
				t.Errorf("task calls\n got %v\nwant %v", calls, c.calls)
			}
		})
	}
}
