package localasl_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/asl"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/flows"
	"github.com/switchboard-oss/switchboard/shared/flows/localasl"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var admin = engine.Person("seed", routing.RoleAdmin)

// counting wraps the local runner and counts Start calls by name.
type counting struct {
	*localasl.LocalRunner
	starts    atomic.Int64
	failStart atomic.Int64 // fail this many Start calls as unavailable (Step Functions throttling)
}

func (c *counting) Start(ctx context.Context, req flows.StartRequest) error {
	c.starts.Add(1)
	if c.failStart.Add(-1) >= 0 {
		return routing.Errorf(routing.CodeUnavailable, "StartExecution throttled")
	}
	return c.LocalRunner.Start(ctx, req)
}

type world struct {
	st     store.Store
	eng    *engine.Engine
	clk    *clock.Virtual
	svc    *flows.Service
	runner *counting
	tasks  atomic.Int64
	twice  atomic.Bool // deliver every task twice (an at-least-once re-delivery)
}

func newWorld(t *testing.T) *world {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"), bolt.WithoutSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewVirtual(time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC))
	eng := engine.New(engine.Deps{Store: st, Clock: clk, IDs: ids.Random{}, Log: quiet}, engine.Config{})
	w := &world{st: st, eng: eng, clk: clk}
	local := localasl.NewLocalRunner(func(inv asl.Invoker) *asl.Runner {
		return asl.NewRunner(asl.NewMemoryRunStore(), clk, inv, ids.Random{})
	})
	w.runner = &counting{LocalRunner: local}
	w.svc = flows.New(flows.Deps{Engine: eng, Store: st, Runner: w.runner, Clock: clk, Log: quiet})
	local.SetTask(func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		w.tasks.Add(1)
		if w.twice.Load() {
			_, _ = w.svc.HandleTask(ctx, payload)
		}
		out, err := w.svc.HandleTask(ctx, payload)
		if err != nil {
			t.Logf("task %s: %v", payload, err)
		}
		return out, err
	})
	ctx := context.Background()
	if _, err := eng.CreateTeam(ctx, routing.Team{ID: "general", Name: "General", Strategy: routing.LeastOpen, Mode: routing.ModeAutomatic}, admin); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) publish(t *testing.T, src string) routing.WorkflowVersion {
	t.Helper()
	ctx := context.Background()
	if _, _, err := w.svc.SaveDraft(ctx, []byte(src), admin, 0); err != nil {
		t.Fatal(err)
	}
	v, err := w.svc.Publish(ctx, "wf", 0)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPublish1100TimesEmbedded: the embedded runner has no version quota;
// 1,100 publishes all succeed and each records a runner reference.
func TestPublish1100TimesEmbedded(t *testing.T) {
	w := newWorld(t)
	for i := 1; i <= 1100; i++ {
		v := w.publish(t, fmt.Sprintf(`{"id": "wf", "name": "Note", "trigger": {"type": "conversation_opened"},
		  "steps": [{"id": "note", "type": "comment", "text": "revision %d"}]}`, i))
		if v.Number != i || v.RunnerRef == "" {
			t.Fatalf("publish %d: version %d, ref %q", i, v.Number, v.RunnerRef)
		}
	}
}

// TestShortcutRunsOnce: a repeated shortcut request (same request id) does
// its steps once. A workflow that never waits runs whole in the caller (no
// execution, no task: workflow.PreludeOf); one that waits after its first
// steps runs them in the caller and starts its execution at the wait, and a
// repeated request replays the steps and starts the same execution name.
func TestShortcutRunsOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.publish(t, `{"id": "wf", "name": "Note", "trigger": {"type": "shortcut", "name": "Note"},
	  "steps": [{"id": "note", "type": "comment", "text": "escalated"}]}`)
	conv := routing.Conversation{ID: "c1", ContactID: "k1", ChannelID: "web", Status: routing.ConvPending, TeamID: "general"}
	contact := routing.Contact{ID: "k1", ChannelID: "web", ExternalID: "+34600111222"}
	if err := w.st.Commit(ctx, store.Tx{Contacts: []store.ContactWrite{{Value: contact}}, Conversations: []store.ConversationWrite{{Value: conv}}}); err != nil {
		t.Fatal(err)
	}
	comments := func() int {
		page, err := w.st.Events(ctx, "c1", store.PageRequest{Limit: store.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range page.Items {
			if ev.Type == routing.EvComment {
				n++
			}
		}
		return n
	}
	for i := 0; i < 3; i++ {
		if _, err := w.svc.RunShortcut(ctx, "c1", "wf", nil, admin, "req-1"); err != nil {
			t.Fatal(err)
		}
	}
	if n, s, c := w.runner.starts.Load(), w.tasks.Load(), comments(); n != 0 || s != 0 || c != 1 {
		t.Fatalf("never waits: %d starts, %d tasks, %d comments for one request, want 0, 0, 1", n, s, c)
	}
	page, err := w.st.Events(ctx, "c1", store.PageRequest{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var ended []string
	for _, ev := range page.Items {
		if ev.Type == routing.EvWorkflowEnded {
			ended = append(ended, fmt.Sprint(ev.Data["status"]))
		}
	}
	if fmt.Sprint(ended) != "[succeeded]" {
		t.Fatalf("never waits: workflow.ended %v, want once, succeeded", ended)
	}
	w.publish(t, `{"id": "wf", "name": "Note", "trigger": {"type": "shortcut", "name": "Note"},
	  "steps": [{"id": "note", "type": "comment", "text": "escalated"}, {"id": "pause", "type": "wait", "duration": "1m"}]}`)
	for i := 0; i < 2; i++ {
		if _, err := w.svc.RunShortcut(ctx, "c1", "wf", nil, admin, "req-2"); err != nil {
			t.Fatal(err)
		}
	}
	if c := comments(); c != 2 {
		t.Fatalf("waits: %d comments in all, want 2", c)
	}
	if n := w.runner.starts.Load(); n != 2 {
		t.Fatalf("waits: Runner.Start called %d times, want 2 (the same name: Standard starts it once)", n)
	}
}

// TestStretchDeliveredTwiceActsOnce: a stretch task (one Task running an
// assign and a comment after a wait) delivered twice, as Step Functions may,
// assigns once and comments once: each action of the stretch claims a step
// key of its own, and the second delivery replays both.
func TestStretchDeliveredTwiceActsOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.eng.CreateAgent(ctx, routing.Agent{ID: "ana", Name: "Ana", MaxConcurrent: 3, Teams: []string{"general"}, Status: routing.StatusOnline}, admin); err != nil {
		t.Fatal(err)
	}
	w.publish(t, `{"id": "wf", "name": "Later", "trigger": {"type": "shortcut", "name": "Later"},
	  "steps": [{"id": "pause", "type": "wait", "duration": "1m"},
	            {"id": "give", "type": "assign", "agent": "ana"},
	            {"id": "note", "type": "comment", "text": "assigned after a minute"}]}`)
	conv := routing.Conversation{ID: "c1", ContactID: "k1", ChannelID: "web", Status: routing.ConvPending, TeamID: "general"}
	contact := routing.Contact{ID: "k1", ChannelID: "web", ExternalID: "+34600111222"}
	if err := w.st.Commit(ctx, store.Tx{Contacts: []store.ContactWrite{{Value: contact}}, Conversations: []store.ConversationWrite{{Value: conv}}}); err != nil {
		t.Fatal(err)
	}
	w.twice.Store(true)
	if _, err := w.svc.RunShortcut(ctx, "c1", "wf", nil, admin, "req-1"); err != nil {
		t.Fatal(err)
	}
	next, ok := w.runner.ASL.NextWake()
	if !ok {
		t.Fatal("the run is not waiting")
	}
	w.clk.Set(next)
	if _, err := w.runner.ASL.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := w.st.Events(ctx, "c1", store.PageRequest{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	count := map[routing.EventType]int{}
	for _, ev := range page.Items {
		count[ev.Type]++
	}
	if count[routing.EvAssigned] != 1 || count[routing.EvComment] != 1 || w.tasks.Load() != 1 {
		t.Fatalf("one stretch task delivered twice: %d assignments, %d comments, %d tasks; want 1, 1, 1 (%v)",
			count[routing.EvAssigned], count[routing.EvComment], w.tasks.Load(), count)
	}
	a, err := w.st.GetAgent(ctx, "ana")
	if err != nil || a.OpenCount != 1 {
		t.Fatalf("ana: %+v %v", a, err)
	}
}

// TestPreludeRetriedAfterStartFailed: the leading stretch ran in the
// caller, then StartExecution failed; the retried request replays the
// stretch (one assignment, one comment) and starts the execution, which
// runs the stretch after the wait once.
func TestPreludeRetriedAfterStartFailed(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.eng.CreateAgent(ctx, routing.Agent{ID: "ana", Name: "Ana", MaxConcurrent: 3, Teams: []string{"general"}, Status: routing.StatusOnline}, admin); err != nil {
		t.Fatal(err)
	}
	w.publish(t, `{"id": "wf", "name": "Now and later", "trigger": {"type": "shortcut", "name": "Now and later"},
	  "steps": [{"id": "give", "type": "assign", "agent": "ana"},
	            {"id": "note", "type": "comment", "text": "assigned"},
	            {"id": "pause", "type": "wait", "duration": "1m"},
	            {"id": "again", "type": "comment", "text": "a minute later"}]}`)
	conv := routing.Conversation{ID: "c1", ContactID: "k1", ChannelID: "web", Status: routing.ConvPending, TeamID: "general"}
	contact := routing.Contact{ID: "k1", ChannelID: "web", ExternalID: "+34600111222"}
	if err := w.st.Commit(ctx, store.Tx{Contacts: []store.ContactWrite{{Value: contact}}, Conversations: []store.ConversationWrite{{Value: conv}}}); err != nil {
		t.Fatal(err)
	}
	w.runner.failStart.Store(1)
	if _, err := w.svc.RunShortcut(ctx, "c1", "wf", nil, admin, "req-1"); routing.ErrorCode(err) != routing.CodeUnavailable {
		t.Fatalf("first request: %v, want unavailable", err)
	}
	if _, err := w.svc.RunShortcut(ctx, "c1", "wf", nil, admin, "req-1"); err != nil {
		t.Fatal(err)
	}
	next, ok := w.runner.ASL.NextWake()
	if !ok {
		t.Fatal("the run is not waiting")
	}
	w.clk.Set(next)
	if _, err := w.runner.ASL.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := w.st.Events(ctx, "c1", store.PageRequest{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	count := map[routing.EventType]int{}
	for _, ev := range page.Items {
		count[ev.Type]++
	}
	if count[routing.EvAssigned] != 1 || count[routing.EvComment] != 2 || count[routing.EvWorkflowStarted] != 1 || w.tasks.Load() != 1 {
		t.Fatalf("%v, %d tasks; want 1 assignment, 2 comments, 1 start, 1 task", count, w.tasks.Load())
	}
}

// TestOversizedDefinitionRefused: a valid 301-step workflow whose state
// machine would pass Step Functions' 1,048,576 characters is refused when
// saved, as invalid_argument naming the step that crosses the limit.
func TestOversizedDefinitionRefused(t *testing.T) {
	w := newWorld(t)
	// an ask whose answer and timeout enter one long chain at s0 and s1:
	// each of the two stretch tasks carries the chain
	steps := []string{`{"id": "ask", "type": "ask", "question": "?", "options": [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}],
	  "variable": "v", "timeout": "1h", "onTimeout": "s1", "next": "s0"}`}
	for i := 0; i < 300; i++ {
		steps = append(steps, fmt.Sprintf(`{"id": "s%d", "type": "comment", "text": %q}`, i, strings.Repeat("x", 1900)))
	}
	src := `{"id": "wf", "name": "Long", "trigger": {"type": "conversation_opened"}, "steps": [` + strings.Join(steps, ",") + `]}`
	_, errs, err := w.svc.SaveDraft(context.Background(), []byte(src), admin, 0)
	var re *routing.Error
	if !errors.As(err, &re) || re.Code != routing.CodeInvalid || !strings.HasPrefix(re.Field, "steps[s") || len(errs) != 1 {
		t.Fatalf("got %v (%d findings)", err, len(errs))
	}
	t.Logf("%s: %s", re.Field, re.Message)
}
