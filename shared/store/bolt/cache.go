package bolt

import (
	"bytes"
	"encoding/json"
	"sync"

	bbolt "go.etcd.io/bbolt"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Every assignment reads a team (its member list) and all of its members,
// and most of those records have not changed since the last assignment. The
// store keeps the last decoded form of agents and teams next to a copy of the
// stored bytes it came from, and reuses it only when the bytes read in the
// current transaction are identical: a read still sees exactly its own bbolt
// snapshot, and a stale entry is just a miss.

// decoded is a decoded record and the stored bytes it was decoded from.
type decoded[T any] struct {
	raw []byte
	v   T
}

// decodeCache maps a key to its last decoded record. Lookups of one read
// share the lock; new entries are added in one go at the end of a read.
type decodeCache[T any] struct {
	mu  sync.RWMutex
	m   map[string]*decoded[T] // pointers keep the map small: a lookup touches little memory
	max int                    // entries; when full, new keys are not cached
}

func newDecodeCache[T any](max int) *decodeCache[T] {
	return &decodeCache[T]{m: make(map[string]*decoded[T]), max: max}
}

// lookup returns the cached record of key if it was decoded from raw, or
// nil. The caller holds c.mu for reading; the record must not be changed.
func (c *decodeCache[T]) lookup(key, raw []byte) *T {
	if e := c.m[string(key)]; e != nil && bytes.Equal(e.raw, raw) {
		return &e.v
	}
	return nil
}

func (c *decodeCache[T]) get(key, raw []byte) (T, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if v := c.lookup(key, raw); v != nil {
		return *v, true
	}
	var zero T
	return zero, false
}

// pending is a record decoded during a read, to cache when the read ends.
type pending[T any] struct {
	key string
	decoded[T]
}

// fresh returns an entry for key, raw and v (raw is copied: bbolt's bytes
// are valid only during its transaction).
func fresh[T any](key, raw []byte, v T) pending[T] {
	return pending[T]{key: string(key), decoded: decoded[T]{raw: bytes.Clone(raw), v: v}}
}

func (c *decodeCache[T]) add(entries ...pending[T]) {
	if len(entries) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range entries {
		if _, ok := c.m[e.key]; ok || len(c.m) < c.max {
			c.m[e.key] = &e.decoded
		}
	}
}

// Cache sizes: a record costs its bytes twice and the decoded form.
const (
	maxCachedAgents = 1 << 17
	maxCachedTeams  = 1 << 10
)

// caches are a store's decode caches.
type caches struct {
	agents *decodeCache[routing.Agent]
	teams  *decodeCache[routing.Team]
}

func newCaches() *caches {
	return &caches{agents: newDecodeCache[routing.Agent](maxCachedAgents), teams: newDecodeCache[routing.Team](maxCachedTeams)}
}

// agentFrom decodes a stored agent, through the cache. New entries go to
// *add when add is not nil (the caller adds them when its read ends), else
// straight to the cache. The Teams slice of the result is shared with the
// cache: callers outside this package get a copy (see ownAgent).
func (c *caches) agentFrom(key, raw []byte, add *[]pending[routing.Agent]) (routing.Agent, error) {
	if a, ok := c.agents.get(key, raw); ok {
		return a, nil
	}
	a, err := decodeAgent(raw)
	if err != nil {
		return a, internal("decode agent "+string(key), err)
	}
	if add != nil {
		*add = append(*add, fresh(key, raw, a))
	} else {
		c.agents.add(fresh(key, raw, a))
	}
	return a, nil
}

// agent reads an agent in tx.
func (c *caches) agent(tx *bbolt.Tx, id string) (routing.Agent, bool, error) {
	if id == "" {
		return routing.Agent{}, false, nil
	}
	key := []byte(id)
	raw := tx.Bucket(bAgents).Get(key)
	if raw == nil {
		return routing.Agent{}, false, nil
	}
	a, err := c.agentFrom(key, raw, nil)
	return a, true, err
}

// ownAgent gives a its own Teams slice, so a caller changing it cannot
// change the cache.
func ownAgent(a routing.Agent) routing.Agent {
	if a.Teams != nil {
		a.Teams = append(make([]string, 0, len(a.Teams)), a.Teams...)
	}
	return a
}

// team reads a team in tx, with its round-robin cursor. Members is shared
// with the cache; ownTeam copies it for callers outside this package.
func (c *caches) team(tx *bbolt.Tx, id string) (routing.Team, bool, error) {
	if id == "" {
		return routing.Team{}, false, nil
	}
	key := []byte(id)
	raw := tx.Bucket(bTeams).Get(key)
	if raw == nil {
		return routing.Team{}, false, nil
	}
	t, err := c.teamFrom(key, raw)
	if err != nil {
		return t, true, err
	}
	t.Cursor = cursorOf(tx, key, t.Cursor)
	return t, true, nil
}

func (c *caches) teamFrom(key, raw []byte) (routing.Team, error) {
	if t, ok := c.teams.get(key, raw); ok {
		return t, nil
	}
	var t routing.Team
	if err := json.Unmarshal(raw, &t); err != nil {
		return t, internal("decode team "+string(key), err)
	}
	c.teams.add(fresh(key, raw, t))
	return t, nil
}

func ownTeam(t routing.Team) routing.Team {
	if t.Members != nil {
		t.Members = append(make([]string, 0, len(t.Members)), t.Members...)
	}
	return t
}

// Round-robin cursors live in their own bucket (bCursors), so moving one
// rewrites a few bytes rather than the team and its member list. A team
// stored before that keeps its cursor in its record until a CursorSet.

// cursorOf returns the cursor of team key: bCursors' entry, or stored (the
// cursor in the team record) when there is none.
func cursorOf(tx *bbolt.Tx, key []byte, stored string) string {
	if v := tx.Bucket(bCursors).Get(key); v != nil {
		return decodeCursorValue(v)
	}
	return stored
}

// A cursor value is 'c' and the agent id, so an empty cursor is not an
// empty value.
func encodeCursorValue(agentID string) []byte { return append([]byte{'c'}, agentID...) }

func decodeCursorValue(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	return string(v[1:])
}
