// Package cache is a store.Store decorator for the AWS Lambda functions: it
// keeps configuration reads for a short time, so a warm Lambda instance does
// not read the same channels, workflows and teams from DynamoDB on every
// event.
//
// # What is kept, and for how long
//
// Only successful reads are kept; an error or a not-found is never kept, so
// the next read asks the inner store again.
//
//   - GetChannel, by id, and ListChannels, whole pages by (Cursor, Limit):
//     for the ttl given to New, by the injected clock.
//   - ListWorkflows, whole pages by (Cursor, Limit): for the ttl.
//   - GetTeam, by id, with its round-robin Cursor: for the ttl.
//   - GetWorkflowVersion: without expiry, since a published version never
//     changes; at most 256 of them (when full, all are dropped).
//
// Each entry expires ttl after it was read, and every kind holds a bounded
// number of entries (a full table is emptied and filled again). Everything
// else passes straight through, uncached: conversations, contacts, agents
// and their loads and statuses, claims, the timeline, notifications, pending
// queues, GetWorkflow (the draft and its publication state), ListTeams,
// ListAgents. In particular the reads that decide exactly-once delivery and
// capacity (conversations, agents' loads and statuses, claims) always reach
// the inner store, and their versions and capacity are still checked by the
// conditions of the transaction that acts on them: a cached team or channel
// can make the engine consider a member list or a setting that is ttl old,
// never assign past an agent's capacity or twice.
//
// # Own writes and other processes' writes
//
// Writes through this store are seen at once (write-through invalidation):
// after Commit returns, with or without an error, the entries the Tx may have
// changed are dropped: every written or deleted channel and all ListChannels
// pages, all ListWorkflows pages when the Tx writes or deletes a workflow or
// adds a version, every written or deleted team. A round-robin cursor move
// (Tx.Cursors, written with almost every round-robin assignment) does not
// drop the team: on success the cached team's Cursor is set to the new
// agent, so the cursor of a cached team follows this process's own moves; on
// an error the team is dropped. A read that was in flight while such a
// Commit ran is returned to its caller but not kept.
//
// Changes made by other processes (another Lambda instance, the admin API
// editing a channel, publishing or disabling a workflow, changing a team's
// members or mode) are seen by a warm instance only when its entry expires,
// up to ttl later. Across processes the round-robin cursor was already a
// hint (CursorSet has no condition), so a cursor up to ttl old only makes
// the rotation less even, never wrong.
//
// # Where it is used
//
// Only in front of the DynamoDB store on AWS. The local server does not use
// it: the embedded bbolt store reads its own memory-mapped file, and keeps
// decoded teams and agents itself.
//
// The returned store forwards Outbox (store.OutboxFeed) when the inner store
// has one, since the relays and the conformance suite read the outbox through
// the store. It does not forward other optional interfaces the engine looks
// for with type assertions (the bbolt store's AppendAgents, which the engine
// uses when present and otherwise falls back to GetAgents): the decorator
// wraps only the DynamoDB store, which has none of them.
//
// Values returned are the caller's own: slices, maps and byte slices (a
// team's Members, a channel's Config, a workflow's or version's Definition
// and ASL, a page's Items) are copied on the way into the cache and on the
// way out, so a caller changing a result cannot change what others read.
// The store is safe for concurrent use.
package cache

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// Bounds of the tables: when one is full, it is emptied before a new entry
// goes in.
const (
	maxEntries  = 1024 // channels, teams, list pages (each kind)
	maxVersions = 256  // workflow versions
)

// New wraps inner; reads of configuration are kept for ttl by clk's time
// (see the package doc). ttl <= 0 returns inner itself (no cache). The
// result is a *Store, or one that also has Outbox when inner has it.
func New(inner store.Store, clk clock.Clock, ttl time.Duration) store.Store {
	if ttl <= 0 {
		return inner
	}
	s := &Store{
		Store:         inner,
		clk:           clk,
		channels:      newTable[string, routing.Channel](ttl, maxEntries),
		channelPages:  newTable[store.PageRequest, store.Page[routing.Channel]](ttl, maxEntries),
		workflowPages: newTable[store.PageRequest, store.Page[routing.Workflow]](ttl, maxEntries),
		versions:      newTable[versionKey, routing.WorkflowVersion](0, maxVersions),
		teams:         newTable[string, routing.Team](ttl, maxEntries),
	}
	if src, ok := inner.(outboxSource); ok {
		return withOutbox{s, src}
	}
	return s
}

// Store is the caching decorator. Methods it does not define are the inner
// store's (embedded).
type Store struct {
	store.Store
	clk clock.Clock

	mu sync.Mutex
	// gen counts the Commits that changed cached kinds: a read that began
	// before one ended is not kept, since it may have read the old state.
	gen           uint64
	channels      *table[string, routing.Channel]
	channelPages  *table[store.PageRequest, store.Page[routing.Channel]]
	workflowPages *table[store.PageRequest, store.Page[routing.Workflow]]
	versions      *table[versionKey, routing.WorkflowVersion]
	teams         *table[string, routing.Team]
	stats         Stats
}

// Stats counts the cached reads: Hits answered from the cache, Misses that
// went to the inner store (kept or not).
type Stats struct {
	Hits, Misses int64
}

// Stats returns the counts so far.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

type versionKey struct {
	workflowID string
	number     int
}

// outboxSource is a store that exposes its outbox feed (storetest.OutboxSource).
type outboxSource interface {
	Outbox() store.OutboxFeed
}

// withOutbox is the decorator of a store that has an outbox.
type withOutbox struct {
	*Store
	src outboxSource
}

// Outbox returns the inner store's feed.
func (w withOutbox) Outbox() store.OutboxFeed { return w.src.Outbox() }

// GetChannel reads a channel, from the cache when it was read less than ttl ago.
func (s *Store) GetChannel(ctx context.Context, id string) (routing.Channel, error) {
	return read(s, s.channels, id, cloneChannel, func() (routing.Channel, error) {
		return s.Store.GetChannel(ctx, id)
	})
}

// ListChannels reads a page of channels, from the cache when the same page
// was read less than ttl ago.
func (s *Store) ListChannels(ctx context.Context, p store.PageRequest) (store.Page[routing.Channel], error) {
	return read(s, s.channelPages, p, clonePage(cloneChannel), func() (store.Page[routing.Channel], error) {
		return s.Store.ListChannels(ctx, p)
	})
}

// ListWorkflows reads a page of workflows, from the cache when the same page
// was read less than ttl ago.
func (s *Store) ListWorkflows(ctx context.Context, p store.PageRequest) (store.Page[routing.Workflow], error) {
	return read(s, s.workflowPages, p, clonePage(cloneWorkflow), func() (store.Page[routing.Workflow], error) {
		return s.Store.ListWorkflows(ctx, p)
	})
}

// GetWorkflowVersion reads a published version, from the cache when it was
// read before (versions never change).
func (s *Store) GetWorkflowVersion(ctx context.Context, workflowID string, number int) (routing.WorkflowVersion, error) {
	return read(s, s.versions, versionKey{workflowID, number}, cloneVersion, func() (routing.WorkflowVersion, error) {
		return s.Store.GetWorkflowVersion(ctx, workflowID, number)
	})
}

// GetTeam reads a team with its cursor, from the cache when it was read less
// than ttl ago (its Cursor then follows this store's own CursorSets).
func (s *Store) GetTeam(ctx context.Context, id string) (routing.Team, error) {
	return read(s, s.teams, id, cloneTeam, func() (routing.Team, error) {
		return s.Store.GetTeam(ctx, id)
	})
}

// Commit commits tx on the inner store, then drops or updates the cached
// entries tx may have changed (see the package doc), whatever the outcome.
func (s *Store) Commit(ctx context.Context, tx store.Tx) error {
	err := s.Store.Commit(ctx, tx)
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	dropChannel := func(id string) {
		s.channels.drop(id)
		s.channelPages.clear()
		changed = true
	}
	dropTeam := func(id string) {
		s.teams.drop(id)
		changed = true
	}
	dropWorkflows := func() {
		s.workflowPages.clear()
		changed = true
	}
	for _, w := range tx.Channels {
		dropChannel(w.Value.ID)
	}
	for _, w := range tx.Teams {
		dropTeam(w.Value.ID)
	}
	if len(tx.Workflows) > 0 || len(tx.Versions) > 0 {
		dropWorkflows()
	}
	for _, d := range tx.Deletes {
		switch d.Kind {
		case store.DeleteChannel:
			dropChannel(d.ID)
		case store.DeleteTeam:
			dropTeam(d.ID)
		case store.DeleteWorkflow:
			dropWorkflows()
		}
	}
	for _, c := range tx.Cursors {
		if err != nil {
			dropTeam(c.TeamID)
			continue
		}
		if e, ok := s.teams.m[c.TeamID]; ok {
			e.v.Cursor = c.AgentID
			s.teams.m[c.TeamID] = e
		}
		changed = true
	}
	if changed {
		s.gen++
	}
	return err
}

// read answers from t when it holds an unexpired entry for k; otherwise it
// calls load and keeps a copy of a successful result, unless a Commit that
// changed cached kinds ended meanwhile.
func read[K comparable, V any](s *Store, t *table[K, V], k K, clone func(V) V, load func() (V, error)) (V, error) {
	s.mu.Lock()
	if v, ok := t.get(k, s.clk.Now()); ok {
		s.stats.Hits++
		s.mu.Unlock()
		return clone(v), nil
	}
	s.stats.Misses++
	gen := s.gen
	s.mu.Unlock()

	v, err := load()
	if err != nil {
		return v, err
	}
	kept := clone(v)
	s.mu.Lock()
	if s.gen == gen {
		t.put(k, kept, s.clk.Now())
	}
	s.mu.Unlock()
	return v, nil
}

// table is one kind's entries; the Store's mutex guards it.
type table[K comparable, V any] struct {
	m   map[K]entry[V]
	ttl time.Duration // 0: entries never expire
	max int
}

type entry[V any] struct {
	v       V
	expires time.Time // zero: never
}

func newTable[K comparable, V any](ttl time.Duration, max int) *table[K, V] {
	return &table[K, V]{m: make(map[K]entry[V]), ttl: ttl, max: max}
}

func (t *table[K, V]) get(k K, now time.Time) (V, bool) {
	e, ok := t.m[k]
	if !ok || (!e.expires.IsZero() && !now.Before(e.expires)) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (t *table[K, V]) put(k K, v V, now time.Time) {
	if _, ok := t.m[k]; !ok && len(t.m) >= t.max {
		t.clear()
	}
	e := entry[V]{v: v}
	if t.ttl > 0 {
		e.expires = now.Add(t.ttl)
	}
	t.m[k] = e
}

func (t *table[K, V]) drop(k K) { delete(t.m, k) }

func (t *table[K, V]) clear() { clear(t.m) }

// Copies: what the cache holds shares no slice, map or byte slice with what
// its callers hold.

func cloneChannel(c routing.Channel) routing.Channel {
	c.Config = maps.Clone(c.Config)
	return c
}

func cloneTeam(t routing.Team) routing.Team {
	t.Members = slices.Clone(t.Members)
	return t
}

func cloneWorkflow(w routing.Workflow) routing.Workflow {
	w.Definition = bytes.Clone(w.Definition)
	return w
}

func cloneVersion(v routing.WorkflowVersion) routing.WorkflowVersion {
	v.Definition = bytes.Clone(v.Definition)
	v.ASL = bytes.Clone(v.ASL)
	return v
}

func clonePage[T any](clone func(T) T) func(store.Page[T]) store.Page[T] {
	return func(p store.Page[T]) store.Page[T] {
		if p.Items != nil {
			items := make([]T, len(p.Items))
			for i, it := range p.Items {
				items[i] = clone(it)
			}
			p.Items = items
		}
		return p
	}
}
