package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// The sweep leaves a conversation to a workflow run that is still going, and
// routes one whose run ended without routing it (a leading stretch that
// failed, a workflow that only commented).
func TestSweepRoutesConversationsOfEndedRuns(t *testing.T) {
	e, clk, st := newEngine(t)
	ctx := context.Background()
	if _, err := e.CreateTeam(ctx, routing.Team{ID: "t", Name: "T", Strategy: routing.RoundRobin}, admin); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateAgent(ctx, routing.Agent{ID: "a", Name: "a", MaxConcurrent: 5, Teams: []string{"t"}, Status: routing.StatusOnline}, admin); err != nil {
		t.Fatal(err)
	}
	ch, err := e.CreateChannel(ctx, routing.Channel{ID: "c", Provider: "generic", SecretRef: "env:X", Config: map[string]string{"team": "t"}}, admin)
	if err != nil {
		t.Fatal(err)
	}
	open := func(from, run string, ended bool) string {
		r, err := e.Ingest(ctx, ch, engine.Inbound{MessageID: "m" + from, From: from})
		if err != nil {
			t.Fatal(err)
		}
		data := map[string]any{"execution": run}
		if err := e.RecordWorkflowOnce(ctx, "run#"+run, time.Hour, time.Time{}, r.ConversationID, routing.EvWorkflowStarted, "wf", "", data); err != nil {
			t.Fatal(err)
		}
		if ended {
			if err := e.RecordWorkflowOnce(ctx, "ended#"+run, time.Hour, time.Time{}, r.ConversationID, routing.EvWorkflowEnded, "wf", "", map[string]any{"execution": run, "status": "failed"}); err != nil {
				t.Fatal(err)
			}
		}
		return r.ConversationID
	}
	waiting := open("+1", "run-1", false)
	failed := open("+2", "run-2", true)
	clk.Advance(engine.DefaultConfig().StrandedAfter)
	res, err := e.Sweep(ctx)
	if err != nil || res.Repaired != 1 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	if c, _ := st.GetConversation(ctx, failed); c.Status != routing.ConvOpen {
		t.Fatalf("the ended run's conversation is %s, want routed", c.Status)
	}
	if c, _ := st.GetConversation(ctx, waiting); c.Status != routing.ConvPending || c.TeamID != "" {
		t.Fatalf("the running run's conversation was taken from it: %s on %q", c.Status, c.TeamID)
	}
}
