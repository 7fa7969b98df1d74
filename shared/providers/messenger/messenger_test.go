package messenger

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/providers/providertest"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

const appSecret = "messenger-app-secret-42"

func signed(t testing.TB, body []byte, secret string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/webhooks/messenger", bytes.NewReader(body))
	r.Header.Set("X-Hub-Signature-256", "sha256="+providers.HMACSHA256Hex(secret, body))
	return r
}

func parseFile(t *testing.T, name string) []providers.Inbound {
	t.Helper()
	_, files := providertest.Testdata(t, name)
	body := files[name]
	p := New(nil)
	r := signed(t, body, appSecret)
	if err := p.Verify(r, body, appSecret); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	got, err := p.Parse(body, r)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return got
}

func TestParseText(t *testing.T) {
	got := parseFile(t, "text.json")
	if len(got) != 1 {
		t.Fatalf("%d events", len(got))
	}
	in := got[0]
	if in.Provider != "messenger" || in.Kind != providers.KindMessage || in.ChannelExternalID != "108712345678901" ||
		in.From != "6783212345678912" || !strings.HasPrefix(in.MessageID, "m_AG5Hz2") ||
		in.Text != "Bonjour, ma commande n'est pas arrivée" || !in.At.Equal(time.UnixMilli(1750091234123)) {
		t.Errorf("got %+v", in)
	}
	if in.Phone != "" || in.Answer != "" {
		t.Errorf("unexpected phone/answer %+v", in)
	}
}

func TestParseQuickReplyAndPostback(t *testing.T) {
	qr := parseFile(t, "quick_reply.json")
	if len(qr) != 1 || qr[0].Answer != "team_support" || qr[0].Text != "Support" {
		t.Errorf("quick reply %+v", qr)
	}
	pb := parseFile(t, "postback.json")
	if len(pb) != 1 || pb[0].Answer != "GET_STARTED" || pb[0].Text != "Get Started" || !strings.HasPrefix(pb[0].MessageID, "m_postback_") {
		t.Errorf("postback %+v", pb)
	}
}

func TestParseAttachmentsSkipsEcho(t *testing.T) {
	got := parseFile(t, "attachments.json")
	if len(got) != 1 {
		t.Fatalf("%d events, want 1 (the echo is dropped): %+v", len(got), got)
	}
	m := got[0].Media
	if len(m) != 1 || m[0].Kind != "image" || !strings.HasPrefix(m[0].URL, "https://scontent.xx.fbcdn.net/") {
		t.Errorf("media %+v", m)
	}
}

func TestParseDeliveryAndRead(t *testing.T) {
	got := parseFile(t, "delivery_read.json")
	if len(got) != 2 {
		t.Fatalf("%d events", len(got))
	}
	d, r := got[0], got[1]
	if d.Kind != providers.KindStatus || d.Status.State != providers.StateDelivered || d.Status.MessageID != "m_out_1Vbq2Nq8ZkX0pLr5dY7wS3tH9jC6mF4aB1eG2uK8oI0" {
		t.Errorf("delivery %+v %+v", d, d.Status)
	}
	if r.Kind != providers.KindStatus || r.Status.State != providers.StateRead || r.Status.MessageID != "" || !r.At.Equal(time.UnixMilli(1750091600253)) {
		t.Errorf("read %+v %+v", r, r.Status)
	}
	if d.MessageID == r.MessageID || d.MessageID == "" {
		t.Errorf("event ids %q %q", d.MessageID, r.MessageID)
	}
}

func TestParseGarbage(t *testing.T) {
	for _, body := range []string{``, `nope`, `[1]`, `{"object":"whatsapp_business_account"}`, `{"object":"page","entry":[{"messaging":[{"message":{"text":"no mid"}}]}]}`} {
		if _, err := New(nil).Parse([]byte(body), nil); routing.ErrorCode(err) != routing.CodeInvalid {
			t.Errorf("Parse(%q) = %v, want invalid_argument", body, err)
		}
	}
}

func TestVerify(t *testing.T) {
	_, files := providertest.Testdata(t, "text.json")
	body := files["text.json"]
	p := New(nil)
	if err := p.Verify(signed(t, body, appSecret), body, appSecret); err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(signed(t, body, "x"), body, appSecret); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Errorf("wrong secret: %v", err)
	}
	if err := p.Verify(httptest.NewRequest("POST", "/", nil), body, appSecret); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Errorf("missing: %v", err)
	}
	if err := p.Verify(signed(t, body, appSecret), append(body, ' '), appSecret); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Errorf("tampered: %v", err)
	}
}

func TestHandshake(t *testing.T) {
	r := httptest.NewRequest("GET", "/v1/webhooks/messenger?hub.mode=subscribe&hub.verify_token=vt&hub.challenge=CHAL", nil)
	if body, err := New(nil).Handshake(r, "vt"); err != nil || body != "CHAL" {
		t.Errorf("%q %v", body, err)
	}
	if _, err := New(nil).Handshake(r, "other"); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Errorf("wrong token: %v", err)
	}
}

func TestPayload(t *testing.T) {
	opts := func(n int) []providers.Option {
		out := make([]providers.Option, n)
		for i := range out {
			out[i] = providers.Option{ID: "p" + strings.Repeat("x", i), Title: "Option " + strings.Repeat("y", i%5)}
		}
		return out
	}
	for _, n := range []int{0, 1, 13, 14} {
		p, err := Payload(providers.Outbound{To: "6783212345678912", Text: "Pick one", Options: opts(n)})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(p)
		var got struct {
			Recipient     struct{ ID string }
			MessagingType string `json:"messaging_type"`
			Message       struct {
				Text         string
				QuickReplies []struct {
					ContentType string `json:"content_type"`
					Title       string
					Payload     string
				} `json:"quick_replies"`
			}
		}
		_ = json.Unmarshal(b, &got)
		if got.Recipient.ID != "6783212345678912" || got.MessagingType != "RESPONSE" {
			t.Errorf("n=%d envelope %s", n, b)
		}
		switch {
		case n == 0:
			if got.Message.Text != "Pick one" || got.Message.QuickReplies != nil {
				t.Errorf("plain %s", b)
			}
		case n <= 13:
			if len(got.Message.QuickReplies) != n || got.Message.Text != "Pick one" {
				t.Fatalf("n=%d %s", n, b)
			}
			for i, q := range got.Message.QuickReplies {
				if q.ContentType != "text" || q.Payload != opts(n)[i].ID || q.Title != opts(n)[i].Title {
					t.Errorf("quick reply %d %+v", i, q)
				}
			}
		default:
			if got.Message.QuickReplies != nil || !strings.Contains(got.Message.Text, "14. ") {
				t.Errorf("n=%d should be numbered text: %s", n, b)
			}
		}
	}
	if _, err := Payload(providers.Outbound{To: "1", Text: strings.Repeat("a", MaxText+1)}); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Errorf("too long: %v", err)
	}
}

func channel(base string) routing.Channel {
	return routing.Channel{ID: "ch_fb", Provider: "messenger", ExternalID: "108712345678901", Config: map[string]string{"baseUrl": base, "apiVersion": "v21.0"}}
}

func TestSendRequest(t *testing.T) {
	srv := providertest.NewServer(t, providertest.Reply{Status: 200, Body: `{"recipient_id":"6783212345678912","message_id":"m_sent_1"}`})
	p := New(providertest.Client(&providertest.Sleeper{}, 2))
	id, err := p.Send(context.Background(), channel(srv.URL), "PAGE+TOKEN/1", providers.Outbound{To: "6783212345678912", Text: "Hi"})
	if err != nil || id != "m_sent_1" {
		t.Fatalf("%q %v", id, err)
	}
	c := srv.Calls()[0]
	q, _ := url.ParseQuery(c.RawQuery)
	if c.Method != "POST" || c.Path != "/v21.0/me/messages" || q.Get("access_token") != "PAGE+TOKEN/1" || c.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s %s?%s %v", c.Method, c.Path, c.RawQuery, c.Header)
	}
	var body struct {
		Recipient     struct{ ID string }
		MessagingType string `json:"messaging_type"`
		Message       struct{ Text string }
	}
	if err := json.Unmarshal(c.Body, &body); err != nil || body.Recipient.ID != "6783212345678912" || body.MessagingType != "RESPONSE" || body.Message.Text != "Hi" {
		t.Errorf("body %s", c.Body)
	}
}

func TestSenderSuite(t *testing.T) {
	providertest.RunSenderSuite(t, providertest.SenderCase{
		New:     func(c *providers.Client) providers.Sender { return New(c) },
		Channel: channel,
		Secret:  "EAAB-page-token-xyz",
		To:      "6783212345678912",
		OK:      providertest.Reply{Status: 200, Body: `{"recipient_id":"6783212345678912","message_id":"m_ok"}`},
		WantID:  "m_ok",
		ErrorBody: func(d string) string {
			return `{"error":{"message":` + strconv.Quote(d) + `,"type":"OAuthException","code":100,"error_subcode":2018001}}`
		},
	})
}

func seeds(f *testing.F) map[string][]byte {
	_, files := providertest.Testdata(f, "*.json")
	return files
}

func FuzzParse(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b)
	}
	p := New(nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := p.Parse(body, nil)
		if err != nil {
			if routing.ErrorCode(err) != routing.CodeInvalid {
				t.Fatalf("error %v is not invalid_argument", err)
			}
			return
		}
		for _, in := range got {
			if in.Provider != "messenger" || in.MessageID == "" || (in.Kind == providers.KindStatus) != (in.Status != nil) {
				t.Fatalf("bad event %+v", in)
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b, "sha256="+providers.HMACSHA256Hex(appSecret, b))
		f.Add(b, "sha256="+providers.HMACSHA256Hex(appSecret, append(b, 'x')))
	}
	f.Add([]byte(""), "sha256=")
	p := New(nil)
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("X-Hub-Signature-256", sig)
		err := p.Verify(r, body, appSecret)
		hexSig, ok := strings.CutPrefix(sig, "sha256=")
		valid := ok && strings.EqualFold(hexSig, providers.HMACSHA256Hex(appSecret, body))
		if valid != (err == nil) {
			t.Fatalf("Verify(%q) = %v, valid = %v", sig, err, valid)
		}
	})
}

func BenchmarkVerifyAndParse(b *testing.B) {
	_, files := providertest.Testdata(b, "text.json")
	body := files["text.json"]
	r := signed(b, body, appSecret)
	p := New(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := p.Verify(r, body, appSecret); err != nil {
			b.Fatal(err)
		}
		if _, err := p.Parse(body, r); err != nil {
			b.Fatal(err)
		}
	}
}
