// Package streamrelay is the outbox relay on AWS: the handler of the relay
// Lambda function, which an event source mapping invokes with batches of the
// table's DynamoDB stream. It decodes the outbox items' INSERT records with
// the store's own codec (dynamo.DecodeOutboxImage) and publishes their events
// to the EventBridge bus (shared/aws/eventbus), in stream order.
//
// A batch comes from one shard, whose records of one partition key (one
// outbox Key) are in commit order. The handler publishes record by record
// (several records' events share a PutEvents request) and, at the first
// failure, stops and reports that record as the batch's first failure
// (ReportBatchItemFailures): Lambda retries from it, so no record is
// published before an earlier one of its shard, and what was published
// before the failure may be published again (at least once; consumers
// deduplicate by the Switchboard event id, which eventbus carries in the
// detail). After the mapping's retries the batch goes to its on-failure
// destination (an SQS queue, alarmed).
package streamrelay

import (
	"context"
	"fmt"
	"log/slog"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/aws/eventbus"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
)

// Relay publishes the outbox records of stream batches.
type Relay struct {
	pub events.Publisher
	log *slog.Logger
}

// New returns a relay publishing through pub.
func New(pub events.Publisher, log *slog.Logger) *Relay {
	if log == nil {
		log = slog.Default()
	}
	return &Relay{pub: pub, log: log}
}

// pending is the events read but not yet published, and the sequence
// numbers of the records they come from.
type pending struct {
	evs  []events.Event
	seqs []string
}

// Handle publishes the batch's outbox events in order. A record that cannot
// be published (or decoded) is reported as the first batch item failure:
// Lambda retries the batch from it.
func (r *Relay) Handle(ctx context.Context, batch lambdaevents.DynamoDBEvent) (lambdaevents.DynamoDBEventResponse, error) {
	var p pending
	flush := func() string {
		if len(p.evs) == 0 {
			return ""
		}
		err := r.publish(ctx, p.evs)
		defer func() { p = pending{} }()
		if err != nil {
			r.log.ErrorContext(ctx, "outbox relay: publish failed; the batch is retried from this record",
				"sequenceNumber", p.seqs[0], "events", len(p.evs), "err", err)
			return p.seqs[0]
		}
		return ""
	}
	published := 0
	for _, rec := range batch.Records {
		seq := rec.Change.SequenceNumber
		if rec.EventName != string(lambdaevents.DynamoDBOperationTypeInsert) {
			continue // TTL deletions, the table's other changes
		}
		out, ok, err := dynamo.DecodeOutboxImage(stringAttrs(rec.Change.NewImage))
		if !ok {
			continue
		}
		if err != nil {
			if failed := flush(); failed != "" {
				return failure(failed), nil
			}
			r.log.ErrorContext(ctx, "outbox relay: undecodable outbox record; it goes to the failure destination after the retries",
				"sequenceNumber", seq, "eventID", rec.EventID, "err", err)
			return failure(seq), nil
		}
		// Keep PutEvents requests full: flush before a record whose events
		// would not fit in the current request.
		if len(p.evs) > 0 && len(p.evs)+len(out.Events) > eventbus.MaxEntries {
			if failed := flush(); failed != "" {
				return failure(failed), nil
			}
		}
		p.seqs = append(p.seqs, seq)
		p.evs = append(p.evs, out.Events...)
		published += len(out.Events)
	}
	if failed := flush(); failed != "" {
		return failure(failed), nil
	}
	r.log.DebugContext(ctx, "outbox relay: batch published", "records", len(batch.Records), "events", published)
	return lambdaevents.DynamoDBEventResponse{}, nil
}

func (r *Relay) publish(ctx context.Context, evs []events.Event) error {
	if err := r.pub.Publish(ctx, evs...); err != nil {
		return fmt.Errorf("publish %d events: %w", len(evs), err)
	}
	return nil
}

func failure(seq string) lambdaevents.DynamoDBEventResponse {
	return lambdaevents.DynamoDBEventResponse{BatchItemFailures: []lambdaevents.DynamoDBBatchItemFailure{{ItemIdentifier: seq}}}
}

// stringAttrs keeps the string attributes of a stream image.
func stringAttrs(image map[string]lambdaevents.DynamoDBAttributeValue) map[string]string {
	out := make(map[string]string, len(image))
	for k, v := range image {
		if v.DataType() == lambdaevents.DataTypeString {
			out[k] = v.String()
		}
	}
	return out
}
