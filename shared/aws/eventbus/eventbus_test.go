package eventbus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/aws/awsfake"
	"github.com/switchboard-oss/switchboard/shared/aws/eventbus"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeBus records PutEvents calls; failFor decides, per call and entry, the
// error code EventBridge reports for the entry ("" = accepted).
type fakeBus struct {
	mu      sync.Mutex
	calls   [][]types.PutEventsRequestEntry
	failFor func(call, entry int, e types.PutEventsRequestEntry) string
	callErr func(call int) error
}

func (f *fakeBus) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := len(f.calls)
	f.calls = append(f.calls, in.Entries)
	if len(in.Entries) > eventbus.MaxEntries {
		return nil, &smithy.GenericAPIError{Code: "ValidationException", Message: "too many entries"}
	}
	size := 0
	for _, e := range in.Entries {
		size += eventbus.EntrySize(e)
	}
	if size > eventbus.MaxRequestBytes {
		return nil, &smithy.GenericAPIError{Code: "ValidationException", Message: "Total size of the entries in the request is over the limit."}
	}
	if f.callErr != nil {
		if err := f.callErr(call); err != nil {
			return nil, err
		}
	}
	out := &eventbridge.PutEventsOutput{}
	for i, e := range in.Entries {
		code := ""
		if f.failFor != nil {
			code = f.failFor(call, i, e)
		}
		if code != "" {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, types.PutEventsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("failed")})
		} else {
			out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String(fmt.Sprintf("eb-%d-%d", call, i))})
		}
	}
	return out, nil
}

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

var at = time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)

func opened(i int) events.Event {
	ev, err := events.New(fmt.Sprintf("ev_%03d", i), events.ConversationOpened, at,
		events.ConversationOpenedDetail{ConversationID: fmt.Sprintf("cv_%d", i), ContactID: "ct_1", ChannelID: "web", Source: "contact", Text: "hola"})
	if err != nil {
		panic(err)
	}
	return ev
}

func TestPublishBatchesOfTen(t *testing.T) {
	f := &fakeBus{}
	p := eventbus.New(f, "switchboard", eventbus.WithLogger(quiet))
	var evs []events.Event
	for i := 0; i < 25; i++ {
		evs = append(evs, opened(i))
	}
	if err := p.Publish(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 3 || len(f.calls[0]) != 10 || len(f.calls[1]) != 10 || len(f.calls[2]) != 5 {
		t.Fatalf("batches %d (%v)", len(f.calls), sizes(f.calls))
	}
	n := 0
	for _, batch := range f.calls {
		for _, e := range batch {
			want := evs[n]
			if *e.EventBusName != "switchboard" || *e.Source != events.Source || *e.DetailType != events.ConversationOpened || !e.Time.Equal(at) {
				t.Errorf("entry %d: bus %q source %q type %q time %v", n, *e.EventBusName, *e.Source, *e.DetailType, e.Time)
			}
			var d map[string]any
			if err := json.Unmarshal([]byte(*e.Detail), &d); err != nil {
				t.Fatalf("detail %q: %v", *e.Detail, err)
			}
			if d[eventbus.IDField] != want.ID || d["conversationId"] != fmt.Sprintf("cv_%d", n) {
				t.Errorf("entry %d detail %s", n, *e.Detail)
			}
			n++
		}
	}
}

func sizes(calls [][]types.PutEventsRequestEntry) []int {
	var out []int
	for _, c := range calls {
		out = append(out, len(c))
	}
	return out
}

func bigEvent(i, textBytes int) events.Event {
	ev, _ := events.New(fmt.Sprintf("big_%d", i), events.MessageReceived, at,
		events.MessageReceivedDetail{ConversationID: "cv", ContactID: "ct", MessageID: fmt.Sprint(i), Text: strings.Repeat("x", textBytes)})
	return ev
}

func TestPublishRespectsRequestSize(t *testing.T) {
	f := &fakeBus{}
	p := eventbus.New(f, "switchboard", eventbus.WithLogger(quiet))
	var evs []events.Event
	for i := 0; i < 5; i++ {
		evs = append(evs, bigEvent(i, 100*1024)) // two fit in 256 KB, three do not
	}
	if err := p.Publish(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
	if got := sizes(f.calls); fmt.Sprint(got) != "[2 2 1]" {
		t.Errorf("batches %v, want [2 2 1]", got)
	}
}

func TestOversizeEventIsReportedOthersSent(t *testing.T) {
	f := &fakeBus{}
	p := eventbus.New(f, "switchboard", eventbus.WithLogger(quiet))
	err := p.Publish(context.Background(), opened(1), bigEvent(2, 300*1024), opened(3))
	if routing.ErrorCode(err) != routing.CodeUnavailable || !strings.Contains(err.Error(), "1 of 3 events") {
		t.Fatalf("err %v, want 1 of 3 not published", err)
	}
	if len(f.calls) != 1 || len(f.calls[0]) != 2 {
		t.Errorf("calls %v, want the two others sent", sizes(f.calls))
	}
}

func TestFailedEntriesAreRetriedWithBackoff(t *testing.T) {
	f := &fakeBus{failFor: func(call, entry int, e types.PutEventsRequestEntry) string {
		if call == 0 && (entry == 1 || entry == 3) {
			return "ThrottlingException"
		}
		return ""
	}}
	s := &sleeps{}
	p := eventbus.New(f, "switchboard", eventbus.WithSleep(s.sleep), eventbus.WithLogger(quiet))
	evs := []events.Event{opened(0), opened(1), opened(2), opened(3)}
	if err := p.Publish(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 2 || len(f.calls[1]) != 2 {
		t.Fatalf("calls %v, want a retry of the 2 failed entries", sizes(f.calls))
	}
	for i, want := range []string{evs[1].ID, evs[3].ID} {
		if !strings.Contains(*f.calls[1][i].Detail, want) {
			t.Errorf("retry %d sent %s, want %s", i, *f.calls[1][i].Detail, want)
		}
	}
	if len(s.d) != 1 || s.d[0] != 100*time.Millisecond {
		t.Errorf("sleeps %v", s.d)
	}
}

func TestEntriesThatKeepFailingMakeTheError(t *testing.T) {
	f := &fakeBus{failFor: func(call, entry int, e types.PutEventsRequestEntry) string {
		if strings.Contains(*e.Detail, "ev_002") {
			return "InternalFailure"
		}
		return ""
	}}
	s := &sleeps{}
	p := eventbus.New(f, "switchboard", eventbus.WithSleep(s.sleep), eventbus.WithRetries(3, 50*time.Millisecond), eventbus.WithLogger(quiet))
	err := p.Publish(context.Background(), opened(1), opened(2), opened(3))
	if routing.ErrorCode(err) != routing.CodeUnavailable || !strings.Contains(err.Error(), "1 of 3 events were not published (InternalFailure: 1)") {
		t.Fatalf("err %v", err)
	}
	if len(f.calls) != 4 {
		t.Errorf("%d calls, want 1 + 3 retries", len(f.calls))
	}
	if fmt.Sprint(s.d) != "[50ms 100ms 200ms]" {
		t.Errorf("backoff %v", s.d)
	}
}

func TestWholeRequestErrors(t *testing.T) {
	ctx := context.Background()
	// throttled calls are sent again
	f := &fakeBus{callErr: func(call int) error {
		if call < 2 {
			return &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
		}
		return nil
	}}
	s := &sleeps{}
	if err := eventbus.New(f, "b", eventbus.WithSleep(s.sleep), eventbus.WithLogger(quiet)).Publish(ctx, opened(1)); err != nil {
		t.Fatalf("throttled twice then accepted: %v", err)
	}
	if len(f.calls) != 3 {
		t.Errorf("%d calls", len(f.calls))
	}
	// a refused call is not retried and does not leak AWS text
	f = &fakeBus{callErr: func(int) error {
		return &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "arn:aws:iam::123456789012:role/x is not authorized"}
	}}
	err := eventbus.New(f, "b", eventbus.WithSleep(s.sleep), eventbus.WithLogger(quiet)).Publish(ctx, opened(1), opened(2))
	if routing.ErrorCode(err) != routing.CodeInternal || !strings.Contains(err.Error(), "2 of 2") || strings.Contains(err.Error(), "123456789012") {
		t.Errorf("access denied: %v", err)
	}
	if len(f.calls) != 1 {
		t.Errorf("refused call sent %d times", len(f.calls))
	}
	// cancellation stops the retries
	cctx, cancel := context.WithCancel(ctx)
	f = &fakeBus{failFor: func(int, int, types.PutEventsRequestEntry) string { return "ThrottlingException" }}
	p := eventbus.New(f, "b", eventbus.WithLogger(quiet), eventbus.WithSleep(func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}))
	if err := p.Publish(cctx, opened(1)); routing.ErrorCode(err) != routing.CodeUnavailable {
		t.Errorf("cancelled: %v", err)
	}
	if len(f.calls) != 1 {
		t.Errorf("cancelled publish made %d calls", len(f.calls))
	}
}

func TestBadEvents(t *testing.T) {
	f := &fakeBus{}
	p := eventbus.New(f, "b", eventbus.WithLogger(quiet))
	err := p.Publish(context.Background(),
		events.Event{ID: "a", DetailType: "x", Detail: json.RawMessage(`[1,2]`)},
		events.Event{ID: "b", Detail: json.RawMessage(`{}`)},
		events.Event{ID: "c", DetailType: "y"}, // no detail: {} with the id
	)
	if !strings.Contains(fmt.Sprint(err), "2 of 3") {
		t.Errorf("err %v", err)
	}
	if len(f.calls) != 1 || *f.calls[0][0].Detail != `{"`+eventbus.IDField+`":"c"}` || *f.calls[0][0].Source != events.Source {
		t.Errorf("sent %v", f.calls)
	}
	if err := p.Publish(context.Background()); err != nil || len(f.calls) != 1 {
		t.Errorf("no events: %v, %d calls", err, len(f.calls))
	}
}

// Every detail type survives publish -> EventBridge -> FromEventBridge with
// its Switchboard id.
func TestRoundTripThroughEventBridgeShape(t *testing.T) {
	details := map[string]any{
		events.ConversationOpened:  events.ConversationOpenedDetail{ConversationID: "cv", ContactID: "ct", ChannelID: "web", Source: "contact", Text: "hi"},
		events.ConversationClosed:  events.ConversationClosedDetail{ConversationID: "cv", AgentID: "ana", By: "agent:ana"},
		events.ConversationRouted:  map[string]string{"conversationId": "cv", "status": "assigned"},
		events.MessageReceived:     events.MessageReceivedDetail{ConversationID: "cv", ContactID: "ct", MessageID: "m1", Text: "sales"},
		events.ContactFieldChanged: events.ContactFieldChangedDetail{ContactID: "ct", Field: "language", Old: "", New: "es"},
		events.ShortcutInvoked:     events.ShortcutInvokedDetail{ConversationID: "cv", WorkflowID: "wf", AgentID: "ana", Form: map[string]string{"team": "billing"}, RunName: "r1"},
		events.CapacityReleased:    events.CapacityReleasedDetail{AgentID: "ana", Reason: "closed"},
	}
	f := &fakeBus{}
	p := eventbus.New(f, "switchboard", eventbus.WithLogger(quiet))
	for typ, d := range details {
		ev, err := events.New("ev-"+typ, typ, at, d)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Publish(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		e := f.calls[len(f.calls)-1][0]
		got := eventbus.FromEventBridge(eventbus.Received{ID: "eventbridge-id", DetailType: *e.DetailType, Source: *e.Source, Time: *e.Time, Detail: json.RawMessage(*e.Detail)})
		if got.ID != ev.ID || got.DetailType != typ || got.Source != events.Source || !got.Time.Equal(at) {
			t.Errorf("%s: got %+v", typ, got)
		}
		var want, have map[string]any
		_ = json.Unmarshal(ev.Detail, &want)
		if err := json.Unmarshal(got.Detail, &have); err != nil || fmt.Sprint(want) != fmt.Sprint(have) {
			t.Errorf("%s: detail %s, want %s", typ, got.Detail, ev.Detail)
		}
	}
	// an event put by someone else keeps EventBridge's id and its detail
	got := eventbus.FromEventBridge(eventbus.Received{ID: "eb-1", DetailType: "x", Detail: json.RawMessage(`{"a":1}`)})
	if got.ID != "eb-1" || string(got.Detail) != `{"a":1}` {
		t.Errorf("foreign event %+v", got)
	}
	// a detail already carrying the field (a received event published again) keeps one id: the new one
	ev := events.Event{ID: "new", DetailType: "x", Detail: json.RawMessage(`{"` + eventbus.IDField + `":"old","a":1}`)}
	if err := p.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if d := *f.calls[len(f.calls)-1][0].Detail; strings.Count(d, eventbus.IDField) != 1 || !strings.Contains(d, `"new"`) {
		t.Errorf("republished detail %s", d)
	}
}

// The publisher through the real SDK client against a server speaking the
// EventBridge JSON protocol.
func TestAgainstEventBridgeWireProtocol(t *testing.T) {
	srv := awsfake.New()
	defer srv.Close()
	client := eventbridge.New(eventbridge.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("local", "local", ""),
		RetryMaxAttempts: 1, // the publisher's own retries are under test
	})
	p := eventbus.New(client, "switchboard", eventbus.WithLogger(quiet), eventbus.WithSleep(func(context.Context, time.Duration) error { return nil }))
	srv.FailNext("PutEvents", "ThrottlingException")
	var evs []events.Event
	for i := 0; i < 12; i++ {
		evs = append(evs, opened(i))
	}
	if err := p.Publish(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
	got := srv.Events()
	if len(got) != 12 {
		t.Fatalf("%d events arrived, want 12", len(got))
	}
	for i, e := range got {
		if e.EventBusName != "switchboard" || e.DetailType != events.ConversationOpened || !strings.Contains(e.Detail, evs[i].ID) {
			t.Errorf("event %d: %+v", i, e)
		}
	}
	srv.FailNext("PutEvents", "AccessDeniedException")
	err := p.Publish(context.Background(), opened(99))
	var re *routing.Error
	if !errors.As(err, &re) || re.Code != routing.CodeInternal {
		t.Errorf("access denied over the wire: %v", err)
	}
}
