package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
)

var admin = engine.Person("root", routing.RoleAdmin)

func newEngine(t testing.TB) (*engine.Engine, *clock.Virtual, store.Store) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "e.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewVirtual(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	e := engine.New(engine.Deps{Store: st, Clock: clk, IDs: &ids.Sequence{}}, engine.DefaultConfig())
	return e, clk, st
}

func setup(t testing.TB, e *engine.Engine, strategy routing.Strategy, agents map[string]int) routing.Channel {
	t.Helper()
	ctx := context.Background()
	if _, err := e.CreateTeam(ctx, routing.Team{ID: "t", Name: "T", Strategy: strategy, OnlineOnly: true}, admin); err != nil {
		t.Fatal(err)
	}
	for id, max := range agents {
		if _, err := e.CreateAgent(ctx, routing.Agent{ID: id, Name: id, MaxConcurrent: max, Teams: []string{"t"}, Status: routing.StatusOnline}, admin); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := e.CreateChannel(ctx, routing.Channel{ID: "c", Provider: "generic", SecretRef: "env:X", Config: map[string]string{"team": "t"}}, admin)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestIngestDedupesAndReopens(t *testing.T) {
	e, clk, st := newEngine(t)
	ch := setup(t, e, routing.RoundRobin, map[string]int{"a": 1})
	ctx := context.Background()
	in := engine.Inbound{MessageID: "m1", From: "+34600000001", Phone: "+34600000001", Text: "hola"}
	first, err := e.Ingest(ctx, ch, in)
	if err != nil || !first.Opened || first.Duplicate {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := e.Ingest(ctx, ch, in)
	if err != nil || !again.Duplicate {
		t.Fatalf("redelivery not deduped: %+v %v", again, err)
	}
	in.MessageID = "m2"
	second, err := e.Ingest(ctx, ch, in)
	if err != nil || second.Opened || second.ConversationID != first.ConversationID {
		t.Fatalf("a later message should append: %+v", second)
	}
	if _, err := e.RouteDefault(ctx, first.ConversationID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Close(ctx, first.ConversationID, admin, ""); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	in.MessageID = "m3"
	re, err := e.Ingest(ctx, ch, in)
	if err != nil || !re.Opened || re.ConversationID != first.ConversationID {
		t.Fatalf("a message soon after closing should reopen: %+v %v", re, err)
	}
	if _, err := e.Close(ctx, first.ConversationID, admin, ""); err != nil {
		t.Fatal(err)
	}
	clk.Advance(25 * time.Hour)
	in.MessageID = "m4"
	fresh, err := e.Ingest(ctx, ch, in)
	if err != nil || !fresh.Opened || fresh.ConversationID == first.ConversationID {
		t.Fatalf("a message long after closing should open a new conversation: %+v %v", fresh, err)
	}
	page, _ := st.Events(ctx, first.ConversationID, store.PageRequest{Limit: 100})
	var in3 int
	for _, ev := range page.Items {
		if ev.Type == routing.EvMessageIn {
			in3++
		}
	}
	if in3 != 3 {
		t.Fatalf("%d inbound messages on the first conversation, want 3", in3)
	}
}

func TestRoundRobinAndLeastOpen(t *testing.T) {
	for _, tc := range []struct {
		strategy routing.Strategy
		want     []string
	}{
		{routing.RoundRobin, []string{"a", "b", "c", "a", "b", "c"}},
		{routing.LeastOpen, []string{"a", "b", "c", "a", "b", "c"}},
	} {
		t.Run(string(tc.strategy), func(t *testing.T) {
			e, clk, _ := newEngine(t)
			ch := setup(t, e, tc.strategy, map[string]int{"a": 3, "b": 3, "c": 3})
			ctx := context.Background()
			for i, want := range tc.want {
				r, err := e.Ingest(ctx, ch, engine.Inbound{MessageID: fmt.Sprint(i), From: fmt.Sprint("+1", i)})
				if err != nil {
					t.Fatal(err)
				}
				clk.Advance(time.Second)
				res, err := e.RouteDefault(ctx, r.ConversationID)
				if err != nil || res.AgentID != want {
					t.Fatalf("conversation %d went to %q (%v), want %s", i, res.AgentID, err, want)
				}
			}
		})
	}
	// least_open prefers the agent with fewer open conversations even out of turn
	e, _, _ := newEngine(t)
	ch := setup(t, e, routing.LeastOpen, map[string]int{"a": 5, "b": 5})
	ctx := context.Background()
	var aConvs []string
	for i := 0; i < 4; i++ {
		r, _ := e.Ingest(ctx, ch, engine.Inbound{MessageID: fmt.Sprint(i), From: fmt.Sprint("+2", i)})
		res, _ := e.RouteDefault(ctx, r.ConversationID)
		if res.AgentID == "a" {
			aConvs = append(aConvs, r.ConversationID)
		}
	}
	for _, c := range aConvs {
		if _, err := e.Close(ctx, c, admin, ""); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		r, _ := e.Ingest(ctx, ch, engine.Inbound{MessageID: fmt.Sprint("x", i), From: fmt.Sprint("+3", i)})
		if res, _ := e.RouteDefault(ctx, r.ConversationID); res.AgentID != "a" {
			t.Fatalf("least_open sent conversation %d to %s while a had fewer", i, res.AgentID)
		}
	}
}

// Concurrent routing never puts an agent over its maximum.
func TestConcurrentRoutingRespectsCapacity(t *testing.T) {
	e, _, st := newEngine(t)
	ch := setup(t, e, routing.LeastOpen, map[string]int{"a": 3, "b": 2, "c": 4})
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]engine.AssignResult, 60)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := e.Ingest(ctx, ch, engine.Inbound{MessageID: fmt.Sprint(i), From: fmt.Sprint("+9", i)})
			if err != nil {
				t.Error(err)
				return
			}
			if results[i], err = e.RouteDefault(ctx, r.ConversationID); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	got := map[string]int{}
	for _, r := range results {
		if r.Status == engine.Assigned {
			got[r.AgentID]++
		}
	}
	for id, max := range map[string]int{"a": 3, "b": 2, "c": 4} {
		a, _ := st.GetAgent(ctx, id)
		if got[id] != max || a.OpenCount != max {
			t.Fatalf("agent %s: %d assigned, openCount %d, want %d", id, got[id], a.OpenCount, max)
		}
	}
	q, _ := st.PendingQueue(ctx, "t", 100)
	if len(q) != 60-9 {
		t.Fatalf("%d pending, want %d", len(q), 51)
	}
}

// Issue 9.1: a workflow step's onlineOnly travels with the conversation it
// queued; the drain that hands it out later applies it, whatever the team says.
func TestQueuedStepOnlineOnlyTravelsToTheDrain(t *testing.T) {
	e, _, st := newEngine(t)
	ctx := context.Background()
	if _, err := e.CreateTeam(ctx, routing.Team{ID: "t", Name: "T", Strategy: routing.RoundRobin}, admin); err != nil { // the team allows offline agents
		t.Fatal(err)
	}
	if _, err := e.CreateAgent(ctx, routing.Agent{ID: "off", Name: "off", MaxConcurrent: 2, Teams: []string{"t"}, Status: routing.StatusOffline}, admin); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateAgent(ctx, routing.Agent{ID: "on", Name: "on", MaxConcurrent: 1, Teams: []string{"t"}, Status: routing.StatusOffline}, admin); err != nil {
		t.Fatal(err)
	}
	ch, err := e.CreateChannel(ctx, routing.Channel{ID: "c", Provider: "generic", SecretRef: "env:X"}, admin)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Ingest(ctx, ch, engine.Inbound{MessageID: "m1", From: "+1", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Assign(ctx, res.ConversationID, engine.Target{TeamID: "t", OnlineOnly: true}, engine.Workflow("wf"), "", 0)
	if err != nil || got.Status != engine.Queued {
		t.Fatalf("the step should queue: %+v %v", got, err)
	}
	e.DrainTeam(ctx, "t") // a sweep, a freed slot...
	if c, _ := st.GetConversation(ctx, res.ConversationID); c.Status != routing.ConvPending {
		t.Fatalf("the drain handed the conversation to %q, an offline agent", c.AssigneeID)
	}
	if _, err := e.SetStatus(ctx, "on", routing.StatusOnline, admin); err != nil {
		t.Fatal(err)
	}
	c, _ := st.GetConversation(ctx, res.ConversationID)
	if c.Status != routing.ConvOpen || c.AssigneeID != "on" || c.OnlineOnly {
		t.Fatalf("once an agent is online it should get it: %s %q onlineOnly=%v", c.Status, c.AssigneeID, c.OnlineOnly)
	}
}
