// Package twilio implements Twilio Programmable Messaging (SMS and WhatsApp):
// form-encoded inbound webhooks and status callbacks signed with
// X-Twilio-Signature, and sending through
// POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json.
//
// The signature is base64(HMAC-SHA1(auth token, URL + the POST parameters
// sorted by name, each name followed by its value)). The URL must be the one
// Twilio called, so behind a proxy it is rebuilt from, in order: the
// channel's Config["webhookUrl"] (exact), the provider's PublicBaseURL plus
// the request URI, or the request itself (scheme from X-Forwarded-Proto,
// host from X-Forwarded-Host or Host). Like Twilio's own libraries, the URL is
// also tried with the default port added or removed. Webhooks with a JSON body
// (bodySHA256 query parameter) are checked by the body's SHA-256 instead.
//
// Inbound Channel external id: the "To" address as Twilio writes it
// ("+15005550006", "whatsapp:+14155238886"). Questions are sent as numbered
// text. Sends carry the idempotency key in I-Twilio-Idempotency-Token.
package twilio

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// SignatureHeader carries Twilio's request signature.
const SignatureHeader = "X-Twilio-Signature"

// IdempotencyHeader carries the client-side key of a send.
const IdempotencyHeader = "I-Twilio-Idempotency-Token"

// DefaultBaseURL is Twilio's REST API host.
const DefaultBaseURL = "https://api.twilio.com"

// MaxBody is the longest message body Twilio accepts.
const MaxBody = 1600

// TwiML is the empty TwiML answer to an inbound webhook.
const TwiML = "<Response/>"

// Provider is the Twilio provider.
type Provider struct {
	Client *providers.Client
	// PublicBaseURL is the public origin (and path prefix, if a proxy strips
	// one) Twilio calls, e.g. "https://abc.execute-api.eu-west-1.amazonaws.com".
	// Empty: taken from the request.
	PublicBaseURL string
}

// New returns a provider sending with c (nil: a default client) and checking
// signatures against publicBaseURL ("" to use the request's own URL).
func New(c *providers.Client, publicBaseURL string) *Provider {
	if c == nil {
		c = &providers.Client{}
	}
	return &Provider{Client: c, PublicBaseURL: strings.TrimRight(publicBaseURL, "/")}
}

// Name is "twilio".
func (p *Provider) Name() string { return providers.Twilio }

// PublicURL is the URL Twilio signed for r.
func (p *Provider) PublicURL(r *http.Request) string {
	if ch, ok := providers.ChannelFromContext(r.Context()); ok && ch.Config["webhookUrl"] != "" {
		return ch.Config["webhookUrl"]
	}
	if p.PublicBaseURL != "" {
		return p.PublicBaseURL + r.URL.RequestURI()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if v := first(r.Header.Get("X-Forwarded-Proto")); v != "" {
		scheme = v
	}
	host := r.Host
	if v := first(r.Header.Get("X-Forwarded-Host")); v != "" {
		host = v
	}
	return scheme + "://" + host + r.URL.RequestURI()
}

func first(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}

// Signature computes the X-Twilio-Signature of a form webhook.
func Signature(authToken, fullURL string, params url.Values) string {
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(fullURL))
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			m.Write([]byte(k))
			m.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks X-Twilio-Signature with the account auth token.
func (p *Provider) Verify(r *http.Request, body []byte, secret string) error {
	if secret == "" {
		return providers.Unauthenticated("the channel has no auth token configured")
	}
	if r == nil {
		return providers.Unauthenticated("missing %s header", SignatureHeader)
	}
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return providers.Unauthenticated("missing %s header", SignatureHeader)
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(got) != sha1.Size {
		return providers.Unauthenticated("invalid %s", SignatureHeader)
	}
	full := p.PublicURL(r)
	u, err := url.Parse(full)
	if err != nil {
		return providers.Unauthenticated("invalid %s", SignatureHeader)
	}
	var params url.Values
	if bodyHash := u.Query().Get("bodySHA256"); bodyHash != "" {
		h := sha256.Sum256(body)
		want, err := hex.DecodeString(bodyHash)
		if err != nil || !hmac.Equal(want, h[:]) {
			return providers.Unauthenticated("invalid %s", SignatureHeader)
		}
	} else if params, err = url.ParseQuery(string(body)); err != nil {
		return providers.Unauthenticated("invalid %s", SignatureHeader)
	}
	ok := false
	for _, candidate := range urlVariants(u) {
		want, _ := base64.StdEncoding.DecodeString(Signature(secret, candidate, params))
		if hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return providers.Unauthenticated("invalid %s", SignatureHeader)
	}
	return nil
}

// urlVariants returns u as given, then with its default port added or removed.
func urlVariants(u *url.URL) []string {
	out := []string{u.String()}
	def := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	if def == "" {
		return out
	}
	v := *u
	if u.Port() == "" {
		v.Host = net.JoinHostPort(u.Hostname(), def)
	} else if u.Port() == def {
		v.Host = u.Hostname()
		if strings.Contains(v.Host, ":") {
			v.Host = "[" + v.Host + "]"
		}
	} else {
		return out
	}
	return append(out, v.String())
}

// Parse decodes a form-encoded inbound message or status callback.
func (p *Provider) Parse(body []byte, _ *http.Request) ([]providers.Inbound, error) {
	f, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, routing.Invalid("body", "not a Twilio webhook: invalid form encoding")
	}
	sid := f.Get("MessageSid")
	if sid == "" {
		sid = f.Get("SmsSid")
	}
	if sid == "" {
		return nil, routing.Invalid("MessageSid", "not a Twilio message webhook: MessageSid is required")
	}
	if st := f.Get("MessageStatus"); st != "" && st != "received" && st != "receiving" {
		state, ok := state(st)
		if !ok {
			return nil, nil // queued, sending, accepted, scheduled...: not a receipt
		}
		in := providers.Inbound{
			Provider:          providers.Twilio,
			Kind:              providers.KindStatus,
			ChannelExternalID: f.Get("From"), // our number sent it
			MessageID:         "status:" + sid + ":" + st,
			From:              f.Get("To"),
			Status:            &providers.Status{MessageID: sid, State: state},
		}
		if code := f.Get("ErrorCode"); code != "" {
			in.Status.Error = strings.TrimSpace(code + " " + f.Get("ErrorMessage"))
		}
		return []providers.Inbound{in}, nil
	}
	from := f.Get("From")
	in := providers.Inbound{
		Provider:          providers.Twilio,
		Kind:              providers.KindMessage,
		ChannelExternalID: f.Get("To"),
		MessageID:         sid,
		From:              from,
		FromName:          f.Get("ProfileName"),
		Phone:             phone(from),
		Text:              f.Get("Body"),
		Answer:            f.Get("ButtonPayload"),
	}
	if in.Text == "" {
		in.Text = f.Get("ButtonText")
	}
	n, _ := strconv.Atoi(f.Get("NumMedia"))
	for i := 0; i < n && i < 10; i++ {
		u := f.Get("MediaUrl" + strconv.Itoa(i))
		if u == "" {
			continue
		}
		ct := f.Get("MediaContentType" + strconv.Itoa(i))
		in.Media = append(in.Media, providers.Media{Kind: mediaKind(ct), URL: u, MimeType: ct})
	}
	if lat, long := f.Get("Latitude"), f.Get("Longitude"); lat != "" && long != "" {
		in.Media = append(in.Media, providers.Media{Kind: providers.MediaLocation, URL: "geo:" + lat + "," + long, Caption: f.Get("Address")})
	}
	return []providers.Inbound{in}, nil
}

func state(s string) (providers.State, bool) {
	switch s {
	case "sent":
		return providers.StateSent, true
	case "delivered":
		return providers.StateDelivered, true
	case "read":
		return providers.StateRead, true
	case "failed", "undelivered":
		return providers.StateFailed, true
	}
	return "", false
}

func mediaKind(ct string) string {
	switch {
	case strings.HasPrefix(ct, "image/"):
		return providers.MediaImage
	case strings.HasPrefix(ct, "audio/"):
		return providers.MediaAudio
	case strings.HasPrefix(ct, "video/"):
		return providers.MediaVideo
	}
	return providers.MediaDocument
}

// phone strips the channel prefix of a Twilio address ("whatsapp:+34...").
func phone(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		addr = addr[i+1:]
	}
	if len(addr) < 2 || addr[0] != '+' {
		return ""
	}
	for _, r := range addr[1:] {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return addr
}

// Respond answers with empty TwiML, so Twilio sends no automatic reply.
func (p *Provider) Respond([]providers.Inbound) (string, []byte) {
	return "text/xml", []byte(TwiML)
}

// Form is the Messages.json request form for msg sent from ch (exported for tests).
func Form(ch routing.Channel, msg providers.Outbound) (url.Values, error) {
	if strings.TrimSpace(msg.To) == "" {
		return nil, routing.Invalid("to", "the recipient is required")
	}
	if strings.TrimSpace(msg.Text) == "" && len(msg.Options) == 0 {
		return nil, routing.Invalid("text", "the message text is required")
	}
	text := providers.NumberedText(msg.Text, msg.Options)
	if providers.RuneLen(text) > MaxBody {
		return nil, routing.Invalid("text", "the message is longer than %d characters", MaxBody)
	}
	f := url.Values{}
	from := ch.Config["from"]
	if from == "" && !strings.HasPrefix(ch.ExternalID, "AC") {
		from = ch.ExternalID
	}
	to := msg.To
	if strings.HasPrefix(from, "whatsapp:") && !strings.HasPrefix(to, "whatsapp:") {
		to = "whatsapp:" + to
	}
	f.Set("To", to)
	switch {
	case ch.Config["messagingServiceSid"] != "":
		f.Set("MessagingServiceSid", ch.Config["messagingServiceSid"])
	case from != "":
		f.Set("From", from)
	default:
		return nil, routing.Invalid("config.from", "the Twilio channel has no sender number")
	}
	f.Set("Body", text)
	if cb := ch.Config["statusCallbackUrl"]; cb != "" {
		f.Set("StatusCallback", cb)
	}
	return f, nil
}

// AccountSID returns the channel's account SID.
func AccountSID(ch routing.Channel) string {
	if v := ch.Config["accountSid"]; v != "" {
		return v
	}
	if strings.HasPrefix(ch.ExternalID, "AC") {
		return ch.ExternalID
	}
	return ""
}

func describe(body []byte) (string, time.Duration) {
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		return "", 0
	}
	return strconv.Itoa(e.Code) + " " + e.Message, 0
}

// Send posts msg to Messages.json with basic auth (account SID, auth token)
// and returns the message SID.
func (p *Provider) Send(ctx context.Context, ch routing.Channel, secret string, msg providers.Outbound) (string, error) {
	if secret == "" {
		return "", routing.Invalid("secretRef", "the Twilio channel has no auth token")
	}
	sid := AccountSID(ch)
	if sid == "" {
		return "", routing.Invalid("config.accountSid", "the Twilio channel has no account SID")
	}
	form, err := Form(ch, msg)
	if err != nil {
		return "", err
	}
	c := p.Client
	if c == nil {
		c = &providers.Client{}
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(sid+":"+secret)))
	h.Set(IdempotencyHeader, c.IdempotencyKey(msg))
	resp, err := c.Do(ctx, providers.Request{
		Provider: providers.Twilio,
		Method:   http.MethodPost,
		URL:      providers.BaseURL(ch, DefaultBaseURL) + "/2010-04-01/Accounts/" + url.PathEscape(sid) + "/Messages.json",
		Header:   h,
		Body:     []byte(form.Encode()),
		Redact:   []string{secret},
		Describe: describe,
	})
	if err != nil {
		return "", err
	}
	var r struct {
		SID string `json:"sid"`
	}
	_ = json.Unmarshal(resp.Body, &r)
	return r.SID, nil
}
