package aslruns_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/asl"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store/bolt/aslruns"
)

var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// script is the tests' asl.Invoker: a function per state, every call kept.
type script struct {
	mu    sync.Mutex
	fns   map[string]asl.InvokerFunc
	calls map[string][]asl.Invocation
}

func newScript() *script {
	return &script{fns: map[string]asl.InvokerFunc{}, calls: map[string][]asl.Invocation{}}
}

func (s *script) on(state string, fn asl.InvokerFunc) *script {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fns[state] = fn
	return s
}

func (s *script) returns(state, result string) *script {
	return s.on(state, func(context.Context, asl.Invocation) (json.RawMessage, error) { return json.RawMessage(result), nil })
}

// failsOnce makes state fail with err on its first call, then return result.
func (s *script) failsOnce(state string, err error, result string) *script {
	first := true
	return s.on(state, func(context.Context, asl.Invocation) (json.RawMessage, error) {
		if first {
			first = false
			return nil, err
		}
		return json.RawMessage(result), nil
	})
}

func (s *script) Invoke(ctx context.Context, inv asl.Invocation) (json.RawMessage, error) {
	s.mu.Lock()
	s.calls[inv.StateName] = append(s.calls[inv.StateName], inv)
	fn := s.fns[inv.StateName]
	s.mu.Unlock()
	if fn == nil {
		return nil, fmt.Errorf("no answer for state %s", inv.StateName)
	}
	return fn(ctx, inv)
}

func (s *script) callsTo(state string) []asl.Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]asl.Invocation(nil), s.calls[state]...)
}

func wantStatus(t *testing.T, ex asl.Execution, want asl.Status) {
	t.Helper()
	if ex.Status != want {
		t.Fatalf("status = %s (error %q, cause %q), want %s", ex.Status, ex.Error, ex.Cause, want)
	}
}

func wantStates(t *testing.T, ex asl.Execution, want ...string) {
	t.Helper()
	if got := ex.StatesEntered(); !reflect.DeepEqual(got, want) {
		t.Errorf("states entered = %v, want %v", got, want)
	}
}

func mustJSONEqual(t *testing.T, what string, got json.RawMessage, want string) {
	t.Helper()
	if !asl.EqualJSON(got, []byte(want)) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// scheduled returns the TaskScheduled events of state.
func scheduled(ex asl.Execution, state string) []asl.HistoryEvent {
	var out []asl.HistoryEvent
	for _, ev := range ex.History {
		if ev.Type == asl.EventTaskScheduled && (state == "" || ev.StateName == state) {
			out = append(out, ev)
		}
	}
	return out
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
	inv.failsOnce("Load", &asl.TaskError{Name: "TransientError"}, `{"loaded": 1}`).returns("Ask", `sent, not JSON`)

	open := func() (*aslruns.Store, *asl.Runner) {
		t.Helper()
		st, err := aslruns.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		return st, asl.NewRunner(st, clk, inv, gen)
	}
	ctx := context.Background()

	st, r := open()
	ex, err := r.Start(ctx, asl.StartInput{Name: "durable", MachineID: "m", Definition: []byte(durableDef), Input: json.RawMessage(`{"c": "conv_1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, ex, asl.StatusRunning)
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
	wantStatus(t, ex, asl.StatusSucceeded)
	wantStates(t, ex, "Load", "Pause", "Ask")
	mustJSONEqual(t, "output", ex.Output, `{"c": "conv_1", "load": {"r": {"loaded": 1}}, "answer": {"choice": "yes"}}`)
	var got []time.Duration
	for _, ev := range scheduled(ex, "Load") {
		got = append(got, ev.Timestamp.Sub(t0))
	}
	if fmt.Sprint(got) != fmt.Sprint([]time.Duration{0, 30 * time.Second}) {
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
	st, err := aslruns.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	crash := make(chan struct{})
	blocked := newScript().on("Load", func(ctx context.Context, _ asl.Invocation) (json.RawMessage, error) {
		close(crash)
		<-ctx.Done() // the "process" stops while the task runs
		return nil, ctx.Err()
	})
	r := asl.NewRunner(st, clk, blocked, &ids.Sequence{})
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() {
		_, err := r.Start(cctx, asl.StartInput{Name: "crash", Definition: []byte(durableDef)})
		done <- err
	}()
	<-crash
	cancel()
	if err := <-done; err == nil {
		t.Fatal("Start succeeded although its context was cancelled mid-task")
	}
	st.Close()

	st, err = aslruns.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	inv := newScript().returns("Load", `{"again": true}`).returns("Ask", `null`)
	r = asl.NewRunner(st, clk, inv, &ids.Sequence{})
	if n, err := r.RunDue(ctx); n != 1 || err != nil {
		t.Fatalf("RunDue = %d, %v", n, err)
	}
	ex, _ := r.Describe(ctx, "crash")
	wantStates(t, ex, "Load", "Pause")
	if len(inv.callsTo("Load")) != 1 || len(scheduled(ex, "")) != 2 {
		t.Errorf("calls after restart %d, TaskScheduled events %d", len(inv.callsTo("Load")), len(scheduled(ex, "")))
	}
}

func TestConcurrentExecutions(t *testing.T) {
	for _, backend := range []string{"memory", "bolt"} {
		t.Run(backend, func(t *testing.T) {
			clk := clock.NewVirtual(t0)
			var store asl.RunStore = asl.NewMemoryRunStore()
			if backend == "bolt" {
				bs, err := aslruns.Open(filepath.Join(t.TempDir(), "runs.db"))
				if err != nil {
					t.Fatal(err)
				}
				defer bs.Close()
				store = bs
			}
			inv := newScript()
			var r *asl.Runner
			var tokens sync.Map
			inv.returns("Load", `{"n": 1}`)
			inv.on("Ask", func(_ context.Context, in asl.Invocation) (json.RawMessage, error) {
				tokens.Store(in.ExecutionName, in.TaskToken)
				return nil, nil
			})
			r = asl.NewRunner(store, clk, inv, &ids.Sequence{})
			const n = 40
			ctx := context.Background()
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					name := fmt.Sprintf("c%02d", i)
					for range 2 { // the duplicate start must be harmless
						if _, err := r.Start(ctx, asl.StartInput{Name: name, Definition: []byte(durableDef), Input: json.RawMessage(fmt.Sprintf(`{"i": %d}`, i))}); err != nil {
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
				wantStatus(t, ex, asl.StatusSucceeded)
				mustJSONEqual(t, "output", ex.Output, fmt.Sprintf(`{"i": %d, "load": {"r": {"n": 1}}, "answer": "ok"}`, i))
			}
			if got := len(inv.callsTo("Load")); got != n {
				t.Errorf("Load called %d times, want %d", got, n)
			}
		})
	}
}
