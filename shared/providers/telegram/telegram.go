// Package telegram implements the Telegram Bot API: inbound Updates (message,
// callback_query) authenticated by the X-Telegram-Bot-Api-Secret-Token header
// (the secret_token given to setWebhook), and sending through
// POST {base}/bot<token>/sendMessage.
//
// Updates do not name the bot, so Inbound.ChannelExternalID is empty: the
// webhook URL must carry ?channel=<channel id>. The event id (for dedupe) is
// the update_id, which Telegram keeps when it redelivers an update. Questions
// are sent with an inline keyboard (one button per row; callback_data of at
// most 64 bytes), as numbered text otherwise. A callback_query is
// acknowledged in the webhook's answer (answerCallbackQuery), see Respond.
// The Bot API takes no idempotency key: see the providers package doc.
package telegram

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// SecretHeader carries setWebhook's secret_token.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// DefaultBaseURL is the Bot API host.
const DefaultBaseURL = "https://api.telegram.org"

// Limits of the Bot API.
const (
	MaxText         = 4096
	MaxCallbackData = 64
)

// Provider is the Telegram provider.
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

// Name is "telegram".
func (p *Provider) Name() string { return providers.Telegram }

// Verify compares X-Telegram-Bot-Api-Secret-Token with secret in constant time.
func (p *Provider) Verify(r *http.Request, _ []byte, secret string) error {
	if secret == "" {
		return providers.Unauthenticated("the channel has no webhook secret configured")
	}
	v := ""
	if r != nil {
		v = r.Header.Get(SecretHeader)
	}
	if v == "" {
		return providers.Unauthenticated("missing %s header", SecretHeader)
	}
	if !providers.EqualSecret(v, secret) {
		return providers.Unauthenticated("invalid %s", SecretHeader)
	}
	return nil
}

type user struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Username     string `json:"username"`
	LanguageCode string `json:"language_code"`
}

type file struct {
	FileID   string `json:"file_id"`
	FileName string `json:"file_name"`
	MimeType string `json:"mime_type"`
}

type message struct {
	MessageID int64 `json:"message_id"`
	From      *user `json:"from"`
	Chat      struct {
		ID   int64  `json:"id"`
		Type string `json:"type"`
	} `json:"chat"`
	Date     int64  `json:"date"`
	Text     string `json:"text"`
	Caption  string `json:"caption"`
	Photo    []file `json:"photo"`
	Document *file  `json:"document"`
	Audio    *file  `json:"audio"`
	Voice    *file  `json:"voice"`
	Video    *file  `json:"video"`
	Sticker  *file  `json:"sticker"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	} `json:"location"`
	Contact *struct {
		PhoneNumber string `json:"phone_number"`
		FirstName   string `json:"first_name"`
		UserID      int64  `json:"user_id"`
	} `json:"contact"`
	ReplyMarkup *struct {
		InlineKeyboard [][]struct {
			Text         string `json:"text"`
			CallbackData string `json:"callback_data"`
		} `json:"inline_keyboard"`
	} `json:"reply_markup"`
}

type update struct {
	UpdateID      int64    `json:"update_id"`
	Message       *message `json:"message"`
	CallbackQuery *struct {
		ID      string   `json:"id"`
		From    user     `json:"from"`
		Message *message `json:"message"`
		Data    string   `json:"data"`
	} `json:"callback_query"`
}

// Parse decodes one Update. Updates other than message and callback_query
// (edits, channel posts, membership changes) are dropped.
func (p *Provider) Parse(body []byte, _ *http.Request) ([]providers.Inbound, error) {
	var u update
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, routing.Invalid("body", "not a Telegram update: invalid JSON")
	}
	if u.UpdateID <= 0 {
		return nil, routing.Invalid("update_id", "not a Telegram update: update_id is required")
	}
	id := strconv.FormatInt(u.UpdateID, 10)
	switch {
	case u.Message != nil:
		m := u.Message
		if m.From != nil && m.From.IsBot {
			return nil, nil
		}
		in := providers.Inbound{
			Provider:  providers.Telegram,
			Kind:      providers.KindMessage,
			MessageID: id,
			From:      strconv.FormatInt(m.Chat.ID, 10),
			Text:      m.Text,
			At:        unix(m.Date),
		}
		if m.From != nil {
			in.FromName = name(*m.From)
			in.Locale = m.From.LanguageCode
		}
		if in.Text == "" {
			in.Text = m.Caption
		}
		addMedia(&in, m)
		if c := m.Contact; c != nil && m.From != nil && c.UserID == m.From.ID {
			in.Phone = phone(c.PhoneNumber)
		}
		return []providers.Inbound{in}, nil
	case u.CallbackQuery != nil:
		q := u.CallbackQuery
		if q.ID == "" {
			return nil, routing.Invalid("callback_query.id", "a callback query has no id")
		}
		in := providers.Inbound{
			Provider:  providers.Telegram,
			Kind:      providers.KindMessage,
			MessageID: id,
			From:      strconv.FormatInt(q.From.ID, 10),
			FromName:  name(q.From),
			Locale:    q.From.LanguageCode,
			Answer:    q.Data,
			Text:      q.Data,
			AckID:     q.ID,
		}
		if m := q.Message; m != nil {
			if m.Chat.ID != 0 {
				in.From = strconv.FormatInt(m.Chat.ID, 10)
			}
			if m.ReplyMarkup != nil {
				for _, row := range m.ReplyMarkup.InlineKeyboard {
					for _, b := range row {
						if b.CallbackData == q.Data && b.Text != "" {
							in.Text = b.Text
						}
					}
				}
			}
		}
		return []providers.Inbound{in}, nil
	}
	return nil, nil
}

func addMedia(in *providers.Inbound, m *message) {
	add := func(kind string, f *file) {
		in.Media = append(in.Media, providers.Media{Kind: kind, ProviderID: f.FileID, MimeType: f.MimeType, Caption: firstNonEmpty(m.Caption, f.FileName)})
	}
	switch {
	case len(m.Photo) > 0:
		// Sizes come smallest first; keep the largest.
		add(providers.MediaImage, &m.Photo[len(m.Photo)-1])
	case m.Document != nil:
		add(providers.MediaDocument, m.Document)
	case m.Audio != nil:
		add(providers.MediaAudio, m.Audio)
	case m.Voice != nil:
		add(providers.MediaAudio, m.Voice)
	case m.Video != nil:
		add(providers.MediaVideo, m.Video)
	case m.Sticker != nil:
		add(providers.MediaSticker, m.Sticker)
	case m.Location != nil:
		in.Media = append(in.Media, providers.Media{
			Kind: providers.MediaLocation,
			URL:  "geo:" + strconv.FormatFloat(m.Location.Latitude, 'f', -1, 64) + "," + strconv.FormatFloat(m.Location.Longitude, 'f', -1, 64),
		})
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func name(u user) string { return strings.TrimSpace(u.FirstName + " " + u.LastName) }

// phone normalises a shared contact number ("34612345678" or "+34 612...") to E.164.
func phone(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() < 6 {
		return ""
	}
	return "+" + b.String()
}

func unix(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// Respond acknowledges a callback query in the webhook's answer (the Bot API
// runs a method named in a webhook response), so the button stops spinning
// without an extra call.
func (p *Provider) Respond(events []providers.Inbound) (string, []byte) {
	for _, e := range events {
		if e.AckID != "" {
			b, _ := json.Marshal(map[string]string{"method": "answerCallbackQuery", "callback_query_id": e.AckID})
			return "application/json", b
		}
	}
	return "", nil
}

// Payload is the sendMessage request body for msg.
func Payload(msg providers.Outbound) (map[string]any, error) {
	if strings.TrimSpace(msg.To) == "" {
		return nil, routing.Invalid("to", "the recipient is required")
	}
	if strings.TrimSpace(msg.Text) == "" && len(msg.Options) == 0 {
		return nil, routing.Invalid("text", "the message text is required")
	}
	var chatID any = msg.To
	if n, err := strconv.ParseInt(msg.To, 10, 64); err == nil {
		chatID = n
	}
	body := map[string]any{"chat_id": chatID}
	if len(msg.Options) > 0 && msg.Text != "" && fits(msg.Options) {
		rows := make([][]map[string]string, len(msg.Options))
		for i, o := range msg.Options {
			rows[i] = []map[string]string{{"text": o.Title, "callback_data": o.ID}}
		}
		body["text"] = msg.Text
		body["reply_markup"] = map[string]any{"inline_keyboard": rows}
	} else {
		body["text"] = providers.NumberedText(msg.Text, msg.Options)
	}
	if providers.RuneLen(body["text"].(string)) > MaxText {
		return nil, routing.Invalid("text", "the message is longer than %d characters", MaxText)
	}
	return body, nil
}

func fits(opts []providers.Option) bool {
	for _, o := range opts {
		if o.ID == "" || o.Title == "" || len(o.ID) > MaxCallbackData {
			return false
		}
	}
	return true
}

func describe(body []byte) (string, time.Duration) {
	var e struct {
		Description string `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", 0
	}
	return e.Description, time.Duration(e.Parameters.RetryAfter) * time.Second
}

// Send posts msg to {base}/bot<token>/sendMessage and returns the message_id.
func (p *Provider) Send(ctx context.Context, ch routing.Channel, secret string, msg providers.Outbound) (string, error) {
	if secret == "" {
		return "", routing.Invalid("secretRef", "the Telegram channel has no bot token")
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
		Provider: providers.Telegram,
		Method:   http.MethodPost,
		URL:      providers.BaseURL(ch, DefaultBaseURL) + "/bot" + secret + "/sendMessage",
		Header:   h,
		Body:     body,
		Redact:   []string{secret},
		Describe: describe,
	})
	if err != nil {
		return "", err
	}
	var r struct {
		Result struct {
			MessageID int64 `json:"message_id"`
		} `json:"result"`
	}
	if json.Unmarshal(resp.Body, &r) != nil || r.Result.MessageID == 0 {
		return "", nil
	}
	return strconv.FormatInt(r.Result.MessageID, 10), nil
}
