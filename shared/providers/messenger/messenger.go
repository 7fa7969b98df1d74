// Package messenger implements the Messenger Platform: inbound webhooks
// (X-Hub-Signature-256, object "page", entry[].messaging[] with messages,
// quick replies, postbacks, deliveries and reads), Meta's GET handshake, and
// the Send API (POST {base}/{version}/me/messages?access_token=...).
//
// Questions are sent as quick replies (up to 13, titles of at most 20
// characters), as numbered text beyond. The Send API takes no idempotency
// key: see the providers package doc. The webhook carries no locale; the
// User Profile API (not called here) has one.
package messenger

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/providers/meta"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Limits of the Send API.
const (
	MaxQuickReplies    = 13
	MaxQuickReplyTitle = 20
	MaxPayload         = 1000
	MaxText            = 2000
)

// Provider is the Messenger provider.
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

// Name is "messenger".
func (p *Provider) Name() string { return providers.Messenger }

// Verify checks X-Hub-Signature-256 with the Meta app secret.
func (p *Provider) Verify(r *http.Request, body []byte, secret string) error {
	return meta.Verify(r, body, secret)
}

// Handshake answers Meta's hub.challenge.
func (p *Provider) Handshake(r *http.Request, verifyToken string) (string, error) {
	return meta.Handshake(r, verifyToken)
}

type webhook struct {
	Object string `json:"object"`
	Entry  []struct {
		ID        string  `json:"id"`
		Time      int64   `json:"time"`
		Messaging []event `json:"messaging"`
	} `json:"entry"`
}

type event struct {
	Sender struct {
		ID string `json:"id"`
	} `json:"sender"`
	Recipient struct {
		ID string `json:"id"`
	} `json:"recipient"`
	Timestamp int64 `json:"timestamp"`
	Message   *struct {
		Mid        string `json:"mid"`
		Text       string `json:"text"`
		IsEcho     bool   `json:"is_echo"`
		QuickReply *struct {
			Payload string `json:"payload"`
		} `json:"quick_reply"`
		Attachments []struct {
			Type    string `json:"type"`
			Payload struct {
				URL         string `json:"url"`
				Title       string `json:"title"`
				Coordinates *struct {
					Lat  float64 `json:"lat"`
					Long float64 `json:"long"`
				} `json:"coordinates"`
			} `json:"payload"`
		} `json:"attachments"`
	} `json:"message"`
	Postback *struct {
		Mid     string `json:"mid"`
		Title   string `json:"title"`
		Payload string `json:"payload"`
	} `json:"postback"`
	Delivery *struct {
		Mids      []string `json:"mids"`
		Watermark int64    `json:"watermark"`
	} `json:"delivery"`
	Read *struct {
		Watermark int64 `json:"watermark"`
	} `json:"read"`
}

// Parse decodes a Messenger webhook. Echoes of the page's own messages and
// events of other kinds are dropped.
func (p *Provider) Parse(body []byte, _ *http.Request) ([]providers.Inbound, error) {
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, routing.Invalid("body", "not a Messenger webhook: invalid JSON")
	}
	if w.Object != "page" {
		return nil, routing.Invalid("object", "not a Messenger webhook: object must be page")
	}
	var out []providers.Inbound
	for _, e := range w.Entry {
		for _, m := range e.Messaging {
			page := m.Recipient.ID
			if page == "" {
				page = e.ID
			}
			base := providers.Inbound{
				Provider:          providers.Messenger,
				Kind:              providers.KindMessage,
				ChannelExternalID: page,
				From:              m.Sender.ID,
				At:                millis(m.Timestamp),
			}
			switch {
			case m.Message != nil:
				if m.Message.IsEcho {
					continue
				}
				if m.Message.Mid == "" {
					return nil, routing.Invalid("message.mid", "a message has no mid")
				}
				in := base
				in.MessageID = m.Message.Mid
				in.Text = m.Message.Text
				if m.Message.QuickReply != nil {
					in.Answer = m.Message.QuickReply.Payload
				}
				for _, a := range m.Message.Attachments {
					md := providers.Media{Kind: mediaKind(a.Type), URL: a.Payload.URL, Caption: a.Payload.Title}
					if c := a.Payload.Coordinates; c != nil {
						md.Kind = providers.MediaLocation
						md.URL = "geo:" + strconv.FormatFloat(c.Lat, 'f', -1, 64) + "," + strconv.FormatFloat(c.Long, 'f', -1, 64)
					}
					in.Media = append(in.Media, md)
				}
				out = append(out, in)
			case m.Postback != nil:
				in := base
				in.MessageID = m.Postback.Mid
				if in.MessageID == "" {
					in.MessageID = "postback:" + m.Sender.ID + ":" + strconv.FormatInt(m.Timestamp, 10)
				}
				in.Answer, in.Text = m.Postback.Payload, m.Postback.Title
				out = append(out, in)
			case m.Delivery != nil:
				for _, mid := range m.Delivery.Mids {
					in := base
					in.Kind = providers.KindStatus
					in.MessageID = "status:" + mid + ":delivered"
					in.Status = &providers.Status{MessageID: mid, State: providers.StateDelivered}
					out = append(out, in)
				}
			case m.Read != nil:
				in := base
				in.Kind = providers.KindStatus
				in.MessageID = "read:" + m.Sender.ID + ":" + strconv.FormatInt(m.Read.Watermark, 10)
				in.At = millis(m.Read.Watermark)
				in.Status = &providers.Status{State: providers.StateRead}
				out = append(out, in)
			}
		}
	}
	return out, nil
}

func mediaKind(t string) string {
	switch t {
	case "image":
		return providers.MediaImage
	case "audio":
		return providers.MediaAudio
	case "video":
		return providers.MediaVideo
	case "location":
		return providers.MediaLocation
	}
	return providers.MediaFile
}

func millis(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Payload is the Send API request body for msg.
func Payload(msg providers.Outbound) (map[string]any, error) {
	if strings.TrimSpace(msg.To) == "" {
		return nil, routing.Invalid("to", "the recipient is required")
	}
	if strings.TrimSpace(msg.Text) == "" && len(msg.Options) == 0 {
		return nil, routing.Invalid("text", "the message text is required")
	}
	m := map[string]any{}
	if len(msg.Options) > 0 && len(msg.Options) <= MaxQuickReplies && msg.Text != "" && fits(msg.Options) {
		qr := make([]map[string]string, len(msg.Options))
		for i, o := range msg.Options {
			qr[i] = map[string]string{"content_type": "text", "title": o.Title, "payload": o.ID}
		}
		m["text"] = msg.Text
		m["quick_replies"] = qr
	} else {
		m["text"] = providers.NumberedText(msg.Text, msg.Options)
	}
	if providers.RuneLen(m["text"].(string)) > MaxText {
		return nil, routing.Invalid("text", "the message is longer than %d characters", MaxText)
	}
	return map[string]any{
		"recipient":      map[string]string{"id": msg.To},
		"messaging_type": "RESPONSE",
		"message":        m,
	}, nil
}

func fits(opts []providers.Option) bool {
	for _, o := range opts {
		if o.ID == "" || o.Title == "" || providers.RuneLen(o.Title) > MaxQuickReplyTitle || len(o.ID) > MaxPayload {
			return false
		}
	}
	return true
}

// Send posts msg to {base}/{version}/me/messages with the page access token
// and returns the message_id.
func (p *Provider) Send(ctx context.Context, ch routing.Channel, secret string, msg providers.Outbound) (string, error) {
	if secret == "" {
		return "", routing.Invalid("secretRef", "the Messenger channel has no page access token")
	}
	payload, err := Payload(msg)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return "", routing.Errorf(routing.CodeInternal, "cannot encode the message")
	}
	c := p.Client
	if c == nil {
		c = &providers.Client{}
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	resp, err := c.Do(ctx, providers.Request{
		Provider: providers.Messenger,
		Method:   http.MethodPost,
		URL:      providers.BaseURL(ch, meta.DefaultBaseURL) + "/" + meta.Version(ch) + "/me/messages?access_token=" + url.QueryEscape(secret),
		Header:   h,
		Body:     body,
		Redact:   []string{secret, url.QueryEscape(secret)},
		Describe: meta.Describe,
	})
	if err != nil {
		return "", err
	}
	var r struct {
		MessageID string `json:"message_id"`
	}
	_ = json.Unmarshal(resp.Body, &r)
	return r.MessageID, nil
}
