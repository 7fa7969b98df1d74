package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

func (h harness) testTx(t *testing.T) {
	h.run(t, "Empty", func(t *testing.T, s store.Store) {
		if err := s.Commit(t.Context(), store.Tx{}); err != nil {
			t.Fatalf("empty Tx: %v", err)
		}
	})
	good := func() store.Tx {
		return store.Tx{Conversations: []store.ConversationWrite{{Value: newConversation("cv_ok")}}}
	}
	invalid := []struct {
		name string
		tx   store.Tx
	}{
		{"ConversationID", store.Tx{Conversations: []store.ConversationWrite{{Value: newConversation("")}}}},
		{"ContactID", store.Tx{Contacts: []store.ContactWrite{{Value: newContact("", "ch_1", "ext_1")}}}},
		{"AgentID", store.Tx{Agents: []store.AgentWrite{{Value: newAgent("", 1, routing.StatusOnline)}}}},
		{"TeamID", store.Tx{Teams: []store.TeamWrite{{Value: newTeam("")}}}},
		{"ChannelID", store.Tx{Channels: []store.ChannelWrite{{Value: newChannel("")}}}},
		{"WorkflowID", store.Tx{Workflows: []store.WorkflowWrite{{Value: newWorkflow("")}}}},
		{"VersionWorkflowID", store.Tx{Versions: []routing.WorkflowVersion{newVersion("", 1)}}},
		{"LoadAgentID", load("", 1, t0)},
		{"CursorTeamID", store.Tx{Cursors: []store.CursorSet{{AgentID: "ag_1"}}}},
		{"ClaimKey", claim("", t0, at(time.Hour))},
		{"EventID", store.Tx{Events: []routing.Event{newEvent("", "cv_1", t0)}}},
		{"EventConversationID", store.Tx{Events: []routing.Event{newEvent("ev_1", "", t0)}}},
		{"NotificationID", store.Tx{Notifications: []routing.Notification{newNotification("", "ag_1", t0)}}},
		{"NotificationAgentID", store.Tx{Notifications: []routing.Notification{newNotification("nt_1", "", t0)}}},
		{"NegativeExpectVersion", store.Tx{Contacts: []store.ContactWrite{{Value: newContact("ct_1", "ch_1", "e"), ExpectVersion: -1}}}},
		// The checks every backend shares (store.Validate) beyond the ids.
		{"ConversationStatus", store.Tx{Conversations: []store.ConversationWrite{{Value: func() routing.Conversation {
			c := newConversation("cv_2")
			c.Status = "lost"
			return c
		}()}}}},
		{"ContactChannelID", store.Tx{Contacts: []store.ContactWrite{{Value: newContact("ct_1", "", "ext_1")}}}},
		{"ContactExternalID", store.Tx{Contacts: []store.ContactWrite{{Value: newContact("ct_1", "ch_1", "")}}}},
		{"SameOutboxEventTwice", store.Tx{Outbox: []store.OutboxEvent{outboxEvent("cv_1", "ev_1", 1), outboxEvent("cv_1", "ev_1", 1)}}},
		{"SameCursorTwice", store.Tx{Cursors: []store.CursorSet{{TeamID: "tm_1", AgentID: "ag_1"}, {TeamID: "tm_1", AgentID: "ag_2"}}}},
		{"ChannelWrittenAndDeleted", store.Tx{Channels: []store.ChannelWrite{{Value: newChannel("ch_9"), ExpectVersion: 1}},
			Deletes: []store.Delete{{Kind: store.DeleteChannel, ID: "ch_9", ExpectVersion: 1}}}},
	}
	for _, tc := range invalid {
		h.run(t, "Invalid"+tc.name, func(t *testing.T, s store.Store) {
			err := s.Commit(t.Context(), mergeTx(good(), tc.tx))
			wantCode(t, err, routing.CodeInvalid)
			_, err = s.GetConversation(t.Context(), "cv_ok")
			wantNotFound(t, err)
			commit(t, s, good()) // the store still works
		})
	}
}

// atomicityFixture is the state the atomicity checks start from.
func atomicityFixture(t *testing.T, s store.Store) {
	t.Helper()
	full := newAgent("ag_full", 1, routing.StatusOnline)
	commit(t, s, store.Tx{
		Conversations: []store.ConversationWrite{{Value: newConversation("cv_old")}},
		Contacts:      []store.ContactWrite{{Value: newContact("ct_old", "ch_1", "ext_old")}},
		Agents: []store.AgentWrite{
			{Value: newAgent("ag_1", 5, routing.StatusOnline)},
			{Value: full},
			{Value: newAgent("ag_idle", 5, routing.StatusOnline)},
		},
		Teams:    []store.TeamWrite{{Value: newTeam("team_a")}, {Value: newTeam("team_b")}},
		Versions: []routing.WorkflowVersion{newVersion("wf_old", 1)},
		Claims:   []store.Claim{{Key: "used", At: t0, ExpiresAt: at(24 * time.Hour)}},
	})
	commit(t, s, load("ag_full", 1, t0))
}

// atomicityGood writes something of every kind; it succeeds on the fixture.
func atomicityGood() store.Tx {
	tm := newTeam("team_b")
	tm.Name = "Renamed"
	return store.Tx{
		Conversations: []store.ConversationWrite{
			{Value: openConversation("cv_new", "ag_1", at(time.Minute))},
			{Value: pending("cv_pend", "team_a", at(time.Minute), routing.EscEmergency)},
		},
		Contacts:  []store.ContactWrite{{Value: newContact("ct_new", "ch_1", "ext_new")}},
		Agents:    []store.AgentWrite{{Value: newAgent("ag_new", 2, routing.StatusOnline)}},
		Teams:     []store.TeamWrite{{Value: tm, ExpectVersion: 1}},
		Channels:  []store.ChannelWrite{{Value: newChannel("ch_new")}},
		Workflows: []store.WorkflowWrite{{Value: newWorkflow("wf_new")}},
		Versions:  []routing.WorkflowVersion{newVersion("wf_new", 1)},
		Loads:     []store.LoadChange{{AgentID: "ag_1", Delta: 1, At: at(time.Minute), RequireStatus: onlineOnly}},
		Cursors:   []store.CursorSet{{TeamID: "team_a", AgentID: "ag_1"}},
		Claims:    []store.Claim{{Key: "fresh", At: at(time.Minute), ExpiresAt: at(time.Hour)}},
		Events: []routing.Event{
			newEvent("ev_1", "cv_new", at(time.Minute)),
			newEvent("ev_2", "cv_new", at(time.Minute)),
			newEvent("ev_3", "cv_pend", at(time.Minute)),
		},
		Notifications: []routing.Notification{
			newNotification("nt_1", "ag_1", at(time.Minute)),
			newNotification("nt_2", "ag_1", at(time.Minute)),
		},
	}
}

// wantNoTrace checks that nothing of atomicityGood was written.
func wantNoTrace(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	for _, id := range []string{"cv_new", "cv_pend"} {
		_, err := s.GetConversation(ctx, id)
		wantNotFound(t, err)
	}
	if got := listAll(t, s, store.ConversationFilter{AssigneeID: "ag_1"}, 10); len(got) != 0 {
		t.Fatalf("listed by assignee: %v", convIDs(got))
	}
	wantIDs(t, "pending queue", queue(t, s, "team_a", 0), []string{"cv_old"})
	_, err := s.GetContact(ctx, "ct_new")
	wantNotFound(t, err)
	_, err = s.ContactByExternalID(ctx, "ch_1", "ext_new")
	wantNotFound(t, err)
	_, err = s.GetAgent(ctx, "ag_new")
	wantNotFound(t, err)
	wantLoad(t, s, "ag_1", 0, time.Time{})
	for _, id := range []string{"team_a", "team_b"} {
		tm, err := s.GetTeam(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if tm.Name == "Renamed" || tm.Cursor != "" || tm.Version != 1 {
			t.Fatalf("%s changed: Name %q Cursor %q Version %d", id, tm.Name, tm.Cursor, tm.Version)
		}
	}
	_, err = s.GetChannel(ctx, "ch_new")
	wantNotFound(t, err)
	_, err = s.GetWorkflow(ctx, "wf_new")
	wantNotFound(t, err)
	_, err = s.GetWorkflowVersion(ctx, "wf_new", 1)
	wantNotFound(t, err)
	for _, cv := range []string{"cv_new", "cv_pend"} {
		p, err := s.Events(ctx, cv, store.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 0 {
			t.Fatalf("events of %s written: %v", cv, eventIDs(p.Items))
		}
	}
	p, err := s.Notifications(ctx, "ag_1", store.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 0 {
		t.Fatalf("notifications written: %v", notificationIDs(p.Items))
	}
	// The claim was not kept: claiming it now succeeds.
	commit(t, s, claim("fresh", at(2*time.Minute), at(time.Hour)))
}

func (h harness) testAtomicity(t *testing.T) {
	h.run(t, "Control", func(t *testing.T, s store.Store) {
		// Without a bad write the same Tx commits and every part is visible:
		// the checks below can fail.
		atomicityFixture(t, s)
		commit(t, s, atomicityGood())
		if _, err := s.GetConversation(t.Context(), "cv_new"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ContactByExternalID(t.Context(), "ch_1", "ext_new"); err != nil {
			t.Fatal(err)
		}
		wantLoad(t, s, "ag_1", 1, at(time.Minute))
		wantIDs(t, "pending queue", queue(t, s, "team_a", 0), []string{"cv_pend", "cv_old"})
		if tm, _ := s.GetTeam(t.Context(), "team_a"); tm.Cursor != "ag_1" || tm.Version != 1 {
			t.Fatalf("team_a: Cursor %q Version %d, want ag_1 and 1", tm.Cursor, tm.Version)
		}
		if tm, _ := s.GetTeam(t.Context(), "team_b"); tm.Name != "Renamed" || tm.Version != 2 {
			t.Fatalf("team_b: Name %q Version %d, want Renamed and 2", tm.Name, tm.Version)
		}
		if _, err := s.GetWorkflowVersion(t.Context(), "wf_new", 1); err != nil {
			t.Fatal(err)
		}
		ev, _ := s.Events(t.Context(), "cv_new", store.PageRequest{})
		nt, _ := s.Notifications(t.Context(), "ag_1", store.PageRequest{})
		if len(ev.Items) != 2 || len(nt.Items) != 2 {
			t.Fatalf("%d events and %d notifications, want 2 and 2", len(ev.Items), len(nt.Items))
		}
		wantConflict(t, s.Commit(t.Context(), claim("fresh", at(2*time.Minute), at(time.Hour))), routing.ReasonDuplicate)
	})
	bad := []struct {
		name string
		tx   store.Tx
		code routing.Code
		why  string
	}{
		{"StaleConversation", store.Tx{Conversations: []store.ConversationWrite{{Value: newConversation("cv_old"), ExpectVersion: 2}}}, routing.CodeConflict, routing.ReasonVersion},
		{"ExistingContact", store.Tx{Contacts: []store.ContactWrite{{Value: newContact("ct_old", "ch_1", "ext_other")}}}, routing.CodeConflict, routing.ReasonExists},
		{"TakenExternalID", store.Tx{Contacts: []store.ContactWrite{{Value: newContact("ct_other", "ch_1", "ext_old")}}}, routing.CodeConflict, routing.ReasonExists},
		{"MissingAgentUpdate", store.Tx{Agents: []store.AgentWrite{{Value: newAgent("ag_missing", 1, routing.StatusOnline), ExpectVersion: 1}}}, routing.CodeNotFound, ""},
		{"Capacity", load("ag_full", 1, at(time.Minute)), routing.CodeConflict, routing.ReasonCapacity},
		{"NoLoad", load("ag_idle", -1, at(time.Minute)), routing.CodeConflict, routing.ReasonNoLoad},
		{"DuplicateClaim", claim("used", at(time.Minute), at(time.Hour)), routing.CodeConflict, routing.ReasonDuplicate},
		{"ExistingVersion", store.Tx{Versions: []routing.WorkflowVersion{newVersion("wf_old", 1)}}, routing.CodeConflict, routing.ReasonExists},
		{"MissingCursorTeam", store.Tx{Cursors: []store.CursorSet{{TeamID: "team_missing", AgentID: "ag_1"}}}, routing.CodeNotFound, ""},
	}
	for _, tc := range bad {
		h.run(t, "FailsWith"+tc.name, func(t *testing.T, s store.Store) {
			atomicityFixture(t, s)
			err := s.Commit(t.Context(), mergeTx(atomicityGood(), tc.tx))
			if tc.code == routing.CodeConflict {
				wantConflict(t, err, tc.why)
			} else {
				wantCode(t, err, tc.code)
			}
			wantNoTrace(t, s)
		})
	}
}

func (h harness) testRaces(t *testing.T) {
	h.run(t, "Capacity50x5", func(t *testing.T, s store.Store) {
		putAgent(t, s, newAgent("ag_x", 5, routing.StatusOnline))
		const n = 50
		errs := make([]error, n)
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				when := at(time.Duration(i) * time.Millisecond)
				errs[i] = s.Commit(t.Context(), store.Tx{
					Conversations: []store.ConversationWrite{{Value: openConversation(fmt.Sprintf("cv_%02d", i), "ag_x", when)}},
					Loads:         []store.LoadChange{{AgentID: "ag_x", Delta: 1, At: when, RequireStatus: onlineOnly}},
				})
			}()
		}
		start.Done()
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !routing.IsConflict(err, routing.ReasonCapacity):
				t.Errorf("goroutine %d: want nil or conflict %q, got %v", i, routing.ReasonCapacity, err)
			}
		}
		if won != 5 {
			t.Fatalf("%d commits won, want exactly 5", won)
		}
		if a := getAgent(t, s, "ag_x"); a.OpenCount != 5 || a.Version != 1 {
			t.Fatalf("agent: OpenCount %d Version %d, want 5 and 1", a.OpenCount, a.Version)
		}
		exist := 0
		for i := range n {
			_, err := s.GetConversation(t.Context(), fmt.Sprintf("cv_%02d", i))
			switch {
			case err == nil:
				exist++
				if errs[i] != nil {
					t.Errorf("cv_%02d exists but its commit failed: %v", i, errs[i])
				}
			case !routing.IsNotFound(err):
				t.Fatal(err)
			}
		}
		if exist != 5 {
			t.Fatalf("%d conversations exist, want 5", exist)
		}
		if got := listAll(t, s, store.ConversationFilter{AssigneeID: "ag_x"}, 0); len(got) != 5 {
			t.Fatalf("listed %d conversations of ag_x, want 5", len(got))
		}
	})
	h.run(t, "StaleVersion20", func(t *testing.T, s store.Store) {
		commit(t, s, store.Tx{Conversations: []store.ConversationWrite{{Value: newConversation("cv_1")}}})
		const n = 20
		errs := make([]error, n)
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				c := newConversation("cv_1")
				c.ContactID = fmt.Sprintf("ct_g%02d", i)
				errs[i] = s.Commit(t.Context(), store.Tx{Conversations: []store.ConversationWrite{{Value: c, ExpectVersion: 1}}})
			}()
		}
		start.Done()
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("goroutines %d and %d both won", winner, i)
				}
				winner = i
			case !routing.IsConflict(err, routing.ReasonVersion):
				t.Errorf("goroutine %d: want nil or conflict %q, got %v", i, routing.ReasonVersion, err)
			}
		}
		if winner < 0 {
			t.Fatal("no goroutine won")
		}
		c, err := s.GetConversation(t.Context(), "cv_1")
		if err != nil {
			t.Fatal(err)
		}
		if c.Version != 2 || c.ContactID != fmt.Sprintf("ct_g%02d", winner) {
			t.Fatalf("stored Version %d ContactID %s; want 2 and the winner's ct_g%02d", c.Version, c.ContactID, winner)
		}
	})
	h.run(t, "Claim20", func(t *testing.T, s store.Store) {
		const n = 20
		errs := make([]error, n)
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				errs[i] = s.Commit(t.Context(), claim("wamid.X", at(time.Duration(i)*time.Second), at(time.Hour)))
			}()
		}
		start.Done()
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !routing.IsConflict(err, routing.ReasonDuplicate):
				t.Errorf("goroutine %d: want nil or conflict %q, got %v", i, routing.ReasonDuplicate, err)
			}
		}
		if won != 1 {
			t.Fatalf("%d claims won, want 1", won)
		}
	})
	h.run(t, "ContactExternalID20", func(t *testing.T, s store.Store) {
		const n = 20
		errs := make([]error, n)
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				errs[i] = s.Commit(t.Context(), store.Tx{Contacts: []store.ContactWrite{{Value: newContact(fmt.Sprintf("ct_%02d", i), "ch_1", "+5511999990000")}}})
			}()
		}
		start.Done()
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("contacts %d and %d both created", winner, i)
				}
				winner = i
			case !routing.IsConflict(err, routing.ReasonExists):
				t.Errorf("goroutine %d: want nil or conflict %q, got %v", i, routing.ReasonExists, err)
			}
		}
		if winner < 0 {
			t.Fatal("no contact created")
		}
		c, err := s.ContactByExternalID(t.Context(), "ch_1", "+5511999990000")
		if err != nil {
			t.Fatal(err)
		}
		if c.ID != fmt.Sprintf("ct_%02d", winner) {
			t.Fatalf("ContactByExternalID = %s, want the winner ct_%02d", c.ID, winner)
		}
	})
}
