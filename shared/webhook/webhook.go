// Package webhook is the HTTP entry point of messaging providers:
// GET|POST /v1/webhooks/{provider}.
//
// A POST is handled in this order, and nothing reaches the Ingestor unless
// every step passed:
//
//  1. the provider is looked up by name (unknown: 404);
//  2. the body is read, at most MaxBody bytes (larger: 413);
//  3. the channel is found: by the query parameter channel=<channel id> when
//     present, otherwise by the ChannelExternalID of the parsed (not yet
//     trusted) events, through ChannelLookup; an unknown channel cannot be
//     authenticated (401). Telegram updates name no channel, so Telegram
//     webhook URLs must carry ?channel= (without it: 400 naming "channel");
//  4. the channel's secret is resolved (providers.ResolveCredentials) and the
//     signature verified against the raw body (bad or missing: 401);
//  5. the body is parsed (garbage: 400) and the events are handed to
//     Ingestor.Ingest, one call per channel;
//  6. the provider gets its expected answer at once: 200 with {"ok":true},
//     Twilio's empty TwiML, or a Telegram answerCallbackQuery.
//
// Errors use the API's shape {"error":{"code":"...","message":"...","field":"..."}}.
//
// Idempotency is the Ingestor's: providers redeliver (WhatsApp for up to 7
// days), and the same delivery arriving five times, even concurrently, reaches
// Ingest five times. The engine must claim (channel id, Inbound.MessageID)
// atomically (a conditional put with a TTL) before storing or publishing.
//
// A GET is a verification handshake (Meta's hub.challenge): the verify token
// is checked against the channel of ?channel=<id>, or without it against every
// channel of the provider; it answers the challenge as text/plain, or 403 (a
// wrong or missing token, an unknown channel).
//
// A channel whose secret cannot be resolved (a missing secrets.json entry, an
// unreachable secret store) answers 503 with Retry-After, never 500, and is
// logged as an error naming the channel.
//
// A payload that holds no events (say a Meta account_update) is answered 200
// without a channel when none can be named: nothing is stored, and Meta
// would otherwise retry it for days and disable the webhook.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/httpapi/httperror"
	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Pattern is the route, for a Go 1.22+ http.ServeMux (with GET or POST before it).
const Pattern = "/v1/webhooks/{provider}"

// DefaultMaxBody is the largest body accepted: 1 MiB.
const DefaultMaxBody int64 = 1 << 20

// ChannelLookup finds channels; the lead adapts the store to it. The first two
// methods return a *routing.Error with CodeNotFound for an unknown channel.
type ChannelLookup interface {
	ChannelByExternalID(ctx context.Context, provider, externalID string) (routing.Channel, error)
	GetChannel(ctx context.Context, id string) (routing.Channel, error)
	// ChannelsOf lists the channels of a provider (handshakes without ?channel=).
	ChannelsOf(ctx context.Context, provider string) ([]routing.Channel, error)
}

// RetryAfter is the Retry-After (seconds) of a 503 answer.
const RetryAfter = "30"

// Ingestor receives verified events. It must dedupe by (ch.ID, MessageID)
// atomically, store and publish, and return fast: routing happens later.
type Ingestor interface {
	Ingest(ctx context.Context, ch routing.Channel, msgs []providers.Inbound) error
}

// Handler serves provider webhooks. Providers, Channels, Secrets and Ingestor
// are required.
type Handler struct {
	Providers *providers.Registry
	Channels  ChannelLookup
	Secrets   providers.Secrets
	Ingestor  Ingestor
	// Clock stamps events whose provider gives no time (Twilio); default clock.Real.
	Clock clock.Clock
	// MaxBody limits the body; default DefaultMaxBody.
	MaxBody int64
	// Logger records dropped events and internal failures; nil: discard.
	Logger *slog.Logger
}

// Register mounts the handler on mux at GET and POST Pattern.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("GET "+Pattern, h)
	mux.Handle("POST "+Pattern, h)
}

// ServeHTTP takes the provider from the {provider} path value, or else from
// the last path segment.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("provider")
	if name == "" {
		name = r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	}
	h.Serve(w, r, name)
}

// Serve handles a webhook for the named provider.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, provider string) {
	p, ok := h.Providers.Get(provider)
	if !ok {
		httperror.Write(w, routing.NotFound("provider", provider))
		return
	}
	switch r.Method {
	case http.MethodPost:
		h.post(w, r, p)
	case http.MethodGet:
		h.handshake(w, r, p)
	default:
		w.Header().Set("Allow", "GET, POST")
		httperror.Write(w, &routing.Error{Code: routing.CodeInvalid, Reason: httperror.ReasonMethodNotAllowed, Message: fmt.Sprintf("method %s is not allowed", r.Method)})
	}
}

func (h *Handler) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (h *Handler) maxBody() int64 {
	if h.MaxBody > 0 {
		return h.MaxBody
	}
	return DefaultMaxBody
}

var errUnknownChannel = routing.Errorf(routing.CodeUnauthenticated, "cannot authenticate the webhook: unknown channel")

// group is the events of one verified channel.
type group struct {
	ch     routing.Channel
	events []providers.Inbound
}

func (h *Handler) post(w http.ResponseWriter, r *http.Request, p providers.Provider) {
	ctx := r.Context()
	limit := h.maxBody()
	if r.ContentLength > limit {
		httperror.Write(w, tooLarge(limit))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			httperror.Write(w, tooLarge(limit))
			return
		}
		httperror.Write(w, routing.Invalid("body", "cannot read the body"))
		return
	}

	var groups []group
	if id := r.URL.Query().Get("channel"); id != "" {
		groups, err = h.byChannelParam(r, p, id, body)
	} else {
		groups, err = h.byExternalID(r, p, body)
	}
	if err != nil {
		h.fail(w, err)
		return
	}

	now := h.now()
	var all []providers.Inbound
	for _, g := range groups {
		for i := range g.events {
			if g.events[i].At.IsZero() {
				g.events[i].At = now
			}
			if g.events[i].Provider == "" {
				g.events[i].Provider = p.Name()
			}
		}
		if len(g.events) == 0 {
			continue
		}
		if err := h.Ingestor.Ingest(ctx, g.ch, g.events); err != nil {
			h.log().Error("webhook ingest failed", "provider", p.Name(), "channel", g.ch.ID, "code", routing.ErrorCode(err))
			h.fail(w, err)
			return
		}
		all = append(all, g.events...)
	}
	respond(w, p, all)
}

// byChannelParam handles ?channel=<id>: verify with that channel, then parse.
// Events that name another channel of the same provider go to it if the body
// also verifies with its secret; otherwise they are dropped.
func (h *Handler) byChannelParam(r *http.Request, p providers.Provider, id string, body []byte) ([]group, error) {
	ctx := r.Context()
	ch, err := h.Channels.GetChannel(ctx, id)
	if err != nil {
		if routing.IsNotFound(err) {
			return nil, errUnknownChannel
		}
		return nil, err
	}
	if ch.Provider != p.Name() {
		return nil, errUnknownChannel
	}
	if err := h.verify(r, p, ch, body); err != nil {
		return nil, err
	}
	events, err := p.Parse(body, r)
	if err != nil {
		return nil, err
	}
	main := group{ch: ch}
	others := map[string]*group{}
	var order []string
	for _, e := range events {
		if e.ChannelExternalID == "" || ch.ExternalID == "" || e.ChannelExternalID == ch.ExternalID {
			main.events = append(main.events, e)
			continue
		}
		g, seen := others[e.ChannelExternalID]
		if !seen {
			g = h.otherChannel(r, p, e.ChannelExternalID, body)
			others[e.ChannelExternalID] = g
			order = append(order, e.ChannelExternalID)
		}
		if g != nil {
			g.events = append(g.events, e)
		}
	}
	out := []group{main}
	for _, ext := range order {
		if g := others[ext]; g != nil {
			out = append(out, *g)
		}
	}
	return out, nil
}

// otherChannel returns a group for the channel with external id ext if it
// exists and the body verifies with its secret; nil otherwise (logged).
func (h *Handler) otherChannel(r *http.Request, p providers.Provider, ext string, body []byte) *group {
	ch, err := h.lookupExternal(r.Context(), p.Name(), ext)
	if err != nil {
		h.log().Warn("webhook events for an unknown channel dropped", "provider", p.Name(), "externalId", ext)
		return nil
	}
	if err := h.verify(r, p, ch, body); err != nil {
		h.log().Warn("webhook events for a channel whose secret does not verify dropped", "provider", p.Name(), "channel", ch.ID)
		return nil
	}
	return &group{ch: ch}
}

// byExternalID parses the untrusted body to name the channels, then verifies
// the body with each channel's secret before anything is trusted.
func (h *Handler) byExternalID(r *http.Request, p providers.Provider, body []byte) ([]group, error) {
	ctx := r.Context()
	events, err := p.Parse(body, r)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, nil
	}
	var order []string
	byExt := map[string][]providers.Inbound{}
	for _, e := range events {
		if e.ChannelExternalID == "" {
			return nil, routing.Invalid("channel", "the %s webhook names no channel: add ?channel=<channel id> to the webhook URL", p.Name())
		}
		if _, seen := byExt[e.ChannelExternalID]; !seen {
			order = append(order, e.ChannelExternalID)
		}
		byExt[e.ChannelExternalID] = append(byExt[e.ChannelExternalID], e)
	}
	var out []group
	for _, ext := range order {
		ch, err := h.lookupExternal(ctx, p.Name(), ext)
		if routing.IsNotFound(err) {
			h.log().Warn("webhook events for an unknown channel dropped", "provider", p.Name(), "externalId", ext)
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := h.verify(r, p, ch, body); err != nil {
			return nil, err
		}
		out = append(out, group{ch: ch, events: byExt[ext]})
	}
	if len(out) == 0 {
		return nil, errUnknownChannel
	}
	return out, nil
}

func (h *Handler) lookupExternal(ctx context.Context, provider, ext string) (routing.Channel, error) {
	ch, err := h.Channels.ChannelByExternalID(ctx, provider, ext)
	if routing.IsNotFound(err) && provider == providers.Generic {
		// A generic sender may name the channel by its Switchboard id.
		ch, err = h.Channels.GetChannel(ctx, ext)
		if err == nil && ch.Provider != provider {
			return routing.Channel{}, routing.NotFound("channel", ext)
		}
	}
	return ch, err
}

// credentials resolves the channel's secret; a failure is logged naming the
// channel and becomes unavailable (503): the provider retries, and the
// operator can fix the secret meanwhile.
func (h *Handler) credentials(ctx context.Context, p providers.Provider, ch routing.Channel) (providers.Credentials, error) {
	creds, err := providers.ResolveCredentials(ctx, h.Secrets, ch.SecretRef)
	if err != nil {
		h.log().Error("webhook channel secret unavailable", "provider", p.Name(), "channel", ch.ID, "code", routing.ErrorCode(err), "error", err.Error())
		return creds, routing.Errorf(routing.CodeUnavailable, "the secret of channel %s is not available", ch.ID)
	}
	return creds, nil
}

func (h *Handler) verify(r *http.Request, p providers.Provider, ch routing.Channel, body []byte) error {
	creds, err := h.credentials(r.Context(), p, ch)
	if err != nil {
		return err
	}
	rr := r.WithContext(providers.WithChannel(r.Context(), ch))
	if err := p.Verify(rr, body, creds.ForVerify()); err != nil {
		if routing.ErrorCode(err) != routing.CodeUnauthenticated {
			return providers.Unauthenticated("invalid webhook signature")
		}
		return err
	}
	return nil
}

func (h *Handler) handshake(w http.ResponseWriter, r *http.Request, p providers.Provider) {
	hs, ok := p.(providers.Handshaker)
	if !ok {
		httperror.Write(w, routing.Errorf(routing.CodeNotFound, "provider %s has no verification handshake", p.Name()))
		return
	}
	var candidates []routing.Channel
	if id := r.URL.Query().Get("channel"); id != "" {
		ch, err := h.Channels.GetChannel(r.Context(), id)
		if err != nil && !routing.IsNotFound(err) {
			h.fail(w, err)
			return
		}
		if err == nil && ch.Provider == p.Name() {
			candidates = append(candidates, ch)
		}
	} else {
		list, err := h.Channels.ChannelsOf(r.Context(), p.Name())
		if err != nil {
			h.fail(w, err)
			return
		}
		candidates = list
	}
	// The token is checked against each candidate; the first that accepts it
	// answers. A wrong token is forbidden, as Meta expects.
	var lastErr error = routing.Errorf(routing.CodeForbidden, "invalid hub.verify_token")
	for _, ch := range candidates {
		creds, err := h.credentials(r.Context(), p, ch)
		if err != nil {
			lastErr = err
			continue
		}
		challenge, err := hs.Handshake(r, creds.ForHandshake())
		if err != nil {
			if routing.ErrorCode(err) != routing.CodeUnauthenticated {
				h.fail(w, err) // a malformed handshake: the same for every channel
				return
			}
			continue
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, challenge)
		return
	}
	h.fail(w, lastErr)
}

func (h *Handler) now() (t time.Time) {
	if h.Clock != nil {
		return h.Clock.Now()
	}
	return clock.Real{}.Now()
}

func respond(w http.ResponseWriter, p providers.Provider, events []providers.Inbound) {
	if rp, ok := p.(providers.Responder); ok {
		if ct, body := rp.Respond(events); ct != "" {
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(body)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, `{"ok":true}`)
}

func tooLarge(limit int64) *routing.Error {
	return &routing.Error{Code: routing.CodeInvalid, Reason: httperror.ReasonTooLarge, Field: "body", Message: fmt.Sprintf("the body is larger than %d bytes", limit)}
}

// fail writes err with the status of its code; foreign errors become a bare
// internal error.
func (h *Handler) fail(w http.ResponseWriter, err error) {
	var re *routing.Error
	if !errors.As(err, &re) {
		h.log().Error("webhook failed", "error", err.Error())
		re = routing.Errorf(routing.CodeInternal, "internal error")
	}
	if re.Code == routing.CodeInternal {
		re = routing.Errorf(routing.CodeInternal, "internal error")
	}
	if re.Code == routing.CodeUnavailable {
		w.Header().Set("Retry-After", RetryAfter)
	}
	httperror.Write(w, re)
}
