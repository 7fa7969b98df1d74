package bus

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/events"
)

func TestDeliversRetriesAndWaitsIdle(t *testing.T) {
	b := New(4, nil)
	defer b.Close()
	b.backoff = time.Millisecond
	var seen, flaky atomic.Int64
	b.Subscribe(func(ctx context.Context, ev events.Event) error {
		seen.Add(1)
		if ev.DetailType == "chain" { // handlers may publish: WaitIdle waits for those too
			next, _ := events.New(ev.ID+"x", "leaf", time.Now(), nil)
			return b.Publish(ctx, next)
		}
		if ev.DetailType == "flaky" && flaky.Add(1) < 3 {
			return errors.New("try again")
		}
		if ev.DetailType == "broken" {
			return errors.New("never")
		}
		return nil
	})
	for _, typ := range []string{"a", "chain", "flaky", "broken"} {
		ev, _ := events.New(typ, typ, time.Now(), nil)
		if err := b.Publish(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	// a, chain, leaf, flaky x3, broken x4 (1 + 3 retries)
	if got := seen.Load(); got != 1+2+3+4 {
		t.Fatalf("%d deliveries", got)
	}
	dead := b.DeadLetters()
	if len(dead) != 1 || dead[0].DetailType != "broken" {
		t.Fatalf("dead letters: %v", dead)
	}
}

func TestWaitIdleHonoursContext(t *testing.T) {
	b := New(1, nil)
	block := make(chan struct{})
	b.Subscribe(func(context.Context, events.Event) error { <-block; return nil })
	ev, _ := events.New("1", "x", time.Now(), nil)
	_ = b.Publish(context.Background(), ev)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.WaitIdle(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitIdle: %v", err)
	}
	close(block)
	b.Close()
}
