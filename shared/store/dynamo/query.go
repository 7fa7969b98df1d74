package dynamo

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// getItem reads one item with a strongly consistent read; nil when absent.
func (s *Store) getItem(ctx context.Context, k key, what string) (item, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:              s.table,
		Key:                    k.item(),
		ConsistentRead:         aws.Bool(true),
		ReturnConsumedCapacity: s.returnCapacity(),
	})
	if out != nil {
		s.record("GetItem", one(out.ConsumedCapacity)...)
	} else {
		s.record("GetItem")
	}
	if err != nil {
		return nil, s.translate(ctx, err, what)
	}
	return nilIfEmpty(out.Item), nil
}

// batchGet reads keys (duplicates allowed) with strongly consistent reads, in
// requests of at most 100 keys, retrying unprocessed keys with backoff.
func (s *Store) batchGet(ctx context.Context, keys []key, what string) (map[key]item, error) {
	found := make(map[key]item, len(keys))
	var pending []map[string]types.AttributeValue
	seen := make(map[key]bool, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			pending = append(pending, k.item())
		}
	}
	retries := 0
	for len(pending) > 0 {
		n := min(len(pending), 100)
		batch := pending[:n]
		pending = pending[n:]
		out, err := s.api.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{
				*s.table: {Keys: batch, ConsistentRead: aws.Bool(true)},
			},
			ReturnConsumedCapacity: s.returnCapacity(),
		})
		if out != nil {
			s.record("BatchGetItem", out.ConsumedCapacity...)
		} else {
			s.record("BatchGetItem")
		}
		if err != nil {
			return nil, s.translate(ctx, err, what)
		}
		for _, it := range out.Responses[*s.table] {
			found[keyOf(it)] = it
		}
		if left := out.UnprocessedKeys[*s.table].Keys; len(left) > 0 {
			// Back off before resubmitting; give up only after batchRetries
			// rounds in a row that served nothing.
			if len(left) < len(batch) {
				retries = 0
			} else if retries >= s.batchRetries {
				return nil, routing.Errorf(routing.CodeUnavailable, "storage is busy, try again")
			}
			if err := s.sleep(ctx, s.backoffFor(retries)); err != nil {
				return nil, s.translate(ctx, err, what)
			}
			retries++
			pending = append(pending, left...)
		}
	}
	return found, nil
}

// partition is one partition of the table or of an index, read in sort-key
// order, optionally only the sort keys that start with prefix.
type partition struct {
	index  string // "" for the table
	pk     string
	prefix string
}

func (p partition) attrs() (pkAttr, skAttr string) {
	for _, g := range Indexes {
		if g[0] == p.index {
			return g[1], g[2]
		}
	}
	return AttrPK, AttrSK
}

// stream reads a partition lazily, page by page, after a position (the sort
// key of the last item already returned; exclusive).
type stream struct {
	s     *Store
	p     partition
	desc  bool
	after string
	batch int32
	what  string

	buf     []item
	lastKey map[string]types.AttributeValue
	started bool
	done    bool
}

func (s *Store) newStream(p partition, desc bool, after string, batch int, what string) *stream {
	return &stream{s: s, p: p, desc: desc, after: after, batch: int32(min(max(batch, 1), 1000)), what: what}
}

// peek returns the next item without consuming it; nil at the end.
func (st *stream) peek(ctx context.Context) (item, error) {
	for len(st.buf) == 0 && !st.done {
		if err := st.fetch(ctx); err != nil {
			return nil, err
		}
	}
	if len(st.buf) == 0 {
		return nil, nil
	}
	return st.buf[0], nil
}

func (st *stream) pop() { st.buf = st.buf[1:] }

// sortKey is the position of it in this stream.
func (st *stream) sortKey(it item) string {
	_, skAttr := st.p.attrs()
	return str(it, skAttr)
}

func (st *stream) fetch(ctx context.Context) error {
	if st.started && st.lastKey == nil {
		st.done = true
		return nil
	}
	pkAttr, skAttr := st.p.attrs()
	names := map[string]string{"#pk": pkAttr}
	values := item{":pk": sv(st.p.pk)}
	cond := "#pk = :pk"
	exclusive := "" // a sort key the condition includes but the stream must skip
	switch {
	case st.after == "" && st.p.prefix != "":
		cond += " AND begins_with(#sk, :prefix)"
		names["#sk"] = skAttr
		values[":prefix"] = sv(st.p.prefix)
	case st.after != "" && st.p.prefix == "":
		op := " > "
		if st.desc {
			op = " < "
		}
		cond += " AND #sk" + op + ":after"
		names["#sk"] = skAttr
		values[":after"] = sv(st.after)
	case st.after != "":
		// BETWEEN is inclusive: skip the item at the cursor itself.
		cond += " AND #sk BETWEEN :lo AND :hi"
		names["#sk"] = skAttr
		if st.desc {
			values[":lo"], values[":hi"] = sv(st.p.prefix), sv(st.after)
		} else {
			values[":lo"], values[":hi"] = sv(st.after), sv(prefixEnd(st.p.prefix))
		}
		exclusive = st.after
	}
	in := &dynamodb.QueryInput{
		TableName:                 st.s.table,
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(!st.desc),
		Limit:                     aws.Int32(st.batch),
		ExclusiveStartKey:         st.lastKey,
		ReturnConsumedCapacity:    st.s.returnCapacity(),
	}
	if st.p.index != "" {
		in.IndexName = aws.String(st.p.index)
	} else {
		in.ConsistentRead = aws.Bool(true)
	}
	out, err := st.s.api.Query(ctx, in)
	if out != nil {
		st.s.record("Query", one(out.ConsumedCapacity)...)
	} else {
		st.s.record("Query")
	}
	if err != nil {
		return st.s.translate(ctx, err, st.what)
	}
	st.started = true
	st.lastKey = nilIfEmpty(out.LastEvaluatedKey)
	if st.lastKey == nil {
		st.done = true
	}
	for _, it := range out.Items {
		if exclusive != "" && str(it, skAttr) == exclusive {
			continue
		}
		st.buf = append(st.buf, it)
	}
	return nil
}

// candidate is an entry taken from a stream, at position pos.
type candidate struct {
	st  *stream
	it  item
	pos string
}

// next takes the first entry of the streams merged by sort key (all streams
// ascending, or all descending); nil at the end.
func next(ctx context.Context, streams []*stream) (*candidate, error) {
	var best *stream
	var bestKey string
	var bestItem item
	for _, st := range streams {
		it, err := st.peek(ctx)
		if err != nil {
			return nil, err
		}
		if it == nil {
			continue
		}
		k := st.sortKey(it)
		if best == nil || (st.desc && k > bestKey) || (!st.desc && k < bestKey) {
			best, bestKey, bestItem = st, k, it
		}
	}
	if best == nil {
		return nil, nil
	}
	best.pop()
	return &candidate{st: best, it: bestItem, pos: bestKey}, nil
}

// resolve replaces the index entries among cands (keys only) with their
// items, read strongly consistent in one BatchGetItem per 100 keys, and
// drops an entry whose item no longer carries it: an index lags the table,
// so it may still list an item under a key it has left. Table entries are
// kept as they are.
func (s *Store) resolve(ctx context.Context, cands []*candidate, what string) ([]*candidate, error) {
	var keys []key
	for _, c := range cands {
		if c.st.p.index != "" {
			keys = append(keys, keyOf(c.it))
		}
	}
	if len(keys) == 0 {
		return cands, nil
	}
	found, err := s.batchGet(ctx, keys, what)
	if err != nil {
		return nil, err
	}
	out := cands[:0]
	for _, c := range cands {
		if c.st.p.index != "" {
			it := found[keyOf(c.it)]
			pkAttr, skAttr := c.st.p.attrs()
			if it == nil || str(it, pkAttr) != c.st.p.pk || str(it, skAttr) != c.pos {
				continue
			}
			c.it = it
		}
		out = append(out, c)
	}
	return out, nil
}

// collectPage reads up to limit items the keep function accepts from the
// streams, merged by sort key, and reports whether more remain. Index
// entries are resolved to their items in batches of what is still needed
// (at least minBatch). Items must decode; keep may drop them.
func collectPage[T any](ctx context.Context, s *Store, streams []*stream, limit, minBatch int, decode func(item) (T, error), keep func(T) bool, what string) (items []T, positions []string, more bool, err error) {
	for {
		want := max(limit+1-len(items), minBatch, 1)
		var cands []*candidate
		for len(cands) < want {
			c, err := next(ctx, streams)
			if err != nil {
				return nil, nil, false, err
			}
			if c == nil {
				break
			}
			cands = append(cands, c)
		}
		if len(cands) == 0 {
			return items, positions, false, nil
		}
		if cands, err = s.resolve(ctx, cands, what); err != nil {
			return nil, nil, false, err
		}
		for _, c := range cands {
			v, err := decode(c.it)
			if err != nil {
				return nil, nil, false, err
			}
			if keep != nil && !keep(v) {
				continue
			}
			if len(items) == limit {
				return items, positions, true, nil
			}
			items = append(items, v)
			positions = append(positions, c.pos)
		}
	}
}

// Cursors are opaque: "c1:" and the sort key of the last item returned, in
// URL-safe base64.
const cursorTag = "c1:"

func encodeCursor(position string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorTag + position))
}

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), cursorTag) || len(b) == len(cursorTag) {
		return "", routing.Invalid("cursor", "malformed page cursor")
	}
	return string(b[len(cursorTag):]), nil
}
