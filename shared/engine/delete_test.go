package engine_test

import (
	"context"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

func wantInUse(t *testing.T, what string, err error) {
	t.Helper()
	if !routing.IsConflict(err, routing.ReasonInUse) {
		t.Fatalf("%s: err = %v, want conflict in_use", what, err)
	}
}

// Removing an agent (api.md: "agents are deactivated; their open
// conversations go back to their teams' queues"): its open conversation goes
// back to the team and on to the other agent; it leaves its teams.
func TestDeleteAgent(t *testing.T) {
	e, _, st := newEngine(t)
	ch := setup(t, e, routing.RoundRobin, map[string]int{"a": 1, "b": 1})
	ctx := context.Background()
	r, err := e.Ingest(ctx, ch, engine.Inbound{MessageID: "m1", From: "+1"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.RouteDefault(ctx, r.ConversationID)
	if err != nil || res.AgentID == "" {
		t.Fatalf("route: %+v %v", res, err)
	}
	busy, idle := res.AgentID, map[string]string{"a": "b", "b": "a"}[res.AgentID]

	if err := e.DeleteAgent(ctx, idle, engine.Person("ana", routing.RoleSupervisor), 0); routing.ErrorCode(err) != routing.CodeForbidden {
		t.Fatalf("a supervisor removed an agent: %v", err)
	}
	if err := e.DeleteAgent(ctx, idle, admin, 7); !routing.IsConflict(err, routing.ReasonVersion) {
		t.Fatalf("stale version: %v, want stale_version", err)
	}
	if err := e.DeleteAgent(ctx, busy, admin, 0); err != nil {
		t.Fatalf("removing an agent with an open conversation: %v", err)
	}
	if _, err := st.GetAgent(ctx, busy); !routing.IsNotFound(err) {
		t.Fatalf("removed agent still readable: %v", err)
	}
	c, err := st.GetConversation(ctx, r.ConversationID)
	if err != nil || c.Status != routing.ConvOpen || c.AssigneeID != idle {
		t.Fatalf("the removed agent's conversation: %s with %q (%v), want open with %s", c.Status, c.AssigneeID, err, idle)
	}
	if other, _ := st.GetAgent(ctx, idle); other.OpenCount != 1 {
		t.Fatalf("%s counts %d open", idle, other.OpenCount)
	}
	team, err := st.GetTeam(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if team.HasMember(busy) || !team.HasMember(idle) {
		t.Fatalf("team members after removing %s: %v", busy, team.Members)
	}
	if err := e.DeleteAgent(ctx, busy, admin, 0); !routing.IsNotFound(err) {
		t.Fatalf("removing twice: %v, want not_found", err)
	}
}

// A team is removed only once nothing routes to it and nobody is in it.
func TestDeleteTeam(t *testing.T) {
	e, _, st := newEngine(t)
	ch := setup(t, e, routing.RoundRobin, map[string]int{"a": 1})
	ctx := context.Background()
	wantInUse(t, "team with members", e.DeleteTeam(ctx, "t", admin, 0))
	if _, err := e.SetMember(ctx, "t", "a", false, admin); err != nil {
		t.Fatal(err)
	}
	r, err := e.Ingest(ctx, ch, engine.Inbound{MessageID: "m1", From: "+1"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e.RouteDefault(ctx, r.ConversationID); err != nil || res.Status != engine.Queued {
		t.Fatalf("route to an empty team: %+v %v", res, err)
	}
	wantInUse(t, "team with a pending conversation", e.DeleteTeam(ctx, "t", admin, 0))
	if _, err := e.Close(ctx, r.ConversationID, admin, ""); err != nil {
		t.Fatal(err)
	}
	wantInUse(t, "team a channel routes to", e.DeleteTeam(ctx, "t", admin, 0))
	if err := e.DeleteChannel(ctx, ch.ID, admin, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteTeam(ctx, "t", admin, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetTeam(ctx, "t"); !routing.IsNotFound(err) {
		t.Fatalf("removed team still readable: %v", err)
	}
}

// A channel with a conversation that is not closed stays.
func TestDeleteChannel(t *testing.T) {
	e, _, st := newEngine(t)
	ch := setup(t, e, routing.RoundRobin, map[string]int{"a": 1})
	ctx := context.Background()
	r, err := e.Ingest(ctx, ch, engine.Inbound{MessageID: "m1", From: "+1"})
	if err != nil {
		t.Fatal(err)
	}
	wantInUse(t, "channel with a pending conversation", e.DeleteChannel(ctx, ch.ID, admin, 0))
	if _, err := e.RouteDefault(ctx, r.ConversationID); err != nil {
		t.Fatal(err)
	}
	wantInUse(t, "channel with an open conversation", e.DeleteChannel(ctx, ch.ID, admin, 0))
	if _, err := e.Close(ctx, r.ConversationID, admin, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteChannel(ctx, ch.ID, admin, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetChannel(ctx, ch.ID); !routing.IsNotFound(err) {
		t.Fatalf("removed channel still readable: %v", err)
	}
	if _, err := st.GetConversation(ctx, r.ConversationID); err != nil {
		t.Fatalf("a removed channel's closed conversation is history: %v", err)
	}
}
