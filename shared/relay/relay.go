// Package relay publishes the transactional outbox: it reads the events that
// commits wrote into the store (store.OutboxFeed), hands each to the
// consumer, and acknowledges them only once handled. It is the local
// server's stand-in for DynamoDB Streams and EventBridge:
//
//   - at least once: an entry is acknowledged after its handler returned, so
//     a process that dies mid-batch hands the batch out again after the
//     restart (consumers deduplicate by event id);
//   - in order per key: the events of one key (a conversation) are handled one
//     after another in commit order; different keys run in parallel;
//   - retried: a failing handler is retried with backoff, then the event is
//     dead-lettered (logged as an error and acknowledged), as EventBridge does
//     after its retry policy; the engine's sweep repairs what that leaves.
package relay

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// Handler consumes one event. A returned error is retried.
type Handler func(ctx context.Context, ev events.Event) error

// Relay moves outbox entries from a feed to a handler. Start it with Run, or
// call Pump/Drain directly (tests, the virtual clock).
type Relay struct {
	feed    store.OutboxFeed
	handle  Handler
	log     *slog.Logger
	workers int
	batch   int
	retries int
	backoff time.Duration
	poll    time.Duration

	mu   sync.Mutex // one pump at a time: keeps per-key order across batches
	wake chan struct{}

	deadMu sync.Mutex
	dead   []events.Event
}

// Option configures a Relay.
type Option func(*Relay)

// WithWorkers sets how many keys are handled in parallel (8).
func WithWorkers(n int) Option { return func(r *Relay) { r.workers = max(1, n) } }

// WithRetries sets the attempts after the first and the first backoff (3, 10ms; doubling).
func WithRetries(n int, backoff time.Duration) Option {
	return func(r *Relay) { r.retries, r.backoff = max(0, n), backoff }
}

// WithPoll sets how often an idle Run looks at the feed (20ms).
func WithPoll(d time.Duration) Option { return func(r *Relay) { r.poll = d } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(r *Relay) { r.log = l } }

// New returns a relay from feed to handle.
func New(feed store.OutboxFeed, handle Handler, opts ...Option) *Relay {
	r := &Relay{feed: feed, handle: handle, log: slog.Default(), workers: 8, batch: 256, retries: 3,
		backoff: 10 * time.Millisecond, poll: 20 * time.Millisecond, wake: make(chan struct{}, 1)}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Kick asks a running Run to look at the feed now.
func (r *Relay) Kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run pumps until ctx ends.
func (r *Relay) Run(ctx context.Context) {
	t := time.NewTicker(r.poll)
	defer t.Stop()
	for {
		for {
			n, err := r.Pump(ctx)
			if err != nil && ctx.Err() == nil {
				r.log.Error("outbox relay: read failed", "err", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
	}
}

// Drain pumps until the feed has nothing left: every event committed before
// the call, and every event their handlers committed, has been handled.
func (r *Relay) Drain(ctx context.Context) error {
	for {
		n, err := r.Pump(ctx)
		if err != nil || n == 0 {
			return err
		}
	}
}

// Pump handles one batch and acknowledges it. It returns how many entries it handled.
func (r *Relay) Pump(ctx context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	batch, err := r.feed.Next(ctx, r.batch)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	// group by key, keeping commit order inside each key
	var keys []string
	byKey := map[string][]store.OutboxEntry{}
	for _, e := range batch {
		if _, ok := byKey[e.Key]; !ok {
			keys = append(keys, e.Key)
		}
		byKey[e.Key] = append(byKey[e.Key], e)
	}
	work := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < min(r.workers, len(keys)); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				for _, e := range byKey[k] {
					r.deliver(ctx, e.Event)
				}
			}
		}()
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return 0, err // stopped mid-batch: leave it for the next run
	}
	return len(batch), r.feed.Ack(ctx, batch)
}

func (r *Relay) deliver(ctx context.Context, ev events.Event) {
	var err error
	for attempt := 0; attempt <= r.retries; attempt++ {
		if attempt > 0 {
			if clock.Sleep(ctx, r.backoff<<(attempt-1)) != nil {
				return
			}
		}
		if err = r.handle(ctx, ev); err == nil {
			return
		}
	}
	if ctx.Err() != nil {
		return
	}
	r.log.Error("event dead-lettered", "id", ev.ID, "detailType", ev.DetailType, "err", err)
	r.deadMu.Lock()
	r.dead = append(r.dead, ev)
	r.deadMu.Unlock()
}

// Dead returns the events dead-lettered so far.
func (r *Relay) Dead() []events.Event {
	r.deadMu.Lock()
	defer r.deadMu.Unlock()
	return append([]events.Event(nil), r.dead...)
}
