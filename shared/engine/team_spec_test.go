package engine_test

import (
	"context"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Issue 9.10: a team created without onlineOnly is online-only; an explicit false is kept.
func TestNewTeamsDefaultToOnlineOnly(t *testing.T) {
	e, _, st := newEngine(t)
	ctx := context.Background()
	off := false
	for _, tc := range []struct {
		id   string
		in   *bool
		want bool
	}{{"absent", nil, true}, {"explicit-false", &off, false}} {
		got, err := e.CreateTeamSpec(ctx, engine.TeamSpec{ID: tc.id, Name: tc.id, OnlineOnly: tc.in}, admin)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := st.GetTeam(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.OnlineOnly != tc.want || stored.OnlineOnly != tc.want {
			t.Errorf("%s: onlineOnly returned %v, stored %v, want %v", tc.id, got.OnlineOnly, stored.OnlineOnly, tc.want)
		}
	}
	// An offline member of a default team receives nothing: the conversation queues.
	if _, err := e.CreateAgent(ctx, routing.Agent{ID: "off", Name: "off", MaxConcurrent: 2, Teams: []string{"absent"}}, admin); err != nil {
		t.Fatal(err)
	}
	ch, err := e.CreateChannel(ctx, routing.Channel{ID: "c", Provider: "generic", SecretRef: "env:X", Config: map[string]string{"team": "absent"}}, admin)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Ingest(ctx, ch, engine.Inbound{MessageID: "m1", From: "+1"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e.RouteDefault(ctx, r.ConversationID); err != nil || res.Status != engine.Queued {
		t.Fatalf("routed to a default team with only an offline agent: %+v %v, want queued", res, err)
	}
}
