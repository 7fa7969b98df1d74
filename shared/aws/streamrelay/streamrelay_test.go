package streamrelay_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/aws/streamrelay"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo/dynamolocal"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.Main(m)) }

var t0 = time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)

func busEvent(key, id string) store.OutboxEvent {
	return store.OutboxEvent{Key: key, Event: events.Event{ID: id, DetailType: events.MessageReceived, Source: events.Source, Time: t0,
		Detail: json.RawMessage(fmt.Sprintf(`{"conversationId":%q}`, key))}}
}

// fakePublisher records what is published; fail names an event id whose
// request fails.
type fakePublisher struct {
	mu    sync.Mutex
	calls [][]string
	fail  string
}

func (f *fakePublisher) Publish(_ context.Context, evs ...events.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, e := range evs {
		if e.ID == f.fail {
			return errors.New("PutEvents: 1 of 1 entries failed")
		}
		ids = append(ids, e.ID)
	}
	f.calls = append(f.calls, ids)
	return nil
}

func (f *fakePublisher) ids() []string {
	var out []string
	for _, c := range f.calls {
		out = append(out, c...)
	}
	return out
}

// streamBatch commits txs to a fresh table on DynamoDB Local and returns the
// table's stream records as the Lambda event source mapping would hand them
// to the function: the same images, in shard order.
func streamBatch(t *testing.T, txs ...store.Tx) lambdaevents.DynamoDBEvent {
	t.Helper()
	srv := dynamolocal.Shared(t)
	client := srv.Client()
	table := fmt.Sprintf("relay-%d", time.Now().UnixNano())
	if err := dynamo.CreateTable(t.Context(), client, table); err != nil {
		t.Fatal(err)
	}
	st := dynamo.New(client, table, dynamo.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	for _, tx := range txs {
		if err := st.Commit(t.Context(), tx); err != nil {
			t.Fatal(err)
		}
	}
	batch, err := srv.StreamEvent(t.Context(), table)
	if err != nil {
		t.Fatal(err)
	}
	return batch
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// The records DynamoDB Local streams for the store's commits decode with the
// store's codec and are published in commit order per key; the table's other
// records (the conversation) are skipped.
func TestRelayPublishesTheStoresOutboxInOrder(t *testing.T) {
	batch := streamBatch(t,
		store.Tx{
			Conversations: []store.ConversationWrite{{Value: routing.Conversation{ID: "cv_1", Status: routing.ConvPending, OpenedAt: t0}}},
			Outbox:        []store.OutboxEvent{busEvent("cv_1", "e1"), busEvent("cv_2", "f1"), busEvent("cv_1", "e2")},
		},
		store.Tx{Outbox: []store.OutboxEvent{busEvent("cv_1", "e3")}},
		// these ride on the commit's timeline entry of cv_1, not an outbox item
		store.Tx{
			Events: []routing.Event{{ID: "ev_1", ConversationID: "cv_1", At: t0, Type: routing.EvComment, Actor: "system"}},
			Outbox: []store.OutboxEvent{busEvent("cv_1", "e4"), busEvent("cv_1", "e5")},
		},
		store.Tx{Outbox: []store.OutboxEvent{busEvent("cv_2", "f2")}},
	)
	carried := 0
	for _, r := range batch.Records {
		if strings.HasPrefix(r.Change.NewImage["pk"].String(), "CONV#") && r.Change.NewImage["outbox"].DataType() == lambdaevents.DataTypeString {
			carried++
		}
	}
	if carried != 1 {
		t.Fatalf("%d timeline entries carry events, want 1", carried)
	}
	pub := &fakePublisher{}
	resp, err := streamrelay.New(pub, quiet()).Handle(t.Context(), batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle: %+v, %v", resp, err)
	}
	var perKey = map[string][]string{}
	for _, id := range pub.ids() {
		perKey[id[:1]] = append(perKey[id[:1]], id)
	}
	if strings.Join(perKey["e"], ",") != "e1,e2,e3,e4,e5" || strings.Join(perKey["f"], ",") != "f1,f2" || len(pub.ids()) != 7 {
		t.Fatalf("published %v, want e1..e5 and f1,f2 in order, each once", pub.ids())
	}
}

// A failed publish stops the batch at the failed record and reports it, so
// Lambda retries from there: nothing after it is published before it.
func TestRelayReportsTheFirstFailedRecord(t *testing.T) {
	var txs []store.Tx
	for i := range 15 {
		txs = append(txs, store.Tx{Outbox: []store.OutboxEvent{busEvent("cv_1", fmt.Sprintf("e%02d", i))}})
	}
	batch := streamBatch(t, txs...)
	pub := &fakePublisher{fail: "e12"}
	resp, err := streamrelay.New(pub, quiet()).Handle(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 {
		t.Fatalf("failures %+v, want one", resp.BatchItemFailures)
	}
	// The failed request held e10..e14; the first record of it is e10's.
	failed := resp.BatchItemFailures[0].ItemIdentifier
	var failedIDs []string
	for _, r := range batch.Records {
		if r.Change.SequenceNumber == failed {
			var evs []events.Event
			if err := json.Unmarshal([]byte(r.Change.NewImage["doc"].String()), &evs); err != nil {
				t.Fatal(err)
			}
			failedIDs = append(failedIDs, evs[0].ID)
		}
	}
	if strings.Join(failedIDs, ",") != "e10" {
		t.Fatalf("reported record holds %v, want e10 (the first record of the failed request)", failedIDs)
	}
	if got := strings.Join(pub.ids(), ","); got != "e00,e01,e02,e03,e04,e05,e06,e07,e08,e09" {
		t.Fatalf("published %s, want e00..e09 only", got)
	}

	// Lambda retries from the reported record: the rest goes out in order.
	var retry lambdaevents.DynamoDBEvent
	for i, r := range batch.Records {
		if r.Change.SequenceNumber == failed {
			retry.Records = batch.Records[i:]
		}
	}
	pub.fail = ""
	if resp, err := streamrelay.New(pub, quiet()).Handle(t.Context(), retry); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("retry: %+v %v", resp, err)
	}
	if got := strings.Join(pub.ids()[10:], ","); got != "e10,e11,e12,e13,e14" {
		t.Fatalf("retry published %s", got)
	}
}

// An outbox record that does not decode fails the batch at that record
// (after publishing the ones before it): it ends in the failure destination
// after the mapping's retries instead of vanishing.
func TestRelayUndecodableRecordIsAFailure(t *testing.T) {
	good := func(seq, id string) lambdaevents.DynamoDBEventRecord {
		doc, _ := json.Marshal([]events.Event{busEvent("cv_1", id).Event})
		return lambdaevents.DynamoDBEventRecord{EventName: "INSERT", Change: lambdaevents.DynamoDBStreamRecord{SequenceNumber: seq, NewImage: map[string]lambdaevents.DynamoDBAttributeValue{
			"pk": lambdaevents.NewStringAttribute("OUTBOX#cv_1"), "sk": lambdaevents.NewStringAttribute("x#" + id), "type": lambdaevents.NewStringAttribute("outbox"),
			"outboxKey": lambdaevents.NewStringAttribute("cv_1"), "doc": lambdaevents.NewStringAttribute(string(doc)),
		}}}
	}
	bad := good("300", "x")
	bad.Change.NewImage["doc"] = lambdaevents.NewStringAttribute("{not json")
	removed := good("150", "gone")
	removed.EventName = "REMOVE"
	batch := lambdaevents.DynamoDBEvent{Records: []lambdaevents.DynamoDBEventRecord{good("100", "a"), removed, good("200", "b"), bad, good("400", "c")}}
	pub := &fakePublisher{}
	resp, err := streamrelay.New(pub, quiet()).Handle(t.Context(), batch)
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "300" {
		t.Fatalf("Handle: %+v %v, want the failure of record 300", resp, err)
	}
	if got := strings.Join(pub.ids(), ","); got != "a,b" {
		t.Fatalf("published %s, want a,b", got)
	}
}
