package bolt

import (
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

var tp = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

func openPrepare(t *testing.T, opts ...Option) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "p.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("consistency check: %v", err)
		}
		s.Close()
	})
	return s
}

func contactTx(ws ...routing.Contact) store.Tx {
	var tx store.Tx
	for _, c := range ws {
		tx.Contacts = append(tx.Contacts, store.ContactWrite{Value: c, ExpectVersion: c.Version})
	}
	return tx
}

// The (channel, external id) pairs of contacts are checked across the
// contacts of one Tx, as if each contact were written before the next one is
// checked.
func TestContactPairsWithinOneTx(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []Option
	}{{"group", nil}, {"single", []Option{WithoutGroupCommit()}}} {
		t.Run(mode.name, func(t *testing.T) {
			s := openPrepare(t, mode.opts...)
			ctx := t.Context()
			// two new contacts with one pair: the second is refused, nothing is written
			err := s.Commit(ctx, contactTx(
				routing.Contact{ID: "ct_1", ChannelID: "ch", ExternalID: "+1"},
				routing.Contact{ID: "ct_2", ChannelID: "ch", ExternalID: "+1"}))
			if !routing.IsConflict(err, routing.ReasonExists) {
				t.Fatalf("two contacts with one pair: %v, want a conflict", err)
			}
			if _, err := s.GetContact(ctx, "ct_1"); !routing.IsNotFound(err) {
				t.Fatalf("the refused Tx wrote ct_1: %v", err)
			}
			if err := s.Commit(ctx, contactTx(routing.Contact{ID: "ct_1", ChannelID: "ch", ExternalID: "+1"})); err != nil {
				t.Fatal(err)
			}
			// ct_1 moves to +2 and a new ct_2 takes +1 in the same Tx
			err = s.Commit(ctx, contactTx(
				routing.Contact{ID: "ct_1", ChannelID: "ch", ExternalID: "+2", Version: 1},
				routing.Contact{ID: "ct_2", ChannelID: "ch", ExternalID: "+1"}))
			if err != nil {
				t.Fatalf("a pair freed earlier in the Tx: %v", err)
			}
			for ext, want := range map[string]string{"+1": "ct_2", "+2": "ct_1"} {
				if c, err := s.ContactByExternalID(ctx, "ch", ext); err != nil || c.ID != want {
					t.Fatalf("%s belongs to %q (%v), want %s", ext, c.ID, err, want)
				}
			}
			// in the other order the pair is still taken when ct_3 is checked
			err = s.Commit(ctx, contactTx(
				routing.Contact{ID: "ct_3", ChannelID: "ch", ExternalID: "+2"},
				routing.Contact{ID: "ct_1", ChannelID: "ch", ExternalID: "+3", Version: 2}))
			if !routing.IsConflict(err, routing.ReasonExists) {
				t.Fatalf("a pair freed later in the Tx: %v, want a conflict", err)
			}
		})
	}
}

func convTx(id string, events ...routing.Event) store.Tx {
	return store.Tx{
		Conversations: []store.ConversationWrite{{Value: routing.Conversation{ID: id, ContactID: "ct_1", Status: routing.ConvPending, TeamID: "team_a", OpenedAt: tp, PendingSince: tp}}},
		Events:        events,
	}
}

// A refused Tx in a group commit costs no rollback: the Txs around it keep
// their writes and are not applied twice.
func TestRefusedTxDoesNotRollBackTheBatch(t *testing.T) {
	s := openPrepare(t, WithoutGroupCommit())
	claim := store.Tx{Claims: []store.Claim{{Key: "k", At: tp, ExpiresAt: tp.Add(time.Hour)}}}
	batch := []*request{
		{tx: convTx("cv_1")},
		{tx: claim},
		{tx: convTx("cv_1")}, // exists
		{tx: claim},          // duplicate
		{tx: convTx("cv_2")},
	}
	for _, r := range batch {
		r.done = make(chan struct{})
	}
	s.runBatch(batch)
	want := []string{"", "", routing.ReasonExists, routing.ReasonDuplicate, ""}
	for i, r := range batch {
		if want[i] == "" && r.err != nil || want[i] != "" && !routing.IsConflict(r.err, want[i]) {
			t.Errorf("request %d: %v, want %q", i, r.err, want[i])
		}
	}
	st := s.Stats()
	if st.Rollbacks != 0 || st.Batches != 1 || st.Conflicts != 2 || st.Commits != 5 {
		t.Fatalf("stats %+v, want 1 batch, 5 commits, 2 refused, no rollback", st)
	}
	for _, id := range []string{"cv_1", "cv_2"} {
		if _, err := s.GetConversation(t.Context(), id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
}

// When bbolt fails half way through a Tx (here: a key longer than bbolt
// allows), the batch is rolled back, that Tx alone fails and the others are
// committed.
func TestWriteFailureFailsOnlyItsTx(t *testing.T) {
	s := openPrepare(t, WithoutGroupCommit())
	huge := routing.Event{ID: strings.Repeat("e", bbolt.MaxKeySize), ConversationID: "cv_2", At: tp, Type: routing.EvOpened}
	batch := []*request{{tx: convTx("cv_1")}, {tx: convTx("cv_2", huge)}, {tx: convTx("cv_3")}}
	for _, r := range batch {
		r.done = make(chan struct{})
	}
	s.runBatch(batch)
	if batch[0].err != nil || batch[2].err != nil {
		t.Fatalf("the other Txs failed: %v, %v", batch[0].err, batch[2].err)
	}
	var re *routing.Error
	if batch[1].err == nil || errors.As(batch[1].err, &re) {
		t.Fatalf("the Tx with a key too long: %v, want an internal error", batch[1].err)
	}
	ctx := t.Context()
	for id, want := range map[string]bool{"cv_1": true, "cv_2": false, "cv_3": true} {
		if _, err := s.GetConversation(ctx, id); (err == nil) != want {
			t.Errorf("%s stored = %v, want %v", id, err == nil, want)
		}
	}
	if q, _ := s.PendingQueue(ctx, "team_a", 10); len(q) != 2 {
		t.Errorf("%d queued, want 2 (the failed Tx's index entries are rolled back)", len(q))
	}
	if st := s.Stats(); st.Rollbacks != 1 {
		t.Errorf("stats %+v, want one rollback", st)
	}
}

func TestUnencodableTxWritesNothing(t *testing.T) {
	s := openPrepare(t)
	ev := routing.Event{ID: "ev_1", ConversationID: "cv_1", At: tp, Type: routing.EvOpened, Data: map[string]any{"x": math.Inf(1)}}
	err := s.Commit(t.Context(), convTx("cv_1", ev))
	var re *routing.Error
	if err == nil || errors.As(err, &re) {
		t.Fatalf("got %v, want an internal error", err)
	}
	if _, err := s.GetConversation(t.Context(), "cv_1"); !routing.IsNotFound(err) {
		t.Fatalf("cv_1 was written: %v", err)
	}
}

// A team written before cursors had their own bucket keeps the cursor stored
// in its record until a CursorSet moves it.
func TestLegacyTeamCursor(t *testing.T) {
	s := openPrepare(t)
	ctx := t.Context()
	old := routing.Team{ID: "team_a", Name: "A", Strategy: routing.RoundRobin, Members: []string{"ag_1", "ag_2"}, Cursor: "ag_1", Version: 3}
	raw, _ := json.Marshal(old)
	if err := s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bTeams).Put([]byte("team_a"), raw) }); err != nil {
		t.Fatal(err)
	}
	cursor := func() string {
		t.Helper()
		got, err := s.GetTeam(ctx, "team_a")
		if err != nil {
			t.Fatal(err)
		}
		page, err := s.ListTeams(ctx, store.PageRequest{})
		if err != nil || len(page.Items) != 1 || page.Items[0].Cursor != got.Cursor {
			t.Fatalf("ListTeams %+v (%v) disagrees with GetTeam's cursor %q", page.Items, err, got.Cursor)
		}
		return got.Cursor
	}
	if c := cursor(); c != "ag_1" {
		t.Fatalf("legacy cursor %q, want ag_1", c)
	}
	next := old
	next.Name = "Renamed"
	if err := s.Commit(ctx, store.Tx{Teams: []store.TeamWrite{{Value: next, ExpectVersion: 3}}}); err != nil {
		t.Fatal(err)
	}
	if c := cursor(); c != "ag_1" {
		t.Fatalf("after a team write: cursor %q, want ag_1", c)
	}
	if err := s.Commit(ctx, store.Tx{Cursors: []store.CursorSet{{TeamID: "team_a", AgentID: "ag_2"}}}); err != nil {
		t.Fatal(err)
	}
	next.Version = 4
	if err := s.Commit(ctx, store.Tx{Teams: []store.TeamWrite{{Value: next, ExpectVersion: 4}}}); err != nil {
		t.Fatal(err)
	}
	if c := cursor(); c != "ag_2" {
		t.Fatalf("after CursorSet and a team write: cursor %q, want ag_2", c)
	}
	if err := s.Commit(ctx, store.Tx{Cursors: []store.CursorSet{{TeamID: "team_a", AgentID: ""}}}); err != nil {
		t.Fatal(err)
	}
	if c := cursor(); c != "" {
		t.Fatalf("cursor set to empty: %q", c)
	}
}

// Reads share decoded records through a cache; what a caller gets is its
// own to change.
func TestReadsAreCallersOwn(t *testing.T) {
	s := openPrepare(t)
	ctx := t.Context()
	err := s.Commit(ctx, store.Tx{
		Agents: []store.AgentWrite{{Value: routing.Agent{ID: "ag_1", Name: "Ana", Status: routing.StatusOnline, MaxConcurrent: 2, Teams: []string{"team_a", "team_b"}}}},
		Teams:  []store.TeamWrite{{Value: routing.Team{ID: "team_a", Name: "A", Members: []string{"ag_1", "ag_2"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second round reads through the cache
		a, _ := s.GetAgent(ctx, "ag_1")
		a.Teams[0] = "changed"
		as, _ := s.GetAgents(ctx, []string{"ag_1", "ag_1"})
		as[0].Teams[0], as[1].Teams[1] = "changed", "changed"
		tm, _ := s.GetTeam(ctx, "team_a")
		tm.Members[0] = "changed"
		page, _ := s.ListTeams(ctx, store.PageRequest{})
		page.Items[0].Members[1] = "changed"
	}
	if a, _ := s.GetAgent(ctx, "ag_1"); a.Teams[0] != "team_a" || a.Teams[1] != "team_b" {
		t.Fatalf("agent teams %v", a.Teams)
	}
	if as, _ := s.GetAgents(ctx, []string{"ag_1"}); as[0].Teams[0] != "team_a" {
		t.Fatalf("agents teams %v", as[0].Teams)
	}
	if tm, _ := s.GetTeam(ctx, "team_a"); tm.Members[0] != "ag_1" || tm.Members[1] != "ag_2" {
		t.Fatalf("team members %v", tm.Members)
	}
}

// GetAgents walks the bucket forward when ids come in key order and seeks
// otherwise; every order, with gaps and repeats, gives the agents asked for.
func TestGetAgentsAnyOrder(t *testing.T) {
	s := openPrepare(t)
	ctx := t.Context()
	var tx store.Tx
	for _, id := range []string{"a", "b", "c", "e"} {
		tx.Agents = append(tx.Agents, store.AgentWrite{Value: routing.Agent{ID: id, Name: id, Status: routing.StatusOnline}})
	}
	if err := s.Commit(ctx, tx); err != nil {
		t.Fatal(err)
	}
	for _, ids := range [][]string{
		{"a", "b", "c", "e"}, {"e", "c", "b", "a"}, {"b", "a", "c"}, {"a", "d", "e", "z", "b"},
		{"c", "c", "a", "a"}, {"", "x", "e"}, {"z", "a"}, {},
	} {
		got, err := s.GetAgents(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		var want, gotIDs []string
		for _, id := range ids {
			if id == "a" || id == "b" || id == "c" || id == "e" {
				want = append(want, id)
			}
		}
		for _, a := range got {
			gotIDs = append(gotIDs, a.ID)
		}
		if strings.Join(gotIDs, ",") != strings.Join(want, ",") {
			t.Errorf("GetAgents(%v) = %v, want %v", ids, gotIDs, want)
		}
	}
}
