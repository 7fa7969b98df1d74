package twilio

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/providers/providertest"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

const (
	authToken = "f3c2a1b0e9d8c7b6a5f4e3d2c1b0a9f8"
	public    = "https://hooks.example.com"
	path      = "/v1/webhooks/twilio?channel=ch_sms"
)

func form(t testing.TB, name string) []byte {
	t.Helper()
	_, files := providertest.Testdata(t, name)
	return files[name]
}

func signedRequest(t testing.TB, body []byte, signURL, token string) *http.Request {
	t.Helper()
	params, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Host = "internal-lb:8080"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(SignatureHeader, Signature(token, signURL, params))
	return r
}

// The example of Twilio's security documentation.
func TestSignatureKnownAnswer(t *testing.T) {
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+12349013030"},
		"Digits":  {"1234"},
		"From":    {"+12349013030"},
		"To":      {"+18005551212"},
	}
	if got := Signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params); got != "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" {
		t.Errorf("signature %q", got)
	}
}

func TestVerifyPublicURL(t *testing.T) {
	body := form(t, "sms.form")
	p := New(nil, public)
	if err := p.Verify(signedRequest(t, body, public+path, authToken), body, authToken); err != nil {
		t.Fatalf("public base URL: %v", err)
	}
	// Signed with the default port, received without it.
	if err := p.Verify(signedRequest(t, body, "https://hooks.example.com:443"+path, authToken), body, authToken); err != nil {
		t.Errorf("port variant: %v", err)
	}
	// The internal URL is not what Twilio signed.
	if err := p.Verify(signedRequest(t, body, "http://internal-lb:8080"+path, authToken), body, authToken); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Errorf("internal URL accepted: %v", err)
	}
	tampered := bytes.Replace(body, []byte("4471"), []byte("4472"), 1)
	if err := p.Verify(signedRequest(t, body, public+path, authToken), tampered, authToken); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Errorf("tampered body accepted: %v", err)
	}
	if err := p.Verify(signedRequest(t, body, public+path, "other"), body, authToken); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Errorf("wrong token accepted: %v", err)
	}
	r := signedRequest(t, body, public+path, authToken)
	r.Header.Del(SignatureHeader)
	if err := p.Verify(r, body, authToken); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Errorf("missing header accepted: %v", err)
	}
	if err := p.Verify(signedRequest(t, body, public+path, ""), body, ""); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Errorf("empty token accepted: %v", err)
	}
	// A different query string (another channel) is another URL.
	r = signedRequest(t, body, public+"/v1/webhooks/twilio?channel=ch_other", authToken)
	if err := p.Verify(r, body, authToken); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Errorf("other URL accepted: %v", err)
	}
}

func TestVerifyForwardedHeaders(t *testing.T) {
	body := form(t, "whatsapp_media.form")
	p := New(nil, "")
	r := signedRequest(t, body, "https://api.switchboard.example"+path, authToken)
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", "api.switchboard.example")
	if err := p.Verify(r, body, authToken); err != nil {
		t.Errorf("forwarded: %v", err)
	}
	r = signedRequest(t, body, "http://internal-lb:8080"+path, authToken)
	if err := p.Verify(r, body, authToken); err != nil {
		t.Errorf("direct: %v", err)
	}
}

func TestVerifyChannelWebhookURL(t *testing.T) {
	body := form(t, "sms.form")
	exact := "https://custom.example.org/twilio/hook?channel=ch_sms"
	r := signedRequest(t, body, exact, authToken)
	ch := routing.Channel{ID: "ch_sms", Config: map[string]string{"webhookUrl": exact}}
	r = r.WithContext(providers.WithChannel(r.Context(), ch))
	if err := New(nil, public).Verify(r, body, authToken); err != nil {
		t.Errorf("channel webhookUrl: %v", err)
	}
}

func TestVerifyBodySHA256(t *testing.T) {
	body := []byte(`{"MessageSid":"SM1","Body":"json"}`)
	sum := sha256.Sum256(body)
	p := "/v1/webhooks/twilio?bodySHA256=" + hex.EncodeToString(sum[:])
	r := httptest.NewRequest(http.MethodPost, p, bytes.NewReader(body))
	r.Header.Set(SignatureHeader, Signature(authToken, public+p, nil))
	if err := New(nil, public).Verify(r, body, authToken); err != nil {
		t.Errorf("bodySHA256: %v", err)
	}
	if err := New(nil, public).Verify(r, append(body, ' '), authToken); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Errorf("body hash mismatch accepted: %v", err)
	}
}

func TestParseSMS(t *testing.T) {
	got, err := New(nil, "").Parse(form(t, "sms.form"), nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	in := got[0]
	if in.Provider != "twilio" || in.Kind != providers.KindMessage || in.ChannelExternalID != "+15005550006" || in.MessageID != "SM1f0e8ae6ade43cb3c0ce4525424e404f" ||
		in.From != "+14155551234" || in.Phone != "+14155551234" || in.Text != "Hi, my order #4471 never arrived" || len(in.Media) != 0 || !in.At.IsZero() {
		t.Errorf("got %+v", in)
	}
}

func TestParseWhatsApp(t *testing.T) {
	got, err := New(nil, "").Parse(form(t, "whatsapp_media.form"), nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	in := got[0]
	if in.ChannelExternalID != "whatsapp:+14155238886" || in.From != "whatsapp:+34612345678" || in.Phone != "+34612345678" || in.FromName != "Lucía Fernández" || in.Text != "Aquí está la foto" {
		t.Errorf("got %+v", in)
	}
	if len(in.Media) != 1 || in.Media[0].Kind != "image" || in.Media[0].MimeType != "image/jpeg" || !strings.HasSuffix(in.Media[0].URL, "/Media/ME1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d") {
		t.Errorf("media %+v", in.Media)
	}
	got, _ = New(nil, "").Parse(form(t, "whatsapp_button.form"), nil)
	if len(got) != 1 || got[0].Answer != "team_support" || got[0].Text != "Suporte" {
		t.Errorf("button %+v", got)
	}
}

func TestParseStatus(t *testing.T) {
	got, err := New(nil, "").Parse(form(t, "status_delivered.form"), nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	s := got[0]
	if s.Kind != providers.KindStatus || s.ChannelExternalID != "+15005550006" || s.From != "+14155551234" ||
		s.Status.MessageID != "SM5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d" || s.Status.State != providers.StateDelivered {
		t.Errorf("got %+v %+v", s, s.Status)
	}
	got, _ = New(nil, "").Parse(form(t, "status_undelivered.form"), nil)
	if len(got) != 1 || got[0].Status.State != providers.StateFailed || !strings.HasPrefix(got[0].Status.Error, "30003") {
		t.Errorf("undelivered %+v", got)
	}
	got, err = New(nil, "").Parse([]byte("MessageSid=SM1&MessageStatus=queued&From=%2B1&To=%2B2"), nil)
	if err != nil || len(got) != 0 {
		t.Errorf("queued is not a receipt: %v %v", got, err)
	}
}

func TestParseGarbage(t *testing.T) {
	for _, b := range []string{``, `Body=hi`, `%zz`, `{"json":true}`} {
		if _, err := New(nil, "").Parse([]byte(b), nil); routing.ErrorCode(err) != routing.CodeInvalid {
			t.Errorf("Parse(%q) = %v", b, err)
		}
	}
}

func TestRespond(t *testing.T) {
	ct, body := New(nil, "").Respond(nil)
	if ct != "text/xml" || string(body) != "<Response/>" {
		t.Errorf("%q %q", ct, body)
	}
}

func channel(base string) routing.Channel {
	return routing.Channel{ID: "ch_wa_twilio", Provider: "twilio", ExternalID: "whatsapp:+14155238886",
		Config: map[string]string{"baseUrl": base, "accountSid": "AC7d3a6bd4e5f6a7b8c9d0e1f2a3b4c5d6"}}
}

func TestSendRequest(t *testing.T) {
	srv := providertest.NewServer(t, providertest.Reply{Status: 201, Body: `{"sid":"SMd1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6","status":"queued"}`})
	p := New(providertest.Client(&providertest.Sleeper{}, 2), "")
	id, err := p.Send(context.Background(), channel(srv.URL), authToken, providers.Outbound{
		To: "+34612345678", Text: "¿Con qué equipo?", IdempotencyKey: "k-1",
		Options: []providers.Option{{ID: "sales", Title: "Ventas"}, {ID: "support", Title: "Soporte"}},
	})
	if err != nil || id != "SMd1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6" {
		t.Fatalf("%q %v", id, err)
	}
	c := srv.Calls()[0]
	if c.Method != "POST" || c.Path != "/2010-04-01/Accounts/AC7d3a6bd4e5f6a7b8c9d0e1f2a3b4c5d6/Messages.json" {
		t.Errorf("%s %s", c.Method, c.Path)
	}
	user, pass, ok := (&http.Request{Header: c.Header}).BasicAuth()
	if !ok || user != "AC7d3a6bd4e5f6a7b8c9d0e1f2a3b4c5d6" || pass != authToken {
		t.Errorf("basic auth %q %q %v", user, pass, ok)
	}
	if c.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || c.Header.Get(IdempotencyHeader) != "k-1" {
		t.Errorf("headers %v", c.Header)
	}
	f, _ := url.ParseQuery(string(c.Body))
	if f.Get("To") != "whatsapp:+34612345678" || f.Get("From") != "whatsapp:+14155238886" || f.Get("Body") != "¿Con qué equipo?\n\n1. Ventas\n2. Soporte" {
		t.Errorf("form %v", f)
	}
}

func TestSendGeneratesOneKeyAcrossRetries(t *testing.T) {
	srv := providertest.NewServer(t, providertest.Reply{Status: 500, Body: `{}`}, providertest.Reply{Status: 201, Body: `{"sid":"SM1"}`})
	if _, err := New(providertest.Client(&providertest.Sleeper{}, 3), "").Send(context.Background(), channel(srv.URL), authToken, providers.Outbound{To: "+1", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls()
	k := calls[0].Header.Get(IdempotencyHeader)
	if k == "" || calls[1].Header.Get(IdempotencyHeader) != k {
		t.Errorf("keys %q %q", k, calls[1].Header.Get(IdempotencyHeader))
	}
}

func TestSendNeedsAccount(t *testing.T) {
	ch := routing.Channel{Provider: "twilio", ExternalID: "+15005550006"}
	if _, err := New(nil, "").Send(context.Background(), ch, authToken, providers.Outbound{To: "+1", Text: "x"}); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Errorf("%v", err)
	}
}

func TestSenderSuite(t *testing.T) {
	providertest.RunSenderSuite(t, providertest.SenderCase{
		New:     func(c *providers.Client) providers.Sender { return New(c, "") },
		Channel: channel,
		Secret:  authToken,
		To:      "whatsapp:+34612345678",
		OK:      providertest.Reply{Status: 201, Body: `{"sid":"SMok","status":"queued"}`},
		WantID:  "SMok",
		ErrorBody: func(d string) string {
			return `{"code":21211,"message":` + strconv.Quote(d) + `,"more_info":"https://www.twilio.com/docs/errors/21211","status":400}`
		},
		IdempotencyHeader: IdempotencyHeader,
	})
}

func seeds(f *testing.F) map[string][]byte {
	_, files := providertest.Testdata(f, "*.form")
	return files
}

func FuzzParse(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b)
	}
	p := New(nil, "")
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := p.Parse(body, nil)
		if err != nil {
			if routing.ErrorCode(err) != routing.CodeInvalid {
				t.Fatalf("error %v", err)
			}
			return
		}
		for _, in := range got {
			if in.Provider != "twilio" || in.MessageID == "" || (in.Kind == providers.KindStatus) != (in.Status != nil) {
				t.Fatalf("bad event %+v", in)
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	for _, b := range seeds(f) {
		params, _ := url.ParseQuery(string(b))
		f.Add(b, Signature(authToken, public+path, params))
		f.Add(b, Signature(authToken, public+"/other", params))
	}
	f.Add([]byte("a=1"), "")
	p := New(nil, public)
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		r := httptest.NewRequest(http.MethodPost, path, nil)
		r.Header.Set(SignatureHeader, sig)
		err := p.Verify(r, body, authToken)
		valid := false
		if params, perr := url.ParseQuery(string(body)); perr == nil {
			got, derr := base64.StdEncoding.DecodeString(sig)
			for _, u := range []string{public + path, "https://hooks.example.com:443" + path} {
				want, _ := base64.StdEncoding.DecodeString(Signature(authToken, u, params))
				if derr == nil && bytes.Equal(got, want) {
					valid = true
				}
			}
		}
		if valid != (err == nil) {
			t.Fatalf("Verify(%q, %q) = %v, valid = %v", body, sig, err, valid)
		}
	})
}

func BenchmarkVerifyAndParse(b *testing.B) {
	body := form(b, "sms.form")
	r := signedRequest(b, body, public+path, authToken)
	p := New(nil, public)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := p.Verify(r, body, authToken); err != nil {
			b.Fatal(err)
		}
		if _, err := p.Parse(body, r); err != nil {
			b.Fatal(err)
		}
	}
}
