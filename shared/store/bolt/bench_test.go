package bolt_test

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
)

// BenchmarkRawPut is the raw write rate of the embedded database: one bbolt
// Update transaction (fsynced) putting one 300-byte value.
func BenchmarkRawPut(b *testing.B) {
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil) // bbolt's defaults
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	bucket := []byte("raw")
	if err := db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket(bucket); return err }); err != nil {
		b.Fatal(err)
	}
	value := make([]byte, bolt.RawValueSize)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		err := db.Update(func(tx *bbolt.Tx) error {
			return tx.Bucket(bucket).Put(binary.BigEndian.AppendUint64(nil, uint64(i)), value)
		})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func TestRawWriteRate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raw.db")
	rate, err := bolt.RawWriteRate(path, 20)
	if err != nil {
		t.Fatal(err)
	}
	if rate <= 0 {
		t.Fatalf("rate %v", rate)
	}
	if _, err := bolt.RawWriteRate(path, 0); err == nil {
		t.Fatal("n = 0: want an error")
	}
}

func benchAgent(id string, teams ...string) routing.Agent {
	return routing.Agent{ID: id, Name: "Agent " + id, Email: id + "@example.com", Role: routing.RoleAgent,
		Status: routing.StatusOnline, StatusSince: time.Now().UTC(), MaxConcurrent: 1 << 30, Teams: teams,
		SessionExpiresAt: time.Now().UTC().Add(time.Hour), CreatedAt: time.Now().UTC()}
}

const benchAgents = 100

func assignStore(b *testing.B, opts ...bolt.Option) *bolt.Store {
	s := openTemp(b, opts...)
	var tx store.Tx
	for i := range benchAgents {
		tx.Agents = append(tx.Agents, store.AgentWrite{Value: benchAgent(fmt.Sprintf("ag_%03d", i), "team_a")})
	}
	if err := s.Commit(b.Context(), tx); err != nil {
		b.Fatal(err)
	}
	return s
}

// assignTx is what one assignment writes: a new open conversation, a +1
// load on its agent, two events and one notification.
func assignTx(n int) store.Tx {
	now := time.Now().UTC()
	id, agent := fmt.Sprintf("cv_%09d", n), fmt.Sprintf("ag_%03d", n%benchAgents)
	return store.Tx{
		Conversations: []store.ConversationWrite{{Value: routing.Conversation{
			ID: id, ContactID: "ct_" + id, ChannelID: "ch_1", Status: routing.ConvOpen, TeamID: "team_a",
			AssigneeID: agent, Source: "contact", OpenedAt: now, AssignedAt: &now, Assignments: 1,
		}}},
		Loads: []store.LoadChange{{AgentID: agent, Delta: 1, At: now, RequireStatus: []routing.AgentStatus{routing.StatusOnline}}},
		Events: []routing.Event{
			{ID: "ev_a" + id, ConversationID: id, At: now, Type: routing.EvOpened, Actor: "contact"},
			{ID: "ev_b" + id, ConversationID: id, At: now, Type: routing.EvAssigned, Actor: "system", Data: map[string]any{"agentId": agent}},
		},
		Notifications: []routing.Notification{{ID: "nt_" + id, AgentID: agent, At: now, Type: routing.NoteAssignment, ConversationID: id, Text: "New conversation"}},
	}
}

// BenchmarkCommitAssign commits assignments one after another: each pays
// its own fsync.
func BenchmarkCommitAssign(b *testing.B) {
	s := assignStore(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := s.Commit(b.Context(), assignTx(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkCommitAssignParallel commits assignments from 16 goroutines, with
// and without group commit.
func BenchmarkCommitAssignParallel(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts []bolt.Option
	}{{"group", nil}, {"single", []bolt.Option{bolt.WithoutGroupCommit()}}} {
		b.Run(mode.name, func(b *testing.B) {
			s := assignStore(b, mode.opts...)
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.Commit(b.Context(), assignTx(int(n.Add(1)))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkGetAgents1000 reads 1,000 agents by id, as the engine does for a
// large team on each assignment.
func BenchmarkGetAgents1000(b *testing.B) {
	s := openTemp(b)
	ctx := b.Context()
	ids := make([]string, 1000)
	for start := 0; start < len(ids); start += 100 {
		var tx store.Tx
		for i := start; i < start+100; i++ {
			ids[i] = fmt.Sprintf("ag_%04d", i)
			tx.Agents = append(tx.Agents, store.AgentWrite{Value: benchAgent(ids[i], "team_a", "team_b")})
		}
		if err := s.Commit(ctx, tx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := s.GetAgents(ctx, ids)
		if err != nil || len(got) != len(ids) {
			b.Fatalf("%d agents, %v", len(got), err)
		}
	}
}

// BenchmarkPendingQueue reads the head of a team queue of 10,000 pending
// conversations over 7 ranks: 1 (the drain path) and 50 (a supervisor view).
func BenchmarkPendingQueue(b *testing.B) {
	s := openTemp(b, bolt.WithoutSync()) // setup speed only; reads do not sync
	ctx := b.Context()
	base := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	esc := append([]routing.EscalationType{""}, routing.EscalationTypes...)
	for start := 0; start < 10000; start += 200 {
		var tx store.Tx
		for i := start; i < start+200; i++ {
			c := routing.Conversation{ID: fmt.Sprintf("cv_%06d", i), ContactID: "ct_1", ChannelID: "ch_1",
				Status: routing.ConvPending, TeamID: "team_a", Source: "contact",
				OpenedAt: base.Add(time.Duration(i) * time.Second), PendingSince: base.Add(time.Duration(i) * time.Second)}
			if e := esc[i%len(esc)]; e != "" {
				c.Escalation = &routing.Escalation{Type: e, Summary: "s", By: "contact", At: c.OpenedAt}
			}
			tx.Conversations = append(tx.Conversations, store.ConversationWrite{Value: c})
		}
		if err := s.Commit(ctx, tx); err != nil {
			b.Fatal(err)
		}
	}
	for _, limit := range []int{1, 50} {
		b.Run(fmt.Sprintf("limit%d", limit), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				q, err := s.PendingQueue(ctx, "team_a", limit)
				if err != nil || len(q) != limit {
					b.Fatalf("%d items, %v", len(q), err)
				}
			}
		})
	}
}
