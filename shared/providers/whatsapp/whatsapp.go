// Package whatsapp implements the WhatsApp Business Cloud API: inbound
// webhooks (X-Hub-Signature-256, entry[].changes[].value with messages and
// statuses), Meta's GET handshake, and sending through
// POST {base}/{version}/{phone_number_id}/messages.
//
// Questions are sent as interactive reply buttons (up to 3 options, titles of
// at most 20 characters), as an interactive list (up to 10 options, titles of
// at most 24), and as numbered text beyond. The Cloud API takes no
// idempotency key: see the providers package doc.
package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/providers/meta"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Limits of the Cloud API that decide how a question is rendered.
const (
	MaxButtons      = 3
	MaxButtonTitle  = 20
	MaxButtonID     = 256
	MaxListRows     = 10
	MaxRowTitle     = 24
	MaxRowID        = 200
	MaxRowDesc      = 72
	MaxTextBody     = 4096
	MaxInteractive  = 1024
	listButtonLabel = "Choose"
)

// Provider is the WhatsApp Cloud API provider.
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

// Name is "whatsapp".
func (p *Provider) Name() string { return providers.WhatsApp }

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
		ID      string `json:"id"`
		Changes []struct {
			Field string `json:"field"`
			Value value  `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type value struct {
	MessagingProduct string `json:"messaging_product"`
	Metadata         struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID string `json:"wa_id"`
	} `json:"contacts"`
	Messages []message `json:"messages"`
	Statuses []status  `json:"statuses"`
}

type reply struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

type mediaObject struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type message struct {
	From      string `json:"from"`
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Type      string `json:"type"`
	Text      *struct {
		Body string `json:"body"`
	} `json:"text"`
	Interactive *struct {
		Type        string `json:"type"`
		ButtonReply *reply `json:"button_reply"`
		ListReply   *reply `json:"list_reply"`
	} `json:"interactive"`
	Button *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	Image    *mediaObject `json:"image"`
	Audio    *mediaObject `json:"audio"`
	Video    *mediaObject `json:"video"`
	Document *mediaObject `json:"document"`
	Sticker  *mediaObject `json:"sticker"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
	} `json:"location"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
}

type status struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Timestamp   string `json:"timestamp"`
	RecipientID string `json:"recipient_id"`
	Errors      []struct {
		Code      int    `json:"code"`
		Title     string `json:"title"`
		Message   string `json:"message"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
	} `json:"errors"`
}

// Parse decodes a Cloud API webhook. Changes of fields other than "messages"
// and statuses other than sent, delivered, read and failed are dropped.
func (p *Provider) Parse(body []byte, _ *http.Request) ([]providers.Inbound, error) {
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, routing.Invalid("body", "not a WhatsApp webhook: invalid JSON")
	}
	if w.Object != "whatsapp_business_account" {
		return nil, routing.Invalid("object", "not a WhatsApp webhook: object must be whatsapp_business_account")
	}
	var out []providers.Inbound
	for _, e := range w.Entry {
		for _, c := range e.Changes {
			if c.Field != "" && c.Field != "messages" {
				continue
			}
			v := c.Value
			chID := v.Metadata.PhoneNumberID
			for _, m := range v.Messages {
				if m.ID == "" {
					return nil, routing.Invalid("messages.id", "a message has no id")
				}
				in := providers.Inbound{
					Provider:          providers.WhatsApp,
					Kind:              providers.KindMessage,
					ChannelExternalID: chID,
					MessageID:         m.ID,
					From:              m.From,
					Phone:             e164(m.From),
					At:                unixSeconds(m.Timestamp),
				}
				for _, ct := range v.Contacts {
					if ct.WaID == m.From || (in.FromName == "" && len(v.Contacts) == 1) {
						in.FromName = ct.Profile.Name
					}
				}
				fillMessage(&in, m)
				out = append(out, in)
			}
			for _, s := range v.Statuses {
				st, ok := state(s.Status)
				if !ok || s.ID == "" {
					continue
				}
				in := providers.Inbound{
					Provider:          providers.WhatsApp,
					Kind:              providers.KindStatus,
					ChannelExternalID: chID,
					MessageID:         "status:" + s.ID + ":" + s.Status,
					From:              s.RecipientID,
					At:                unixSeconds(s.Timestamp),
					Status:            &providers.Status{MessageID: s.ID, State: st},
				}
				if len(s.Errors) > 0 {
					e := s.Errors[0]
					msg := e.Title
					if e.ErrorData.Details != "" {
						msg += ": " + e.ErrorData.Details
					} else if e.Message != "" && e.Message != e.Title {
						msg += ": " + e.Message
					}
					in.Status.Error = strings.TrimSpace(fmt.Sprintf("%d %s", e.Code, msg))
				}
				out = append(out, in)
			}
		}
	}
	return out, nil
}

func fillMessage(in *providers.Inbound, m message) {
	media := func(kind string, o *mediaObject) {
		caption := o.Caption
		if caption == "" {
			caption = o.Filename
		}
		in.Media = append(in.Media, providers.Media{Kind: kind, ProviderID: o.ID, MimeType: o.MimeType, Caption: caption})
		if o.Caption != "" {
			in.Text = o.Caption
		}
	}
	switch {
	case m.Text != nil:
		in.Text = m.Text.Body
	case m.Interactive != nil && m.Interactive.ButtonReply != nil:
		in.Answer, in.Text = m.Interactive.ButtonReply.ID, m.Interactive.ButtonReply.Title
	case m.Interactive != nil && m.Interactive.ListReply != nil:
		in.Answer, in.Text = m.Interactive.ListReply.ID, m.Interactive.ListReply.Title
	case m.Button != nil:
		in.Answer, in.Text = m.Button.Payload, m.Button.Text
	case m.Image != nil:
		media(providers.MediaImage, m.Image)
	case m.Audio != nil:
		media(providers.MediaAudio, m.Audio)
	case m.Video != nil:
		media(providers.MediaVideo, m.Video)
	case m.Document != nil:
		media(providers.MediaDocument, m.Document)
	case m.Sticker != nil:
		media(providers.MediaSticker, m.Sticker)
	case m.Location != nil:
		l := m.Location
		place := strings.Trim(strings.TrimSpace(l.Name+", "+l.Address), ", ")
		in.Media = append(in.Media, providers.Media{
			Kind:    providers.MediaLocation,
			URL:     "geo:" + strconv.FormatFloat(l.Latitude, 'f', -1, 64) + "," + strconv.FormatFloat(l.Longitude, 'f', -1, 64),
			Caption: place,
		})
	case m.Reaction != nil:
		in.Text = m.Reaction.Emoji
	}
}

func state(s string) (providers.State, bool) {
	switch s {
	case "sent":
		return providers.StateSent, true
	case "delivered":
		return providers.StateDelivered, true
	case "read":
		return providers.StateRead, true
	case "failed":
		return providers.StateFailed, true
	}
	return "", false
}

func e164(waID string) string {
	if waID == "" {
		return ""
	}
	for _, r := range waID {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return "+" + waID
}

func unixSeconds(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// Payload is the Cloud API request body for msg (exported for tests and docs).
func Payload(msg providers.Outbound) (map[string]any, error) {
	if strings.TrimSpace(msg.To) == "" {
		return nil, routing.Invalid("to", "the recipient is required")
	}
	if strings.TrimSpace(msg.Text) == "" && len(msg.Options) == 0 {
		return nil, routing.Invalid("text", "the message text is required")
	}
	base := map[string]any{
		"messaging_product": "whatsapp",
		"recipient_type":    "individual",
		"to":                msg.To,
	}
	opts := msg.Options
	textOK := msg.Text != "" && providers.RuneLen(msg.Text) <= MaxInteractive
	switch {
	case len(opts) > 0 && len(opts) <= MaxButtons && textOK && fits(opts, MaxButtonTitle, MaxButtonID):
		buttons := make([]map[string]any, len(opts))
		for i, o := range opts {
			buttons[i] = map[string]any{"type": "reply", "reply": map[string]string{"id": o.ID, "title": o.Title}}
		}
		base["type"] = "interactive"
		base["interactive"] = map[string]any{
			"type":   "button",
			"body":   map[string]string{"text": msg.Text},
			"action": map[string]any{"buttons": buttons},
		}
	case len(opts) > 0 && len(opts) <= MaxListRows && textOK && fits(opts, MaxRowDesc, MaxRowID):
		rows := make([]map[string]string, len(opts))
		for i, o := range opts {
			row := map[string]string{"id": o.ID, "title": o.Title}
			if providers.RuneLen(o.Title) > MaxRowTitle {
				row["title"] = providers.Truncate(o.Title, MaxRowTitle)
				row["description"] = o.Title
			}
			rows[i] = row
		}
		base["type"] = "interactive"
		base["interactive"] = map[string]any{
			"type": "list",
			"body": map[string]string{"text": msg.Text},
			"action": map[string]any{
				"button":   listButtonLabel,
				"sections": []map[string]any{{"rows": rows}},
			},
		}
	default:
		text := providers.NumberedText(msg.Text, opts)
		if providers.RuneLen(text) > MaxTextBody {
			return nil, routing.Invalid("text", "the message is longer than %d characters", MaxTextBody)
		}
		base["type"] = "text"
		base["text"] = map[string]any{"preview_url": false, "body": text}
	}
	return base, nil
}

func fits(opts []providers.Option, maxTitle, maxID int) bool {
	for _, o := range opts {
		if o.ID == "" || o.Title == "" || providers.RuneLen(o.Title) > maxTitle || len(o.ID) > maxID {
			return false
		}
	}
	return true
}

// Send posts msg to {base}/{version}/{phone_number_id}/messages with the
// access token as a Bearer token, and returns the wamid.
func (p *Provider) Send(ctx context.Context, ch routing.Channel, secret string, msg providers.Outbound) (string, error) {
	if ch.ExternalID == "" {
		return "", routing.Invalid("externalId", "the WhatsApp channel has no phone number id")
	}
	if secret == "" {
		return "", routing.Invalid("secretRef", "the WhatsApp channel has no access token")
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
	h.Set("Authorization", "Bearer "+secret)
	h.Set("Content-Type", "application/json")
	resp, err := c.Do(ctx, providers.Request{
		Provider: providers.WhatsApp,
		Method:   http.MethodPost,
		URL:      providers.BaseURL(ch, meta.DefaultBaseURL) + "/" + meta.Version(ch) + "/" + ch.ExternalID + "/messages",
		Header:   h,
		Body:     body,
		Redact:   []string{secret},
		Describe: meta.Describe,
	})
	if err != nil {
		return "", err
	}
	var r struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if json.Unmarshal(resp.Body, &r) != nil || len(r.Messages) == 0 {
		return "", nil // accepted; the id is unknown (never retry an accepted message)
	}
	return r.Messages[0].ID, nil
}
