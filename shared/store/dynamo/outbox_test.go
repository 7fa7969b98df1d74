package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
)

func outboxEvent(key, id string) store.OutboxEvent {
	detail, _ := json.Marshal(map[string]string{"conversationId": key})
	return store.OutboxEvent{Key: key, Event: events.Event{ID: id, DetailType: events.MessageReceived, Source: events.Source, Time: t0, Detail: detail}}
}

// recordingAPI passes calls to DynamoDB Local and records the writes.
type recordingAPI struct {
	dynamo.API
	mu      sync.Mutex
	calls   []string // "Transact:<keys>", "Update:<key>", "Put:<key>"
	queries []*dynamodb.QueryInput
	inject  func(in *dynamodb.QueryInput, out *dynamodb.QueryOutput)
}

func keyString(k map[string]types.AttributeValue) string {
	return k["pk"].(*types.AttributeValueMemberS).Value + "/" + k["sk"].(*types.AttributeValueMemberS).Value
}

func (r *recordingAPI) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	var keys []string
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			keys = append(keys, keyString(it.Put.Item))
		case it.Update != nil:
			keys = append(keys, keyString(it.Update.Key))
		case it.Delete != nil:
			keys = append(keys, keyString(it.Delete.Key))
		}
	}
	r.mu.Lock()
	r.calls = append(r.calls, "Transact:"+strings.Join(keys, ","))
	r.mu.Unlock()
	return r.API.TransactWriteItems(ctx, in, o...)
}

func (r *recordingAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	r.mu.Lock()
	r.calls = append(r.calls, "Update:"+keyString(in.Key))
	r.mu.Unlock()
	return r.API.UpdateItem(ctx, in, o...)
}

func (r *recordingAPI) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := r.API.Query(ctx, in, o...)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queries = append(r.queries, in)
	if err == nil && r.inject != nil {
		r.inject(in, out)
	}
	return out, err
}

func recordingStore(t *testing.T) (*dynamo.Store, *recordingAPI) {
	t.Helper()
	client, name := newTable(t)
	rec := &recordingAPI{API: client}
	return dynamo.New(rec, name), rec
}

// The round-robin cursor is a hint written after the routing transaction,
// never inside it: every item of a TransactWriteItems conflicts with any
// concurrent transaction on it, so a cursor in the transaction made all
// assignments of a team on all instances conflict with each other.
func TestCursorIsWrittenAfterTheTransaction(t *testing.T) {
	s, rec := recordingStore(t)
	commit(t, s, store.Tx{
		Agents: []store.AgentWrite{{Value: agent("ag_1", 5)}},
		Teams:  []store.TeamWrite{{Value: routing.Team{ID: "team_a", Name: "A", Strategy: routing.RoundRobin, Mode: routing.ModeAutomatic, Members: []string{"ag_1"}, CreatedAt: t0}}},
	})
	rec.calls = nil
	tx := routeTx("cv_1", "ag_1", t0)
	tx.Cursors = []store.CursorSet{{TeamID: "team_a", AgentID: "ag_1"}}
	commit(t, s, tx)
	if len(rec.calls) != 2 || !strings.HasPrefix(rec.calls[0], "Transact:") || strings.Contains(rec.calls[0], "TEAM#team_a/CURSOR") ||
		rec.calls[1] != "Update:TEAM#team_a/CURSOR" {
		t.Fatalf("writes %q, want the transaction without the cursor item, then the cursor alone", rec.calls)
	}
	if tm, err := s.GetTeam(t.Context(), "team_a"); err != nil || tm.Cursor != "ag_1" {
		t.Fatalf("team cursor %q (err %v), want ag_1", tm.Cursor, err)
	}
}

// No index partition holds every conversation of a status: conversations of
// different teams, agents and contacts spread over the status shards, and no
// partition of any index holds more than a shard's share of them.
func TestNoIndexPartitionHoldsEveryConversationOfAStatus(t *testing.T) {
	client, name := newTable(t)
	s := dynamo.New(client, name)
	const n = 80
	var tx store.Tx
	for i := range n {
		c := conversation(fmt.Sprintf("cv_%03d", i), fmt.Sprintf("team_%d", i), fmt.Sprintf("ag_%d", i))
		c.ContactID = fmt.Sprintf("ct_%d", i)
		tx.Conversations = append(tx.Conversations, store.ConversationWrite{Value: c})
		if len(tx.Conversations) == 40 {
			commit(t, s, tx)
			tx = store.Tx{}
		}
	}
	perPartition := map[string]int{}
	for i := range n {
		out, err := client.Query(t.Context(), &dynamodb.QueryInput{
			TableName:                 aws.String(name),
			KeyConditionExpression:    aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("CONV#cv_%03d", i)}},
			ConsistentRead:            aws.Bool(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		docs := 0
		for _, it := range out.Items {
			if _, ok := it["doc"]; ok {
				docs++
			}
			for attr, v := range it {
				if strings.HasPrefix(attr, "gsi") && strings.HasSuffix(attr, "pk") {
					perPartition[attr+"="+v.(*types.AttributeValueMemberS).Value]++
				}
			}
		}
		if docs != 1 {
			t.Fatalf("conversation %d is stored with %d copies of its document, want 1", i, docs)
		}
	}
	for p, count := range perPartition {
		if count > n/4 {
			t.Errorf("index partition %s holds %d of %d open conversations", p, count, n)
		}
	}
	page, err := s.ListConversations(t.Context(), store.ConversationFilter{Status: routing.ConvOpen, PageRequest: store.PageRequest{Limit: n}})
	if err != nil || len(page.Items) != n || page.Next != "" {
		t.Fatalf("list open: %d items, next %q, err %v; want all %d on one page", len(page.Items), page.Next, err, n)
	}
}

// An index lags the table: an entry the item has already left (here a queue
// entry of a conversation that is open now) is dropped, because a listing
// reads the item itself and keeps it only if it still carries the entry.
func TestStaleIndexEntryIsDropped(t *testing.T) {
	s, rec := recordingStore(t)
	commit(t, s, store.Tx{Conversations: []store.ConversationWrite{{Value: conversation("cv_open", "team_a", "ag_1")}, {Value: conversation("cv_pend", "team_a", "")}}})
	rec.inject = func(in *dynamodb.QueryInput, out *dynamodb.QueryOutput) {
		if aws.ToString(in.IndexName) != dynamo.IndexGSI1 {
			return
		}
		stale := map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "CONV#cv_open"}, "sk": &types.AttributeValueMemberS{Value: "CONV"},
			"gsi1pk": &types.AttributeValueMemberS{Value: "QUEUE#team_a"}, "gsi1sk": &types.AttributeValueMemberS{Value: "00#2025-03-03T09:00:00.000000000Z#cv_open"},
		}
		out.Items = append([]map[string]types.AttributeValue{stale}, out.Items...)
	}
	q, err := s.PendingQueue(t.Context(), "team_a", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || q[0].ID != "cv_pend" {
		t.Fatalf("queue %v, want only cv_pend (cv_open's entry is stale)", q)
	}
}

// fakeStreams is a stream with a closed parent shard and its open child,
// listed child first, and an iterator that expires once.
type fakeStreams struct {
	records map[string][]stypes.Record // shard id -> records
	expired bool
	gets    []string
}

func (f *fakeStreams) ListStreams(context.Context, *dynamodbstreams.ListStreamsInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.ListStreamsOutput, error) {
	return &dynamodbstreams.ListStreamsOutput{Streams: []stypes.Stream{
		{StreamArn: aws.String("arn:old"), StreamLabel: aws.String("2025-01-01T00:00:00.000")},
		{StreamArn: aws.String("arn:new"), StreamLabel: aws.String("2025-03-01T00:00:00.000")},
	}}, nil
}

func (f *fakeStreams) DescribeStream(_ context.Context, in *dynamodbstreams.DescribeStreamInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	if aws.ToString(in.StreamArn) != "arn:new" {
		return nil, fmt.Errorf("described %s, want the latest stream", aws.ToString(in.StreamArn))
	}
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: &stypes.StreamDescription{Shards: []stypes.Shard{
		{ShardId: aws.String("child"), ParentShardId: aws.String("parent")},
		{ShardId: aws.String("parent")},
	}}}, nil
}

func (f *fakeStreams) GetShardIterator(_ context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	it := aws.ToString(in.ShardId) + "@0"
	if in.ShardIteratorType == stypes.ShardIteratorTypeAfterSequenceNumber {
		recs := f.records[aws.ToString(in.ShardId)]
		for i, r := range recs {
			if aws.ToString(r.Dynamodb.SequenceNumber) == aws.ToString(in.SequenceNumber) {
				it = fmt.Sprintf("%s@%d", aws.ToString(in.ShardId), i+1)
			}
		}
	}
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String(it)}, nil
}

func (f *fakeStreams) GetRecords(_ context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	var shard string
	var pos int
	fmt.Sscanf(strings.Replace(aws.ToString(in.ShardIterator), "@", " ", 1), "%s %d", &shard, &pos)
	f.gets = append(f.gets, aws.ToString(in.ShardIterator))
	if shard == "parent" && pos == 1 && !f.expired {
		f.expired = true
		return nil, &stypes.ExpiredIteratorException{Message: aws.String("expired")}
	}
	recs := f.records[shard]
	end := min(pos+1, len(recs)) // one record a call
	out := &dynamodbstreams.GetRecordsOutput{Records: recs[pos:end]}
	if shard == "child" || end < len(recs) {
		out.NextShardIterator = aws.String(fmt.Sprintf("%s@%d", shard, end))
	}
	return out, nil
}

func streamRecord(t *testing.T, seq, op string, key string, ids ...string) stypes.Record {
	t.Helper()
	var evs []events.Event
	for _, id := range ids {
		evs = append(evs, outboxEvent(key, id).Event)
	}
	b, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	s := func(v string) stypes.AttributeValue { return &stypes.AttributeValueMemberS{Value: v} }
	return stypes.Record{EventName: stypes.OperationType(op), Dynamodb: &stypes.StreamRecord{
		SequenceNumber: aws.String(seq),
		NewImage: map[string]stypes.AttributeValue{
			"pk": s("OUTBOX#" + key), "sk": s("x#" + ids[0]), "type": s("outbox"), "outboxKey": s(key), "doc": s(string(b)),
		},
	}}
}

// A child shard is read only after its parent is read to its end, whatever
// order DescribeStream lists them in; an expired iterator resumes after the
// last record read; MODIFY and REMOVE records and other items are skipped.
func TestStreamFeedReadsParentShardFirst(t *testing.T) {
	other := stypes.Record{EventName: stypes.OperationTypeInsert, Dynamodb: &stypes.StreamRecord{
		SequenceNumber: aws.String("103"),
		NewImage:       map[string]stypes.AttributeValue{"pk": &stypes.AttributeValueMemberS{Value: "CONV#cv_1"}, "doc": &stypes.AttributeValueMemberS{Value: "{}"}},
	}}
	fs := &fakeStreams{records: map[string][]stypes.Record{
		"parent": {
			streamRecord(t, "101", "INSERT", "cv_1", "ev_1", "ev_2"),
			streamRecord(t, "102", "INSERT", "cv_1", "ev_3"),
			other,
			streamRecord(t, "104", "MODIFY", "cv_1", "ev_1"),
		},
		"child": {streamRecord(t, "201", "INSERT", "cv_1", "ev_4"), streamRecord(t, "202", "REMOVE", "cv_1", "ev_3")},
	}}
	s := dynamo.New(&fakeAPI{}, "tbl", dynamo.WithStreams(fs))
	feed := s.Outbox()
	var got []string
	for range 20 {
		page, err := feed.Next(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			got = append(got, e.Event.ID+"@"+e.Seq)
		}
		if err := feed.Ack(t.Context(), page); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"ev_1@parent/101/0", "ev_2@parent/101/1", "ev_3@parent/102/0", "ev_4@child/201/0"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("feed delivered %v, want %v", got, want)
	}
	if !fs.expired {
		t.Fatal("the iterator never expired: the test did not exercise the resume")
	}
}

// feedByKey reads n events from a new stream feed of s's table, by Key in
// the order delivered (the wait bounds a hang, not a speed).
func feedByKey(t *testing.T, s *dynamo.Store, api dynamo.API, n int) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	deadline := time.Now().Add(3 * time.Minute)
	feed := dynamo.New(api, s.Table(), dynamo.WithStreams(streamsOf(t))).Outbox()
	for read := 0; read < n; {
		if time.Now().After(deadline) {
			t.Fatalf("the feed delivered %d of %d events: %v", read, n, got)
		}
		page, err := feed.Next(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			got[e.Key] = append(got[e.Key], e.Event.ID)
			read++
		}
		_ = feed.Ack(t.Context(), page)
		if len(page) == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return got
}

// A Tx's events of one Key are one outbox item (in Tx order), so DynamoDB
// cannot reorder them; different Keys are different items.
func TestOutboxIsOneItemPerKey(t *testing.T) {
	s, rec := recordingStore(t)
	commit(t, s, store.Tx{
		Conversations: []store.ConversationWrite{{Value: conversation("cv_1", "team_a", "")}},
		Outbox:        []store.OutboxEvent{outboxEvent("cv_1", "e1"), outboxEvent("ag_1", "e2"), outboxEvent("cv_1", "e3")},
	})
	if len(rec.calls) != 1 || strings.Count(rec.calls[0], "OUTBOX#") != 2 {
		t.Fatalf("writes %q, want one transaction with two outbox items", rec.calls)
	}
	got := feedByKey(t, s, rec.API, 3)
	if strings.Join(got["cv_1"], ",") != "e1,e3" || strings.Join(got["ag_1"], ",") != "e2" {
		t.Fatalf("feed by key %v, want cv_1: e1,e3 and ag_1: e2", got)
	}
}

// A conversation's events ride on a timeline entry of it that the Tx
// writes, when they fit in the entry's last started KB (2 WRU saved: no
// item of their own); a Key with no entry, and events too big to ride, get
// an outbox item. The feed delivers both the same way, in Tx order.
func TestOutboxRidesOnTheTimelineEntry(t *testing.T) {
	s, rec := recordingStore(t)
	commit(t, s, store.Tx{
		Conversations: []store.ConversationWrite{{Value: conversation("cv_1", "team_a", "")}},
		Events:        []routing.Event{event("ev_1", "cv_1", t0)},
		Outbox:        []store.OutboxEvent{outboxEvent("cv_1", "e1"), outboxEvent("ag_1", "e2"), outboxEvent("cv_1", "e3")},
	})
	if len(rec.calls) != 1 || strings.Count(rec.calls[0], "OUTBOX#") != 1 || !strings.Contains(rec.calls[0], "OUTBOX#ag_1") {
		t.Fatalf("writes %q, want one transaction with ag_1's outbox item only", rec.calls)
	}
	big := outboxEvent("cv_2", "e4")
	big.Event.Detail, _ = json.Marshal(map[string]string{"conversationId": "cv_2", "text": strings.Repeat("x", 900)})
	rec.calls = nil
	commit(t, s, store.Tx{ // the entry and the events would cross a KB
		Conversations: []store.ConversationWrite{{Value: conversation("cv_2", "team_a", "")}},
		Events:        []routing.Event{event("ev_2", "cv_2", t0)},
		Outbox:        []store.OutboxEvent{big},
	})
	if len(rec.calls) != 1 || !strings.Contains(rec.calls[0], "OUTBOX#cv_2") {
		t.Fatalf("writes %q, want cv_2's events in an outbox item", rec.calls)
	}
	got := feedByKey(t, s, rec.API, 4)
	if strings.Join(got["cv_1"], ",") != "e1,e3" || strings.Join(got["ag_1"], ",") != "e2" || strings.Join(got["cv_2"], ",") != "e4" {
		t.Fatalf("feed by key %v, want cv_1: e1,e3, ag_1: e2 and cv_2: e4", got)
	}
	// the entry reads back as it was written
	p, err := s.Events(t.Context(), "cv_1", store.PageRequest{})
	if err != nil || len(p.Items) != 1 || p.Items[0].ID != "ev_1" || p.Items[0].Note != "note ev_1" {
		t.Fatalf("timeline %+v %v", p.Items, err)
	}
}

// A shard that had nothing new is left alone for the idle time: DynamoDB
// Streams allows 5 GetRecords a second per shard, shared by every reader,
// and the relay asks for more every few milliseconds.
func TestStreamFeedLeavesAnIdleShardAlone(t *testing.T) {
	fs := &fakeStreams{expired: true, records: map[string][]stypes.Record{
		"parent": {streamRecord(t, "101", "INSERT", "cv_1", "ev_1")},
		"child":  {streamRecord(t, "201", "INSERT", "cv_1", "ev_2")},
	}}
	feed := dynamo.New(&fakeAPI{}, "tbl", dynamo.WithStreams(fs), dynamo.WithStreamIdle(time.Hour)).Outbox()
	page, err := feed.Next(t.Context(), 10)
	if err != nil || len(page) != 2 {
		t.Fatalf("first Next: %v %v, want ev_1 and ev_2", page, err)
	}
	if err := feed.Ack(t.Context(), page); err != nil {
		t.Fatal(err)
	}
	calls := len(fs.gets)
	for range 5 {
		if page, err := feed.Next(t.Context(), 10); err != nil || len(page) != 0 {
			t.Fatalf("idle Next: %v %v", page, err)
		}
	}
	if len(fs.gets) != calls {
		t.Fatalf("%d GetRecords calls on an idle open shard within its idle time, want none", len(fs.gets)-calls)
	}
}

// A commit of this store wakes its idle feed at once: a relay draining right
// after a commit sees its events (other processes' commits wait out the
// idle time).
func TestStreamFeedWakesOnThisStoresCommit(t *testing.T) {
	s := newStore(t, dynamo.WithStreamIdle(time.Hour))
	feed := s.Outbox()
	if page, err := feed.Next(t.Context(), 10); err != nil || len(page) != 0 {
		t.Fatalf("empty table: %v %v", page, err) // the shard is idle for an hour now
	}
	commit(t, s, store.Tx{Outbox: []store.OutboxEvent{outboxEvent("cv_1", "e1")}})
	deadline := time.Now().Add(3 * time.Minute) // a bound for a hang, far below the hour of idleness
	for {
		page, err := feed.Next(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 1 && page[0].Event.ID == "e1" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the commit's event never came: %v", page)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
