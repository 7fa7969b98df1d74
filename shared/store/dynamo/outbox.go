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
// TransactWriteItems as the state they describe: one item per Key of the Tx,
//
//	pk OUTBOX#<key>   sk <time of the first event>#<its id>
//	outboxKey <key>, doc [events as JSON, in Tx order], ttl now + OutboxTTL
//
// The table's stream (NEW_IMAGE) is the feed: an outbox item's INSERT record
// carries the events. DynamoDB Streams keeps the records of one partition key
// in one shard lineage, in write order, so the events of one Key arrive in
// commit order (their order inside one Tx is the item's list order). The
// items themselves are never read; the TTL deletes them a day later (the
// stream keeps records 24 hours), and the TTL's REMOVE records are skipped.

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

func outboxItem(g outboxGroup, now time.Time) (item, error) {
	it, err := newItem(outboxKey(g.key, g.events[0]), "outbox", g.events)
	if err != nil {
		return nil, err
	}
	it[attrOutboxKey] = sv(g.key)
	it[AttrTTL] = nv(now.Add(OutboxTTL).Unix())
	return it, nil
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
	if !strings.HasPrefix(image[AttrPK], prefixOutbox) || image[attrType] != "outbox" {
		return OutboxRecord{}, false, nil
	}
	rec.Key = image[attrOutboxKey]
	if err := json.Unmarshal([]byte(image[attrDoc]), &rec.Events); err != nil {
		return OutboxRecord{}, true, fmt.Errorf("outbox item %s/%s: decode events: %w", image[AttrPK], image[AttrSK], err)
	}
	if rec.Key == "" || len(rec.Events) == 0 {
		return OutboxRecord{}, true, fmt.Errorf("outbox item %s/%s: no key or no events", image[AttrPK], image[AttrSK])
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
