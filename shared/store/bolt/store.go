// Package bolt is the embedded store: store.Store on one bbolt file, for the
// local server. Every Commit is one bbolt read-write transaction, fsynced
// before it returns, so an acknowledged commit survives a crash (kill -9 or
// power loss on a disk that honours fsync). Secondary indexes (contact by
// external id, pending queues, conversation lists, timelines) live in the
// same file and change in the same transaction as the items they index.
//
// One process opens a file at a time: bbolt locks it, and Open waits at most
// the lock timeout (WithLockTimeout) for another process to let go.
package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// Bucket names.
var (
	bMeta          = []byte("meta")
	bConversations = []byte("conversations")   // id -> JSON
	bConvByOpened  = []byte("conv_by_opened")  // openedAt + id
	bConvByTeam    = []byte("conv_by_team")    // team 0 openedAt + id
	bConvByAgent   = []byte("conv_by_agent")   // assignee 0 openedAt + id
	bConvByContact = []byte("conv_by_contact") // contact 0 openedAt + id
	bConvByStatus  = []byte("conv_by_status")  // status 0 openedAt + id
	bQueue         = []byte("queue")           // team 0 rank pendingSince id
	bContacts      = []byte("contacts")        // id -> JSON
	bContactByExt  = []byte("contact_by_ext")  // channel 0 externalID -> id
	bAgents        = []byte("agents")          // id -> compact binary
	bTeams         = []byte("teams")           // id -> JSON
	bCursors       = []byte("team_cursors")    // team id -> 'c' + round-robin cursor
	bChannels      = []byte("channels")        // id -> JSON
	bWorkflows     = []byte("workflows")       // id -> JSON
	bVersions      = []byte("versions")        // workflowID 0 number -> JSON
	bClaims        = []byte("claims")          // key -> expiresAt
	bClaimsByExp   = []byte("claims_by_exp")   // expiresAt + key
	bEvents        = []byte("events")          // conversation 0 at + id -> JSON
	bNotifications = []byte("notifications")   // agent 0 at + id -> JSON
	bOutbox        = []byte("outbox")          // commit sequence (8 bytes, big-endian) -> JSON OutboxEvent
)

var allBuckets = [][]byte{
	bMeta, bConversations, bConvByOpened, bConvByTeam, bConvByAgent, bConvByContact, bConvByStatus,
	bQueue, bContacts, bContactByExt, bAgents, bTeams, bCursors, bChannels, bWorkflows, bVersions,
	bClaims, bClaimsByExp, bEvents, bNotifications, bOutbox,
}

// schemaVersion is written to the meta bucket; Open refuses other versions.
const schemaVersion = "1"

// Store is the embedded store. It is safe for concurrent use.
type Store struct {
	db    *bbolt.DB
	cache *caches

	// Group commit (nil reqs when off).
	reqs    chan *request
	stopped chan struct{}
	closeMu sync.RWMutex
	closed  bool

	stats counters
}

var _ store.Store = (*Store)(nil)

type options struct {
	lockTimeout   time.Duration
	noSync        bool
	noGroupCommit bool
}

// Option configures Open.
type Option func(*options)

// WithLockTimeout sets how long Open waits for another process to release
// the file (default 2s); 0 waits forever.
func WithLockTimeout(d time.Duration) Option { return func(o *options) { o.lockTimeout = d } }

// WithoutSync skips fsync on commit. A crash may then lose acknowledged
// commits or, on some file systems, corrupt the file: for throwaway data
// only (never the default).
func WithoutSync() Option { return func(o *options) { o.noSync = true } }

// WithoutGroupCommit gives every Commit its own bbolt transaction and fsync
// instead of letting concurrent Commits share one (see Commit).
func WithoutGroupCommit() Option { return func(o *options) { o.noGroupCommit = true } }

// Open opens (creating if needed) the store file at path.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{lockTimeout: 2 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bolt store: %w", err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: o.lockTimeout, NoSync: o.noSync, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("bolt store: %s is in use by another process: %w", path, err)
		}
		return nil, fmt.Errorf("bolt store: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bMeta)
		switch v := meta.Get([]byte("schema")); {
		case v == nil:
			return meta.Put([]byte("schema"), []byte(schemaVersion))
		case string(v) != schemaVersion:
			return fmt.Errorf("schema version %q, this build reads %q", v, schemaVersion)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt store: init %s: %w", path, err)
	}
	s := &Store{db: db, cache: newCaches()}
	if !o.noGroupCommit {
		s.reqs = make(chan *request, maxBatch)
		s.stopped = make(chan struct{})
		go s.committer()
	}
	return s, nil
}

// Close waits for queued commits, then closes the file. Calls after Close fail.
func (s *Store) Close() error {
	if s.reqs != nil {
		s.closeMu.Lock()
		if !s.closed {
			s.closed = true
			close(s.reqs)
		}
		s.closeMu.Unlock()
		<-s.stopped
	}
	return s.db.Close()
}

// Path returns the file's path.
func (s *Store) Path() string { return s.db.Path() }

// Check verifies the file's B+tree consistency (bbolt's tx.Check) and
// returns the first problem found.
func (s *Store) Check() error {
	return s.db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
}

// view runs fn in a read transaction, wrapping bbolt's own errors.
func (s *Store) view(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.View(fn)
	var re *routing.Error
	if err != nil && !errors.As(err, &re) && !errors.Is(err, errWrapped) {
		return internal("read", err)
	}
	return err
}

// errWrapped marks errors already wrapped by internal.
var errWrapped = errors.New("bolt store")

func internal(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", errWrapped, op, err)
}

// getJSON reads key from bucket into v; found is false when absent.
func getJSON(tx *bbolt.Tx, bucket []byte, key []byte, v any) (bool, error) {
	if len(key) == 0 {
		return false, nil
	}
	raw := tx.Bucket(bucket).Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, internal("decode "+string(bucket), err)
	}
	return true, nil
}

// getOne reads one JSON item by id, or CodeNotFound.
func getOne[T any](s *Store, ctx context.Context, bucket []byte, kind, id string) (T, error) {
	var v T
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		found, err := getJSON(tx, bucket, []byte(id), &v)
		if err == nil && !found {
			return routing.NotFound(kind, id)
		}
		return err
	})
	return v, err
}

// GetConversation returns a conversation or CodeNotFound.
func (s *Store) GetConversation(ctx context.Context, id string) (routing.Conversation, error) {
	return getOne[routing.Conversation](s, ctx, bConversations, "conversation", id)
}

// GetContact returns a contact or CodeNotFound.
func (s *Store) GetContact(ctx context.Context, id string) (routing.Contact, error) {
	return getOne[routing.Contact](s, ctx, bContacts, "contact", id)
}

// ContactByExternalID finds a channel's contact by the provider's id.
func (s *Store) ContactByExternalID(ctx context.Context, channelID, externalID string) (routing.Contact, error) {
	var c routing.Contact
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		if channelID == "" || externalID == "" || hasSep(channelID) {
			return routing.NotFound("contact", externalID)
		}
		id := tx.Bucket(bContactByExt).Get(pairKey(channelID, externalID))
		found, err := getJSON(tx, bContacts, id, &c)
		if err == nil && !found {
			return routing.NotFound("contact", externalID)
		}
		return err
	})
	return c, err
}

// GetTeam returns a team or CodeNotFound.
func (s *Store) GetTeam(ctx context.Context, id string) (routing.Team, error) {
	var t routing.Team
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		var found bool
		var err error
		t, found, err = s.cache.team(tx, id)
		if err == nil && !found {
			return routing.NotFound("team", id)
		}
		return err
	})
	return ownTeam(t), err
}

// GetChannel returns a channel or CodeNotFound.
func (s *Store) GetChannel(ctx context.Context, id string) (routing.Channel, error) {
	return getOne[routing.Channel](s, ctx, bChannels, "channel", id)
}

// GetWorkflow returns a workflow or CodeNotFound.
func (s *Store) GetWorkflow(ctx context.Context, id string) (routing.Workflow, error) {
	return getOne[routing.Workflow](s, ctx, bWorkflows, "workflow", id)
}

// GetWorkflowVersion returns a published version or CodeNotFound.
func (s *Store) GetWorkflowVersion(ctx context.Context, workflowID string, number int) (routing.WorkflowVersion, error) {
	var v routing.WorkflowVersion
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		if workflowID == "" || hasSep(workflowID) {
			return routing.NotFound("workflow version", workflowID)
		}
		found, err := getJSON(tx, bVersions, versionKey(workflowID, number), &v)
		if err == nil && !found {
			return routing.NotFound("workflow version", fmt.Sprintf("%s/%d", workflowID, number))
		}
		return err
	})
	return v, err
}

// GetAgent returns an agent or CodeNotFound.
func (s *Store) GetAgent(ctx context.Context, id string) (routing.Agent, error) {
	var a routing.Agent
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		var found bool
		var err error
		a, found, err = s.cache.agent(tx, id)
		if err == nil && !found {
			return routing.NotFound("agent", id)
		}
		return err
	})
	return ownAgent(a), err
}

// GetAgents returns the agents with the given ids that exist, in the order
// asked, from one read transaction.
func (s *Store) GetAgents(ctx context.Context, ids []string) ([]routing.Agent, error) {
	out, err := s.AppendAgents(ctx, make([]routing.Agent, 0, len(ids)), ids)
	if err != nil {
		return nil, err
	}
	ownTeams(out)
	return out, nil
}

// AppendAgents appends to dst the agents with the given ids that exist, in
// the order asked, from one read transaction: GetAgents for a caller that
// reuses dst (the engine, on every assignment to a large team). The Teams
// slices of the appended agents are shared with the store's cache and must
// not be changed.
func (s *Store) AppendAgents(ctx context.Context, dst []routing.Agent, ids []string) ([]routing.Agent, error) {
	out := dst
	var add []pending[routing.Agent]
	cache := s.cache.agents
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		// One cursor for all ids, stepping forward when the next id is the
		// next key (a team's members are mostly in id order) and seeking
		// otherwise. bbolt allocates a fresh cursor on every Bucket.Get.
		c := tx.Bucket(bAgents).Cursor()
		var k, v []byte
		cache.mu.RLock()
		defer cache.mu.RUnlock()
		for _, id := range ids {
			if id == "" {
				continue
			}
			if k != nil && string(k) < id {
				k, v = c.Next()
			}
			if k == nil || string(k) != id {
				k, v = c.Seek([]byte(id))
			}
			if k == nil || string(k) != id {
				continue
			}
			if a := cache.lookup(k, v); a != nil {
				out = append(out, *a)
				continue
			}
			a, err := decodeAgent(v)
			if err != nil {
				return internal("decode agent "+id, err)
			}
			add = append(add, fresh(k, v, a))
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return dst, err
	}
	cache.add(add...)
	return out, nil
}

// ownTeams gives the agents their own Teams slices (one allocation for all),
// so a caller changing them cannot change the cache.
func ownTeams(agents []routing.Agent) {
	n := 0
	for i := range agents {
		n += len(agents[i].Teams)
	}
	all := make([]string, 0, n)
	for i := range agents {
		if t := agents[i].Teams; t != nil {
			all = append(all, t...)
			agents[i].Teams = all[len(all)-len(t) : len(all) : len(all)]
		}
	}
}

// listByID pages through a bucket keyed by id, in id order.
func listByID[T any](s *Store, ctx context.Context, bucket []byte, p store.PageRequest, decode func(tx *bbolt.Tx, key, value []byte) (T, error)) (store.Page[T], error) {
	var page store.Page[T]
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		after, err := decodeCursor(p.Cursor, tagList, nil)
		if err != nil {
			return err
		}
		limit := p.EffectiveLimit()
		c := tx.Bucket(bucket).Cursor()
		k, v := c.First()
		if after != nil {
			k, v = c.Seek(after)
			if k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		var last []byte
		for ; k != nil; k, v = c.Next() {
			if len(page.Items) == limit {
				page.Next = encodeCursor(tagList, last)
				break
			}
			item, err := decode(tx, k, v)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, item)
			last = append(last[:0], k...)
		}
		return nil
	})
	return page, err
}

func decodeJSON[T any](_ *bbolt.Tx, _, b []byte) (T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return v, internal("decode", err)
	}
	return v, nil
}

// ListAgents pages through agents in id order.
func (s *Store) ListAgents(ctx context.Context, p store.PageRequest) (store.Page[routing.Agent], error) {
	return listByID(s, ctx, bAgents, p, func(_ *bbolt.Tx, _, v []byte) (routing.Agent, error) { return decodeAgent(v) })
}

// ListTeams pages through teams in id order.
func (s *Store) ListTeams(ctx context.Context, p store.PageRequest) (store.Page[routing.Team], error) {
	return listByID(s, ctx, bTeams, p, func(tx *bbolt.Tx, k, v []byte) (routing.Team, error) {
		t, err := s.cache.teamFrom(k, v)
		t.Cursor = cursorOf(tx, k, t.Cursor)
		return ownTeam(t), err
	})
}

// ListChannels pages through channels in id order.
func (s *Store) ListChannels(ctx context.Context, p store.PageRequest) (store.Page[routing.Channel], error) {
	return listByID(s, ctx, bChannels, p, decodeJSON[routing.Channel])
}

// ListWorkflows pages through workflows in id order.
func (s *Store) ListWorkflows(ctx context.Context, p store.PageRequest) (store.Page[routing.Workflow], error) {
	return listByID(s, ctx, bWorkflows, p, decodeJSON[routing.Workflow])
}
