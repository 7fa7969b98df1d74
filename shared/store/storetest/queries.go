package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// listFixture is 36 conversations over two teams, four agents, five contacts
// and three statuses; pairs share an OpenedAt so ties are broken by ID.
func listFixture() []routing.Conversation {
	ids := shuffledIDs("cv", 36, 5)
	var out []routing.Conversation
	for i := range 36 {
		c := newConversation(ids[i])
		c.TeamID = []string{"team_a", "team_b"}[i%2]
		c.ContactID = fmt.Sprintf("ct_%d", i%5)
		c.OpenedAt = at(time.Duration(i/2) * time.Minute)
		switch i % 3 {
		case 0:
			c.Status = routing.ConvPending
			c.PendingSince = c.OpenedAt.Add(time.Second)
		case 1:
			c.Status = routing.ConvOpen
			c.PendingSince = time.Time{}
			c.AssigneeID = fmt.Sprintf("ag_%d", i%4)
			c.AssignedAt = ptr(c.OpenedAt.Add(time.Second))
		case 2:
			c.Status = routing.ConvClosed
			c.PendingSince = time.Time{}
			c.AssigneeID = fmt.Sprintf("ag_%d", i%4)
			c.ClosedAt = ptr(c.OpenedAt.Add(time.Hour))
		}
		switch (i / 3) % 3 {
		case 0:
			c.Escalation = &routing.Escalation{Type: routing.EscEmergency, Summary: "help", By: "contact", At: c.OpenedAt}
		case 1:
			c.Escalation = &routing.Escalation{Type: routing.EscBilling, Summary: "refund", By: "agent:ag_1", At: c.OpenedAt}
		}
		out = append(out, c)
	}
	return out
}

func putConversations(t *testing.T, s store.Store, cs []routing.Conversation) {
	t.Helper()
	for start := 0; start < len(cs); start += 12 {
		var tx store.Tx
		for _, c := range cs[start:min(start+12, len(cs))] {
			tx.Conversations = append(tx.Conversations, store.ConversationWrite{Value: c})
		}
		commit(t, s, tx)
	}
}

func matches(c routing.Conversation, f store.ConversationFilter) bool {
	esc := routing.EscalationType("")
	if c.Escalation != nil {
		esc = c.Escalation.Type
	}
	return (f.Status == "" || c.Status == f.Status) &&
		(f.TeamID == "" || c.TeamID == f.TeamID) &&
		(f.AssigneeID == "" || c.AssigneeID == f.AssigneeID) &&
		(f.ContactID == "" || c.ContactID == f.ContactID) &&
		(f.EscalationType == "" || esc == f.EscalationType)
}

// expectList filters and orders cs as ListConversations must.
func expectList(cs []routing.Conversation, f store.ConversationFilter) []routing.Conversation {
	var out []routing.Conversation
	for _, c := range cs {
		if matches(c, f) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b routing.Conversation) int {
		if c := b.OpenedAt.Compare(a.OpenedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out
}

func listAll(t *testing.T, s store.Store, f store.ConversationFilter, limit int) []routing.Conversation {
	t.Helper()
	return collect(t, limit, func(c string) (store.Page[routing.Conversation], error) {
		f.Cursor, f.Limit = c, limit
		return s.ListConversations(t.Context(), f)
	})
}

func (h harness) testListConversations(t *testing.T) {
	filters := []struct {
		name string
		f    store.ConversationFilter
	}{
		{"All", store.ConversationFilter{}},
		{"StatusPending", store.ConversationFilter{Status: routing.ConvPending}},
		{"StatusOpen", store.ConversationFilter{Status: routing.ConvOpen}},
		{"StatusClosed", store.ConversationFilter{Status: routing.ConvClosed}},
		{"Team", store.ConversationFilter{TeamID: "team_b"}},
		{"Assignee", store.ConversationFilter{AssigneeID: "ag_1"}},
		{"Contact", store.ConversationFilter{ContactID: "ct_3"}},
		{"Escalation", store.ConversationFilter{EscalationType: routing.EscEmergency}},
		{"EscalationBilling", store.ConversationFilter{EscalationType: routing.EscBilling}},
		{"StatusAndTeam", store.ConversationFilter{Status: routing.ConvPending, TeamID: "team_a"}},
		{"AssigneeAndStatus", store.ConversationFilter{AssigneeID: "ag_3", Status: routing.ConvOpen}},
		{"ContactAndStatus", store.ConversationFilter{ContactID: "ct_1", Status: routing.ConvClosed}},
		{"TeamAndEscalation", store.ConversationFilter{TeamID: "team_a", EscalationType: routing.EscEmergency}},
		{"Everything", store.ConversationFilter{Status: routing.ConvOpen, TeamID: "team_b", AssigneeID: "ag_1", ContactID: "ct_3", EscalationType: routing.EscBilling}},
		{"NoMatch", store.ConversationFilter{TeamID: "team_zzz"}},
	}
	for _, tc := range filters {
		h.run(t, "Filter"+tc.name, func(t *testing.T, s store.Store) {
			cs := listFixture()
			putConversations(t, s, cs)
			want := expectList(cs, tc.f)
			if tc.name != "NoMatch" && len(want) == 0 {
				t.Fatal("fixture error: the filter matches nothing")
			}
			got := listAll(t, s, tc.f, 4)
			wantIDs(t, "conversations (newest opened first)", convIDs(got), convIDs(want))
			for i := range got {
				w := want[i]
				w.Version = 1
				sameJSON(t, "listed conversation", got[i], w)
			}
		})
	}
	h.run(t, "DefaultLimit", func(t *testing.T, s store.Store) {
		var cs []routing.Conversation
		for i := range 60 {
			c := newConversation(fmt.Sprintf("cv_%03d", i))
			c.OpenedAt = at(time.Duration(i) * time.Second)
			cs = append(cs, c)
		}
		putConversations(t, s, cs)
		got := listAll(t, s, store.ConversationFilter{}, 0)
		wantIDs(t, "all 60", convIDs(got), convIDs(expectList(cs, store.ConversationFilter{})))
	})
	h.run(t, "FollowsUpdates", func(t *testing.T, s store.Store) {
		cs := listFixture()
		putConversations(t, s, cs)
		// Move an open conversation to another agent, team and contact, escalate it, then close it.
		var c routing.Conversation
		for _, x := range cs {
			if x.Status == routing.ConvOpen && x.AssigneeID == "ag_1" {
				c = x
				break
			}
		}
		if c.ID == "" {
			t.Fatal("fixture error: no open conversation of ag_1")
		}
		c.AssigneeID, c.TeamID, c.ContactID = "ag_9", "team_c", "ct_9"
		c.Escalation = &routing.Escalation{Type: routing.EscComplaint, Summary: "angry", By: "agent:ag_9", At: at(time.Hour)}
		commit(t, s, store.Tx{Conversations: []store.ConversationWrite{{Value: c, ExpectVersion: 1}}})
		cs = slices.DeleteFunc(cs, func(x routing.Conversation) bool { return x.ID == c.ID })
		cs = append(cs, c)
		check := func(fs ...store.ConversationFilter) {
			t.Helper()
			for _, f := range fs {
				got := listAll(t, s, f, 5)
				wantIDs(t, fmt.Sprintf("filter %+v", f), convIDs(got), convIDs(expectList(cs, f)))
			}
		}
		check(store.ConversationFilter{AssigneeID: "ag_1"}, store.ConversationFilter{AssigneeID: "ag_9"},
			store.ConversationFilter{TeamID: "team_c"}, store.ConversationFilter{ContactID: "ct_9"},
			store.ConversationFilter{EscalationType: routing.EscComplaint}, store.ConversationFilter{})
		c.Status = routing.ConvClosed
		c.ClosedAt = ptr(at(2 * time.Hour))
		commit(t, s, store.Tx{Conversations: []store.ConversationWrite{{Value: c, ExpectVersion: 2}}})
		cs[len(cs)-1] = c
		check(store.ConversationFilter{Status: routing.ConvOpen}, store.ConversationFilter{Status: routing.ConvClosed},
			store.ConversationFilter{AssigneeID: "ag_9", Status: routing.ConvOpen}, store.ConversationFilter{})
	})
	h.run(t, "BadCursor", func(t *testing.T, s store.Store) {
		putConversations(t, s, listFixture())
		_, err := s.ListConversations(t.Context(), store.ConversationFilter{PageRequest: store.PageRequest{Cursor: "%%% not a cursor"}})
		wantCode(t, err, routing.CodeInvalid)
	})
}

func pending(id, team string, since time.Time, esc routing.EscalationType) routing.Conversation {
	c := newConversation(id)
	c.TeamID = team
	c.PendingSince = since
	if esc != "" {
		c.Escalation = &routing.Escalation{Type: esc, Summary: string(esc), By: "contact", At: since}
	}
	return c
}

func queue(t *testing.T, s store.Store, team string, limit int) []string {
	t.Helper()
	q, err := s.PendingQueue(t.Context(), team, limit)
	if err != nil {
		t.Fatalf("PendingQueue(%s, %d): %v", team, limit, err)
	}
	for _, c := range q {
		if c.Status != routing.ConvPending || c.TeamID != team {
			t.Fatalf("PendingQueue(%s) returned %s with status %s team %s", team, c.ID, c.Status, c.TeamID)
		}
	}
	return convIDs(q)
}

func (h harness) testPendingQueue(t *testing.T) {
	h.run(t, "RankOrder", func(t *testing.T, s store.Store) {
		// Same PendingSince, created least urgent first, ids against rank order.
		var cs []routing.Conversation
		esc := []routing.EscalationType{"", routing.EscGeneral, routing.EscBilling, routing.EscPurchase, routing.EscAppointment, routing.EscComplaint, routing.EscEmergency}
		for i, e := range esc {
			cs = append(cs, pending(fmt.Sprintf("cv_%d", i), "team_a", t0, e))
		}
		putConversations(t, s, cs)
		wantIDs(t, "queue: emergency < complaint < appointment < purchase < general < billing < none",
			queue(t, s, "team_a", 0), []string{"cv_6", "cv_5", "cv_4", "cv_3", "cv_1", "cv_2", "cv_0"})
	})
	h.run(t, "ConfiguredOrder", func(t *testing.T, s store.Store) {
		// The host set billing first at startup: the store ranks by the order in force.
		if err := routing.SetEscalationOrder([]routing.EscalationType{routing.EscBilling}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = routing.SetEscalationOrder(nil) })
		putConversations(t, s, []routing.Conversation{
			pending("cv_e", "team_a", at(0), routing.EscEmergency),
			pending("cv_b", "team_a", at(time.Second), routing.EscBilling),
			pending("cv_n", "team_a", at(0), ""),
		})
		wantIDs(t, "queue: billing < emergency < none", queue(t, s, "team_a", 0), []string{"cv_b", "cv_e", "cv_n"})
	})
	h.run(t, "FullOrder", func(t *testing.T, s store.Store) {
		var cs []routing.Conversation
		ids := shuffledIDs("cv", 40, 7)
		esc := append([]routing.EscalationType{""}, routing.EscalationTypes...)
		for i := range 40 {
			// Some PendingSince ties, some times at whole seconds and fractions.
			since := at(time.Duration(i%9) * 500 * time.Millisecond)
			cs = append(cs, pending(ids[i], "team_a", since, esc[i%len(esc)]))
		}
		putConversations(t, s, shuffled(cs, 8))
		want := slices.Clone(cs)
		slices.SortFunc(want, func(a, b routing.Conversation) int {
			if routing.QueueLess(a, b) {
				return -1
			}
			if routing.QueueLess(b, a) {
				return 1
			}
			return 0
		})
		wantIDs(t, "queue order (rank, PendingSince, ID)", queue(t, s, "team_a", 100), convIDs(want))
		wantIDs(t, "limit 7", queue(t, s, "team_a", 7), convIDs(want[:7]))
		q, err := s.PendingQueue(t.Context(), "team_a", 1)
		if err != nil || len(q) != 1 {
			t.Fatalf("limit 1: %d items, err %v", len(q), err)
		}
		w := want[0]
		w.Version = 1
		sameJSON(t, "queue head", q[0], w)
	})
	h.run(t, "OnlyPendingOfTeam", func(t *testing.T, s store.Store) {
		putConversations(t, s, []routing.Conversation{
			pending("cv_a1", "team_a", at(time.Second), ""),
			pending("cv_b1", "team_b", at(0), routing.EscEmergency),
			openConversation("cv_open", "ag_1", at(0)),
			pending("cv_a2", "team_a", at(2*time.Second), ""),
			pending("cv_none", "", at(0), routing.EscEmergency),
		})
		closed := pending("cv_closed", "team_a", at(0), routing.EscEmergency)
		closed.Status = routing.ConvClosed
		putConversations(t, s, []routing.Conversation{closed})
		wantIDs(t, "team_a queue", queue(t, s, "team_a", 0), []string{"cv_a1", "cv_a2"})
		wantIDs(t, "team_b queue", queue(t, s, "team_b", 0), []string{"cv_b1"})
		wantIDs(t, "unknown team queue", queue(t, s, "team_zzz", 0), nil)
	})
	h.run(t, "LeavesAndReturns", func(t *testing.T, s store.Store) {
		a := pending("cv_1", "team_a", at(0), "")
		b := pending("cv_2", "team_a", at(time.Second), "")
		putConversations(t, s, []routing.Conversation{a, b})
		a.Status, a.AssigneeID, a.PendingSince = routing.ConvOpen, "ag_1", time.Time{}
		commit(t, s, store.Tx{Conversations: []store.ConversationWrite{{Value: a, ExpectVersion: 1}}})
		wantIDs(t, "after assigning cv_1", queue(t, s, "team_a", 0), []string{"cv_2"})
		b.Status, b.PendingSince = routing.ConvClosed, time.Time{}
		commit(t, s, store.Tx{Conversations: []store.ConversationWrite{{Value: b, ExpectVersion: 1}}})
		wantIDs(t, "after closing cv_2", queue(t, s, "team_a", 0), nil)
		// Reopened: back in the queue with a new PendingSince.
		b.Status, b.PendingSince = routing.ConvPending, at(time.Hour)
		a.Status, a.AssigneeID, a.PendingSince = routing.ConvPending, "", at(2*time.Hour)
		commit(t, s, store.Tx{Conversations: []store.ConversationWrite{{Value: a, ExpectVersion: 2}, {Value: b, ExpectVersion: 2}}})
		wantIDs(t, "after reopening both", queue(t, s, "team_a", 0), []string{"cv_2", "cv_1"})
	})
	h.run(t, "Requeued", func(t *testing.T, s store.Store) {
		a := pending("cv_1", "team_a", at(0), "")
		b := pending("cv_2", "team_a", at(time.Second), "")
		c := pending("cv_3", "team_a", at(2*time.Second), "")
		putConversations(t, s, []routing.Conversation{a, b, c})
		c.Escalation = &routing.Escalation{Type: routing.EscComplaint, Summary: "x", By: "contact", At: at(time.Minute)}
		commit(t, s, store.Tx{Conversations: []store.ConversationWrite{{Value: c, ExpectVersion: 1}}})
		wantIDs(t, "after escalating cv_3", queue(t, s, "team_a", 0), []string{"cv_3", "cv_1", "cv_2"})
		a.TeamID = "team_b"
		commit(t, s, store.Tx{Conversations: []store.ConversationWrite{{Value: a, ExpectVersion: 1}}})
		wantIDs(t, "team_a after moving cv_1", queue(t, s, "team_a", 0), []string{"cv_3", "cv_2"})
		wantIDs(t, "team_b after moving cv_1", queue(t, s, "team_b", 0), []string{"cv_1"})
		b.PendingSince = at(time.Hour)
		commit(t, s, store.Tx{Conversations: []store.ConversationWrite{{Value: b, ExpectVersion: 1}}})
		c.Escalation = nil
		commit(t, s, store.Tx{Conversations: []store.ConversationWrite{{Value: c, ExpectVersion: 2}}})
		wantIDs(t, "after moving cv_2 back and de-escalating cv_3", queue(t, s, "team_a", 0), []string{"cv_3", "cv_2"})
	})
	h.run(t, "Limit", func(t *testing.T, s store.Store) {
		var cs []routing.Conversation
		for i := range 60 {
			cs = append(cs, pending(fmt.Sprintf("cv_%03d", i), "team_a", at(time.Duration(i)*time.Second), ""))
		}
		putConversations(t, s, cs)
		got := queue(t, s, "team_a", 3)
		wantIDs(t, "limit 3", got, []string{"cv_000", "cv_001", "cv_002"})
		if n := len(queue(t, s, "team_a", 0)); n != store.DefaultLimit {
			t.Fatalf("limit 0: %d items, want DefaultLimit %d", n, store.DefaultLimit)
		}
		if n := len(queue(t, s, "team_a", 5000)); n != 60 {
			t.Fatalf("limit 5000: %d items, want 60", n)
		}
	})
}
