package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Issue 9.9: the pending queue and the staff's escalation queue follow the
// seed's order by default (general before billing) and an order the host set.
func TestEscalationOrder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order []routing.EscalationType
		want  []routing.EscalationType
	}{
		{"default", nil, []routing.EscalationType{routing.EscGeneral, routing.EscBilling}},
		{"billing first", []routing.EscalationType{routing.EscBilling}, []routing.EscalationType{routing.EscBilling, routing.EscGeneral}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := routing.SetEscalationOrder(tc.order); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = routing.SetEscalationOrder(nil) })
			e, clk, st := newEngine(t)
			ch := setup(t, e, routing.RoundRobin, map[string]int{}) // no agents: everything queues
			ctx := context.Background()
			byConv := map[string]routing.EscalationType{}
			for i, typ := range []routing.EscalationType{routing.EscBilling, routing.EscGeneral} { // billing is older
				r, err := e.Ingest(ctx, ch, engine.Inbound{MessageID: fmt.Sprint(i), From: fmt.Sprint("+", i)})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.RouteDefault(ctx, r.ConversationID); err != nil {
					t.Fatal(err)
				}
				if _, err := e.Escalate(ctx, r.ConversationID, typ, "why", "", admin); err != nil {
					t.Fatal(err)
				}
				byConv[r.ConversationID] = typ
				clk.Advance(1e9)
			}
			q, err := st.PendingQueue(ctx, "t", 10)
			if err != nil {
				t.Fatal(err)
			}
			staff, err := e.EscalationQueue(ctx, admin, 10)
			if err != nil {
				t.Fatal(err)
			}
			for what, list := range map[string][]routing.Conversation{"pending queue": q, "escalation queue": staff} {
				var got []routing.EscalationType
				for _, c := range list {
					got = append(got, byConv[c.ID])
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("%s: %v, want %v", what, got, tc.want)
				}
			}
		})
	}
}
