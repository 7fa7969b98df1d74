package providers

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Provider names, as used in routing.Channel.Provider and in webhook paths.
const (
	WhatsApp  = "whatsapp"
	Messenger = "messenger"
	Telegram  = "telegram"
	Twilio    = "twilio"
	Generic   = "generic"
)

// Kind says whether an Inbound is a contact's message or a delivery status of
// a message Switchboard sent.
type Kind string

const (
	KindMessage Kind = "message"
	KindStatus  Kind = "status"
)

// State is the delivery state of an outbound message.
type State string

const (
	StateSent      State = "sent"
	StateDelivered State = "delivered"
	StateRead      State = "read"
	StateFailed    State = "failed"
)

// Media kinds.
const (
	MediaImage    = "image"
	MediaAudio    = "audio"
	MediaVideo    = "video"
	MediaDocument = "document"
	MediaSticker  = "sticker"
	MediaLocation = "location"
	MediaFile     = "file"
)

// Media is an attachment. Providers give either an id to download it with
// (WhatsApp media id, Telegram file_id) or a URL (Messenger, Twilio). A
// location has URL "geo:<lat>,<long>" and its name/address as Caption.
type Media struct {
	Kind       string `json:"kind"`
	ProviderID string `json:"providerId,omitempty"`
	URL        string `json:"url,omitempty"`
	MimeType   string `json:"mimeType,omitempty"`
	Caption    string `json:"caption,omitempty"`
}

// Status is a delivery receipt for an outbound message. MessageID is the
// provider's id returned by Send. A Messenger read receipt names no message:
// MessageID is empty and every message sent up to Inbound.At was read.
type Status struct {
	MessageID string `json:"messageId,omitempty"`
	State     State  `json:"state"`
	Error     string `json:"error,omitempty"`
}

// Inbound is one normalised webhook event.
type Inbound struct {
	Provider string `json:"provider"`
	Kind     Kind   `json:"kind"`
	// ChannelExternalID identifies the Switchboard channel (see the package doc); "" for Telegram.
	ChannelExternalID string `json:"channelExternalId,omitempty"`
	// MessageID is the provider's id of this event, for dedupe. It is unique
	// per channel (Telegram update ids and generic message ids are only unique
	// per bot/sender), so dedupe on (channel id, MessageID).
	MessageID string `json:"messageId"`
	// From is the contact's provider id, the address Send takes as Outbound.To:
	// WhatsApp wa_id, Messenger PSID, Telegram chat id, Twilio "From" address.
	From     string `json:"from,omitempty"`
	FromName string `json:"fromName,omitempty"`
	Phone    string `json:"phone,omitempty"`  // E.164, when the provider tells
	Locale   string `json:"locale,omitempty"` // as the provider wrote it: "es", "pt-br", "es_LA"
	Text     string `json:"text,omitempty"`
	// Answer is the id or payload of the option the contact picked: an
	// interactive button/list reply, a quick reply, a postback or a Telegram
	// callback_query data. Text then holds the option's title when known.
	Answer string  `json:"answer,omitempty"`
	Media  []Media `json:"media,omitempty"`
	// AckID is a provider handle that must be acknowledged in the webhook's
	// answer (the Telegram callback_query id); see Responder.
	AckID  string    `json:"ackId,omitempty"`
	At     time.Time `json:"at"`
	Status *Status   `json:"status,omitempty"`
}

// Option is one choice of a question.
type Option struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Outbound is a message to a contact. With Options it is a question, rendered
// as buttons, a list, quick replies or numbered text depending on the provider
// and on how many options there are.
type Outbound struct {
	To      string   `json:"to"`
	Text    string   `json:"text"`
	Options []Option `json:"options,omitempty"`
	// IdempotencyKey is reused across the retries of one Send (and should be
	// reused by callers that retry Send itself). Empty: one is generated.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
}

// Provider verifies and parses inbound webhooks.
type Provider interface {
	Name() string
	// Verify checks the request's signature over the raw body with the
	// channel's verification secret, in constant time. It returns a
	// *routing.Error with CodeUnauthenticated when the signature is bad or
	// missing, or when secret is empty.
	Verify(r *http.Request, body []byte, secret string) error
	// Parse decodes a raw body into events, a *routing.Error with CodeInvalid
	// on garbage. r may be nil when the provider does not need it.
	// Events of no interest (echoes, edits, unknown update types) are dropped.
	Parse(body []byte, r *http.Request) ([]Inbound, error)
}

// Handshaker is implemented by providers that verify a webhook URL with a GET
// (Meta: hub.mode=subscribe, hub.verify_token, hub.challenge).
type Handshaker interface {
	// Handshake returns the body to answer with 200 (the challenge), or a
	// *routing.Error: CodeInvalid for a malformed request, CodeUnauthenticated
	// when the token does not match verifyToken (or verifyToken is empty).
	Handshake(r *http.Request, verifyToken string) (string, error)
}

// Responder is implemented by providers that expect a particular answer to a
// webhook: Twilio expects TwiML, Telegram may carry a Bot API method call
// (answerCallbackQuery). Others get 200 with {"ok":true}.
type Responder interface {
	Respond(events []Inbound) (contentType string, body []byte)
}

// Sender delivers outbound messages.
type Sender interface {
	// Send delivers msg through ch using the channel's access secret
	// (Credentials.ForSend) and returns the provider's message id.
	Send(ctx context.Context, ch routing.Channel, secret string, msg Outbound) (providerMessageID string, err error)
}

// Registry holds providers by name. It is safe for concurrent use.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Provider
}

// NewRegistry returns a registry holding ps.
func NewRegistry(ps ...Provider) *Registry {
	r := &Registry{m: map[string]Provider{}}
	for _, p := range ps {
		r.Register(p)
	}
	return r
}

// Register adds or replaces p under p.Name().
func (r *Registry) Register(p Provider) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[p.Name()] = p
}

// Get returns the provider named name.
func (r *Registry) Get(name string) (Provider, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.m[name]
	return p, ok
}

// Sender returns the sender of the provider named name, if it sends.
func (r *Registry) Sender(name string) (Sender, bool) {
	p, ok := r.Get(name)
	if !ok {
		return nil, false
	}
	s, ok := p.(Sender)
	return s, ok
}

// Names lists the registered providers, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for n := range r.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Deliver resolves ch's credentials through secrets and sends msg with the
// provider of ch. Unknown providers are CodeInvalid naming "provider".
func Deliver(ctx context.Context, reg *Registry, secrets Secrets, ch routing.Channel, msg Outbound) (string, error) {
	s, ok := reg.Sender(ch.Provider)
	if !ok {
		return "", routing.Invalid("provider", "provider %q cannot send messages", ch.Provider)
	}
	creds, err := ResolveCredentials(ctx, secrets, ch.SecretRef)
	if err != nil {
		return "", err
	}
	return s.Send(ctx, ch, creds.ForSend(), msg)
}

// NumberedText renders a question as plain text with numbered options, for
// providers (or option counts) without interactive messages:
//
//	Which team?
//
//	1. Sales
//	2. Support
func NumberedText(text string, opts []Option) string {
	if len(opts) == 0 {
		return text
	}
	var b strings.Builder
	b.WriteString(text)
	if text != "" {
		b.WriteString("\n\n")
	}
	for i, o := range opts {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(". ")
		b.WriteString(o.Title)
	}
	return b.String()
}

// MatchOption finds the option an inbound reply picks: by Answer (the id or
// payload of a button), else by the reply's text being an option's number
// ("2", "2."), id or title (case-insensitive, trimmed).
func MatchOption(opts []Option, in Inbound) (Option, bool) {
	if in.Answer != "" {
		for _, o := range opts {
			if o.ID == in.Answer {
				return o, true
			}
		}
	}
	t := strings.TrimSpace(in.Text)
	if t == "" {
		return Option{}, false
	}
	if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(t, "."), ")")); err == nil {
		if n >= 1 && n <= len(opts) {
			return opts[n-1], true
		}
		return Option{}, false
	}
	for _, o := range opts {
		if strings.EqualFold(o.Title, t) || strings.EqualFold(o.ID, t) {
			return o, true
		}
	}
	return Option{}, false
}

// Truncate shortens s to at most n runes, ending with "…" when cut.
func Truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n == 1 {
		return "…"
	}
	return string(r[:n-1]) + "…"
}

// RuneLen is the number of runes of s (provider limits count characters).
func RuneLen(s string) int { return len([]rune(s)) }

type channelKey struct{}

// WithChannel returns a context carrying the channel a webhook was resolved
// to, so Verify can read channel configuration (Twilio's "webhookUrl").
func WithChannel(ctx context.Context, ch routing.Channel) context.Context {
	return context.WithValue(ctx, channelKey{}, ch)
}

// ChannelFromContext returns the channel stored by WithChannel.
func ChannelFromContext(ctx context.Context) (routing.Channel, bool) {
	ch, ok := ctx.Value(channelKey{}).(routing.Channel)
	return ch, ok
}
