package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

func (h harness) testConversations(t *testing.T) {
	conversationKind.run(t, h)
	h.run(t, "RoundTripAllFields", func(t *testing.T, s store.Store) {
		c := routing.Conversation{
			ID: "cv_1", ContactID: "ct_1", ChannelID: "ch_1", Status: routing.ConvOpen,
			TeamID: "team_a", AssigneeID: "ag_1",
			Escalation: &routing.Escalation{Type: routing.EscBilling, Summary: "refund", By: "workflow:wf_1", At: at(90 * time.Second)},
			BotActive:  true, Source: "agent",
			OpenedAt:       time.Date(2025, 3, 3, 9, 0, 0, 123456789, time.UTC), // nanoseconds survive
			AssignedAt:     ptr(at(2 * time.Minute)),
			ClosedAt:       ptr(at(3 * time.Minute)),
			LastIncomingAt: ptr(at(4 * time.Minute)),
			LastOutgoingAt: ptr(time.Date(2025, 3, 3, 9, 5, 0, 1, time.UTC)),
			Assignments:    3,
		}
		commit(t, s, store.Tx{Conversations: []store.ConversationWrite{{Value: c}}})
		got, err := s.GetConversation(t.Context(), "cv_1")
		if err != nil {
			t.Fatal(err)
		}
		c.Version = 1
		sameJSON(t, "conversation", got, c)
	})
}

func (h harness) testContacts(t *testing.T) {
	contactKind.run(t, h)
	h.run(t, "RoundTripFields", func(t *testing.T, s store.Store) {
		c := newContact("ct_1", "ch_1", "+5511999990000")
		c.Language, c.Country = "pt", "BR"
		c.Fields = map[string]string{"plan": "gold", "cpf": "123"}
		c.OpenConversationID = "cv_9"
		commit(t, s, store.Tx{Contacts: []store.ContactWrite{{Value: c}}})
		got, err := s.GetContact(t.Context(), "ct_1")
		if err != nil {
			t.Fatal(err)
		}
		c.Version = 1
		sameJSON(t, "contact", got, c)
	})
	h.run(t, "ExternalIDUnique", func(t *testing.T, s store.Store) {
		a := newContact("ct_a", "ch_1", "ext_1")
		commit(t, s, store.Tx{Contacts: []store.ContactWrite{{Value: a}}})
		err := s.Commit(t.Context(), store.Tx{Contacts: []store.ContactWrite{{Value: newContact("ct_b", "ch_1", "ext_1")}}})
		wantConflict(t, err, routing.ReasonExists)
		_, err = s.GetContact(t.Context(), "ct_b")
		wantNotFound(t, err)
		got, err := s.ContactByExternalID(t.Context(), "ch_1", "ext_1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != "ct_a" {
			t.Fatalf("ContactByExternalID = %q, want ct_a", got.ID)
		}
	})
	h.run(t, "ExternalIDUniqueWithinOneTx", func(t *testing.T, s store.Store) {
		err := s.Commit(t.Context(), store.Tx{Contacts: []store.ContactWrite{
			{Value: newContact("ct_a", "ch_1", "ext_1")},
			{Value: newContact("ct_b", "ch_1", "ext_1")},
		}})
		if err == nil {
			t.Fatal("two new contacts with one (channel, external id) in one Tx: want an error")
		}
		_, err = s.GetContact(t.Context(), "ct_a")
		wantNotFound(t, err)
		_, err = s.ContactByExternalID(t.Context(), "ch_1", "ext_1")
		wantNotFound(t, err)
	})
	h.run(t, "SameExternalIDOtherChannel", func(t *testing.T, s store.Store) {
		commit(t, s, store.Tx{Contacts: []store.ContactWrite{
			{Value: newContact("ct_a", "ch_1", "ext_1")},
			{Value: newContact("ct_b", "ch_2", "ext_1")},
		}})
		for ch, want := range map[string]string{"ch_1": "ct_a", "ch_2": "ct_b"} {
			got, err := s.ContactByExternalID(t.Context(), ch, "ext_1")
			if err != nil {
				t.Fatalf("%s: %v", ch, err)
			}
			if got.ID != want {
				t.Fatalf("ContactByExternalID(%s) = %q, want %q", ch, got.ID, want)
			}
		}
	})
	h.run(t, "ByExternalID", func(t *testing.T, s store.Store) {
		c := newContact("ct_a", "ch_1", "ext_1")
		commit(t, s, store.Tx{Contacts: []store.ContactWrite{{Value: c}}})
		c.Name = "Renamed"
		c.OpenConversationID = "cv_1"
		commit(t, s, store.Tx{Contacts: []store.ContactWrite{{Value: c, ExpectVersion: 1}}})
		got, err := s.ContactByExternalID(t.Context(), "ch_1", "ext_1")
		if err != nil {
			t.Fatal(err)
		}
		c.Version = 2
		sameJSON(t, "contact by external id (latest version)", got, c)
	})
	h.run(t, "ByExternalIDMissing", func(t *testing.T, s store.Store) {
		commit(t, s, store.Tx{Contacts: []store.ContactWrite{{Value: newContact("ct_a", "ch_1", "ext_1")}}})
		for _, k := range [][2]string{{"ch_1", "ext_2"}, {"ch_2", "ext_1"}, {"", ""}, {"ch_1", ""}} {
			_, err := s.ContactByExternalID(t.Context(), k[0], k[1])
			wantNotFound(t, err)
		}
	})
}

func (h harness) testAgents(t *testing.T) {
	agentKind.run(t, h)
	h.run(t, "CreateIgnoresLoadFields", func(t *testing.T, s store.Store) {
		a := newAgent("ag_1", 3, routing.StatusOnline)
		a.OpenCount = 2
		a.LastAssignedAt = at(time.Hour)
		commit(t, s, store.Tx{Agents: []store.AgentWrite{{Value: a}}})
		got, err := s.GetAgent(t.Context(), "ag_1")
		if err != nil {
			t.Fatal(err)
		}
		if got.OpenCount != 0 || !got.LastAssignedAt.IsZero() {
			t.Fatalf("created agent: OpenCount %d LastAssignedAt %v, want 0 and zero", got.OpenCount, got.LastAssignedAt)
		}
	})
	h.run(t, "UpdateKeepsLoadFields", func(t *testing.T, s store.Store) {
		a := newAgent("ag_1", 3, routing.StatusOnline)
		commit(t, s, store.Tx{Agents: []store.AgentWrite{{Value: a}}})
		commit(t, s, store.Tx{Loads: []store.LoadChange{{AgentID: "ag_1", Delta: 1, At: at(time.Minute)}}})
		a.Status = routing.StatusPaused
		a.OpenCount = 0
		a.LastAssignedAt = at(time.Hour)
		commit(t, s, store.Tx{Agents: []store.AgentWrite{{Value: a, ExpectVersion: 1}}})
		got, err := s.GetAgent(t.Context(), "ag_1")
		if err != nil {
			t.Fatal(err)
		}
		want := a
		want.OpenCount = 1
		want.LastAssignedAt = at(time.Minute)
		want.Version = 2
		sameJSON(t, "agent after profile update", got, want)
	})
	h.run(t, "GetAgentsOrder", func(t *testing.T, s store.Store) {
		var tx store.Tx
		for _, id := range []string{"ag_1", "ag_2", "ag_3", "ag_4"} {
			tx.Agents = append(tx.Agents, store.AgentWrite{Value: newAgent(id, 2, routing.StatusOnline)})
		}
		commit(t, s, tx)
		commit(t, s, store.Tx{Loads: []store.LoadChange{{AgentID: "ag_2", Delta: 1, At: at(time.Minute)}}})
		got, err := s.GetAgents(t.Context(), []string{"ag_3", "ag_missing", "ag_1", "ag_2"})
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "GetAgents (order asked, missing skipped)", agentIDs(got), []string{"ag_3", "ag_1", "ag_2"})
		if got[2].OpenCount != 1 {
			t.Fatalf("GetAgents: ag_2 OpenCount %d, want 1", got[2].OpenCount)
		}
		want := newAgent("ag_3", 2, routing.StatusOnline)
		want.Version = 1
		sameJSON(t, "GetAgents item", got[0], want)
	})
	h.run(t, "GetAgentsEmpty", func(t *testing.T, s store.Store) {
		commit(t, s, store.Tx{Agents: []store.AgentWrite{{Value: newAgent("ag_1", 2, routing.StatusOnline)}}})
		for _, ids := range [][]string{nil, {}, {"ag_x", "ag_y"}} {
			got, err := s.GetAgents(t.Context(), ids)
			if err != nil {
				t.Fatalf("GetAgents(%v): %v", ids, err)
			}
			if len(got) != 0 {
				t.Fatalf("GetAgents(%v) = %v, want none", ids, agentIDs(got))
			}
		}
	})
	h.run(t, "GetAgentsMany", func(t *testing.T, s store.Store) {
		// More ids than one DynamoDB BatchGetItem (100) takes.
		var want []string
		for i := range 130 {
			want = append(want, fmt.Sprintf("ag_%03d", i))
		}
		for start := 0; start < len(want); start += 25 {
			var tx store.Tx
			for _, id := range want[start:min(start+25, len(want))] {
				tx.Agents = append(tx.Agents, store.AgentWrite{Value: newAgent(id, 2, routing.StatusOnline)})
			}
			commit(t, s, tx)
		}
		ask := make([]string, 0, len(want))
		for i := len(want) - 1; i >= 0; i-- { // reverse order
			ask = append(ask, want[i])
		}
		got, err := s.GetAgents(t.Context(), ask)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "GetAgents of 130", agentIDs(got), ask)
	})
}

func (h harness) testTeams(t *testing.T) {
	teamKind.run(t, h)
}

func (h harness) testChannels(t *testing.T) {
	channelKind.run(t, h)
}

func (h harness) testWorkflows(t *testing.T) {
	workflowKind.run(t, h)
}

func (h harness) testWorkflowVersions(t *testing.T) {
	h.run(t, "Create", func(t *testing.T, s store.Store) {
		v := newVersion("wf_1", 1)
		commit(t, s, store.Tx{Versions: []routing.WorkflowVersion{v}})
		got, err := s.GetWorkflowVersion(t.Context(), "wf_1", 1)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "workflow version", got, v)
	})
	h.run(t, "Immutable", func(t *testing.T, s store.Store) {
		v := newVersion("wf_1", 1)
		commit(t, s, store.Tx{Versions: []routing.WorkflowVersion{v}})
		other := newVersion("wf_1", 1)
		other.ASL = []byte(`{"StartAt":"Other"}`)
		err := s.Commit(t.Context(), store.Tx{Versions: []routing.WorkflowVersion{other}})
		wantConflict(t, err, routing.ReasonExists)
		got, err := s.GetWorkflowVersion(t.Context(), "wf_1", 1)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "version unchanged", got, v)
	})
	h.run(t, "Numbers", func(t *testing.T, s store.Store) {
		vs := []routing.WorkflowVersion{newVersion("wf_1", 1), newVersion("wf_1", 2), newVersion("wf_1", 10), newVersion("wf_2", 1)}
		vs[3].ASL = []byte(`{"StartAt":"Two"}`)
		commit(t, s, store.Tx{Versions: vs})
		for _, v := range vs {
			got, err := s.GetWorkflowVersion(t.Context(), v.WorkflowID, v.Number)
			if err != nil {
				t.Fatalf("%s/%d: %v", v.WorkflowID, v.Number, err)
			}
			sameJSON(t, fmt.Sprintf("version %s/%d", v.WorkflowID, v.Number), got, v)
		}
	})
	h.run(t, "GetMissing", func(t *testing.T, s store.Store) {
		commit(t, s, store.Tx{Versions: []routing.WorkflowVersion{newVersion("wf_1", 1)}})
		for _, k := range []struct {
			wf string
			n  int
		}{{"wf_1", 2}, {"wf_1", 0}, {"wf_2", 1}, {"", 1}} {
			_, err := s.GetWorkflowVersion(t.Context(), k.wf, k.n)
			wantNotFound(t, err)
		}
	})
	h.run(t, "SameVersionTwiceInOneTx", func(t *testing.T, s store.Store) {
		err := s.Commit(t.Context(), store.Tx{Versions: []routing.WorkflowVersion{newVersion("wf_1", 1), newVersion("wf_1", 1)}})
		wantCode(t, err, routing.CodeInvalid)
		_, err = s.GetWorkflowVersion(t.Context(), "wf_1", 1)
		wantNotFound(t, err)
	})
	h.run(t, "PublishWithWorkflowUpdate", func(t *testing.T, s store.Store) {
		w := newWorkflow("wf_1")
		commit(t, s, store.Tx{Workflows: []store.WorkflowWrite{{Value: w}}})
		w.PublishedVersion = 1
		commit(t, s, store.Tx{
			Workflows: []store.WorkflowWrite{{Value: w, ExpectVersion: 1}},
			Versions:  []routing.WorkflowVersion{newVersion("wf_1", 1)},
		})
		// Publishing version 1 again with a stale draft fails as a whole.
		err := s.Commit(t.Context(), store.Tx{
			Workflows: []store.WorkflowWrite{{Value: w, ExpectVersion: 1}},
			Versions:  []routing.WorkflowVersion{newVersion("wf_1", 2)},
		})
		wantConflict(t, err, routing.ReasonVersion)
		_, err = s.GetWorkflowVersion(t.Context(), "wf_1", 2)
		wantNotFound(t, err)
	})
}
