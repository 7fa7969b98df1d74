package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/ids"
)

var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// script is a test Invoker: each state answers with a function of the call,
// and every call is recorded.
type script struct {
	mu      sync.Mutex
	answers map[string]func(ctx context.Context, inv Invocation) (json.RawMessage, error)
	calls   []Invocation
}

func newScript() *script {
	return &script{answers: map[string]func(context.Context, Invocation) (json.RawMessage, error){}}
}

// on sets the answer of a state.
func (s *script) on(state string, fn func(ctx context.Context, inv Invocation) (json.RawMessage, error)) *script {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[state] = fn
	return s
}

// returns makes a state answer with fixed JSON.
func (s *script) returns(state, result string) *script {
	return s.on(state, func(context.Context, Invocation) (json.RawMessage, error) { return json.RawMessage(result), nil })
}

// sequence makes a state answer with each outcome in turn (an error value
// fails the task), repeating the last one.
func (s *script) sequence(state string, outcomes ...any) *script {
	n := 0
	return s.on(state, func(context.Context, Invocation) (json.RawMessage, error) {
		o := outcomes[min(n, len(outcomes)-1)]
		n++
		if err, ok := o.(error); ok {
			return nil, err
		}
		return json.RawMessage(o.(string)), nil
	})
}

func (s *script) Invoke(ctx context.Context, inv Invocation) (json.RawMessage, error) {
	s.mu.Lock()
	s.calls = append(s.calls, inv)
	fn := s.answers[inv.StateName]
	s.mu.Unlock()
	if fn == nil {
		return nil, fmt.Errorf("no answer scripted for state %s", inv.StateName)
	}
	return fn(ctx, inv)
}

func (s *script) callsTo(state string) []Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Invocation
	for _, c := range s.calls {
		if c.StateName == state {
			out = append(out, c)
		}
	}
	return out
}

type harness struct {
	t      *testing.T
	clk    *clock.Virtual
	store  RunStore
	inv    *script
	runner *Runner
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewVirtual(t0), store: NewMemoryRunStore(), inv: newScript()}
	h.runner = NewRunner(h.store, h.clk, h.inv, &ids.Sequence{})
	return h
}

func (h *harness) start(name, def, input string) Execution {
	h.t.Helper()
	ex, err := h.runner.Start(context.Background(), StartInput{Name: name, MachineID: "test", Definition: []byte(def), Input: json.RawMessage(input)})
	if err != nil {
		h.t.Fatalf("Start(%s): %v", name, err)
	}
	checkHistory(h.t, ex)
	return ex
}

// checkHistory verifies the invariants every history keeps: ids 1..n in
// order, each pointing at the previous one, time never going back, and
// exactly one ExecutionStarted first.
func checkHistory(t *testing.T, ex Execution) {
	t.Helper()
	var last time.Time
	for i, ev := range ex.History {
		if ev.ID != int64(i+1) || ev.PreviousEventID != int64(i) {
			t.Fatalf("event %d (%s) has id %d, previous %d", i, ev.Type, ev.ID, ev.PreviousEventID)
		}
		if ev.Timestamp.Before(last) {
			t.Fatalf("event %d (%s) at %v goes back from %v", i, ev.Type, ev.Timestamp, last)
		}
		last = ev.Timestamp
		if (i == 0) != (ev.Type == EventExecutionStarted) {
			t.Fatalf("event %d is %s", i, ev.Type)
		}
	}
}

func (h *harness) describe(name string) Execution {
	h.t.Helper()
	ex, err := h.runner.Describe(context.Background(), name)
	if err != nil {
		h.t.Fatalf("Describe(%s): %v", name, err)
	}
	checkHistory(h.t, ex)
	return ex
}

// advance moves the clock and settles everything due.
func (h *harness) advance(d time.Duration) int {
	h.t.Helper()
	h.clk.Advance(d)
	n, err := h.runner.RunDue(context.Background())
	if err != nil {
		h.t.Fatalf("RunDue: %v", err)
	}
	return n
}

func mustJSONEqual(t *testing.T, what string, got json.RawMessage, want string) {
	t.Helper()
	if !EqualJSON(got, []byte(want)) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func wantStates(t *testing.T, ex Execution, want ...string) {
	t.Helper()
	if got := ex.StatesEntered(); !reflect.DeepEqual(got, want) {
		t.Errorf("states entered = %v, want %v", got, want)
	}
}

func wantStatus(t *testing.T, ex Execution, want Status) {
	t.Helper()
	if ex.Status != want {
		t.Fatalf("status = %s (error %q, cause %q), want %s", ex.Status, ex.Error, ex.Cause, want)
	}
}

// eventsOf returns the events of one type.
func eventsOf(ex Execution, typ string) []HistoryEvent {
	var out []HistoryEvent
	for _, ev := range ex.History {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}
