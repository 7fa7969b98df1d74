package dynamo

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// The outbox on DynamoDB. Commit writes a Tx's outbox events in the same
// TransactWriteItems as the state they describe, each Key's events (in Tx
// order) in one of two places:
//
//   - on a timeline entry of the same conversation that the Tx writes, as
//     its attribute outbox [events as JSON], when that does not make the
//     entry cross a KB (a transactional write is billed 2 WRU per started KB
//     of each item, so the events ride for free where an item of their own
//     would cost 2 WRU); the Key is the conversation id of the entry's pk;
//   - otherwise on an outbox item of their own:
//
//	pk OUTBOX#<key>   sk <time of the first event>#<its id>
//	outboxKey <key>, doc [events as JSON, in Tx order], ttl now + OutboxTTL
//
// The table's stream (NEW_IMAGE) is the feed: the INSERT record of an outbox
// item, or of a timeline entry with an outbox attribute, carries the events
// (DecodeOutboxImage reads both). A Key's events always travel together, in
// Tx order. Across commits the relay publishes in stream order; DynamoDB
// Streams keeps the records of one partition key in one shard lineage in
// write order, and EventBridge does not keep order anyway, so consumers
// dedupe and never rely on it. Outbox items are never read; the TTL deletes
// them a day later (the stream keeps records 24 hours), and REMOVE and MODIFY
// records are skipped (a timeline entry written again is not published
// again).

// OutboxTTL is how long an outbox item stays in the table.
const OutboxTTL = 24 * time.Hour

// outboxGroup is one Key's events of one Tx.
type outboxGroup struct {
	key    string
	events []events.Event
}

// groupOutbox groups a Tx's outbox by Key, keeping the first appearance
// order of keys and the Tx order of the events of each key.
func groupOutbox(out []store.OutboxEvent) []outboxGroup {
	var groups []outboxGroup
	index := map[string]int{}
	for _, o := range out {
		i, ok := index[o.Key]
		if !ok {
			i = len(groups)
			index[o.Key] = i
			groups = append(groups, outboxGroup{key: o.Key})
		}
		groups[i].events = append(groups[i].events, o.Event)
	}
	return groups
}

// outboxItem is the outbox item of g, whose events doc holds encoded.
func outboxItem(g outboxGroup, doc []byte, now time.Time) item {
	it := outboxKey(g.key, g.events[0]).item()
	it[attrType] = sv("outbox")
	it[attrDoc] = sv(string(doc))
	it[attrOutboxKey] = sv(g.key)
	it[AttrTTL] = nv(now.Add(OutboxTTL).Unix())
	return it
}

// OutboxRecord is the content of one outbox item: a Tx's events of one Key,
// in commit order.
type OutboxRecord struct {
	Key    string
	Events []events.Event
}

// DecodeOutboxImage decodes a stream record's new image, given as its string
// attributes (the stream reader and the stream-consumer Lambda each convert
// their SDK's attribute values). ok is false for an item that is not an
// outbox item: the stream carries every change of the table.
func DecodeOutboxImage(image map[string]string) (rec OutboxRecord, ok bool, err error) {
	pk, sk := image[AttrPK], image[AttrSK]
	var doc, what string
	switch outbox, carried := image[attrOutbox]; {
	case carried && strings.HasPrefix(pk, prefixConv) && image[attrType] == "event":
		rec.Key, doc, what = strings.TrimPrefix(pk, prefixConv), outbox, "timeline entry"
	case strings.HasPrefix(pk, prefixOutbox) && image[attrType] == "outbox":
		rec.Key, doc, what = image[attrOutboxKey], image[attrDoc], "outbox item"
	default:
		return OutboxRecord{}, false, nil
	}
	if err := json.Unmarshal([]byte(doc), &rec.Events); err != nil {
		return OutboxRecord{}, true, fmt.Errorf("%s %s/%s: decode events: %w", what, pk, sk, err)
	}
	if rec.Key == "" || len(rec.Events) == 0 {
		return OutboxRecord{}, true, fmt.Errorf("%s %s/%s: no key or no events", what, pk, sk)
	}
	return rec, true, nil
}

// Entries turns the record of stream position seq (shard id and sequence
// number) into feed entries: Seq is seq + "/" + the event's index.
func (r OutboxRecord) Entries(seq string) []store.OutboxEntry {
	out := make([]store.OutboxEntry, len(r.Events))
	for i, e := range r.Events {
		out[i] = store.OutboxEntry{Seq: fmt.Sprintf("%s/%d", seq, i), OutboxEvent: store.OutboxEvent{Key: r.Key, Event: e}}
	}
	return out
}
