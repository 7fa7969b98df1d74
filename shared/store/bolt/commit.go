package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

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
// transaction and one fsync: a committer goroutine takes every waiting Tx and
// applies them in arrival order. A Tx is checked whole before any of it is
// written, so one that fails a condition is left out without disturbing the
// others, and the outcome is that of running the Txs one after another (see
// runBatch). The values that do not depend on what is stored are encoded
// here, in the caller's goroutine, so the committer has less to do. Without
// group commit each Tx is its own bbolt transaction.
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
	enc, err := encode(tx)
	if err != nil {
		return err
	}
	if s.reqs == nil {
		return commitError(s.db.Update(func(btx *bbolt.Tx) error { return apply(btx, s.cache, tx, enc) }))
	}
	r := &request{tx: tx, enc: enc, done: make(chan struct{})}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return internal("commit", berrors.ErrDatabaseNotOpen)
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
	enc  *encoded // nil: apply encodes
	err  error
	done chan struct{}
}

// maxBatch bounds a group commit; a batch in which bbolt fails to write a
// Tx is re-run, so this also bounds that work.
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
		s.runBatch(batch)
	}
}

// runBatch commits batch in one bbolt transaction, applying the Txs in
// arrival order. A Tx refused (a failed condition, bad input, an undecodable
// stored item) has written nothing, so it is given its error and the batch
// goes on: each Tx sees exactly the Txs before it that succeed, as if they
// had run one after another. If bbolt fails while writing a Tx, the batch is
// rolled back, that Tx is given the error and the others run again; if the
// commit itself fails, nothing was written and every Tx of the batch gets the
// error (a refusal may have been due to a Tx before it that is now lost).
func (s *Store) runBatch(batch []*request) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	s.stats.commits.Add(int64(len(batch)))
	pending := batch
	for len(pending) > 0 {
		failed, err := s.tryBatch(pending)
		switch {
		case err == nil:
			return
		case failed >= 0:
			s.stats.rollbacks.Add(1)
			pending[failed].err = internal("commit", err)
			pending = append(pending[:failed:failed], pending[failed+1:]...)
		default: // nothing of this transaction was written
			for _, r := range pending {
				r.err = internal("commit", err)
			}
			return
		}
	}
}

// tryBatch applies pending in one bbolt transaction and commits it. Refused
// Txs get their error. It returns the index of a Tx that failed half-written
// and that error (the transaction is rolled back), or -1 and the error of
// the commit.
func (s *Store) tryBatch(pending []*request) (failed int, err error) {
	for _, r := range pending {
		r.err = nil
	}
	t0 := time.Now()
	btx, err := s.db.Begin(true)
	if err != nil {
		return -1, err
	}
	committed := false
	defer func() {
		if !committed {
			btx.Rollback()
		}
	}()
	refused := 0
	for i, r := range pending {
		err := apply(btx, s.cache, r.tx, r.enc)
		var we *writeError
		switch {
		case err == nil:
		case errors.As(err, &we):
			s.stats.applyNanos.Add(int64(time.Since(t0)))
			return i, we.err
		default:
			r.err = commitError(err)
			refused++
		}
	}
	t1 := time.Now()
	s.stats.applyNanos.Add(int64(t1.Sub(t0)))
	if refused == len(pending) { // nothing to write: the deferred rollback ends the transaction
		s.stats.conflicts.Add(int64(refused))
		return -1, nil
	}
	committed = true // Commit ends the transaction whether it succeeds or not
	err = btx.Commit()
	s.stats.syncNanos.Add(int64(time.Since(t1)))
	st := btx.Stats()
	s.stats.pages.Add(st.GetWrite())
	if err == nil {
		s.stats.batches.Add(1)
		s.stats.conflicts.Add(int64(refused))
	}
	return -1, err
}

// validate is the contract's checks (store.Validate) and this store's own:
// no id holds the key separator (a NUL byte), and no Tx both writes a team
// and sets its round-robin cursor.
func validate(tx store.Tx) error {
	if err := store.Validate(tx); err != nil {
		return err
	}
	ids := func(field string, parts ...string) error {
		for _, p := range parts {
			if hasSep(p) {
				return routing.Invalid(field, "%s: an id must not contain a NUL byte", field)
			}
		}
		return nil
	}
	var errs []error
	for _, w := range tx.Conversations {
		errs = append(errs, ids("conversations.id", w.Value.ID))
	}
	for _, w := range tx.Contacts {
		errs = append(errs, ids("contacts.id", w.Value.ID), ids("contacts.channelId", w.Value.ChannelID))
	}
	for _, w := range tx.Agents {
		errs = append(errs, ids("agents.id", w.Value.ID))
	}
	written := map[string]bool{}
	for _, w := range tx.Teams {
		errs = append(errs, ids("teams.id", w.Value.ID))
		written[w.Value.ID] = true
	}
	for _, w := range tx.Channels {
		errs = append(errs, ids("channels.id", w.Value.ID))
	}
	for _, w := range tx.Workflows {
		errs = append(errs, ids("workflows.id", w.Value.ID))
	}
	for _, v := range tx.Versions {
		errs = append(errs, ids("versions.workflowId", v.WorkflowID))
	}
	for _, l := range tx.Loads {
		errs = append(errs, ids("loads.agentId", l.AgentID))
	}
	for _, c := range tx.Cursors {
		errs = append(errs, ids("cursors.teamId", c.TeamID))
		if written[c.TeamID] {
			errs = append(errs, routing.Invalid("cursors.teamId", "cursors.teamId: the transaction writes team %q and sets its cursor", c.TeamID))
		}
	}
	for _, c := range tx.Claims {
		errs = append(errs, ids("claims.key", c.Key))
	}
	for _, e := range tx.Events {
		errs = append(errs, ids("events.id", e.ConversationID, e.ID))
	}
	for _, n := range tx.Notifications {
		errs = append(errs, ids("notifications.id", n.AgentID, n.ID))
	}
	for _, o := range tx.Outbox {
		errs = append(errs, ids("outbox.event.id", o.Event.ID))
	}
	for _, d := range tx.Deletes {
		errs = append(errs, ids("deletes.id", d.ID))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// apply writes tx into btx. Every condition is checked and every value
// encoded first (prepare), so a Tx refused for a condition, bad input or an
// undecodable stored item leaves btx untouched and the Txs before it in the
// batch keep their writes. Only a failure of bbolt itself while writing
// (a *writeError) leaves a partial Tx behind, and then the batch is rolled back.
func apply(btx *bbolt.Tx, c *caches, tx store.Tx, enc *encoded) error {
	if enc == nil {
		var err error
		if enc, err = encode(tx); err != nil {
			return err
		}
	}
	p, err := prepare(btx, c, tx, enc)
	if err != nil {
		return err
	}
	if err := p.write(btx); err != nil {
		return &writeError{err}
	}
	return nil
}

// writeError is a bbolt failure in the middle of writing a Tx.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// encoded holds the values of a Tx's writes that do not depend on what is
// stored: new conversations, contacts, channels, workflows (their Version is
// ExpectVersion+1), published versions and timeline entries. Commit encodes
// them in the caller's goroutine, so the committer, which runs alone while
// the callers wait, does less.
type encoded struct {
	convs, contacts, channels, workflows, versions [][]byte
	events, notes, outbox                          [][]byte
}

func encode(tx store.Tx) (*encoded, error) {
	var enc encoded
	var err error
	js := func(out *[][]byte, v any) {
		if err != nil {
			return
		}
		var raw []byte
		if raw, err = json.Marshal(v); err != nil {
			err = internal("encode", err)
		}
		*out = append(*out, raw)
	}
	for _, w := range tx.Conversations {
		c := w.Value
		c.Version = w.ExpectVersion + 1
		js(&enc.convs, c)
	}
	for _, w := range tx.Contacts {
		c := w.Value
		c.Version = w.ExpectVersion + 1
		js(&enc.contacts, c)
	}
	for _, w := range tx.Channels {
		v := w.Value
		v.Version = w.ExpectVersion + 1
		js(&enc.channels, v)
	}
	for _, w := range tx.Workflows {
		v := w.Value
		v.Version = w.ExpectVersion + 1
		js(&enc.workflows, v)
	}
	for _, v := range tx.Versions {
		js(&enc.versions, v)
	}
	for _, e := range tx.Events {
		js(&enc.events, e)
	}
	for _, n := range tx.Notifications {
		js(&enc.notes, n)
	}
	for _, o := range tx.Outbox {
		js(&enc.outbox, o)
	}
	if err != nil {
		return nil, err
	}
	return &enc, nil
}

// op is one put (or delete) of a prepared Tx.
type op struct {
	bucket     []byte
	key, value []byte
	del        bool
	seq        bool // the key is the bucket's next sequence (outbox entries, in commit order)
}

// prepared is a Tx whose conditions hold, as the writes that apply it.
type prepared struct {
	cache *caches
	ops   []op
	// sweep: delete a few claims that expired before sweepAt, after the puts
	sweep   bool
	sweepAt time.Time
}

func (p *prepared) put(bucket, key, value []byte) {
	p.ops = append(p.ops, op{bucket: bucket, key: key, value: value})
}

func (p *prepared) putJSON(bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return internal("encode "+string(bucket), err)
	}
	p.put(bucket, key, raw)
	return nil
}

func (p *prepared) write(btx *bbolt.Tx) error {
	var b *bbolt.Bucket
	var name []byte
	for _, o := range p.ops {
		if b == nil || !bytes.Equal(name, o.bucket) {
			b, name = btx.Bucket(o.bucket), o.bucket
		}
		var err error
		switch {
		case o.seq:
			var n uint64
			if n, err = b.NextSequence(); err == nil {
				err = b.Put(binary.BigEndian.AppendUint64(nil, n), o.value)
			}
		case o.del:
			err = b.Delete(o.key)
		default:
			err = b.Put(o.key, o.value)
		}
		if err != nil {
			return err
		}
	}
	if p.sweep {
		return sweepClaims(btx, p.sweepAt)
	}
	return nil
}

// prepare checks tx's conditions against btx in the order of the Tx's
// fields (the first failing one is the error) and encodes its writes.
// Conditions of one Tx are on distinct items (validate refuses an item
// touched twice); the one shared index, contacts' (channel, external id)
// pairs, is tracked across the Tx's contacts.
func prepare(btx *bbolt.Tx, c *caches, tx store.Tx, enc *encoded) (*prepared, error) {
	p := &prepared{cache: c, ops: make([]op, 0, 8+len(tx.Events)+len(tx.Notifications))}
	for i, w := range tx.Conversations {
		if err := p.conversation(btx, w, enc.convs[i]); err != nil {
			return nil, err
		}
	}
	if len(tx.Contacts) > 0 {
		if err := p.contacts(btx, tx.Contacts, enc.contacts); err != nil {
			return nil, err
		}
	}
	for _, w := range tx.Agents {
		if err := p.agent(btx, w); err != nil {
			return nil, err
		}
	}
	for _, w := range tx.Teams {
		if err := p.team(btx, w); err != nil {
			return nil, err
		}
	}
	for i, w := range tx.Channels {
		if err := p.versioned(btx, bChannels, "channel", w.Value.ID, w.ExpectVersion, enc.channels[i], versionOfChannel); err != nil {
			return nil, err
		}
	}
	for i, w := range tx.Workflows {
		if err := p.versioned(btx, bWorkflows, "workflow", w.Value.ID, w.ExpectVersion, enc.workflows[i], versionOfWorkflow); err != nil {
			return nil, err
		}
	}
	for i, v := range tx.Versions {
		key := versionKey(v.WorkflowID, v.Number)
		if btx.Bucket(bVersions).Get(key) != nil {
			return nil, routing.Conflict(routing.ReasonExists, "workflow %q version %d is already published", v.WorkflowID, v.Number)
		}
		p.put(bVersions, key, enc.versions[i])
	}
	if err := p.deletes(btx, tx.Deletes); err != nil {
		return nil, err
	}
	for _, l := range tx.Loads {
		if err := p.load(btx, l); err != nil {
			return nil, err
		}
	}
	for _, c := range tx.Cursors {
		if btx.Bucket(bTeams).Get([]byte(c.TeamID)) == nil {
			return nil, routing.NotFound("team", c.TeamID)
		}
		p.put(bCursors, []byte(c.TeamID), encodeCursorValue(c.AgentID))
	}
	if err := p.claims(btx, tx.Claims); err != nil {
		return nil, err
	}
	for i, e := range tx.Events {
		p.put(bEvents, timedKey(e.ConversationID, e.At, e.ID), enc.events[i])
	}
	for i, n := range tx.Notifications {
		p.put(bNotifications, timedKey(n.AgentID, n.At, n.ID), enc.notes[i])
	}
	for i := range tx.Outbox {
		p.ops = append(p.ops, op{bucket: bOutbox, value: enc.outbox[i], seq: true})
	}
	return p, nil
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

// versioned checks the versioned-write rule for a JSON item and puts raw,
// its new value.
func (p *prepared) versioned(btx *bbolt.Tx, bucket []byte, kind, id string, expect int64, raw []byte, version func([]byte) (int64, error)) error {
	var stored int64
	old := btx.Bucket(bucket).Get([]byte(id))
	if old != nil {
		var err error
		if stored, err = version(old); err != nil {
			return internal("decode "+string(bucket), err)
		}
	}
	if err := checkVersion(kind, id, old != nil, stored, expect); err != nil {
		return err
	}
	p.put(bucket, []byte(id), raw)
	return nil
}

func versionOfChannel(raw []byte) (int64, error) {
	var v routing.Channel
	err := json.Unmarshal(raw, &v)
	return v.Version, err
}

func versionOfWorkflow(raw []byte) (int64, error) {
	var v routing.Workflow
	err := json.Unmarshal(raw, &v)
	return v.Version, err
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

func (p *prepared) conversation(btx *bbolt.Tx, w store.ConversationWrite, raw []byte) error {
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
	for _, name := range convIndexBuckets {
		ok, nk := oldKeys[string(name)], newKeys[string(name)]
		if ok != nil && !bytes.Equal(ok, nk) {
			p.ops = append(p.ops, op{bucket: name, key: ok, del: true})
		}
		if nk != nil && !bytes.Equal(ok, nk) {
			p.put(name, nk, nil)
		}
	}
	p.put(bConversations, []byte(c.ID), raw)
	return nil
}

// convIndexBuckets are the buckets of indexKeys, in a fixed order.
var convIndexBuckets = [][]byte{bConvByOpened, bConvByStatus, bConvByTeam, bConvByAgent, bConvByContact, bQueue}

func (p *prepared) contacts(btx *bbolt.Tx, ws []store.ContactWrite, raws [][]byte) error {
	ext := btx.Bucket(bContactByExt)
	// pairs this Tx already changed: key -> owner id (nil: deleted)
	var changed map[string][]byte
	owner := func(key []byte) []byte {
		if v, ok := changed[string(key)]; ok {
			return v
		}
		return ext.Get(key)
	}
	set := func(key, id []byte) {
		if changed == nil {
			changed = map[string][]byte{}
		}
		changed[string(key)] = id
	}
	for i, w := range ws {
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
		newKey := pairKey(c.ChannelID, c.ExternalID)
		if found && (old.ChannelID != c.ChannelID || old.ExternalID != c.ExternalID) {
			oldKey := pairKey(old.ChannelID, old.ExternalID)
			if string(owner(oldKey)) == c.ID {
				p.ops = append(p.ops, op{bucket: bContactByExt, key: oldKey, del: true})
				set(oldKey, nil)
			}
		}
		if c.ChannelID != "" && c.ExternalID != "" {
			if o := owner(newKey); o != nil && string(o) != c.ID {
				return routing.Conflict(routing.ReasonExists, "channel %q already has a contact with external id %q", c.ChannelID, c.ExternalID)
			}
			p.put(bContactByExt, newKey, []byte(c.ID))
			set(newKey, []byte(c.ID))
		}
		p.put(bContacts, []byte(c.ID), raws[i])
	}
	return nil
}

func (p *prepared) agent(btx *bbolt.Tx, w store.AgentWrite) error {
	a := w.Value
	old, found, err := p.cache.agent(btx, a.ID)
	if err != nil {
		return err
	}
	if err := checkVersion("agent", a.ID, found, old.Version, w.ExpectVersion); err != nil {
		return err
	}
	a.Version = w.ExpectVersion + 1
	a.OpenCount, a.LastAssignedAt = old.OpenCount, old.LastAssignedAt // zero when creating
	p.put(bAgents, []byte(a.ID), encodeAgent(a))
	return nil
}

func (p *prepared) team(btx *bbolt.Tx, w store.TeamWrite) error {
	old, found, err := p.cache.team(btx, w.Value.ID)
	if err != nil {
		return err
	}
	if err := checkVersion("team", w.Value.ID, found, old.Version, w.ExpectVersion); err != nil {
		return err
	}
	v := w.Value
	v.Version = w.ExpectVersion + 1
	// The cursor lives in bCursors; a stored team keeps the cursor it was
	// written with by older versions of this store, which bCursors overrides.
	v.Cursor = old.Cursor
	if !found { // created with an empty cursor
		v.Cursor = ""
		p.ops = append(p.ops, op{bucket: bCursors, key: []byte(v.ID), del: true})
	}
	return p.putJSON(bTeams, []byte(v.ID), v)
}

func (p *prepared) load(btx *bbolt.Tx, l store.LoadChange) error {
	a, found, err := p.cache.agent(btx, l.AgentID)
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
	p.put(bAgents, []byte(a.ID), encodeAgent(a))
	return nil
}

// claims takes the idempotency keys; the write then deletes a few claims
// that expired before the latest claim's At so the bucket does not grow
// without bound.
func (p *prepared) claims(btx *bbolt.Tx, claims []store.Claim) error {
	if len(claims) == 0 {
		return nil
	}
	b := btx.Bucket(bClaims)
	var now time.Time
	for _, c := range claims {
		key := []byte(c.Key)
		if old := b.Get(key); old != nil {
			if len(old) < timeLen {
				return internal("claim", errors.New("corrupt claim record"))
			}
			if c.At.Before(decodeTime(old[:timeLen])) {
				return routing.Conflict(routing.ReasonDuplicate, "key %q is already claimed", c.Key)
			}
			p.ops = append(p.ops, op{bucket: bClaimsByExp, key: append(bytes.Clone(old[:timeLen]), key...), del: true})
		}
		exp := appendTime(nil, c.ExpiresAt)
		p.put(bClaims, key, append(bytes.Clone(exp), c.Value...)) // expiry, then the recorded value
		p.put(bClaimsByExp, append(exp, key...), nil)
		if c.At.After(now) {
			now = c.At
		}
	}
	p.sweep, p.sweepAt = true, now
	return nil
}

// sweepClaims deletes up to sweepPerCommit claims that expired at or before now.
func sweepClaims(btx *bbolt.Tx, now time.Time) error {
	b, byExp := btx.Bucket(bClaims), btx.Bucket(bClaimsByExp)
	// Entries sort by expiry, so expired ones come first.
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
		if cur := b.Get(key); len(cur) >= timeLen && bytes.Equal(cur[:timeLen], k[:timeLen]) {
			if err := b.Delete(key); err != nil {
				return err
			}
		}
	}
	return nil
}
