// Package bus is the in-process event bus of the local server: the stand-in
// for EventBridge. Publish returns at once; workers deliver each event to
// every subscriber, retrying failures a few times, like EventBridge's
// at-least-once delivery.
package bus

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-oss/switchboard/events"
)

// Handler consumes one event. A returned error is retried.
type Handler func(ctx context.Context, ev events.Event) error

// Bus is an asynchronous in-process bus. The zero value is not usable: call New.
type Bus struct {
	mu       sync.Mutex
	cond     *sync.Cond
	queue    []events.Event
	pending  int // queued plus being handled
	idle     *sync.Cond
	handlers []Handler
	closed   bool
	retries  int
	backoff  time.Duration
	log      *slog.Logger
	wg       sync.WaitGroup
	dead     []events.Event
}

// New starts a bus with n workers.
func New(workers int, log *slog.Logger) *Bus {
	if workers < 1 {
		workers = 1
	}
	if log == nil {
		log = slog.Default()
	}
	b := &Bus{retries: 3, backoff: 10 * time.Millisecond, log: log}
	b.cond = sync.NewCond(&b.mu)
	b.idle = sync.NewCond(&b.mu)
	for i := 0; i < workers; i++ {
		b.wg.Add(1)
		go b.work()
	}
	return b
}

// Subscribe adds a handler for every event. Call before publishing.
func (b *Bus) Subscribe(h Handler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handlers = append(b.handlers, h)
}

// Publish queues events for delivery.
func (b *Bus) Publish(_ context.Context, evs ...events.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.queue = append(b.queue, evs...)
	b.pending += len(evs)
	b.cond.Broadcast()
	return nil
}

func (b *Bus) work() {
	defer b.wg.Done()
	for {
		b.mu.Lock()
		for len(b.queue) == 0 && !b.closed {
			b.cond.Wait()
		}
		if len(b.queue) == 0 && b.closed {
			b.mu.Unlock()
			return
		}
		ev := b.queue[0]
		b.queue = b.queue[1:]
		hs := b.handlers
		b.mu.Unlock()

		for _, h := range hs {
			b.deliver(h, ev)
		}

		b.mu.Lock()
		b.pending--
		if b.pending == 0 {
			b.idle.Broadcast()
		}
		b.mu.Unlock()
	}
}

func (b *Bus) deliver(h Handler, ev events.Event) {
	var err error
	for attempt := 0; attempt <= b.retries; attempt++ {
		if attempt > 0 {
			time.Sleep(b.backoff << (attempt - 1))
		}
		if err = h(context.Background(), ev); err == nil {
			return
		}
	}
	b.log.Error("event dead-lettered", "id", ev.ID, "detailType", ev.DetailType, "err", err)
	b.mu.Lock()
	b.dead = append(b.dead, ev)
	b.mu.Unlock()
}

// WaitIdle blocks until every published event has been handled (including
// events published by handlers), or ctx ends.
func (b *Bus) WaitIdle(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		b.mu.Lock()
		for b.pending > 0 && ctx.Err() == nil {
			b.idle.Wait()
		}
		b.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		b.idle.Broadcast()
		b.mu.Unlock()
		return ctx.Err()
	}
}

// DeadLetters returns events no handler could process after retries.
func (b *Bus) DeadLetters() []events.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]events.Event(nil), b.dead...)
}

// Close stops the workers after the queue drains.
func (b *Bus) Close() {
	b.mu.Lock()
	b.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
	b.wg.Wait()
}
