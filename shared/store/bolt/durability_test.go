package bolt_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
)

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	conv := routing.Conversation{ID: "cv_1", ContactID: "ct_1", ChannelID: "ch_1", Status: routing.ConvPending,
		TeamID: "team_a", Source: "contact", OpenedAt: t0, PendingSince: t0}
	err = s.Commit(ctx, store.Tx{
		Conversations: []store.ConversationWrite{{Value: conv}},
		Contacts:      []store.ContactWrite{{Value: routing.Contact{ID: "ct_1", ChannelID: "ch_1", ExternalID: "+551100", CreatedAt: t0}}},
		Agents:        []store.AgentWrite{{Value: routing.Agent{ID: "ag_1", Name: "Ana", Status: routing.StatusOnline, MaxConcurrent: 3, Teams: []string{"team_a"}}}},
		Teams:         []store.TeamWrite{{Value: routing.Team{ID: "team_a", Name: "A", Members: []string{"ag_1"}}}},
		Claims:        []store.Claim{{Key: "wamid.1", At: t0, ExpiresAt: t0.Add(time.Hour)}},
		Events:        []routing.Event{{ID: "ev_1", ConversationID: "cv_1", At: t0, Type: routing.EvOpened, Actor: "contact"}},
		Notifications: []routing.Notification{{ID: "nt_1", AgentID: "ag_1", At: t0, Type: routing.NoteAssignment, Text: "hi"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, store.Tx{
		Loads:   []store.LoadChange{{AgentID: "ag_1", Delta: 1, At: t0}},
		Cursors: []store.CursorSet{{TeamID: "team_a", AgentID: "ag_1"}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetConversation(ctx, "cv_1")
	if err != nil || got.Version != 1 || !got.OpenedAt.Equal(t0) {
		t.Fatalf("conversation after reopen: %+v, %v", got, err)
	}
	if q, err := s.PendingQueue(ctx, "team_a", 0); err != nil || len(q) != 1 {
		t.Fatalf("queue after reopen: %d items, %v", len(q), err)
	}
	if c, err := s.ContactByExternalID(ctx, "ch_1", "+551100"); err != nil || c.ID != "ct_1" {
		t.Fatalf("contact after reopen: %+v, %v", c, err)
	}
	if a, err := s.GetAgent(ctx, "ag_1"); err != nil || a.OpenCount != 1 || a.Name != "Ana" {
		t.Fatalf("agent after reopen: %+v, %v", a, err)
	}
	if tm, err := s.GetTeam(ctx, "team_a"); err != nil || tm.Cursor != "ag_1" {
		t.Fatalf("team after reopen: %+v, %v", tm, err)
	}
	if ev, err := s.Events(ctx, "cv_1", store.PageRequest{}); err != nil || len(ev.Items) != 1 {
		t.Fatalf("events after reopen: %+v, %v", ev, err)
	}
	if nt, err := s.Notifications(ctx, "ag_1", store.PageRequest{}); err != nil || len(nt.Items) != 1 {
		t.Fatalf("notifications after reopen: %+v, %v", nt, err)
	}
	err = s.Commit(ctx, store.Tx{Claims: []store.Claim{{Key: "wamid.1", At: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Hour)}}})
	if !routing.IsConflict(err, routing.ReasonDuplicate) {
		t.Fatalf("claim after reopen: want duplicate, got %v", err)
	}
}

func TestOpenLockedFileFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s2, err := bolt.Open(path, bolt.WithLockTimeout(100*time.Millisecond)); err == nil {
		s2.Close()
		t.Fatal("second Open of a file in use: want an error")
	}
}

func TestOpenRefusesOtherSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("schema"), []byte("99"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if s, err := bolt.Open(path); err == nil {
		s.Close()
		t.Fatal("Open of a file with schema 99: want an error")
	}
}

func TestClosedStoreFails(t *testing.T) {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "switchboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	err = s.Commit(t.Context(), store.Tx{Claims: []store.Claim{{Key: "k", At: t0, ExpiresAt: t0}}})
	if routing.ErrorCode(err) != routing.CodeInternal {
		t.Fatalf("Commit after Close: want an internal error, got %v", err)
	}
	if _, err := s.GetAgent(t.Context(), "ag_1"); routing.ErrorCode(err) != routing.CodeInternal {
		t.Fatalf("GetAgent after Close: want an internal error, got %v", err)
	}
}

func TestExpiredClaimsAreSwept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for i := range 100 {
		at := t0.Add(time.Duration(i) * time.Minute)
		if err := s.Commit(ctx, store.Tx{Claims: []store.Claim{{Key: fmt.Sprintf("k%03d", i), At: at, ExpiresAt: at.Add(10 * time.Minute)}}}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		claims, byExp := tx.Bucket([]byte("claims")).Stats().KeyN, tx.Bucket([]byte("claims_by_exp")).Stats().KeyN
		// At the last claim's time (minute 99) k090..k099 are held; k089
		// expires exactly then and the rest before.
		if claims != 10 || byExp != 10 {
			t.Errorf("%d claims and %d expiry entries kept, want 10 and 10", claims, byExp)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
