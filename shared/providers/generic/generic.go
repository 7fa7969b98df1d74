// Package generic is Switchboard's own signed JSON webhook, for systems
// without a dedicated provider (a website chat, a test harness).
//
// Inbound: POST /v1/webhooks/generic with a JSON object, or an array of them:
//
//	{"channelId": "ch_1", "messageId": "m-1", "from": "user-42", "name": "Ada",
//	 "phone": "+34612345678", "locale": "es", "text": "Hola", "answer": "sales",
//	 "at": "2025-06-16T10:00:00Z"}
//
// messageId and from are required; a delivery receipt is
// {"messageId": "r-1", "status": {"messageId": "<id returned by the send>", "state": "delivered"}}.
// The header X-Switchboard-Signature is "sha256=" + hex HMAC-SHA256 of the raw
// body keyed by the channel secret. channelId, when present, is matched
// against the channel's ExternalID (or, failing that, its id).
//
// Outbound: POST to the channel's Config["outboundUrl"] with
//
//	{"channelId": "...", "messageId": "<idempotency key>", "to": "...", "text": "...",
//	 "options": [{"id": "...", "title": "..."}]}
//
// signed the same way, with the key also in the Idempotency-Key header. The
// receiver may answer {"messageId": "..."}; otherwise the idempotency key is
// the message id.
package generic

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the raw body>".
const SignatureHeader = "X-Switchboard-Signature"

// IdempotencyHeader carries the key of an outbound message.
const IdempotencyHeader = "Idempotency-Key"

// Message is one inbound generic event.
type Message struct {
	ChannelID string    `json:"channelId,omitempty"`
	MessageID string    `json:"messageId"`
	From      string    `json:"from,omitempty"`
	Name      string    `json:"name,omitempty"`
	Phone     string    `json:"phone,omitempty"`
	Locale    string    `json:"locale,omitempty"`
	Text      string    `json:"text,omitempty"`
	Answer    string    `json:"answer,omitempty"`
	At        time.Time `json:"at,omitzero"`
	Status    *struct {
		MessageID string `json:"messageId"`
		State     string `json:"state"`
		Error     string `json:"error,omitempty"`
	} `json:"status,omitempty"`
}

// OutboundMessage is the body POSTed to a generic channel's outboundUrl.
type OutboundMessage struct {
	ChannelID string             `json:"channelId"`
	MessageID string             `json:"messageId"`
	To        string             `json:"to"`
	Text      string             `json:"text"`
	Options   []providers.Option `json:"options,omitempty"`
}

// Provider is the generic provider.
type Provider struct {
	Client *providers.Client
}

// New returns a provider sending with c (nil: a default client).
func New(c *providers.Client) *Provider {
	if c == nil {
		c = &providers.Client{}
	}
	return &Provider{Client: c}
}

// Name is "generic".
func (p *Provider) Name() string { return providers.Generic }

// Sign returns the X-Switchboard-Signature value of body.
func Sign(secret string, body []byte) string {
	return "sha256=" + providers.HMACSHA256Hex(secret, body)
}

// Verify checks X-Switchboard-Signature with the channel secret.
func (p *Provider) Verify(r *http.Request, body []byte, secret string) error {
	v := ""
	if r != nil {
		v = r.Header.Get(SignatureHeader)
	}
	return providers.VerifySHA256Header(SignatureHeader, v, body, secret)
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Parse decodes one message object or an array of them.
func (p *Provider) Parse(body []byte, _ *http.Request) ([]providers.Inbound, error) {
	trimmed := strings.TrimSpace(string(body))
	var msgs []Message
	if strings.HasPrefix(trimmed, "[") {
		if err := json.Unmarshal(body, &msgs); err != nil {
			return nil, invalidJSON(err)
		}
	} else {
		var m Message
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, invalidJSON(err)
		}
		msgs = []Message{m}
	}
	out := make([]providers.Inbound, 0, len(msgs))
	for _, m := range msgs {
		if strings.TrimSpace(m.MessageID) == "" {
			return nil, routing.Invalid("messageId", "messageId is required")
		}
		in := providers.Inbound{
			Provider:          providers.Generic,
			Kind:              providers.KindMessage,
			ChannelExternalID: m.ChannelID,
			MessageID:         m.MessageID,
			From:              m.From,
			FromName:          m.Name,
			Phone:             m.Phone,
			Locale:            m.Locale,
			Text:              m.Text,
			Answer:            m.Answer,
		}
		if !m.At.IsZero() {
			in.At = m.At.UTC()
		}
		if m.Status != nil {
			st := providers.State(m.Status.State)
			switch st {
			case providers.StateSent, providers.StateDelivered, providers.StateRead, providers.StateFailed:
			default:
				return nil, routing.Invalid("status.state", "state must be sent, delivered, read or failed")
			}
			if m.Status.MessageID == "" {
				return nil, routing.Invalid("status.messageId", "status.messageId is required")
			}
			in.Kind = providers.KindStatus
			in.Status = &providers.Status{MessageID: m.Status.MessageID, State: st, Error: m.Status.Error}
			out = append(out, in)
			continue
		}
		if strings.TrimSpace(m.From) == "" {
			return nil, routing.Invalid("from", "from is required")
		}
		if m.Phone != "" && !e164.MatchString(m.Phone) {
			return nil, routing.Invalid("phone", "phone must be in E.164 form, like +34612345678")
		}
		out = append(out, in)
	}
	return out, nil
}

func invalidJSON(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return routing.Invalid(te.Field, "%s has the wrong type", te.Field)
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return routing.Invalid("at", "at must be an RFC 3339 time")
	}
	return routing.Invalid("body", "the body is not valid JSON")
}

// Send posts msg to the channel's outboundUrl, signed with secret.
func (p *Provider) Send(ctx context.Context, ch routing.Channel, secret string, msg providers.Outbound) (string, error) {
	target := strings.TrimSpace(ch.Config["outboundUrl"])
	if target == "" {
		return "", routing.Invalid("config.outboundUrl", "the generic channel has no outbound URL")
	}
	if secret == "" {
		return "", routing.Invalid("secretRef", "the generic channel has no signing secret")
	}
	if strings.TrimSpace(msg.To) == "" {
		return "", routing.Invalid("to", "the recipient is required")
	}
	if strings.TrimSpace(msg.Text) == "" && len(msg.Options) == 0 {
		return "", routing.Invalid("text", "the message text is required")
	}
	c := p.Client
	if c == nil {
		c = &providers.Client{}
	}
	key := c.IdempotencyKey(msg)
	chID := ch.ExternalID
	if chID == "" {
		chID = ch.ID
	}
	body, err := json.Marshal(OutboundMessage{ChannelID: chID, MessageID: key, To: msg.To, Text: msg.Text, Options: msg.Options})
	if err != nil {
		return "", routing.Errorf(routing.CodeInternal, "cannot encode the message")
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(SignatureHeader, Sign(secret, body))
	h.Set(IdempotencyHeader, key)
	resp, err := c.Do(ctx, providers.Request{
		Provider: providers.Generic,
		Method:   http.MethodPost,
		URL:      target,
		Header:   h,
		Body:     body,
		Redact:   []string{secret},
		Describe: describe,
	})
	if err != nil {
		return "", err
	}
	var r struct {
		MessageID string `json:"messageId"`
	}
	if json.Unmarshal(resp.Body, &r) == nil && r.MessageID != "" {
		return r.MessageID, nil
	}
	return key, nil
}

func describe(body []byte) (string, time.Duration) {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return e.Error.Message, 0
	}
	return "", 0
}
