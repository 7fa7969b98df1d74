package dynamo

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// writeOp is one item of a transaction and what its failed condition means.
type writeOp struct {
	key    key
	what   string // for messages: `conversation "cv_1"`
	field  string // the Tx field, for invalid_argument
	put    item
	update string // update expression (when put is nil and del is false)
	del    bool
	cond   string
	names  map[string]string
	values item
	// fail maps a failed condition to the contract's error; old is the item
	// as it was (nil when absent). Nil for unconditional writes.
	fail func(old item) error
	// hint marks a round-robin cursor write: with other writes in the Tx it
	// is sent after the transaction, not in it (see Commit).
	hint bool
}

// txBuilder turns a store.Tx into writeOps in the Tx's field order, so when
// several conditions fail the error is the first in that order.
type txBuilder struct {
	ops  []writeOp
	seen map[key]string
}

func (b *txBuilder) add(op writeOp) error {
	if b.seen == nil {
		b.seen = map[key]string{}
	}
	if prev, ok := b.seen[op.key]; ok {
		// DynamoDB refuses two operations on one item in a transaction (and
		// DynamoDB Local silently applies both), so refuse it here.
		if prev == op.what {
			return routing.Invalid(op.field, "%s is written twice in one transaction", op.what)
		}
		return routing.Invalid(op.field, "%s and %s write the same item in one transaction", prev, op.what)
	}
	b.seen[op.key] = op.what
	b.ops = append(b.ops, op)
	return nil
}

// versioned adds a put of a versioned item: a create when expect is 0, else
// an update conditioned on the stored version (plus extra conditions, whose
// failure extraFail explains).
func (b *txBuilder) versioned(it item, kind, id, field string, expect int64, extraCond string, extraValues item, extraFail func(old item) error) error {
	what := fmt.Sprintf("%s %q", kind, id)
	op := writeOp{key: keyOf(it), what: what, field: field, put: it, names: map[string]string{"#pk": AttrPK}}
	if expect == 0 {
		op.cond = "attribute_not_exists(#pk)"
		op.fail = func(item) error { return routing.Conflict(routing.ReasonExists, "%s already exists", what) }
		return b.add(op)
	}
	op.cond = "#version = :expected"
	op.names = map[string]string{"#version": attrVersion}
	op.values = item{":expected": nv(expect)}
	if extraCond != "" {
		op.cond += " AND " + extraCond
		for k, v := range extraValues {
			op.values[k] = v
		}
	}
	op.fail = func(old item) error {
		if old == nil {
			return routing.NotFound(kind, id)
		}
		if v, _, _ := num(old, attrVersion); v != expect {
			return routing.Conflict(routing.ReasonVersion, "%s has version %d, not %d", what, v, expect)
		}
		if extraFail != nil {
			return extraFail(old)
		}
		return routing.Conflict(routing.ReasonVersion, "%s changed", what)
	}
	return b.add(op)
}

// buildOps validates tx and turns it into DynamoDB writes: ops for the
// transaction, and hints, the round-robin cursors written after it (see
// Commit). now dates the outbox items' TTL.
func buildOps(tx store.Tx, now time.Time) (ops, hints []writeOp, err error) {
	ops, err = buildTxOps(tx, now)
	if err != nil {
		return nil, nil, err
	}
	var rest []writeOp
	for _, op := range ops {
		if op.hint {
			hints = append(hints, op)
		} else {
			rest = append(rest, op)
		}
	}
	if len(rest) == 0 { // a Tx of cursors alone: written atomically, conditions included
		return hints, nil, nil
	}
	return rest, hints, nil
}

// buildTxOps checks tx against the contract (store.Validate) and encodes it,
// kind by kind in the Tx's field order (so when several conditions fail the
// error is the first in that order).
func buildTxOps(tx store.Tx, now time.Time) ([]writeOp, error) {
	if err := store.Validate(tx); err != nil {
		return nil, err
	}
	b := &txBuilder{}
	// A new team's cursor item is created with the team; a CursorSet of the
	// same Tx then sets it (the contract applies writes in order).
	newTeamCursor := map[string]int{} // team id -> index in tx.Cursors
	for _, w := range tx.Teams {
		for i, c := range tx.Cursors {
			if w.ExpectVersion == 0 && w.Value.ID == c.TeamID {
				newTeamCursor[c.TeamID] = i
			}
		}
	}
	steps := []func() error{
		func() error { return b.conversations(tx.Conversations) },
		func() error { return b.contacts(tx.Contacts) },
		func() error { return b.agents(tx.Agents) },
		func() error { return b.teams(tx.Teams, tx.Cursors, newTeamCursor) },
		func() error { return b.channels(tx.Channels) },
		func() error { return b.workflows(tx.Workflows) },
		func() error { return b.versions(tx.Versions) },
		func() error { return b.deletes(tx.Deletes) },
		func() error { return b.loads(tx.Loads) },
		func() error { return b.cursors(tx.Cursors, newTeamCursor) },
		func() error { return b.claims(tx.Claims) },
		func() error { return b.timeline(tx.Events, tx.Notifications) },
		func() error { return b.outbox(tx.Outbox, now) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return b.ops, nil
}

func (b *txBuilder) conversations(ws []store.ConversationWrite) error {
	for i, w := range ws {
		c, field := w.Value, fmt.Sprintf("conversations[%d]", i)
		c.Version = w.ExpectVersion + 1
		it, err := conversationItem(c)
		if err != nil {
			return routing.Invalid(field, "conversation cannot be encoded")
		}
		if err := b.versioned(it, "conversation", c.ID, field, w.ExpectVersion, "", nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// contacts: a new contact also reserves its (channel, external id) pair,
// which cannot change afterwards.
func (b *txBuilder) contacts(ws []store.ContactWrite) error {
	for i, w := range ws {
		c, field := w.Value, fmt.Sprintf("contacts[%d]", i)
		c.Version = w.ExpectVersion + 1
		it, err := contactItem(c)
		if err != nil {
			return routing.Invalid(field, "contact cannot be encoded")
		}
		if w.ExpectVersion == 0 {
			if err := b.versioned(it, "contact", c.ID, field, 0, "", nil, nil); err != nil {
				return err
			}
			ext := contactExtItem(c)
			what := fmt.Sprintf("contact (channel %q, external id %q)", c.ChannelID, c.ExternalID)
			err := b.add(writeOp{
				key: keyOf(ext), what: what, field: field + ".externalId", put: ext,
				cond: "attribute_not_exists(#pk)", names: map[string]string{"#pk": AttrPK},
				fail: func(item) error {
					return routing.Conflict(routing.ReasonExists, "a contact with channel %q and external id %q already exists", c.ChannelID, c.ExternalID)
				},
			})
			if err != nil {
				return err
			}
			continue
		}
		err = b.versioned(it, "contact", c.ID, field, w.ExpectVersion,
			"#channelId = :channelId AND #externalId = :externalId",
			item{":channelId": sv(c.ChannelID), ":externalId": sv(c.ExternalID)},
			func(item) error {
				return routing.Invalid(field+".externalId", "a contact's channel and external id cannot change")
			})
		if err != nil {
			return err
		}
		last := &b.ops[len(b.ops)-1]
		last.names["#channelId"] = attrChannelID
		last.names["#externalId"] = attrExternalID
	}
	return nil
}

// agents: the profile, and the load item's copies of what the capacity
// condition reads.
func (b *txBuilder) agents(ws []store.AgentWrite) error {
	for i, w := range ws {
		a, field := w.Value, fmt.Sprintf("agents[%d]", i)
		a.Version = w.ExpectVersion + 1
		profile, err := agentProfileItem(a)
		if err != nil {
			return routing.Invalid(field, "agent cannot be encoded")
		}
		if err := b.versioned(profile, "agent", a.ID, field, w.ExpectVersion, "", nil, nil); err != nil {
			return err
		}
		what := fmt.Sprintf("agent %q (load item)", a.ID)
		if w.ExpectVersion == 0 {
			err = b.add(writeOp{key: loadKey(a.ID), what: what, field: field, put: agentLoadItem(a)})
		} else {
			// Only the copies the capacity condition reads; never openCount or
			// lastAssignedAt. The profile's version condition guards the Tx.
			err = b.add(writeOp{
				key: loadKey(a.ID), what: what, field: field,
				update: "SET #max = :max, #status = :status",
				names:  map[string]string{"#max": attrMax, "#status": attrStatus},
				values: item{":max": nv(int64(a.MaxConcurrent)), ":status": sv(string(a.Status))},
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// teams: the profile, and for a new team its cursor item (with the cursor
// of a CursorSet of the same Tx, newTeamCursor).
func (b *txBuilder) teams(ws []store.TeamWrite, cursors []store.CursorSet, newTeamCursor map[string]int) error {
	for i, w := range ws {
		t, field := w.Value, fmt.Sprintf("teams[%d]", i)
		t.Version = w.ExpectVersion + 1
		profile, err := teamProfileItem(t)
		if err != nil {
			return routing.Invalid(field, "team cannot be encoded")
		}
		if err := b.versioned(profile, "team", t.ID, field, w.ExpectVersion, "", nil, nil); err != nil {
			return err
		}
		if w.ExpectVersion == 0 {
			cursor := ""
			if j, ok := newTeamCursor[t.ID]; ok {
				cursor = cursors[j].AgentID
			}
			what := fmt.Sprintf("team %q (cursor item)", t.ID)
			if err := b.add(writeOp{key: cursorKey(t.ID), what: what, field: field, put: teamCursorItem(t.ID, cursor)}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *txBuilder) channels(ws []store.ChannelWrite) error {
	for i, w := range ws {
		c, field := w.Value, fmt.Sprintf("channels[%d]", i)
		c.Version = w.ExpectVersion + 1
		it, err := channelItem(c)
		if err != nil {
			return routing.Invalid(field, "channel cannot be encoded")
		}
		if err := b.versioned(it, "channel", c.ID, field, w.ExpectVersion, "", nil, nil); err != nil {
			return err
		}
	}
	return nil
}

func (b *txBuilder) workflows(ws []store.WorkflowWrite) error {
	for i, w := range ws {
		wf, field := w.Value, fmt.Sprintf("workflows[%d]", i)
		wf.Version = w.ExpectVersion + 1
		it, err := workflowItem(wf)
		if err != nil {
			return routing.Invalid(field, "workflow cannot be encoded")
		}
		if err := b.versioned(it, "workflow", wf.ID, field, w.ExpectVersion, "", nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// versions are created once: a published version never changes.
func (b *txBuilder) versions(vs []routing.WorkflowVersion) error {
	for i, v := range vs {
		field := fmt.Sprintf("versions[%d]", i)
		it, err := versionItem(v)
		if err != nil {
			return routing.Invalid(field, "workflow version cannot be encoded")
		}
		what := fmt.Sprintf("workflow %q version %d", v.WorkflowID, v.Number)
		err = b.add(writeOp{
			key: keyOf(it), what: what, field: field, put: it,
			cond: "attribute_not_exists(#pk)", names: map[string]string{"#pk": AttrPK},
			fail: func(item) error { return routing.Conflict(routing.ReasonExists, "%s is already published", what) },
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *txBuilder) loads(ls []store.LoadChange) error {
	for i, l := range ls {
		op, err := loadOp(l, fmt.Sprintf("loads[%d]", i))
		if err != nil {
			return err
		}
		if err := b.add(op); err != nil {
			return err
		}
	}
	return nil
}

// cursors are hints, sent after the transaction (see Commit), but for those
// merged into a new team's cursor item.
func (b *txBuilder) cursors(cs []store.CursorSet, newTeamCursor map[string]int) error {
	for i, c := range cs {
		if _, merged := newTeamCursor[c.TeamID]; merged {
			continue
		}
		team := c.TeamID
		err := b.add(writeOp{
			key: cursorKey(team), what: fmt.Sprintf("team %q (cursor item)", team), field: fmt.Sprintf("cursors[%d]", i), hint: true,
			update: "SET #cursor = :cursor",
			cond:   "attribute_exists(#pk)",
			names:  map[string]string{"#cursor": attrCursor, "#pk": AttrPK},
			values: item{":cursor": sv(c.AgentID)},
			fail:   func(item) error { return routing.NotFound("team", team) },
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// claims succeed when the key is absent or expired.
func (b *txBuilder) claims(cs []store.Claim) error {
	for i, c := range cs {
		k := c.Key
		err := b.add(writeOp{
			key: claimKey(k), what: fmt.Sprintf("claim %q", k), field: fmt.Sprintf("claims[%d].key", i),
			put:    claimItem(c),
			cond:   "attribute_not_exists(#pk) OR #expiresAt <= :now",
			names:  map[string]string{"#pk": AttrPK, "#expiresAt": attrExpiresAt},
			values: item{":now": nv(unixNano(c.At))},
			fail:   func(item) error { return routing.Conflict(routing.ReasonDuplicate, "key %q is already claimed", k) },
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// timeline: events and notifications are plain puts: writing one again (a
// retried step) overwrites it, and within one Tx the last write of a key wins.
func (b *txBuilder) timeline(es []routing.Event, ns []routing.Notification) error {
	lastWrite := map[key]int{}
	var ops []writeOp
	for i, e := range es {
		field := fmt.Sprintf("events[%d]", i)
		it, err := eventItem(e)
		if err != nil {
			return routing.Invalid(field, "event cannot be encoded")
		}
		ops = putLast(ops, lastWrite, writeOp{key: keyOf(it), what: fmt.Sprintf("event %q", e.ID), field: field, put: it})
	}
	for i, n := range ns {
		field := fmt.Sprintf("notifications[%d]", i)
		it, err := notificationItem(n)
		if err != nil {
			return routing.Invalid(field, "notification cannot be encoded")
		}
		ops = putLast(ops, lastWrite, writeOp{key: keyOf(it), what: fmt.Sprintf("notification %q", n.ID), field: field, put: it})
	}
	for _, op := range ops {
		if err := b.add(op); err != nil {
			return err
		}
	}
	return nil
}

// putLast appends op, or replaces an earlier op of ops with the same key.
func putLast(ops []writeOp, index map[key]int, op writeOp) []writeOp {
	if i, ok := index[op.key]; ok {
		ops[i] = op
		return ops
	}
	index[op.key] = len(ops)
	return append(ops, op)
}

// outbox: each outbox key's events, in order, ride on a timeline entry of
// the same conversation written by this Tx when one can carry them without
// being billed another KB (carrier); otherwise they get an outbox item.
func (b *txBuilder) outbox(os []store.OutboxEvent, now time.Time) error {
	for _, g := range groupOutbox(os) {
		doc, err := json.Marshal(g.events)
		if err != nil {
			return routing.Invalid("outbox", "outbox event cannot be encoded")
		}
		if op := b.carrier(g.key, len(attrOutbox)+len(doc)); op != nil {
			op.put[attrOutbox] = sv(string(doc))
			continue
		}
		it := outboxItem(g, doc, now)
		if err := b.add(writeOp{key: keyOf(it), what: fmt.Sprintf("outbox %q event %q", g.key, g.events[0].ID), field: "outbox", put: it}); err != nil {
			return err
		}
	}
	return nil
}

// carrier returns the op of a timeline entry of conversation convID in
// this Tx (the latest first) that can take extra bytes without crossing a
// KB: a write in a transaction is billed 2 WRU per started KB of the item,
// so the events cost nothing more there, where an outbox item of their own
// costs at least 2 WRU. Nil when none can (the events then get an outbox
// item). Only items of string attributes qualify, whose size is exact.
func (b *txBuilder) carrier(convID string, extra int) *writeOp {
	pk := prefixConv + convID
	for i := len(b.ops) - 1; i >= 0; i-- {
		op := &b.ops[i]
		if op.put == nil || str(op.put, AttrPK) != pk || str(op.put, attrType) != "event" {
			continue
		}
		if _, taken := op.put[attrOutbox]; taken {
			continue
		}
		size, ok := stringItemSize(op.put)
		if ok && (size+extra+1023)/1024 == (size+1023)/1024 {
			return op
		}
	}
	return nil
}

// stringItemSize is an item's size as DynamoDB bills it (the UTF-8 bytes of
// every attribute name and value) when every attribute is a string.
func stringItemSize(it item) (int, bool) {
	n := 0
	for name, v := range it {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return 0, false
		}
		n += len(name) + len(s.Value)
	}
	return n, true
}

func loadOp(l store.LoadChange, field string) (writeOp, error) {
	id := l.AgentID
	op := writeOp{
		key: loadKey(id), what: fmt.Sprintf("agent %q (load item)", id), field: field,
		names:  map[string]string{"#pk": AttrPK, "#open": attrOpenCount},
		values: item{":delta": nv(int64(l.Delta))},
	}
	switch l.Delta {
	case 1:
		op.update = "SET #last = :at ADD #open :delta"
		op.names["#last"] = attrLastAssign
		op.names["#max"] = attrMax
		op.values[":at"] = sv(l.At.UTC().Format(time.RFC3339Nano))
		op.cond = "attribute_exists(#pk) AND #open < #max"
		if len(l.RequireStatus) > 0 {
			op.names["#status"] = attrStatus
			ph := make([]string, len(l.RequireStatus))
			for i, st := range l.RequireStatus {
				ph[i] = ":status" + strconv.Itoa(i)
				op.values[ph[i]] = sv(string(st))
			}
			op.cond += " AND #status IN (" + strings.Join(ph, ", ") + ")"
		}
		op.fail = func(old item) error {
			if old == nil {
				return routing.NotFound("agent", id)
			}
			return routing.Conflict(routing.ReasonCapacity, "agent %q has no free slot or is not in an allowed status", id)
		}
	case -1:
		op.update = "ADD #open :delta"
		op.cond = "attribute_exists(#pk) AND #open > :zero"
		op.values[":zero"] = nv(0)
		op.fail = func(old item) error {
			if old == nil {
				return routing.NotFound("agent", id)
			}
			return routing.Conflict(routing.ReasonNoLoad, "agent %q has no open conversations", id)
		}
	default:
		return op, routing.Invalid(field+".delta", "delta must be +1 or -1")
	}
	return op, nil
}

// Commit applies tx atomically: one TransactWriteItems, or a single
// conditional write when tx touches one item.
//
// Round-robin cursors (tx.Cursors) are hints: when the Tx writes anything
// else, each cursor is a plain UpdateItem sent after the transaction
// succeeds, so concurrent assignments of one team on several instances never
// conflict on the team's cursor item (every item of a TransactWriteItems,
// condition checks included, conflicts with any other transaction on it). A
// strongly consistent read before the transaction refuses a missing team
// with not_found, writing nothing; a crash after the transaction loses only
// the hint (the next pick starts from the previous cursor). A Tx of cursors
// alone is written directly with its conditions.
func (s *Store) Commit(ctx context.Context, tx store.Tx) error {
	if tx.Empty() {
		return nil
	}
	ops, hints, err := buildOps(tx, s.now())
	if err != nil {
		return err
	}
	if len(ops) > MaxTxItems {
		return routing.Invalid("tx", "a transaction may write at most %d DynamoDB items; this one needs %d", MaxTxItems, len(ops))
	}
	if err := s.checkTeams(ctx, hints); err != nil {
		return err
	}
	if len(ops) == 1 {
		err = s.writeOne(ctx, ops[0])
	} else {
		err = s.transact(ctx, ops)
	}
	if err != nil {
		return err
	}
	if len(tx.Outbox) > 0 {
		s.outboxCommits.Add(1) // wakes this store's stream feed at once
	}
	for _, h := range hints {
		// The Tx is committed: a failed hint is logged, never reported (the
		// caller would retry an applied change).
		if err := s.writeOne(ctx, h); err != nil {
			s.log.WarnContext(ctx, "dynamo: round-robin cursor not written", "table", *s.table, "item", h.what, "error", err)
		}
	}
	return nil
}

func (op writeOp) transactItem(table *string) types.TransactWriteItem {
	var names map[string]string
	if len(op.names) > 0 {
		names = op.names
	}
	var values item
	if len(op.values) > 0 {
		values = op.values
	}
	var cond *string
	if op.cond != "" {
		cond = aws.String(op.cond)
	}
	const allOld = types.ReturnValuesOnConditionCheckFailureAllOld
	switch {
	case op.put != nil:
		return types.TransactWriteItem{Put: &types.Put{
			TableName: table, Item: op.put, ConditionExpression: cond,
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
			ReturnValuesOnConditionCheckFailure: allOld,
		}}
	case op.del:
		return types.TransactWriteItem{Delete: &types.Delete{
			TableName: table, Key: op.key.item(), ConditionExpression: cond,
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
			ReturnValuesOnConditionCheckFailure: allOld,
		}}
	default:
		return types.TransactWriteItem{Update: &types.Update{
			TableName: table, Key: op.key.item(), UpdateExpression: aws.String(op.update), ConditionExpression: cond,
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
			ReturnValuesOnConditionCheckFailure: allOld,
		}}
	}
}

// checkTeams fails with not_found when the team of a cursor hint is missing.
func (s *Store) checkTeams(ctx context.Context, hints []writeOp) error {
	if len(hints) == 0 {
		return nil
	}
	keys := make([]key, len(hints))
	for i, h := range hints {
		keys[i] = h.key
	}
	found, err := s.batchGet(ctx, keys, "check cursor teams")
	if err != nil {
		return err
	}
	for _, h := range hints {
		if found[h.key] == nil {
			return h.fail(nil)
		}
	}
	return nil
}

// writeOne applies a one-item Tx with a plain conditional write: as atomic
// as a transaction for one item, at half the write capacity.
func (s *Store) writeOne(ctx context.Context, op writeOp) error {
	for attempt := 0; ; attempt++ {
		err := s.writeOnce(ctx, op)
		if err == nil {
			return nil
		}
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) && op.fail != nil {
			return op.fail(nilIfEmpty(ccf.Item))
		}
		// A transaction in flight on the same item (the SDK retries
		// throttling itself, not this).
		var conflict *types.TransactionConflictException
		if !errors.As(err, &conflict) {
			return s.translate(ctx, err, "commit "+op.what)
		}
		if attempt >= s.retries {
			s.log.WarnContext(ctx, "dynamo: write still contended after retries", "table", *s.table, "item", op.what, "attempts", attempt+1)
			return routing.Errorf(routing.CodeUnavailable, "storage is busy, try again")
		}
		if err := s.sleep(ctx, s.backoffFor(attempt)); err != nil {
			return s.translate(ctx, err, "commit")
		}
	}
}

// writeOnce sends op as a plain conditional write.
func (s *Store) writeOnce(ctx context.Context, op writeOp) error {
	ti := op.transactItem(s.table)
	const allOld = types.ReturnValuesOnConditionCheckFailureAllOld
	switch {
	case ti.Put != nil:
		out, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: s.table, Item: ti.Put.Item, ConditionExpression: ti.Put.ConditionExpression,
			ExpressionAttributeNames: ti.Put.ExpressionAttributeNames, ExpressionAttributeValues: ti.Put.ExpressionAttributeValues,
			ReturnValuesOnConditionCheckFailure: allOld,
			ReturnConsumedCapacity:              s.returnCapacity(),
		})
		if out != nil {
			s.record("PutItem", one(out.ConsumedCapacity)...)
		} else {
			s.record("PutItem")
		}
		return err
	case ti.Update != nil:
		out, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: s.table, Key: ti.Update.Key, UpdateExpression: ti.Update.UpdateExpression,
			ConditionExpression:      ti.Update.ConditionExpression,
			ExpressionAttributeNames: ti.Update.ExpressionAttributeNames, ExpressionAttributeValues: ti.Update.ExpressionAttributeValues,
			ReturnValuesOnConditionCheckFailure: allOld,
			ReturnConsumedCapacity:              s.returnCapacity(),
		})
		if out != nil {
			s.record("UpdateItem", one(out.ConsumedCapacity)...)
		} else {
			s.record("UpdateItem")
		}
		return err
	default:
		out, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: s.table, Key: ti.Delete.Key, ConditionExpression: ti.Delete.ConditionExpression,
			ExpressionAttributeNames: ti.Delete.ExpressionAttributeNames, ExpressionAttributeValues: ti.Delete.ExpressionAttributeValues,
			ReturnValuesOnConditionCheckFailure: allOld,
			ReturnConsumedCapacity:              s.returnCapacity(),
		})
		if out != nil {
			s.record("DeleteItem", one(out.ConsumedCapacity)...)
		} else {
			s.record("DeleteItem")
		}
		return err
	}
}

// transact runs ops as one TransactWriteItems, retrying cancellations caused
// only by contention or throttling.
func (s *Store) transact(ctx context.Context, ops []writeOp) error {
	items := make([]types.TransactWriteItem, len(ops))
	for i, op := range ops {
		items[i] = op.transactItem(s.table)
	}
	for attempt := 0; ; attempt++ {
		out, err := s.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems: items,
			// The SDK resends this same input on network retries: the token
			// makes a resent, already applied transaction a no-op.
			ClientRequestToken:     aws.String(requestToken()),
			ReturnConsumedCapacity: s.returnCapacity(),
		})
		if out != nil {
			s.record("TransactWriteItems", out.ConsumedCapacity...)
		} else {
			s.record("TransactWriteItems")
		}
		if err == nil {
			return nil
		}
		retry := false
		var tce *types.TransactionCanceledException
		var api interface{ ErrorCode() string }
		switch {
		case errors.As(err, &tce):
			reasons := tce.CancellationReasons
			for i, r := range reasons {
				if aws.ToString(r.Code) == "ConditionalCheckFailed" && i < len(ops) && ops[i].fail != nil {
					return ops[i].fail(nilIfEmpty(r.Item))
				}
			}
			retry = true
			for _, r := range reasons {
				if c := aws.ToString(r.Code); c != "" && c != "None" && !retryableCodes[c] {
					retry = false
					if c == "ValidationError" && tooLarge(aws.ToString(r.Message)) {
						return routing.Invalid("tx", "the data is larger than the storage allows (400 KB per item, 4 MB per transaction)")
					}
				}
			}
			if !retry {
				s.log.ErrorContext(ctx, "dynamo: transaction cancelled", "table", *s.table, "reasons", reasonCodes(reasons), "error", err)
				return routing.Errorf(routing.CodeInternal, "storage failure")
			}
		case errors.As(err, &api) && retryableCodes[api.ErrorCode()]:
			retry = true
		}
		if !retry {
			return s.translate(ctx, err, "commit")
		}
		if attempt >= s.retries {
			s.log.WarnContext(ctx, "dynamo: transaction still contended after retries", "table", *s.table, "attempts", attempt+1, "error", err)
			return routing.Errorf(routing.CodeUnavailable, "storage is busy, try again")
		}
		if err := s.sleep(ctx, s.backoffFor(attempt)); err != nil {
			return s.translate(ctx, err, "commit")
		}
	}
}

// backoffFor is the wait before retry attempt+1: exponential, capped, with
// full jitter in its upper half.
func (s *Store) backoffFor(attempt int) time.Duration {
	d := s.backoff << min(attempt, 5)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

func reasonCodes(rs []types.CancellationReason) string {
	codes := make([]string, len(rs))
	for i, r := range rs {
		codes[i] = aws.ToString(r.Code)
	}
	return strings.Join(codes, ",")
}

func nilIfEmpty(it item) item {
	if len(it) == 0 {
		return nil
	}
	return it
}

func requestToken() string {
	var b [16]byte
	if _, err := crand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("dynamo: no randomness: %v", err))
	}
	return hex.EncodeToString(b[:])
}
