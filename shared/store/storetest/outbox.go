package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// OutboxSource is implemented by a backend that exposes its outbox feed.
type OutboxSource interface {
	Outbox() store.OutboxFeed
}

func outboxEvent(key, id string, n int) store.OutboxEvent {
	detail, _ := json.Marshal(map[string]any{"conversationId": key, "n": n})
	return store.OutboxEvent{Key: key, Event: events.Event{ID: id, DetailType: events.MessageReceived, Source: events.Source, Time: at(time.Duration(n) * time.Second), Detail: detail}}
}

// drainFeed reads the feed until it has want entries or the bound passes,
// acknowledging what it read. A feed may lag (a stream): it polls.
func drainFeed(t *testing.T, f store.OutboxFeed, want int) []store.OutboxEntry {
	t.Helper()
	var got []store.OutboxEntry
	deadline := time.Now().Add(3 * time.Minute)
	for len(got) < want && time.Now().Before(deadline) {
		page, err := f.Next(t.Context(), 100)
		if err != nil {
			t.Fatalf("outbox Next: %v", err)
		}
		if len(page) == 0 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		got = append(got, page...)
		if err := f.Ack(t.Context(), page); err != nil {
			t.Fatalf("outbox Ack: %v", err)
		}
	}
	return got
}

func (h harness) testClaimValues(t *testing.T) {
	h.run(t, "ValueRecorded", func(t *testing.T, s store.Store) {
		tx := claim("step#run-1/assign/1", at(0), at(time.Hour))
		tx.Claims[0].Value = `{"status":"assigned","agentId":"ag_1"}`
		commit(t, s, tx)
		got, err := s.GetClaim(t.Context(), "step#run-1/assign/1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Value != `{"status":"assigned","agentId":"ag_1"}` || !got.ExpiresAt.Equal(at(time.Hour)) {
			t.Fatalf("claim = %+v", got)
		}
		// a duplicate keeps the first value
		dup := claim("step#run-1/assign/1", at(time.Minute), at(2*time.Hour))
		dup.Claims[0].Value = "second"
		wantConflict(t, s.Commit(t.Context(), dup), routing.ReasonDuplicate)
		if got, _ := s.GetClaim(t.Context(), "step#run-1/assign/1"); got.Value != `{"status":"assigned","agentId":"ag_1"}` {
			t.Fatalf("value after a duplicate = %q", got.Value)
		}
	})
	h.run(t, "NoValue", func(t *testing.T, s store.Store) {
		commit(t, s, claim("k", at(0), at(time.Hour)))
		got, err := s.GetClaim(t.Context(), "k")
		if err != nil || got.Value != "" || got.Key != "k" {
			t.Fatalf("claim = %+v, %v", got, err)
		}
	})
	h.run(t, "Missing", func(t *testing.T, s store.Store) {
		_, err := s.GetClaim(t.Context(), "nope")
		wantNotFound(t, err)
	})
	h.run(t, "ValueTooLong", func(t *testing.T, s store.Store) {
		tx := claim("k", at(0), at(time.Hour))
		tx.Claims[0].Value = strings.Repeat("x", store.MaxClaimValue+1)
		wantCode(t, s.Commit(t.Context(), tx), routing.CodeInvalid)
	})
}

func (h harness) testOutbox(t *testing.T) {
	feedOf := func(t *testing.T, s store.Store) store.OutboxFeed {
		src, ok := s.(OutboxSource)
		if !ok {
			t.Fatalf("%T has no Outbox() store.OutboxFeed", s)
		}
		return src.Outbox()
	}
	h.run(t, "CommittedWithState", func(t *testing.T, s store.Store) {
		f := feedOf(t, s)
		commit(t, s, store.Tx{
			Conversations: []store.ConversationWrite{{Value: newConversation("cv_1")}},
			Outbox:        []store.OutboxEvent{outboxEvent("cv_1", "ev_1", 1), outboxEvent("cv_1", "ev_2", 2)},
		})
		got := drainFeed(t, f, 2)
		if len(got) != 2 || got[0].Event.ID != "ev_1" || got[1].Event.ID != "ev_2" || got[0].Key != "cv_1" {
			t.Fatalf("feed = %+v", got)
		}
		if got[0].Event.DetailType != events.MessageReceived || !got[0].Event.Time.Equal(at(time.Second)) || !strings.Contains(string(got[0].Event.Detail), `"n":1`) {
			t.Fatalf("entry not kept whole: %+v", got[0])
		}
	})
	h.run(t, "FailedTxWritesNoEvent", func(t *testing.T, s store.Store) {
		f := feedOf(t, s)
		commit(t, s, store.Tx{Conversations: []store.ConversationWrite{{Value: newConversation("cv_1")}}})
		err := s.Commit(t.Context(), store.Tx{
			Conversations: []store.ConversationWrite{{Value: newConversation("cv_1"), ExpectVersion: 7}},
			Outbox:        []store.OutboxEvent{outboxEvent("cv_1", "ev_lost", 1)},
		})
		wantConflict(t, err, routing.ReasonVersion)
		commit(t, s, store.Tx{Outbox: []store.OutboxEvent{outboxEvent("cv_1", "ev_ok", 2)}})
		got := drainFeed(t, f, 1)
		for _, e := range got {
			if e.Event.ID == "ev_lost" {
				t.Fatal("an event of a refused Tx was published")
			}
		}
		if len(got) != 1 || got[0].Event.ID != "ev_ok" {
			t.Fatalf("feed = %+v", got)
		}
	})
	h.run(t, "OrderPerKeyUnderConcurrency", func(t *testing.T, s store.Store) {
		f := feedOf(t, s)
		const keys, per = 5, 8
		var wg sync.WaitGroup
		for k := 0; k < keys; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				for i := 0; i < per; i++ {
					key := fmt.Sprintf("cv_%d", k)
					if err := s.Commit(context.Background(), store.Tx{Outbox: []store.OutboxEvent{outboxEvent(key, fmt.Sprintf("ev_%d_%d", k, i), i)}}); err != nil {
						t.Error(err)
						return
					}
				}
			}(k)
		}
		wg.Wait()
		got := drainFeed(t, f, keys*per)
		if len(got) != keys*per {
			t.Fatalf("feed has %d entries, want %d", len(got), keys*per)
		}
		next := map[string]int{}
		for _, e := range got {
			want := fmt.Sprintf("ev_%s_%d", strings.TrimPrefix(e.Key, "cv_"), next[e.Key])
			if e.Event.ID != want {
				t.Fatalf("key %s: got %s, want %s (commit order per key)", e.Key, e.Event.ID, want)
			}
			next[e.Key]++
		}
	})
	h.run(t, "AckedEntriesAreNotReturned", func(t *testing.T, s store.Store) {
		f := feedOf(t, s)
		commit(t, s, store.Tx{Outbox: []store.OutboxEvent{outboxEvent("cv_1", "ev_1", 1)}})
		got := drainFeed(t, f, 1)
		if len(got) != 1 {
			t.Fatalf("feed = %+v", got)
		}
		commit(t, s, store.Tx{Outbox: []store.OutboxEvent{outboxEvent("cv_1", "ev_2", 2)}})
		got = drainFeed(t, f, 1)
		if len(got) != 1 || got[0].Event.ID != "ev_2" {
			t.Fatalf("after Ack the feed returned %+v, want only ev_2", got)
		}
	})
	h.run(t, "UnackedEntriesComeBack", func(t *testing.T, s store.Store) {
		f := feedOf(t, s)
		commit(t, s, store.Tx{Outbox: []store.OutboxEvent{outboxEvent("cv_1", "ev_1", 1)}})
		var first []store.OutboxEntry
		deadline := time.Now().Add(3 * time.Minute)
		for len(first) == 0 && time.Now().Before(deadline) {
			var err error
			if first, err = f.Next(t.Context(), 10); err != nil {
				t.Fatal(err)
			}
			if len(first) == 0 {
				time.Sleep(20 * time.Millisecond)
			}
		}
		// A relay that died before Ack: a fresh read of the same store sees it again.
		again := drainFeed(t, feedOf(t, s), 1)
		if len(first) != 1 || len(again) != 1 || again[0].Event.ID != "ev_1" {
			t.Fatalf("first %+v, again %+v", first, again)
		}
	})
	h.run(t, "InvalidEntry", func(t *testing.T, s store.Store) {
		e := outboxEvent("", "ev_1", 1)
		wantCode(t, s.Commit(t.Context(), store.Tx{Outbox: []store.OutboxEvent{e}}), routing.CodeInvalid)
		e = outboxEvent("cv_1", "", 1)
		wantCode(t, s.Commit(t.Context(), store.Tx{Outbox: []store.OutboxEvent{e}}), routing.CodeInvalid)
	})
}
