package storetest

import (
	"context"
	"sort"
	"sync"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// The wrappers below make a store fail the way AWS fails, for the engine's
// twin suites: DynamoDB's global secondary indexes are eventually consistent
// (a queue read can return a conversation that was assigned a moment ago),
// and a TransactWriteItems can fail before writing or be committed and still
// answer an error (a timeout, a lost connection).

// Lagging wraps a store so that its pending queues (a GSI on DynamoDB) lag:
// between Hold and Release, PendingQueue answers as of the moment of Hold,
// while Get* reads (ConsistentRead on DynamoDB) see every commit.
type Lagging struct {
	store.Store
	mu     sync.Mutex
	held   bool
	before map[string]*routing.Conversation // conversation id -> image at Hold (nil: absent)
}

// NewLagging wraps s.
func NewLagging(s store.Store) *Lagging { return &Lagging{Store: s} }

// Hold freezes the queue index as it is now.
func (l *Lagging) Hold() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held, l.before = true, map[string]*routing.Conversation{}
}

// Release lets the index catch up.
func (l *Lagging) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held, l.before = false, nil
}

// Commit records the images of the conversations tx changes, as the
// index still shows them, then commits.
func (l *Lagging) Commit(ctx context.Context, tx store.Tx) error {
	l.mu.Lock()
	if l.held {
		for _, w := range tx.Conversations {
			if _, seen := l.before[w.Value.ID]; seen {
				continue
			}
			c, err := l.Store.GetConversation(ctx, w.Value.ID)
			switch {
			case err == nil:
				l.before[w.Value.ID] = &c
			case routing.IsNotFound(err):
				l.before[w.Value.ID] = nil
			default:
				l.mu.Unlock()
				return err
			}
		}
	}
	l.mu.Unlock()
	return l.Store.Commit(ctx, tx)
}

// PendingQueue answers from the index as it was at Hold.
func (l *Lagging) PendingQueue(ctx context.Context, teamID string, limit int) ([]routing.Conversation, error) {
	l.mu.Lock()
	before := make(map[string]*routing.Conversation, len(l.before))
	for k, v := range l.before {
		before[k] = v
	}
	l.mu.Unlock()
	q, err := l.Store.PendingQueue(ctx, teamID, limit+len(before))
	if err != nil || len(before) == 0 {
		return q, err
	}
	var out []routing.Conversation
	for _, c := range q {
		if _, changed := before[c.ID]; !changed {
			out = append(out, c)
		}
	}
	for _, c := range before {
		if c != nil && c.Status == routing.ConvPending && c.TeamID == teamID {
			out = append(out, *c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return routing.QueueLess(out[i], out[j]) })
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Outbox passes the wrapped store's feed through.
func (l *Lagging) Outbox() store.OutboxFeed { return l.Store.(OutboxSource).Outbox() }

// Fault says how Faulty fails one commit.
type Fault int

const (
	NoFault    Fault = iota
	FailBefore       // nothing is written; the commit answers an error
	FailAfter        // the Tx is committed, and the commit still answers an error
)

// ErrInjected is the error of an injected fault (CodeUnavailable, as a
// throttled or timed-out request is).
var ErrInjected = routing.Errorf(routing.CodeUnavailable, "injected fault")

// Faulty wraps a store and fails the commits that Plan says (numbered from 1
// in the order they reach the store).
type Faulty struct {
	store.Store
	Plan func(n int, tx store.Tx) Fault
	Err  error // the injected error; nil: ErrInjected
	mu   sync.Mutex
	n    int
}

// Commits is how many commits reached the store.
func (f *Faulty) Commits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// Commit applies the plan.
func (f *Faulty) Commit(ctx context.Context, tx store.Tx) error {
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	fault := NoFault
	if f.Plan != nil {
		fault = f.Plan(n, tx)
	}
	injected := f.Err
	if injected == nil {
		injected = ErrInjected
	}
	switch fault {
	case FailBefore:
		return injected
	case FailAfter:
		if err := f.Store.Commit(ctx, tx); err != nil {
			return err
		}
		return injected
	}
	return f.Store.Commit(ctx, tx)
}

// Outbox passes the wrapped store's feed through.
func (f *Faulty) Outbox() store.OutboxFeed { return f.Store.(OutboxSource).Outbox() }
