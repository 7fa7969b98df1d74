// Package enginetest holds the engine's twin suite: the promises (no
// conversation lost, none assigned twice, no step run twice, no agent over
// capacity) checked under the semantics AWS really has. Queue reads lag
// behind commits (a GSI), events are delivered more than once and out of
// process, a workflow step is delivered again after its effect committed,
// and any commit may fail before writing or fail after writing. Every
// backend's tests run it (bolt, and DynamoDB on DynamoDB Local):
//
//	enginetest.RunTwinTests(t, func(t *testing.T) store.Store { ... })
//
// The store must also implement storetest.OutboxSource. Oracles here are
// counts read back from the timeline and the agents, never the engine's own
// answers.
package enginetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/relay"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/storetest"
)

var admin = engine.Person("root", routing.RoleAdmin)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// RunTwinTests runs the suite; newStore returns a fresh, empty store.
func RunTwinTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("StaleQueueDrainDoesNotSteal", func(t *testing.T) { staleDrain(t, newStore(t)) })
	t.Run("StaleQueueTwoHostsDraining", func(t *testing.T) { twoHosts(t, newStore(t)) })
	t.Run("StepDeliveredTwice", func(t *testing.T) { stepTwice(t, newStore(t)) })
	t.Run("DefaultRouteRedelivered", func(t *testing.T) { routeRedelivered(t, newStore(t)) })
	t.Run("SweepRepairsStranded", func(t *testing.T) { stranded(t, newStore(t)) })
	t.Run("FaultAtEveryCommit", func(t *testing.T) { faults(t, newStore) })
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

type world struct {
	t     *testing.T
	st    store.Store
	eng   *engine.Engine
	clk   *clock.Virtual
	relay *relay.Relay
	ch    routing.Channel
}

// newWorld builds an engine on st with a team "t" of the given agents (id -> max), all online.
func newWorld(t *testing.T, st store.Store, clk *clock.Virtual, idgen ids.Generator, agents ...string) *world {
	t.Helper()
	if clk == nil {
		clk = clock.NewVirtual(t0)
	}
	if idgen == nil {
		idgen = &ids.Sequence{}
	}
	w := &world{t: t, st: st, clk: clk}
	w.eng = engine.New(engine.Deps{Store: st, Clock: clk, IDs: idgen, Log: quiet}, engine.DefaultConfig())
	src, ok := st.(storetest.OutboxSource)
	if !ok {
		t.Fatalf("%T has no outbox feed", st)
	}
	w.relay = relay.New(src.Outbox(), w.handle, relay.WithLogger(quiet), relay.WithRetries(2, time.Millisecond))
	return w
}

func (w *world) setup(agents map[string]int) {
	w.t.Helper()
	ctx := context.Background()
	if _, err := w.eng.CreateTeam(ctx, routing.Team{ID: "t", Name: "T", Strategy: routing.LeastOpen, OnlineOnly: true}, admin); err != nil {
		w.t.Fatal(err)
	}
	for _, id := range sortedKeys(agents) {
		if _, err := w.eng.CreateAgent(ctx, routing.Agent{ID: id, Name: id, MaxConcurrent: agents[id], Teams: []string{"t"}, Status: routing.StatusOnline}, admin); err != nil {
			w.t.Fatal(err)
		}
	}
	ch, err := w.eng.CreateChannel(ctx, routing.Channel{ID: "c", Provider: "generic", SecretRef: "env:X", Config: map[string]string{"team": "t"}}, admin)
	if err != nil {
		w.t.Fatal(err)
	}
	w.ch = ch
}

// handle is the dispatcher's part that routing needs (flows.HandleEvent
// does the same when no workflow matches).
func (w *world) handle(ctx context.Context, ev events.Event) error {
	switch ev.DetailType {
	case events.ConversationOpened:
		var d events.ConversationOpenedDetail
		if err := jsonUnmarshal(ev.Detail, &d); err != nil {
			return nil
		}
		_, err := w.eng.RouteDefault(ctx, d.ConversationID)
		return err
	case events.CapacityReleased:
		var d events.CapacityReleasedDetail
		if err := jsonUnmarshal(ev.Detail, &d); err == nil {
			w.eng.DrainAgent(ctx, d.AgentID)
		}
	}
	return nil
}

func (w *world) settle() {
	w.t.Helper()
	if err := w.relay.Drain(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) ingest(from, msgID string) string {
	w.t.Helper()
	res, err := w.eng.Ingest(context.Background(), w.ch, engine.Inbound{MessageID: msgID, From: from, Text: "hi " + msgID})
	if err != nil {
		w.t.Fatal(err)
	}
	return res.ConversationID
}

func (w *world) conv(id string) routing.Conversation {
	w.t.Helper()
	c, err := w.st.GetConversation(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// timeline counts a conversation's events by type.
func timeline(t *testing.T, st store.Store, conv string) map[routing.EventType]int {
	t.Helper()
	n := map[routing.EventType]int{}
	err := store.ForEach(context.Background(), func(ctx context.Context, p store.PageRequest) (store.Page[routing.Event], error) {
		return st.Events(ctx, conv, p)
	}, func(e routing.Event) error { n[e.Type]++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// staleDrain: a drain whose queue read is stale (the head was assigned a
// moment ago) must skip it. Before the fix the drain re-assigned the open
// conversation to the next agent.
func staleDrain(t *testing.T, base store.Store) {
	lag := storetest.NewLagging(base)
	w := newWorld(t, lag, nil, nil)
	w.setup(map[string]int{"a": 1, "b": 1})
	ctx := context.Background()
	if _, err := w.eng.SetStatus(ctx, "b", routing.StatusOffline, admin); err != nil {
		t.Fatal(err)
	}
	first := w.ingest("+100", "m1")
	w.settle() // assigned to a
	second := w.ingest("+200", "m2")
	w.settle() // pending: a is full, b offline
	if c := w.conv(second); c.Status != routing.ConvPending {
		t.Fatalf("second conversation is %s, want pending", c.Status)
	}
	lag.Hold()
	if _, err := w.eng.Close(ctx, first, admin, ""); err != nil { // a frees: second goes to a
		t.Fatal(err)
	}
	w.settle()
	if c := w.conv(second); c.AssigneeID != "a" {
		t.Fatalf("second went to %q, want a", c.AssigneeID)
	}
	// b comes online: its drain reads the lagging queue, which still shows second pending
	if _, err := w.eng.SetStatus(ctx, "b", routing.StatusOnline, admin); err != nil {
		t.Fatal(err)
	}
	w.eng.DrainTeam(ctx, "t")
	w.settle()
	c := w.conv(second)
	if c.AssigneeID != "a" || c.Status != routing.ConvOpen {
		t.Fatalf("a stale queue read moved the open conversation: now %s with %q", c.Status, c.AssigneeID)
	}
	tl := timeline(t, base, second)
	if tl[routing.EvAssigned] != 1 || tl[routing.EvReassigned] != 0 {
		t.Fatalf("timeline of the second conversation: %v", tl)
	}
	b, _ := base.GetAgent(ctx, "b")
	if b.OpenCount != 0 {
		t.Fatalf("b holds %d conversations, want 0", b.OpenCount)
	}
}

// twoHosts: two engines (two Lambda instances: no shared drain
// coalescing) drain one team from a lagging queue while slots free.
func twoHosts(t *testing.T, base store.Store) {
	lag := storetest.NewLagging(base)
	idgen := &ids.Sequence{}
	clk := clock.NewVirtual(t0)
	w := newWorld(t, lag, clk, idgen)
	other := engine.New(engine.Deps{Store: lag, Clock: clk, IDs: idgen, Log: quiet}, engine.DefaultConfig())
	w.setup(map[string]int{"a": 2, "b": 2, "c": 2})
	ctx := context.Background()
	var convs []string
	for i := 0; i < 14; i++ {
		convs = append(convs, w.ingest(fmt.Sprintf("+%03d", i), fmt.Sprintf("m%d", i)))
		clk.Advance(time.Second)
	}
	w.settle() // 6 open, 8 pending
	lag.Hold()
	// close the six open ones; both hosts drain concurrently on a stale index
	var open []string
	for _, id := range convs {
		if w.conv(id).Status == routing.ConvOpen {
			open = append(open, id)
		}
	}
	var wg sync.WaitGroup
	for i, id := range open {
		eng := w.eng
		if i%2 == 1 {
			eng = other
		}
		wg.Add(1)
		go func(eng *engine.Engine, id string) {
			defer wg.Done()
			if _, err := eng.Close(ctx, id, admin, ""); err != nil {
				t.Error(err)
			}
			eng.DrainTeam(ctx, "t")
		}(eng, id)
	}
	wg.Wait()
	other.DrainTeam(ctx, "t")
	w.eng.DrainTeam(ctx, "t")
	lag.Release()
	w.settle()
	assertConsistent(t, base, convs, map[string]int{"a": 2, "b": 2, "c": 2})
	openNow := 0
	for _, id := range convs {
		if w.conv(id).Status == routing.ConvOpen {
			openNow++
		}
	}
	if openNow != 6 {
		t.Fatalf("%d open after the drains, want 6 (every freed slot refilled)", openNow)
	}
}

// stepTwice: a workflow step delivered again after its effect committed
// (a Standard Retry, a duplicate Express delivery) does not act again.
func stepTwice(t *testing.T, st store.Store) {
	w := newWorld(t, st, nil, nil)
	w.setup(map[string]int{"a": 1, "b": 1})
	ctx := context.Background()
	id := w.ingest("+100", "m1")
	// no settle: the workflow's assign step routes it
	var results []engine.AssignResult
	for i := 0; i < 2; i++ {
		sctx := engine.WithStep(ctx, "exec-1/assign/2026-03-02T09:00:00Z", id)
		res, err := w.eng.Assign(sctx, id, engine.Target{TeamID: "t"}, engine.Workflow("wf"), "", 0)
		if i == 1 && routing.IsConflict(err, routing.ReasonDuplicate) {
			out, ran, err := w.eng.StepResult(ctx, "exec-1/assign/2026-03-02T09:00:00Z")
			if err != nil || !ran {
				t.Fatalf("replay found no recorded result: %v %v", ran, err)
			}
			if out.AgentID != results[0].AgentID || out.Status != string(routing.ConvOpen) {
				t.Fatalf("recorded %+v, first run said %+v", out, results[0])
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	c := w.conv(id)
	if c.Assignments != 1 || c.AssigneeID != results[0].AgentID {
		t.Fatalf("a replayed step acted again: %d assignments, now with %q (first run: %q)", c.Assignments, c.AssigneeID, results[0].AgentID)
	}
	tl := timeline(t, st, id)
	if tl[routing.EvAssigned] != 1 || tl[routing.EvReassigned] != 0 {
		t.Fatalf("timeline %v", tl)
	}
	// a different step (the next state entry) does act
	res, err := w.eng.Assign(engine.WithStep(ctx, "exec-1/reassign/2026-03-02T09:15:00Z", id), id, engine.Target{TeamID: "t"}, engine.Workflow("wf"), "", 0)
	if err != nil || res.AgentID == results[0].AgentID {
		t.Fatalf("the next step should reassign: %+v %v", res, err)
	}
}

// routeRedelivered: conversation.opened delivered again after the
// conversation was routed (and after an agent took it) changes nothing.
func routeRedelivered(t *testing.T, st store.Store) {
	w := newWorld(t, st, nil, nil)
	w.setup(map[string]int{"a": 1, "b": 1})
	ctx := context.Background()
	id := w.ingest("+100", "m1")
	w.settle()
	first := w.conv(id)
	if first.Status != routing.ConvOpen {
		t.Fatalf("not routed: %s", first.Status)
	}
	ev, _ := events.New("ev-redelivered", events.ConversationOpened, w.clk.Now(), events.ConversationOpenedDetail{ConversationID: id})
	for i := 0; i < 3; i++ {
		if err := w.handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if c := w.conv(id); c.AssigneeID != first.AssigneeID || c.Assignments != 1 {
		t.Fatalf("a redelivered opening moved the conversation from %q to %q", first.AssigneeID, c.AssigneeID)
	}
}

// stranded: an opening whose event was lost (dead-lettered) is found and
// routed by the sweep once it has waited StrandedAfter.
func stranded(t *testing.T, st store.Store) {
	w := newWorld(t, st, nil, nil)
	w.setup(map[string]int{"a": 1})
	ctx := context.Background()
	id := w.ingest("+100", "m1")
	lost := relay.New(st.(storetest.OutboxSource).Outbox(), func(context.Context, events.Event) error { return nil }, relay.WithLogger(quiet))
	if err := lost.Drain(ctx); err != nil { // delivered nowhere
		t.Fatal(err)
	}
	res, err := w.eng.Sweep(ctx)
	if err != nil || res.Repaired != 0 {
		t.Fatalf("swept too early: %+v %v", res, err)
	}
	w.clk.Advance(engine.DefaultConfig().StrandedAfter)
	res, err = w.eng.Sweep(ctx)
	if err != nil || res.Repaired != 1 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	if c := w.conv(id); c.Status != routing.ConvOpen || c.AssigneeID != "a" {
		t.Fatalf("stranded conversation not routed: %s %q", c.Status, c.AssigneeID)
	}
	if res, _ := w.eng.Sweep(ctx); res.Repaired != 0 {
		t.Fatalf("repaired twice: %+v", res)
	}
}

var errConnReset = errors.New("injected: connection reset by peer")

// faults runs one scenario (three messages, routing, a close and its drain)
// once without faults to count its commits, then once per commit and fault
// kind, with that commit failing before or after writing. Callers retry as
// they do in production: a provider redelivers a webhook that got an error,
// the relay retries a handler, a client retries a close. Then the sweep runs
// as the safety net. Whatever failed, every message is stored once, every
// conversation is open with an agent or pending on the team, and every
// agent's count matches its open conversations.
func faults(t *testing.T, newStore func(t *testing.T) store.Store) {
	counting := &storetest.Faulty{Store: newStore(t)}
	scenario(t, counting, nil)
	total := counting.Commits()
	if total < 8 {
		t.Fatalf("the scenario made only %d commits", total)
	}
	for _, kind := range []storetest.Fault{storetest.FailBefore, storetest.FailAfter} {
		for n := 1; n <= total; n++ {
			name := fmt.Sprintf("%s/commit%02d", map[storetest.Fault]string{storetest.FailBefore: "before", storetest.FailAfter: "after"}[kind], n)
			t.Run(name, func(t *testing.T) {
				f := &storetest.Faulty{Store: newStore(t)}
				scenario(t, f, func(i int, _ store.Tx) storetest.Fault {
					if i == n {
						return kind
					}
					return storetest.NoFault
				})
			})
		}
	}
}

func scenario(t *testing.T, f *storetest.Faulty, plan func(int, store.Tx) storetest.Fault) {
	w := newWorld(t, f, nil, nil)
	w.setup(map[string]int{"a": 1, "b": 1})
	ctx := context.Background()
	// a plain error (as a lost connection surfaces): the engine does not
	// retry it, its caller does
	f.Err = errConnReset
	f.Plan = plan // faults from here on: setup is done
	retry := func(what string, fn func() error) {
		t.Helper()
		var err error
		for i := 0; i < 5; i++ {
			if err = fn(); err == nil {
				return
			}
		}
		t.Fatalf("%s: still failing after retries: %v", what, err)
	}
	msgs := []struct{ from, id string }{{"+100", "m1"}, {"+200", "m2"}, {"+300", "m3"}}
	for _, m := range msgs {
		retry("webhook "+m.id, func() error { // the provider redelivers until it gets a 2xx
			_, err := w.eng.Ingest(ctx, w.ch, engine.Inbound{MessageID: m.id, From: m.from, Text: "hi"})
			return err
		})
		w.clk.Advance(time.Second)
	}
	w.settle()
	c1, err := w.st.ContactByExternalID(ctx, "c", "+100")
	if err != nil {
		t.Fatal(err)
	}
	first := c1.LastConversationID
	retry("close", func() error {
		_, err := w.eng.Close(ctx, first, admin, "")
		return err
	})
	w.settle()
	f.Plan = nil // the storm is over: the safety net runs on a healthy store
	w.clk.Advance(engine.DefaultConfig().StrandedAfter)
	if _, err := w.eng.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	w.settle()

	var convs []string
	for _, m := range msgs {
		ct, err := w.st.ContactByExternalID(ctx, "c", m.from)
		if err != nil {
			t.Fatalf("message %s lost: %v", m.id, err)
		}
		convs = append(convs, ct.LastConversationID)
		if n := timeline(t, w.st, ct.LastConversationID)[routing.EvMessageIn]; n != 1 {
			t.Fatalf("message %s stored %d times", m.id, n)
		}
	}
	assertConsistent(t, w.st, convs, map[string]int{"a": 1, "b": 1})
	if c := w.conv(first); c.Status != routing.ConvClosed {
		t.Fatalf("the closed conversation is %s", c.Status)
	}
	for _, id := range convs[1:] {
		if c := w.conv(id); c.Status != routing.ConvOpen {
			t.Fatalf("conversation %s is %s with %q, want open: the freed slot was not refilled", id, c.Status, c.AssigneeID)
		}
	}
}

// assertConsistent checks the promises over conversations convs: each open
// one has exactly one agent, each non-closed one is open or pending on a
// team, nobody is over maximum, every agent's count is its open
// conversations, and nothing was assigned twice without a close or a queue
// in between.
func assertConsistent(t *testing.T, st store.Store, convs []string, agents map[string]int) {
	t.Helper()
	ctx := context.Background()
	holding := map[string]int{}
	for _, id := range convs {
		c, err := st.GetConversation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		switch c.Status {
		case routing.ConvOpen:
			if c.AssigneeID == "" {
				t.Fatalf("%s is open with no agent", id)
			}
			holding[c.AssigneeID]++
		case routing.ConvPending:
			if c.TeamID == "" || c.AssigneeID != "" {
				t.Fatalf("%s is pending on team %q with agent %q: stranded", id, c.TeamID, c.AssigneeID)
			}
		}
		tl := timeline(t, st, id)
		if tl[routing.EvReassigned] != 0 {
			t.Fatalf("%s was reassigned by the system: %v", id, tl)
		}
		if tl[routing.EvAssigned] > 1+tl[routing.EvQueued]+tl[routing.EvReopened] {
			t.Fatalf("%s assigned %d times: %v", id, tl[routing.EvAssigned], tl)
		}
	}
	for id, max := range agents {
		a, err := st.GetAgent(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.OpenCount > max {
			t.Fatalf("agent %s holds %d, maximum %d", id, a.OpenCount, max)
		}
		if a.OpenCount != holding[id] {
			t.Fatalf("agent %s counts %d open, but %d conversations are open with it", id, a.OpenCount, holding[id])
		}
	}
}
