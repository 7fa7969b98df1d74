package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// StreamsAPI is the part of the DynamoDB Streams client the outbox feed
// calls; *dynamodbstreams.Client implements it.
type StreamsAPI interface {
	ListStreams(ctx context.Context, in *dynamodbstreams.ListStreamsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.ListStreamsOutput, error)
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

var _ StreamsAPI = (*dynamodbstreams.Client)(nil)

// WithStreams gives the store a DynamoDB Streams client for Outbox.
func WithStreams(api StreamsAPI) Option { return func(s *Store) { s.streams = api } }

// WithStreamIdle sets how long the outbox feed leaves a shard alone after
// it answered nothing new (default 250ms). DynamoDB Streams allows 5
// GetRecords a second per shard, shared by every reader: a relay polling
// every 20 ms would be throttled, and several local servers share a shard.
func WithStreamIdle(d time.Duration) Option { return func(s *Store) { s.streamIdle = d } }

// Outbox is the store's outbox feed, read from the table's DynamoDB stream
// (the store needs WithStreams). See StreamFeed.
func (s *Store) Outbox() store.OutboxFeed { return s.newFeed() }

// StreamFeed reads the outbox from the table's stream: it finds the table's
// latest stream, lists its shards, reads every shard from TRIM_HORIZON
// (a parent shard to its end before its children, so the events of one Key
// keep their commit order across a shard split), and decodes the INSERT
// records of outbox items into entries; every other record is skipped.
//
// Its position lives in memory only. Ack drops entries from the feed; a new
// StreamFeed (a restarted process) starts again at the oldest record the
// stream keeps (24 hours), and several feeds on one table (several local
// servers) each deliver every event. Delivery is therefore at least once,
// per Key in commit order, and consumers deduplicate by Event.ID, as the
// store.OutboxFeed contract says. On AWS the stream-consumer Lambda
// (shared/aws/streamrelay) reads the stream instead, with the Lambda service
// keeping the position.
type StreamFeed struct {
	s *Store

	mu        sync.Mutex
	arn       string
	shards    map[string]*shardState
	order     []string // shard ids in the order DescribeStream listed them
	described time.Time
	buf       []store.OutboxEntry // read, not acknowledged, in read order
}

type shardState struct {
	id, parent string
	iter       *string
	lastSeq    string    // sequence number of the last record read
	done       bool      // closed and read to its end
	idleUntil  time.Time // not read again before (it had nothing new, or was throttled)
	idleAt     int64     // the store's outbox commit count when it went idle
}

// describeEvery bounds how often the shard list is refreshed (DescribeStream
// is limited to 10 calls a second per account).
const describeEvery = 5 * time.Second

// getRecordsPerShard bounds the GetRecords calls per shard in one Next: an
// open shard without new records answers empty pages.
const getRecordsPerShard = 3

func (s *Store) newFeed() *StreamFeed {
	return &StreamFeed{s: s, shards: map[string]*shardState{}}
}

// Next returns up to limit entries not yet acknowledged, in stream order
// (per Key, commit order). It does not block: an empty answer means nothing
// new was read.
func (f *StreamFeed) Next(ctx context.Context, limit int) ([]store.OutboxEntry, error) {
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.buf) < limit {
		if err := f.fill(ctx, limit-len(f.buf)); err != nil {
			if len(f.buf) == 0 {
				return nil, err
			}
			f.s.log.WarnContext(ctx, "dynamo: outbox stream read failed", "table", *f.s.table, "error", err)
		}
	}
	n := min(limit, len(f.buf))
	return append([]store.OutboxEntry(nil), f.buf[:n]...), nil
}

// Ack drops the entries from the feed; unknown ones are ignored.
func (f *StreamFeed) Ack(ctx context.Context, entries []store.OutboxEntry) error {
	if len(entries) == 0 {
		return ctx.Err()
	}
	acked := make(map[string]bool, len(entries))
	for _, e := range entries {
		acked[e.Seq] = true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	keep := f.buf[:0]
	for _, e := range f.buf {
		if !acked[e.Seq] {
			keep = append(keep, e)
		}
	}
	clear(f.buf[len(keep):])
	f.buf = keep
	return nil
}

// fill reads up to about want records from the readable shards.
func (f *StreamFeed) fill(ctx context.Context, want int) error {
	if f.s.streams == nil {
		return routing.Errorf(routing.CodeInternal, "the DynamoDB store has no streams client (dynamo.WithStreams)")
	}
	if f.arn == "" {
		if err := f.findStream(ctx); err != nil {
			return err
		}
	}
	if time.Since(f.described) >= describeEvery || len(f.shards) == 0 {
		if err := f.describe(ctx); err != nil {
			return err
		}
	}
	// A shard is readable once its parent is read to the end (or gone from
	// the stream). Reading a parent to its end makes its children readable in
	// the same pass.
	for progress := true; progress && want > 0; {
		progress = false
		for _, id := range f.order {
			sh := f.shards[id]
			if sh.done || !f.readable(sh) || f.resting(sh) {
				continue
			}
			n, err := f.readShard(ctx, sh, want)
			if err != nil {
				return err
			}
			want -= n
			if sh.done {
				progress = true
			}
			if want <= 0 {
				break
			}
		}
	}
	return nil
}

// resting reports whether sh is left alone: it had nothing new a moment ago
// and this store has committed no outbox event since (a commit of this
// process wakes the feed at once, so a relay's Drain right after a commit
// sees it; other processes' commits are seen after the idle time).
func (f *StreamFeed) resting(sh *shardState) bool {
	if !time.Now().Before(sh.idleUntil) {
		return false
	}
	return sh.idleAt < 0 || f.s.outboxCommits.Load() == sh.idleAt
}

func (f *StreamFeed) readable(sh *shardState) bool {
	if sh.parent == "" {
		return true
	}
	p, ok := f.shards[sh.parent]
	return !ok || p.done
}

// findStream picks the table's latest stream (the greatest label: labels are
// creation timestamps).
func (f *StreamFeed) findStream(ctx context.Context) error {
	var start *string
	label := ""
	for {
		out, err := f.s.streams.ListStreams(ctx, &dynamodbstreams.ListStreamsInput{TableName: f.s.table, ExclusiveStartStreamArn: start})
		f.s.record("ListStreams")
		if err != nil {
			return f.s.translate(ctx, err, "list streams")
		}
		for _, st := range out.Streams {
			if l := aws.ToString(st.StreamLabel); f.arn == "" || l > label {
				f.arn, label = aws.ToString(st.StreamArn), l
			}
		}
		if out.LastEvaluatedStreamArn == nil {
			break
		}
		start = out.LastEvaluatedStreamArn
	}
	if f.arn == "" {
		f.s.log.ErrorContext(ctx, "dynamo: the table has no stream; the outbox cannot be read", "table", *f.s.table)
		return routing.Errorf(routing.CodeInternal, "storage failure")
	}
	return nil
}

// describe adds the stream's shards it does not know yet.
func (f *StreamFeed) describe(ctx context.Context) error {
	var start *string
	for {
		out, err := f.s.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(f.arn), ExclusiveStartShardId: start})
		f.s.record("DescribeStream")
		if err != nil {
			return f.s.translate(ctx, err, "describe stream")
		}
		if out.StreamDescription == nil {
			break
		}
		for _, sh := range out.StreamDescription.Shards {
			id := aws.ToString(sh.ShardId)
			if _, ok := f.shards[id]; ok || id == "" {
				continue
			}
			f.shards[id] = &shardState{id: id, parent: aws.ToString(sh.ParentShardId)}
			f.order = append(f.order, id)
		}
		if out.StreamDescription.LastEvaluatedShardId == nil {
			break
		}
		start = out.StreamDescription.LastEvaluatedShardId
	}
	f.described = time.Now()
	return nil
}

// readShard reads up to want records of one shard into the buffer and
// returns how many it read.
func (f *StreamFeed) readShard(ctx context.Context, sh *shardState, want int) (int, error) {
	read := 0
	for call := 0; call < getRecordsPerShard && want > read && !sh.done; call++ {
		if sh.iter == nil {
			if err := f.iterator(ctx, sh); err != nil || sh.done {
				return read, err
			}
		}
		commits := f.s.outboxCommits.Load() // before the read: a commit after it wakes the shard
		out, err := f.s.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: sh.iter, Limit: aws.Int32(int32(min(want-read, 1000)))})
		f.s.record("GetRecords")
		var expired *stypes.ExpiredIteratorException
		var trimmed *stypes.TrimmedDataAccessException
		var gone *stypes.ResourceNotFoundException
		var limit *stypes.LimitExceededException
		switch {
		case errors.As(err, &limit): // 5 GetRecords a second per shard, shared by every reader
			sh.idleUntil, sh.idleAt = time.Now().Add(max(f.s.streamIdle, time.Second)), -1
			return read, nil
		case errors.As(err, &expired): // iterators live 15 minutes: get a new one at the same place
			sh.iter = nil
			continue
		case errors.As(err, &trimmed): // fell behind the 24-hour retention: start at the oldest record kept
			f.s.log.WarnContext(ctx, "dynamo: outbox stream records were trimmed before they were read", "table", *f.s.table, "shard", sh.id)
			sh.iter, sh.lastSeq = nil, ""
			continue
		case errors.As(err, &gone):
			sh.done = true
			return read, nil
		case err != nil:
			return read, f.s.translate(ctx, err, "get stream records")
		}
		for _, r := range out.Records {
			if r.Dynamodb == nil {
				continue
			}
			seq := aws.ToString(r.Dynamodb.SequenceNumber)
			sh.lastSeq = seq
			read++
			if r.EventName != stypes.OperationTypeInsert {
				continue
			}
			rec, ok, err := DecodeOutboxImage(streamStrings(r.Dynamodb.NewImage))
			if !ok {
				continue
			}
			if err != nil {
				// A record that cannot be decoded cannot be delivered: log it
				// (with its position) and move on rather than stall the feed.
				f.s.log.ErrorContext(ctx, "dynamo: undecodable outbox record skipped", "table", *f.s.table, "shard", sh.id, "sequence", seq, "error", err)
				continue
			}
			f.buf = append(f.buf, rec.Entries(sh.id+"/"+seq)...)
		}
		sh.iter = out.NextShardIterator
		if sh.iter == nil {
			sh.done = true // a closed shard read to its end
		}
		if len(out.Records) == 0 && sh.iter != nil {
			// An open shard with nothing new. The count is read before the
			// next Commit can add to it only if that Commit came later than
			// this read, so its record is not missed.
			sh.idleUntil, sh.idleAt = time.Now().Add(f.s.streamIdle), commits
			break
		}
	}
	return read, nil
}

// iterator positions sh after its last record read, or at TRIM_HORIZON.
func (f *StreamFeed) iterator(ctx context.Context, sh *shardState) error {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(f.arn), ShardId: aws.String(sh.id), ShardIteratorType: stypes.ShardIteratorTypeTrimHorizon}
	if sh.lastSeq != "" {
		in.ShardIteratorType, in.SequenceNumber = stypes.ShardIteratorTypeAfterSequenceNumber, aws.String(sh.lastSeq)
	}
	out, err := f.s.streams.GetShardIterator(ctx, in)
	f.s.record("GetShardIterator")
	var gone *stypes.ResourceNotFoundException
	var trimmed *stypes.TrimmedDataAccessException
	switch {
	case errors.As(err, &gone):
		sh.done = true
		return nil
	case errors.As(err, &trimmed) && sh.lastSeq != "":
		sh.lastSeq = ""
		return f.iterator(ctx, sh)
	case err != nil:
		return f.s.translate(ctx, err, fmt.Sprintf("get shard iterator %s", sh.id))
	}
	sh.iter = out.ShardIterator
	if sh.iter == nil {
		sh.done = true
	}
	return nil
}

// streamStrings keeps the string attributes of a stream image.
func streamStrings(image map[string]stypes.AttributeValue) map[string]string {
	out := make(map[string]string, len(image))
	for k, v := range image {
		if s, ok := v.(*stypes.AttributeValueMemberS); ok {
			out[k] = s.Value
		}
	}
	return out
}
