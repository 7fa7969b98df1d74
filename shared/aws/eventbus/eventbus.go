// Package eventbus publishes Switchboard's events to Amazon EventBridge
// (events.Publisher over PutEvents) and turns the EventBridge events the
// dispatcher receives back into events.Event.
//
// EventBridge gives every event its own id, but consumers dedupe on
// Switchboard's (it names workflow executions, so a redelivered or replayed
// event starts nothing new). The publisher therefore carries the
// Switchboard id inside the detail, under IDField, and FromEventBridge takes
// it out again.
package eventbus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// API is the part of the EventBridge client the publisher calls;
// *eventbridge.Client implements it.
type API interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ API = (*eventbridge.Client)(nil)

// EventBridge's PutEvents limits.
const (
	MaxEntries      = 10         // entries per request
	MaxRequestBytes = 256 * 1024 // total entry size per request (see EntrySize)
)

// IDField is the detail member that carries the Switchboard event id.
const IDField = "switchboardEventId"

// Publisher implements events.Publisher on an EventBridge bus. It is safe for
// concurrent use.
type Publisher struct {
	api     API
	bus     string
	retries int
	backoff time.Duration
	sleep   func(ctx context.Context, d time.Duration) error
	log     *slog.Logger
}

var _ events.Publisher = (*Publisher)(nil)

// Option configures a Publisher.
type Option func(*Publisher)

// WithRetries sets how many times entries EventBridge failed are sent again
// (default 4) and the first backoff (default 100ms, doubling).
func WithRetries(n int, backoff time.Duration) Option {
	return func(p *Publisher) { p.retries, p.backoff = n, backoff }
}

// WithSleep replaces the backoff's sleep (tests).
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(p *Publisher) { p.sleep = f }
}

// WithLogger sets the logger of errors reported to callers only by count.
func WithLogger(l *slog.Logger) Option { return func(p *Publisher) { p.log = l } }

// New returns a publisher to the named bus. It makes no call.
func New(api API, busName string, opts ...Option) *Publisher {
	p := &Publisher{api: api, bus: busName, retries: 4, backoff: 100 * time.Millisecond, sleep: clock.Sleep, log: slog.Default()}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Publish sends the events in requests of at most MaxEntries entries and
// MaxRequestBytes. Entries EventBridge reports as failed are sent again
// with backoff; those still failing after the retries, or refused outright,
// make the error, a *routing.Error saying how many of how many failed.
func (p *Publisher) Publish(ctx context.Context, evs ...events.Event) error {
	if len(evs) == 0 {
		return nil
	}
	entries := make([]types.PutEventsRequestEntry, 0, len(evs))
	var invalid []string
	for _, ev := range evs {
		e, err := p.entry(ev)
		if err != nil {
			invalid = append(invalid, err.Error())
			continue
		}
		entries = append(entries, e)
	}
	failed := len(invalid)
	codes := map[string]int{}
	for _, msg := range invalid {
		codes[msg]++
	}
	var callErr error
	for _, batch := range batches(entries) {
		n, batchCodes, err := p.send(ctx, batch)
		failed += n
		for c, k := range batchCodes {
			codes[c] += k
		}
		if err != nil && callErr == nil {
			callErr = err
		}
	}
	if failed == 0 {
		return nil
	}
	p.log.ErrorContext(ctx, "eventbus: events not published", "bus", p.bus, "failed", failed, "total", len(evs), "codes", codes)
	code := routing.CodeUnavailable
	if routing.ErrorCode(callErr) == routing.CodeInternal {
		code = routing.CodeInternal
	}
	return routing.Errorf(code, "%d of %d events were not published (%s)", failed, len(evs), summary(codes))
}

func summary(codes map[string]int) string {
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, codes[k])
	}
	return strings.Join(parts, ", ")
}

// entry builds the PutEvents entry of ev.
func (p *Publisher) entry(ev events.Event) (types.PutEventsRequestEntry, error) {
	if ev.DetailType == "" {
		return types.PutEventsRequestEntry{}, errors.New("no detail-type")
	}
	source := ev.Source
	if source == "" {
		source = events.Source
	}
	detail, err := withID(ev.Detail, ev.ID)
	if err != nil {
		return types.PutEventsRequestEntry{}, err
	}
	e := types.PutEventsRequestEntry{
		EventBusName: aws.String(p.bus),
		Source:       aws.String(source),
		DetailType:   aws.String(ev.DetailType),
		Detail:       aws.String(string(detail)),
	}
	if !ev.Time.IsZero() {
		e.Time = aws.Time(ev.Time.UTC())
	}
	if EntrySize(e) > MaxRequestBytes {
		return types.PutEventsRequestEntry{}, errors.New("event larger than 256 KB")
	}
	return e, nil
}

// withID returns detail (a JSON object; empty means {}) with IDField set to id.
func withID(detail json.RawMessage, id string) ([]byte, error) {
	d := bytes.TrimSpace(detail)
	if len(d) == 0 || bytes.Equal(d, []byte("null")) {
		d = []byte("{}")
	}
	if d[0] != '{' || !json.Valid(d) {
		return nil, errors.New("detail is not a JSON object")
	}
	if id == "" {
		return d, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(d, &m); err != nil {
		return nil, errors.New("detail is not a JSON object")
	}
	if _, ok := m[IDField]; ok {
		delete(m, IDField)
		if d, err := json.Marshal(m); err == nil {
			return withID(d, id)
		}
	}
	idJSON, _ := json.Marshal(id)
	var b bytes.Buffer
	b.Grow(len(d) + len(IDField) + len(idJSON) + 4)
	b.WriteString(`{"` + IDField + `":`)
	b.Write(idJSON)
	rest := bytes.TrimSpace(d[1:])
	if len(rest) > 0 && rest[0] != '}' {
		b.WriteByte(',')
	}
	b.Write(rest)
	return b.Bytes(), nil
}

// EntrySize is an entry's size as EventBridge counts it against the
// 256 KB request limit: 14 bytes for Time, plus the UTF-8 bytes of Source,
// DetailType, Detail and each Resource.
func EntrySize(e types.PutEventsRequestEntry) int {
	n := 0
	if e.Time != nil {
		n += 14
	}
	n += len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail))
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// batches splits entries, in order, into requests within both limits.
func batches(entries []types.PutEventsRequestEntry) [][]types.PutEventsRequestEntry {
	var out [][]types.PutEventsRequestEntry
	var cur []types.PutEventsRequestEntry
	size := 0
	for _, e := range entries {
		s := EntrySize(e)
		if len(cur) == MaxEntries || (len(cur) > 0 && size+s > MaxRequestBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, e)
		size += s
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// send puts one batch, sending failed entries again with backoff. It
// returns how many entries finally failed, by error code, and the
// translated error of a request that failed as a whole.
func (p *Publisher) send(ctx context.Context, batch []types.PutEventsRequestEntry) (int, map[string]int, error) {
	pending := batch
	delay := p.backoff
	for attempt := 0; ; attempt++ {
		out, err := p.api.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: pending})
		codes := map[string]int{}
		var retry []types.PutEventsRequestEntry
		if err != nil {
			tr, retryable := p.translate(ctx, err)
			if !retryable || attempt >= p.retries {
				codes[errorCode(err)] += len(pending)
				return len(pending), codes, tr
			}
			retry = pending
		} else {
			if out.FailedEntryCount == 0 {
				return 0, nil, nil
			}
			for i, r := range out.Entries {
				if i >= len(pending) {
					break
				}
				if r.ErrorCode != nil && *r.ErrorCode != "" {
					retry = append(retry, pending[i])
					codes[*r.ErrorCode]++
				}
			}
			if len(retry) == 0 { // a failure count without per-entry codes: which ones failed is unknown, count them
				codes["Unknown"] += int(out.FailedEntryCount)
				return int(out.FailedEntryCount), codes, nil
			}
			if attempt >= p.retries {
				return len(retry), codes, nil
			}
		}
		if err := p.sleep(ctx, delay); err != nil {
			codes := map[string]int{"Cancelled": len(retry)}
			return len(retry), codes, routing.Errorf(routing.CodeUnavailable, "publishing was cancelled")
		}
		if delay < 5*time.Second {
			delay *= 2
		}
		pending = retry
	}
}

func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "Cancelled"
	}
	return "RequestFailed"
}

// translate maps a failed PutEvents call to a *routing.Error and says
// whether sending again may help.
func (p *Publisher) translate(ctx context.Context, err error) (error, bool) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return routing.Errorf(routing.CodeUnavailable, "publishing was cancelled or timed out"), false
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ThrottlingException", "InternalException", "InternalFailure", "ServiceUnavailable", "LimitExceededException":
			return routing.Errorf(routing.CodeUnavailable, "the event bus is busy, try again"), true
		}
		p.log.ErrorContext(ctx, "eventbus: PutEvents refused", "bus", p.bus, "code", api.ErrorCode(), "error", err)
		return routing.Errorf(routing.CodeInternal, "the event bus refused the events"), false
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		p.log.WarnContext(ctx, "eventbus: network error", "bus", p.bus, "error", err)
		return routing.Errorf(routing.CodeUnavailable, "the event bus is unreachable, try again"), true
	}
	p.log.ErrorContext(ctx, "eventbus: unexpected error", "bus", p.bus, "error", err)
	return routing.Errorf(routing.CodeInternal, "event bus failure"), false
}

// Received is an event as EventBridge delivers it to a Lambda target (the
// fields of aws-lambda-go's events.CloudWatchEvent that matter here).
type Received struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Time       time.Time       `json:"time"`
	Detail     json.RawMessage `json:"detail"`
}

// FromEventBridge turns a delivered EventBridge event into the event that
// was published: its id is the Switchboard id carried in the detail (the
// EventBridge id when there is none, e.g. an event put by hand), and the
// detail loses IDField.
func FromEventBridge(r Received) events.Event {
	ev := events.Event{ID: r.ID, DetailType: r.DetailType, Source: r.Source, Time: r.Time.UTC(), Detail: r.Detail}
	d := bytes.TrimSpace(r.Detail)
	if len(d) == 0 || d[0] != '{' {
		return ev
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(d, &m) != nil {
		return ev
	}
	raw, ok := m[IDField]
	if !ok {
		return ev
	}
	var id string
	if json.Unmarshal(raw, &id) == nil && id != "" {
		ev.ID = id
	}
	delete(m, IDField)
	if b, err := json.Marshal(m); err == nil {
		ev.Detail = b
	}
	return ev
}
