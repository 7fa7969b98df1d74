package relay_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/relay"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openStore(t *testing.T, path string) *bolt.Store {
	t.Helper()
	st, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func put(t *testing.T, st store.Store, key, id string) {
	t.Helper()
	ev := events.Event{ID: id, DetailType: events.MessageReceived, Source: events.Source, Time: time.Unix(0, 0).UTC(), Detail: []byte(`{}`)}
	if err := st.Commit(context.Background(), store.Tx{Outbox: []store.OutboxEvent{{Key: key, Event: ev}}}); err != nil {
		t.Fatal(err)
	}
}

// recorder records what each key received, in order.
type recorder struct {
	mu  sync.Mutex
	got map[string][]string
	all []string
}

func (r *recorder) handle(_ context.Context, ev events.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got = map[string][]string{}
	}
	key := ev.ID[:2]
	r.got[key] = append(r.got[key], ev.ID)
	r.all = append(r.all, ev.ID)
	return nil
}

func TestOrderPerKeyAcrossWorkers(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "r.db"))
	defer st.Close()
	for i := 0; i < 40; i++ {
		for _, k := range []string{"k1", "k2", "k3"} {
			put(t, st, k, fmt.Sprintf("%s-%02d", k, i))
		}
	}
	var rec recorder
	r := relay.New(st.Outbox(), rec.handle, relay.WithWorkers(3), relay.WithLogger(quiet))
	if err := r.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k1", "k2", "k3"} {
		if len(rec.got[k]) != 40 {
			t.Fatalf("%s got %d events", k, len(rec.got[k]))
		}
		for i, id := range rec.got[k] {
			if id != fmt.Sprintf("%s-%02d", k, i) {
				t.Fatalf("%s: event %d is %s: out of commit order", k, i, id)
			}
		}
	}
	if left, _ := st.Outbox().Next(context.Background(), 10); len(left) != 0 {
		t.Fatalf("%d entries left unacknowledged", len(left))
	}
}

func TestFailingHandlerIsRetriedThenDeadLettered(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "r.db"))
	defer st.Close()
	put(t, st, "k1", "k1-flaky")
	put(t, st, "k2", "k2-poison")
	calls := map[string]int{}
	var mu sync.Mutex
	h := func(_ context.Context, ev events.Event) error {
		mu.Lock()
		defer mu.Unlock()
		calls[ev.ID]++
		if ev.ID == "k1-flaky" && calls[ev.ID] < 3 {
			return errors.New("throttled")
		}
		if ev.ID == "k2-poison" {
			return errors.New("always")
		}
		return nil
	}
	r := relay.New(st.Outbox(), h, relay.WithRetries(3, time.Millisecond), relay.WithLogger(quiet))
	if err := r.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls["k1-flaky"] != 3 || calls["k2-poison"] != 4 {
		t.Fatalf("calls %v, want flaky 3 (two failures, then success) and poison 4 (1 + 3 retries)", calls)
	}
	dead := r.Dead()
	if len(dead) != 1 || dead[0].ID != "k2-poison" {
		t.Fatalf("dead letters %v", dead)
	}
}

// A relay stopped in the middle of a batch acknowledges nothing of it: a
// relay on the reopened store (a restarted process) delivers it again.
func TestStoppedMidBatchRedeliversAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	st := openStore(t, path)
	for i := 0; i < 5; i++ {
		put(t, st, "k1", fmt.Sprintf("k1-%d", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	r := relay.New(st.Outbox(), func(context.Context, events.Event) error {
		n++
		if n == 2 {
			cancel() // the process dies while handling the second event
		}
		return nil
	}, relay.WithLogger(quiet))
	if _, err := r.Pump(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Pump = %v, want canceled", err)
	}
	st.Close()

	st = openStore(t, path)
	defer st.Close()
	var rec recorder
	if err := relay.New(st.Outbox(), rec.handle, relay.WithLogger(quiet)).Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rec.all) != 5 || rec.all[0] != "k1-0" || rec.all[4] != "k1-4" {
		t.Fatalf("after the restart: %v, want all five again in order (at least once)", rec.all)
	}
}
