package storetest

import (
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

var onlineOnly = []routing.AgentStatus{routing.StatusOnline}

func putAgent(t *testing.T, s store.Store, a routing.Agent) {
	t.Helper()
	commit(t, s, store.Tx{Agents: []store.AgentWrite{{Value: a}}})
}

func load(id string, delta int, when time.Time, require ...routing.AgentStatus) store.Tx {
	return store.Tx{Loads: []store.LoadChange{{AgentID: id, Delta: delta, At: when, RequireStatus: require}}}
}

func getAgent(t *testing.T, s store.Store, id string) routing.Agent {
	t.Helper()
	a, err := s.GetAgent(t.Context(), id)
	if err != nil {
		t.Fatalf("GetAgent(%s): %v", id, err)
	}
	return a
}

func wantLoad(t *testing.T, s store.Store, id string, open int, last time.Time) {
	t.Helper()
	a := getAgent(t, s, id)
	if a.OpenCount != open || !a.LastAssignedAt.Equal(last) {
		t.Fatalf("agent %s: OpenCount %d LastAssignedAt %v; want %d and %v", id, a.OpenCount, a.LastAssignedAt, open, last)
	}
	if a.Version != 1 {
		t.Fatalf("agent %s: Version %d; loads must not change it (want 1)", id, a.Version)
	}
}

func (h harness) testLoads(t *testing.T) {
	h.run(t, "WithinCapacity", func(t *testing.T, s store.Store) {
		putAgent(t, s, newAgent("ag_1", 2, routing.StatusOnline))
		commit(t, s, load("ag_1", 1, at(time.Minute), onlineOnly...))
		wantLoad(t, s, "ag_1", 1, at(time.Minute))
		commit(t, s, load("ag_1", 1, at(2*time.Minute), onlineOnly...))
		wantLoad(t, s, "ag_1", 2, at(2*time.Minute))
	})
	h.run(t, "AtCapacity", func(t *testing.T, s store.Store) {
		putAgent(t, s, newAgent("ag_1", 2, routing.StatusOnline))
		commit(t, s, load("ag_1", 1, at(time.Minute)))
		commit(t, s, load("ag_1", 1, at(2*time.Minute)))
		err := s.Commit(t.Context(), load("ag_1", 1, at(3*time.Minute)))
		wantConflict(t, err, routing.ReasonCapacity)
		wantLoad(t, s, "ag_1", 2, at(2*time.Minute))
	})
	h.run(t, "ZeroCapacity", func(t *testing.T, s store.Store) {
		putAgent(t, s, newAgent("ag_1", 0, routing.StatusOnline))
		err := s.Commit(t.Context(), load("ag_1", 1, at(time.Minute)))
		wantConflict(t, err, routing.ReasonCapacity)
		wantLoad(t, s, "ag_1", 0, time.Time{})
	})
	for _, status := range []routing.AgentStatus{routing.StatusPaused, routing.StatusOffline} {
		h.run(t, "RequireStatusRefuses"+string(status), func(t *testing.T, s store.Store) {
			putAgent(t, s, newAgent("ag_1", 5, status))
			err := s.Commit(t.Context(), load("ag_1", 1, at(time.Minute), onlineOnly...))
			wantConflict(t, err, routing.ReasonCapacity)
			wantLoad(t, s, "ag_1", 0, time.Time{})
		})
	}
	h.run(t, "RequireStatusAnyOf", func(t *testing.T, s store.Store) {
		putAgent(t, s, newAgent("ag_1", 5, routing.StatusPaused))
		commit(t, s, load("ag_1", 1, at(time.Minute), routing.StatusOnline, routing.StatusPaused))
		wantLoad(t, s, "ag_1", 1, at(time.Minute))
	})
	h.run(t, "NoRequireStatusIgnoresStatus", func(t *testing.T, s store.Store) {
		putAgent(t, s, newAgent("ag_1", 5, routing.StatusOffline))
		commit(t, s, load("ag_1", 1, at(time.Minute)))
		wantLoad(t, s, "ag_1", 1, at(time.Minute))
	})
	h.run(t, "RequireStatusFollowsProfileUpdate", func(t *testing.T, s store.Store) {
		a := newAgent("ag_1", 5, routing.StatusOnline)
		putAgent(t, s, a)
		a.Status = routing.StatusPaused
		commit(t, s, store.Tx{Agents: []store.AgentWrite{{Value: a, ExpectVersion: 1}}})
		err := s.Commit(t.Context(), load("ag_1", 1, at(time.Minute), onlineOnly...))
		wantConflict(t, err, routing.ReasonCapacity)
	})
	h.run(t, "Decrement", func(t *testing.T, s store.Store) {
		putAgent(t, s, newAgent("ag_1", 2, routing.StatusOnline))
		commit(t, s, load("ag_1", 1, at(time.Minute)))
		commit(t, s, load("ag_1", 1, at(2*time.Minute)))
		commit(t, s, load("ag_1", -1, at(3*time.Minute)))
		wantLoad(t, s, "ag_1", 1, at(2*time.Minute)) // -1 leaves LastAssignedAt
		commit(t, s, load("ag_1", -1, at(4*time.Minute), onlineOnly...))
		wantLoad(t, s, "ag_1", 0, at(2*time.Minute))
	})
	h.run(t, "DecrementOfflineAgent", func(t *testing.T, s store.Store) {
		a := newAgent("ag_1", 2, routing.StatusOnline)
		putAgent(t, s, a)
		commit(t, s, load("ag_1", 1, at(time.Minute)))
		a.Status = routing.StatusOffline
		commit(t, s, store.Tx{Agents: []store.AgentWrite{{Value: a, ExpectVersion: 1}}})
		commit(t, s, load("ag_1", -1, at(2*time.Minute)))
		if got := getAgent(t, s, "ag_1"); got.OpenCount != 0 {
			t.Fatalf("OpenCount %d, want 0", got.OpenCount)
		}
	})
	h.run(t, "DecrementAtZero", func(t *testing.T, s store.Store) {
		putAgent(t, s, newAgent("ag_1", 2, routing.StatusOnline))
		err := s.Commit(t.Context(), load("ag_1", -1, at(time.Minute)))
		wantConflict(t, err, routing.ReasonNoLoad)
		wantLoad(t, s, "ag_1", 0, time.Time{})
	})
	h.run(t, "MissingAgent", func(t *testing.T, s store.Store) {
		putAgent(t, s, newAgent("ag_1", 2, routing.StatusOnline))
		wantNotFound(t, s.Commit(t.Context(), load("ag_2", 1, at(time.Minute))))
		wantNotFound(t, s.Commit(t.Context(), load("ag_2", -1, at(time.Minute))))
		_, err := s.GetAgent(t.Context(), "ag_2")
		wantNotFound(t, err)
	})
	h.run(t, "MaxLoweredBelowOpen", func(t *testing.T, s store.Store) {
		a := newAgent("ag_1", 3, routing.StatusOnline)
		putAgent(t, s, a)
		commit(t, s, load("ag_1", 1, at(time.Minute)))
		commit(t, s, load("ag_1", 1, at(2*time.Minute)))
		a.MaxConcurrent = 1
		commit(t, s, store.Tx{Agents: []store.AgentWrite{{Value: a, ExpectVersion: 1}}})
		wantConflict(t, s.Commit(t.Context(), load("ag_1", 1, at(3*time.Minute))), routing.ReasonCapacity)
		commit(t, s, load("ag_1", -1, at(4*time.Minute)))
		wantConflict(t, s.Commit(t.Context(), load("ag_1", 1, at(5*time.Minute))), routing.ReasonCapacity)
		commit(t, s, load("ag_1", -1, at(6*time.Minute)))
		commit(t, s, load("ag_1", 1, at(7*time.Minute)))
		if got := getAgent(t, s, "ag_1"); got.OpenCount != 1 {
			t.Fatalf("OpenCount %d, want 1", got.OpenCount)
		}
	})
	h.run(t, "Reassign", func(t *testing.T, s store.Store) {
		putAgent(t, s, newAgent("ag_1", 1, routing.StatusOnline))
		putAgent(t, s, newAgent("ag_2", 1, routing.StatusOnline))
		c := openConversation("cv_1", "ag_1", at(time.Minute))
		commit(t, s, mergeTx(
			store.Tx{Conversations: []store.ConversationWrite{{Value: c}}},
			load("ag_1", 1, at(time.Minute), onlineOnly...)))
		c.AssigneeID = "ag_2"
		commit(t, s, store.Tx{
			Conversations: []store.ConversationWrite{{Value: c, ExpectVersion: 1}},
			Loads: []store.LoadChange{
				{AgentID: "ag_1", Delta: -1, At: at(2 * time.Minute)},
				{AgentID: "ag_2", Delta: 1, At: at(2 * time.Minute), RequireStatus: onlineOnly},
			},
		})
		wantLoad(t, s, "ag_1", 0, at(time.Minute))
		wantLoad(t, s, "ag_2", 1, at(2*time.Minute))
	})
	h.run(t, "CapacityFailureRollsBackConversation", func(t *testing.T, s store.Store) {
		putAgent(t, s, newAgent("ag_1", 1, routing.StatusOnline))
		commit(t, s, load("ag_1", 1, at(time.Minute)))
		err := s.Commit(t.Context(), store.Tx{
			Conversations: []store.ConversationWrite{{Value: openConversation("cv_1", "ag_1", at(2*time.Minute))}},
			Loads:         []store.LoadChange{{AgentID: "ag_1", Delta: 1, At: at(2 * time.Minute), RequireStatus: onlineOnly}},
			Events:        []routing.Event{newEvent("ev_1", "cv_1", at(2*time.Minute))},
		})
		wantConflict(t, err, routing.ReasonCapacity)
		_, err = s.GetConversation(t.Context(), "cv_1")
		wantNotFound(t, err)
		wantLoad(t, s, "ag_1", 1, at(time.Minute))
		p, err := s.Events(t.Context(), "cv_1", store.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 0 {
			t.Fatalf("events of a failed Tx were written: %v", eventIDs(p.Items))
		}
	})
	h.run(t, "PartialFailureRollsBackOtherLoads", func(t *testing.T, s store.Store) {
		putAgent(t, s, newAgent("ag_1", 1, routing.StatusOnline))
		putAgent(t, s, newAgent("ag_2", 1, routing.StatusOnline))
		err := s.Commit(t.Context(), store.Tx{Loads: []store.LoadChange{
			{AgentID: "ag_1", Delta: 1, At: at(time.Minute)},
			{AgentID: "ag_2", Delta: -1, At: at(time.Minute)},
		}})
		wantConflict(t, err, routing.ReasonNoLoad)
		wantLoad(t, s, "ag_1", 0, time.Time{})
	})
	h.run(t, "BadDelta", func(t *testing.T, s store.Store) {
		putAgent(t, s, newAgent("ag_1", 5, routing.StatusOnline))
		for _, d := range []int{0, 2, -2} {
			wantCode(t, s.Commit(t.Context(), load("ag_1", d, at(time.Minute))), routing.CodeInvalid)
		}
		wantLoad(t, s, "ag_1", 0, time.Time{})
	})
	h.run(t, "SameAgentTwiceInOneTx", func(t *testing.T, s store.Store) {
		a := newAgent("ag_1", 5, routing.StatusOnline)
		putAgent(t, s, a)
		err := s.Commit(t.Context(), mergeTx(load("ag_1", 1, at(time.Minute)), load("ag_1", 1, at(time.Minute))))
		wantCode(t, err, routing.CodeInvalid)
		err = s.Commit(t.Context(), mergeTx(
			store.Tx{Agents: []store.AgentWrite{{Value: a, ExpectVersion: 1}}},
			load("ag_1", 1, at(time.Minute))))
		wantCode(t, err, routing.CodeInvalid)
		wantLoad(t, s, "ag_1", 0, time.Time{})
	})
}

func (h harness) testCursors(t *testing.T) {
	h.run(t, "Set", func(t *testing.T, s store.Store) {
		commit(t, s, store.Tx{Teams: []store.TeamWrite{{Value: newTeam("team_a")}}})
		commit(t, s, store.Tx{Cursors: []store.CursorSet{{TeamID: "team_a", AgentID: "ag_2"}}})
		got, err := s.GetTeam(t.Context(), "team_a")
		if err != nil {
			t.Fatal(err)
		}
		want := newTeam("team_a")
		want.Cursor = "ag_2"
		want.Version = 1
		sameJSON(t, "team after CursorSet (same Version)", got, want)
		commit(t, s, store.Tx{Cursors: []store.CursorSet{{TeamID: "team_a", AgentID: "ag_1"}}})
		if got, _ = s.GetTeam(t.Context(), "team_a"); got.Cursor != "ag_1" || got.Version != 1 {
			t.Fatalf("second CursorSet: Cursor %q Version %d, want ag_1 and 1", got.Cursor, got.Version)
		}
	})
	h.run(t, "TeamWriteKeepsCursor", func(t *testing.T, s store.Store) {
		tm := newTeam("team_a")
		tm.Cursor = "ag_9"
		commit(t, s, store.Tx{Teams: []store.TeamWrite{{Value: tm}}})
		if got, err := s.GetTeam(t.Context(), "team_a"); err != nil || got.Cursor != "" {
			t.Fatalf("created team: Cursor %q (err %v), want empty", got.Cursor, err)
		}
		commit(t, s, store.Tx{Cursors: []store.CursorSet{{TeamID: "team_a", AgentID: "ag_2"}}})
		tm.Cursor = ""
		tm.Name = "Renamed"
		commit(t, s, store.Tx{Teams: []store.TeamWrite{{Value: tm, ExpectVersion: 1}}})
		got, err := s.GetTeam(t.Context(), "team_a")
		if err != nil {
			t.Fatal(err)
		}
		if got.Cursor != "ag_2" || got.Name != "Renamed" || got.Version != 2 {
			t.Fatalf("updated team: Cursor %q Name %q Version %d, want ag_2, Renamed, 2", got.Cursor, got.Name, got.Version)
		}
	})
	h.run(t, "WithAssignment", func(t *testing.T, s store.Store) {
		commit(t, s, store.Tx{Teams: []store.TeamWrite{{Value: newTeam("team_a")}}})
		putAgent(t, s, newAgent("ag_1", 1, routing.StatusOnline))
		commit(t, s, store.Tx{
			Conversations: []store.ConversationWrite{{Value: openConversation("cv_1", "ag_1", at(time.Minute))}},
			Loads:         []store.LoadChange{{AgentID: "ag_1", Delta: 1, At: at(time.Minute)}},
			Cursors:       []store.CursorSet{{TeamID: "team_a", AgentID: "ag_1"}},
		})
		err := s.Commit(t.Context(), store.Tx{
			Conversations: []store.ConversationWrite{{Value: openConversation("cv_2", "ag_1", at(time.Minute))}},
			Loads:         []store.LoadChange{{AgentID: "ag_1", Delta: 1, At: at(time.Minute)}},
			Cursors:       []store.CursorSet{{TeamID: "team_a", AgentID: "ag_X"}},
		})
		wantConflict(t, err, routing.ReasonCapacity)
		if got, _ := s.GetTeam(t.Context(), "team_a"); got.Cursor != "ag_1" {
			t.Fatalf("cursor of a failed Tx was set: %q, want ag_1", got.Cursor)
		}
	})
	h.run(t, "MissingTeam", func(t *testing.T, s store.Store) {
		wantNotFound(t, s.Commit(t.Context(), store.Tx{Cursors: []store.CursorSet{{TeamID: "team_x", AgentID: "ag_1"}}}))
		_, err := s.GetTeam(t.Context(), "team_x")
		wantNotFound(t, err)
	})
}

func claim(key string, now, expires time.Time) store.Tx {
	return store.Tx{Claims: []store.Claim{{Key: key, At: now, ExpiresAt: expires}}}
}

func (h harness) testClaims(t *testing.T) {
	h.run(t, "FirstThenDuplicate", func(t *testing.T, s store.Store) {
		commit(t, s, claim("wamid.1", at(0), at(time.Hour)))
		wantConflict(t, s.Commit(t.Context(), claim("wamid.1", at(time.Minute), at(time.Minute+time.Hour))), routing.ReasonDuplicate)
		commit(t, s, claim("wamid.2", at(time.Minute), at(time.Hour)))
	})
	h.run(t, "Expired", func(t *testing.T, s store.Store) {
		commit(t, s, claim("k", at(0), at(time.Hour)))
		wantConflict(t, s.Commit(t.Context(), claim("k", at(59*time.Minute), at(2*time.Hour))), routing.ReasonDuplicate)
		commit(t, s, claim("k", at(61*time.Minute), at(2*time.Hour)))
		// The new claim holds until its own expiry.
		wantConflict(t, s.Commit(t.Context(), claim("k", at(90*time.Minute), at(3*time.Hour))), routing.ReasonDuplicate)
		commit(t, s, claim("k", at(2*time.Hour+time.Second), at(3*time.Hour)))
	})
	h.run(t, "ExpiresAtBoundary", func(t *testing.T, s store.Store) {
		commit(t, s, claim("k", at(0), at(time.Hour)))
		wantConflict(t, s.Commit(t.Context(), claim("k", at(time.Hour-time.Second), at(2*time.Hour))), routing.ReasonDuplicate)
		commit(t, s, claim("k", at(time.Hour), at(2*time.Hour)))
	})
	h.run(t, "DuplicateRollsBack", func(t *testing.T, s store.Store) {
		commit(t, s, claim("k", at(0), at(time.Hour)))
		err := s.Commit(t.Context(), store.Tx{
			Conversations: []store.ConversationWrite{{Value: newConversation("cv_1")}},
			Events:        []routing.Event{newEvent("ev_1", "cv_1", at(time.Minute))},
			Claims: []store.Claim{
				{Key: "fresh", At: at(time.Minute), ExpiresAt: at(time.Hour)},
				{Key: "k", At: at(time.Minute), ExpiresAt: at(time.Hour)},
			},
		})
		wantConflict(t, err, routing.ReasonDuplicate)
		_, err = s.GetConversation(t.Context(), "cv_1")
		wantNotFound(t, err)
		// The other claim of the failed Tx was not kept.
		commit(t, s, claim("fresh", at(2*time.Minute), at(time.Hour)))
	})
	h.run(t, "SameKeyTwiceInOneTx", func(t *testing.T, s store.Store) {
		err := s.Commit(t.Context(), mergeTx(claim("k", at(0), at(time.Hour)), claim("k", at(0), at(time.Hour))))
		wantCode(t, err, routing.CodeInvalid)
		commit(t, s, claim("k", at(0), at(time.Hour)))
	})
}
