package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

var errCorruptIndex = errors.New("index entry without its item")

// sweepPerCommit bounds how many expired claims a Commit deletes.
const sweepPerCommit = 32

// Commit applies tx atomically and returns once it is fsynced. A failed
// condition writes nothing of tx.
//
// With group commit (the default) concurrent Commits share one bbolt
// transaction and one fsync: a committer goroutine takes every waiting Tx,
// applies them in arrival order, and when one fails with a condition it
// rolls back, reports that error to its caller only and re-runs the others,
// so the outcome is that of running the Txs one after another. Without group
// commit each Tx is its own bbolt transaction.
func (s *Store) Commit(ctx context.Context, tx store.Tx) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if tx.Empty() {
		return nil
	}
	if err := validate(tx); err != nil {
		return err
	}
	if s.reqs == nil {
		return commitError(s.db.Update(func(btx *bbolt.Tx) error { return apply(btx, tx) }))
	}
	r := &request{tx: tx, done: make(chan struct{})}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return internal("commit", bbolt.ErrDatabaseNotOpen)
	}
	s.reqs <- r
	s.closeMu.RUnlock()
	<-r.done // once queued a Tx runs to the end: waiting is not cancelled by ctx
	return r.err
}

func commitError(err error) error {
	var re *routing.Error
	if err != nil && !errors.As(err, &re) {
		return internal("commit", err)
	}
	return err
}

// request is one Commit waiting for the committer.
type request struct {
	tx   store.Tx
	err  error
	done chan struct{}
}

// maxBatch bounds a group commit; a batch with failures is re-run, so this
// also bounds that work.
const maxBatch = 128

// committer runs group commits until reqs is closed.
func (s *Store) committer() {
	defer close(s.stopped)
	for r := range s.reqs {
		batch := []*request{r}
	drain:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		runBatch(s.db, batch)
	}
}

// runBatch commits batch in one bbolt transaction. A Tx whose condition
// fails is given its error and left out, and the rest run again from the
// start, so each Tx sees exactly the Txs before it that succeed.
func runBatch(db *bbolt.DB, batch []*request) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	pending := batch
	for len(pending) > 0 {
		failed := -1
		err := db.Update(func(btx *bbolt.Tx) error {
			for i, r := range pending {
				if err := apply(btx, r.tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		var re *routing.Error
		switch {
		case err == nil:
			return
		case failed >= 0 && errors.As(err, &re):
			pending[failed].err = err
			pending = append(pending[:failed:failed], pending[failed+1:]...)
		default: // I/O: nothing of this transaction was written
			for _, r := range pending {
				r.err = internal("commit", err)
			}
			return
		}
	}
}

// validate refuses a Tx with a missing id, an id holding the key separator,
// an item touched twice, a bad Delta or a negative ExpectVersion.
func validate(tx store.Tx) error {
	seen := make(map[string]bool)
	// item reports a problem with one item key; kind groups keys that name
	// the same stored item (an agent's profile and its load).
	item := func(field, kind string, parts ...string) error {
		for _, p := range parts {
			if p == "" {
				return routing.Invalid(field, "%s: an id is required", field)
			}
			if hasSep(p) {
				return routing.Invalid(field, "%s: an id must not contain a NUL byte", field)
			}
		}
		key := kind + "\x00" + fmt.Sprint(parts)
		if seen[key] {
			return routing.Invalid(field, "%s: the transaction touches %s %v twice", field, kind, parts)
		}
		seen[key] = true
		return nil
	}
	version := func(field string, v int64) error {
		if v < 0 {
			return routing.Invalid(field, "%s: ExpectVersion must not be negative", field)
		}
		return nil
	}
	var errs []error
	for _, w := range tx.Conversations {
		errs = append(errs, item("conversations.id", "conversation", w.Value.ID), version("conversations.expectVersion", w.ExpectVersion))
	}
	for _, w := range tx.Contacts {
		errs = append(errs, item("contacts.id", "contact", w.Value.ID), version("contacts.expectVersion", w.ExpectVersion))
		if hasSep(w.Value.ChannelID) {
			errs = append(errs, routing.Invalid("contacts.channelId", "a channel id must not contain a NUL byte"))
		}
	}
	for _, w := range tx.Agents {
		errs = append(errs, item("agents.id", "agent", w.Value.ID), version("agents.expectVersion", w.ExpectVersion))
	}
	for _, w := range tx.Teams {
		errs = append(errs, item("teams.id", "team", w.Value.ID), version("teams.expectVersion", w.ExpectVersion))
	}
	for _, w := range tx.Channels {
		errs = append(errs, item("channels.id", "channel", w.Value.ID), version("channels.expectVersion", w.ExpectVersion))
	}
	for _, w := range tx.Workflows {
		errs = append(errs, item("workflows.id", "workflow", w.Value.ID), version("workflows.expectVersion", w.ExpectVersion))
	}
	for _, v := range tx.Versions {
		errs = append(errs, item("versions.workflowId", "version", v.WorkflowID, fmt.Sprint(v.Number)))
	}
	for _, l := range tx.Loads {
		errs = append(errs, item("loads.agentId", "agent", l.AgentID))
		if l.Delta != 1 && l.Delta != -1 {
			errs = append(errs, routing.Invalid("loads.delta", "delta must be +1 or -1, not %d", l.Delta))
		}
	}
	for _, c := range tx.Cursors {
		errs = append(errs, item("cursors.teamId", "team", c.TeamID))
	}
	for _, c := range tx.Claims {
		errs = append(errs, item("claims.key", "claim", c.Key))
	}
	for _, e := range tx.Events {
		errs = append(errs, item("events.id", "event", e.ConversationID, e.ID, e.At.UTC().String()))
	}
	for _, n := range tx.Notifications {
		errs = append(errs, item("notifications.id", "notification", n.AgentID, n.ID, n.At.UTC().String()))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func apply(btx *bbolt.Tx, tx store.Tx) error {
	for _, w := range tx.Conversations {
		if err := putConversation(btx, w); err != nil {
			return err
		}
	}
	for _, w := range tx.Contacts {
		if err := putContact(btx, w); err != nil {
			return err
		}
	}
	for _, w := range tx.Agents {
		if err := putAgent(btx, w); err != nil {
			return err
		}
	}
	for _, w := range tx.Teams {
		err := putVersioned(btx, bTeams, "team", w.Value.ID, w.ExpectVersion, func(old *routing.Team) any {
			v := w.Value
			v.Version = w.ExpectVersion + 1
			v.Cursor = ""
			if old != nil {
				v.Cursor = old.Cursor
			}
			return v
		})
		if err != nil {
			return err
		}
	}
	for _, w := range tx.Channels {
		err := putVersioned(btx, bChannels, "channel", w.Value.ID, w.ExpectVersion, func(*routing.Channel) any {
			v := w.Value
			v.Version = w.ExpectVersion + 1
			return v
		})
		if err != nil {
			return err
		}
	}
	for _, w := range tx.Workflows {
		err := putVersioned(btx, bWorkflows, "workflow", w.Value.ID, w.ExpectVersion, func(*routing.Workflow) any {
			v := w.Value
			v.Version = w.ExpectVersion + 1
			return v
		})
		if err != nil {
			return err
		}
	}
	for _, v := range tx.Versions {
		b := btx.Bucket(bVersions)
		key := versionKey(v.WorkflowID, v.Number)
		if b.Get(key) != nil {
			return routing.Conflict(routing.ReasonExists, "workflow %q version %d is already published", v.WorkflowID, v.Number)
		}
		if err := putJSON(b, key, v); err != nil {
			return err
		}
	}
	for _, l := range tx.Loads {
		if err := changeLoad(btx, l); err != nil {
			return err
		}
	}
	for _, c := range tx.Cursors {
		b := btx.Bucket(bTeams)
		var team routing.Team
		found, err := getJSON(btx, bTeams, []byte(c.TeamID), &team)
		if err != nil {
			return err
		}
		if !found {
			return routing.NotFound("team", c.TeamID)
		}
		team.Cursor = c.AgentID
		if err := putJSON(b, []byte(c.TeamID), team); err != nil {
			return err
		}
	}
	if err := claim(btx, tx.Claims); err != nil {
		return err
	}
	for _, e := range tx.Events {
		if err := putJSON(btx.Bucket(bEvents), timedKey(e.ConversationID, e.At, e.ID), e); err != nil {
			return err
		}
	}
	for _, n := range tx.Notifications {
		if err := putJSON(btx.Bucket(bNotifications), timedKey(n.AgentID, n.At, n.ID), n); err != nil {
			return err
		}
	}
	return nil
}

func putJSON(b *bbolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// checkVersion applies the versioned-write rule to what is stored.
func checkVersion(kind, id string, found bool, stored, expect int64) error {
	switch {
	case expect == 0 && found:
		return routing.Conflict(routing.ReasonExists, "%s %q already exists", kind, id)
	case expect > 0 && !found:
		return routing.NotFound(kind, id)
	case expect > 0 && stored != expect:
		return routing.Conflict(routing.ReasonVersion, "%s %q changed since it was read", kind, id)
	}
	return nil
}

// putVersioned writes a JSON item under the versioned-write rule; value
// builds the stored item from the old one (nil when creating).
func putVersioned[T any](btx *bbolt.Tx, bucket []byte, kind, id string, expect int64, value func(old *T) any) error {
	var old T
	found, err := getJSON(btx, bucket, []byte(id), &old)
	if err != nil {
		return err
	}
	if err := checkVersion(kind, id, found, versionOf(old), expect); err != nil {
		return err
	}
	var oldp *T
	if found {
		oldp = &old
	}
	return putJSON(btx.Bucket(bucket), []byte(id), value(oldp))
}

func versionOf(v any) int64 {
	switch x := v.(type) {
	case routing.Team:
		return x.Version
	case routing.Channel:
		return x.Version
	case routing.Workflow:
		return x.Version
	case routing.Contact:
		return x.Version
	case routing.Conversation:
		return x.Version
	}
	panic(fmt.Sprintf("bolt store: no version for %T", v))
}

// indexKeys lists the index entries of a conversation, by bucket.
func indexKeys(c routing.Conversation) map[string][]byte {
	keys := map[string][]byte{
		string(bConvByOpened): append(appendTime(nil, c.OpenedAt), c.ID...),
		string(bConvByStatus): timedKey(string(c.Status), c.OpenedAt, c.ID),
	}
	if c.TeamID != "" {
		keys[string(bConvByTeam)] = timedKey(c.TeamID, c.OpenedAt, c.ID)
	}
	if c.AssigneeID != "" {
		keys[string(bConvByAgent)] = timedKey(c.AssigneeID, c.OpenedAt, c.ID)
	}
	if c.ContactID != "" {
		keys[string(bConvByContact)] = timedKey(c.ContactID, c.OpenedAt, c.ID)
	}
	if c.Status == routing.ConvPending && c.TeamID != "" {
		keys[string(bQueue)] = queueKey(c)
	}
	return keys
}

func putConversation(btx *bbolt.Tx, w store.ConversationWrite) error {
	c := w.Value
	if hasSep(c.TeamID) || hasSep(c.AssigneeID) || hasSep(c.ContactID) || hasSep(string(c.Status)) {
		return routing.Invalid("conversations", "conversation %q: ids must not contain a NUL byte", c.ID)
	}
	var old routing.Conversation
	found, err := getJSON(btx, bConversations, []byte(c.ID), &old)
	if err != nil {
		return err
	}
	if err := checkVersion("conversation", c.ID, found, old.Version, w.ExpectVersion); err != nil {
		return err
	}
	c.Version = w.ExpectVersion + 1
	var oldKeys map[string][]byte
	if found {
		oldKeys = indexKeys(old)
	}
	newKeys := indexKeys(c)
	for name, k := range oldKeys {
		if nk, ok := newKeys[name]; !ok || !bytes.Equal(nk, k) {
			if err := btx.Bucket([]byte(name)).Delete(k); err != nil {
				return err
			}
		}
	}
	for name, k := range newKeys {
		if ok := oldKeys[name]; ok == nil || !bytes.Equal(ok, k) {
			if err := btx.Bucket([]byte(name)).Put(k, nil); err != nil {
				return err
			}
		}
	}
	return putJSON(btx.Bucket(bConversations), []byte(c.ID), c)
}

func putContact(btx *bbolt.Tx, w store.ContactWrite) error {
	c := w.Value
	var old routing.Contact
	found, err := getJSON(btx, bContacts, []byte(c.ID), &old)
	if err != nil {
		return err
	}
	if err := checkVersion("contact", c.ID, found, old.Version, w.ExpectVersion); err != nil {
		return err
	}
	c.Version = w.ExpectVersion + 1
	ext := btx.Bucket(bContactByExt)
	newKey := pairKey(c.ChannelID, c.ExternalID)
	if found && (old.ChannelID != c.ChannelID || old.ExternalID != c.ExternalID) {
		oldKey := pairKey(old.ChannelID, old.ExternalID)
		if owner := ext.Get(oldKey); string(owner) == c.ID {
			if err := ext.Delete(oldKey); err != nil {
				return err
			}
		}
	}
	if c.ChannelID != "" && c.ExternalID != "" {
		if owner := ext.Get(newKey); owner != nil && string(owner) != c.ID {
			return routing.Conflict(routing.ReasonExists, "channel %q already has a contact with external id %q", c.ChannelID, c.ExternalID)
		}
		if err := ext.Put(newKey, []byte(c.ID)); err != nil {
			return err
		}
	}
	return putJSON(btx.Bucket(bContacts), []byte(c.ID), c)
}

func putAgent(btx *bbolt.Tx, w store.AgentWrite) error {
	a := w.Value
	old, found, err := getAgent(btx, a.ID)
	if err != nil {
		return err
	}
	if err := checkVersion("agent", a.ID, found, old.Version, w.ExpectVersion); err != nil {
		return err
	}
	a.Version = w.ExpectVersion + 1
	a.OpenCount, a.LastAssignedAt = old.OpenCount, old.LastAssignedAt // zero when creating
	return btx.Bucket(bAgents).Put([]byte(a.ID), encodeAgent(a))
}

func changeLoad(btx *bbolt.Tx, l store.LoadChange) error {
	a, found, err := getAgent(btx, l.AgentID)
	if err != nil {
		return err
	}
	if !found {
		return routing.NotFound("agent", l.AgentID)
	}
	switch l.Delta {
	case 1:
		if a.OpenCount >= a.MaxConcurrent {
			return routing.Conflict(routing.ReasonCapacity, "agent %q has no free slot", l.AgentID)
		}
		if len(l.RequireStatus) > 0 && !slices.Contains(l.RequireStatus, a.Status) {
			return routing.Conflict(routing.ReasonCapacity, "agent %q is %s", l.AgentID, a.Status)
		}
		a.OpenCount++
		a.LastAssignedAt = l.At
	case -1:
		if a.OpenCount <= 0 {
			return routing.Conflict(routing.ReasonNoLoad, "agent %q has no open conversations", l.AgentID)
		}
		a.OpenCount--
	}
	return btx.Bucket(bAgents).Put([]byte(a.ID), encodeAgent(a))
}

// claim takes the idempotency keys, then deletes a few claims that expired
// before the latest claim's At so the bucket does not grow without bound.
func claim(btx *bbolt.Tx, claims []store.Claim) error {
	if len(claims) == 0 {
		return nil
	}
	b, byExp := btx.Bucket(bClaims), btx.Bucket(bClaimsByExp)
	var now time.Time
	for _, c := range claims {
		key := []byte(c.Key)
		if old := b.Get(key); old != nil {
			if len(old) != timeLen {
				return internal("claim", errors.New("corrupt claim record"))
			}
			if c.At.Before(decodeTime(old)) {
				return routing.Conflict(routing.ReasonDuplicate, "key %q is already claimed", c.Key)
			}
			if err := byExp.Delete(append(bytes.Clone(old), key...)); err != nil {
				return err
			}
		}
		exp := appendTime(nil, c.ExpiresAt)
		if err := b.Put(key, exp); err != nil {
			return err
		}
		if err := byExp.Put(append(exp, key...), nil); err != nil {
			return err
		}
		if c.At.After(now) {
			now = c.At
		}
	}
	// Sweep: entries sort by expiry, so expired ones come first.
	limit := appendTime(nil, now)
	c := byExp.Cursor()
	for range sweepPerCommit {
		k, _ := c.First()
		// A claim expiring exactly now is expired too (At is not before it).
		if k == nil || bytes.Compare(k[:timeLen], limit) > 0 {
			break
		}
		k = bytes.Clone(k)
		if err := c.Delete(); err != nil {
			return err
		}
		key := k[timeLen:]
		if cur := b.Get(key); cur != nil && bytes.Equal(cur, k[:timeLen]) {
			if err := b.Delete(key); err != nil {
				return err
			}
		}
	}
	return nil
}
