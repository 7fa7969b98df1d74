package bolt

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// TestRunBatchIsSerial runs one group commit holding Txs that fail because
// of Txs before them in the same batch, and checks every caller gets the
// result of running the Txs one after another.
func TestRunBatchIsSerial(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "b.db"), WithoutGroupCommit())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	t0 := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	if err := s.Commit(ctx, store.Tx{Agents: []store.AgentWrite{{Value: routing.Agent{ID: "ag_1", Status: routing.StatusOnline, MaxConcurrent: 1}}}}); err != nil {
		t.Fatal(err)
	}
	conv := func(id string) store.ConversationWrite {
		return store.ConversationWrite{Value: routing.Conversation{ID: id, Status: routing.ConvOpen, AssigneeID: "ag_1", TeamID: "team_a", OpenedAt: t0}}
	}
	assign := func(id string) store.Tx {
		return store.Tx{Conversations: []store.ConversationWrite{conv(id)}, Loads: []store.LoadChange{{AgentID: "ag_1", Delta: 1, At: t0}}}
	}
	claim := store.Tx{Claims: []store.Claim{{Key: "k", At: t0, ExpiresAt: t0.Add(time.Hour)}}}
	txs := []struct {
		tx   store.Tx
		want string // "" = success, else conflict reason
	}{
		{assign("cv_1"), ""},
		{assign("cv_2"), routing.ReasonCapacity}, // the slot went to cv_1
		{claim, ""},
		{store.Tx{Conversations: []store.ConversationWrite{conv("cv_1")}}, routing.ReasonExists},
		{claim, routing.ReasonDuplicate},
		{store.Tx{Loads: []store.LoadChange{{AgentID: "ag_1", Delta: -1, At: t0}}}, ""},
		{assign("cv_3"), ""}, // the slot was freed just before
		{store.Tx{Loads: []store.LoadChange{{AgentID: "ag_1", Delta: -1, At: t0}}}, ""},
		{store.Tx{Loads: []store.LoadChange{{AgentID: "ag_1", Delta: -1, At: t0}}}, routing.ReasonNoLoad},
	}
	var batch []*request
	for _, tc := range txs {
		batch = append(batch, &request{tx: tc.tx, done: make(chan struct{})})
	}
	s.runBatch(batch)
	for i, tc := range txs {
		select {
		case <-batch[i].done:
		default:
			t.Fatalf("request %d not done", i)
		}
		if tc.want == "" && batch[i].err != nil || tc.want != "" && !routing.IsConflict(batch[i].err, tc.want) {
			t.Errorf("request %d: got %v, want %q", i, batch[i].err, tc.want)
		}
	}
	for id, want := range map[string]bool{"cv_1": true, "cv_2": false, "cv_3": true} {
		_, err := s.GetConversation(ctx, id)
		if (err == nil) != want {
			t.Errorf("%s stored = %v, want %v (%v)", id, err == nil, want, err)
		}
	}
	if a, _ := s.GetAgent(ctx, "ag_1"); a.OpenCount != 0 {
		t.Errorf("OpenCount %d, want 0", a.OpenCount)
	}
}
