package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/providers/providertest"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

const appSecret = "test-app-secret-6c1f"

func signed(t testing.TB, body []byte, secret string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/webhooks/whatsapp", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
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
		t.Fatalf("%d events, want 1", len(got))
	}
	in := got[0]
	want := providers.Inbound{
		Provider:          "whatsapp",
		Kind:              providers.KindMessage,
		ChannelExternalID: "106540352242922",
		MessageID:         "wamid.HBgLMzQ2MTIzNDU2NzgVAgASGBQzQTdGQkM0NzU4RTJFOTJFNUI2QQA=",
		From:              "34612345678",
		FromName:          "Lucía Fernández",
		Phone:             "+34612345678",
		Text:              "Hola, necesito ayuda con mi factura",
		At:                time.Unix(1749416383, 0).UTC(),
	}
	if !equal(in, want) {
		t.Errorf("got  %+v\nwant %+v", in, want)
	}
}

func equal(a, b providers.Inbound) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestParseReplies(t *testing.T) {
	cases := []struct {
		file, answer, text, from, name string
	}{
		{"button_reply.json", "team_support", "Support", "16505551234", "Sheena Nelson"},
		{"list_reply.json", "billing", "Billing", "393471234567", "Marco Rossi"},
		{"template_button.json", "confirm_appointment", "Confirmar", "5511987654321", "Ana Souza"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got := parseFile(t, c.file)
			if len(got) != 1 {
				t.Fatalf("%d events", len(got))
			}
			in := got[0]
			if in.Answer != c.answer || in.Text != c.text || in.From != c.from || in.FromName != c.name || in.Phone != "+"+c.from {
				t.Errorf("got answer=%q text=%q from=%q name=%q phone=%q", in.Answer, in.Text, in.From, in.FromName, in.Phone)
			}
			if in.Kind != providers.KindMessage || !strings.HasPrefix(in.MessageID, "wamid.") {
				t.Errorf("kind %q id %q", in.Kind, in.MessageID)
			}
		})
	}
}

func TestParseMedia(t *testing.T) {
	got := parseFile(t, "image.json")
	if len(got) != 2 {
		t.Fatalf("%d events, want 2", len(got))
	}
	img := got[0]
	if len(img.Media) != 1 {
		t.Fatalf("media %+v", img.Media)
	}
	if m := img.Media[0]; m.Kind != "image" || m.ProviderID != "1003383421387256" || m.MimeType != "image/jpeg" || m.Caption != "Foto del recibo" {
		t.Errorf("image %+v", m)
	}
	if img.Text != "Foto del recibo" {
		t.Errorf("text %q, want the caption", img.Text)
	}
	loc := got[1]
	if len(loc.Media) != 1 || loc.Media[0].Kind != "location" || loc.Media[0].URL != "geo:19.4270245,-99.1676187" ||
		!strings.Contains(loc.Media[0].Caption, "Torre Mayor") {
		t.Errorf("location %+v", loc.Media)
	}
	if got[0].MessageID == got[1].MessageID {
		t.Error("two messages share an id")
	}
}

func TestParseStatuses(t *testing.T) {
	got := parseFile(t, "statuses.json")
	if len(got) != 2 {
		t.Fatalf("%d events, want 2", len(got))
	}
	d, f := got[0], got[1]
	if d.Kind != providers.KindStatus || d.Status == nil || d.Status.State != providers.StateDelivered ||
		d.Status.MessageID != "wamid.HBgLMzQ2MTIzNDU2NzgVAgARGBI3NDhFQzRCRjMzMkIyMjM1NTMA" || d.Status.Error != "" {
		t.Errorf("delivered: %+v %+v", d, d.Status)
	}
	if f.Status == nil || f.Status.State != providers.StateFailed || !strings.Contains(f.Status.Error, "131047") ||
		!strings.Contains(f.Status.Error, "24 hours") {
		t.Errorf("failed: %+v", f.Status)
	}
	if d.MessageID == f.MessageID || d.ChannelExternalID != "106540352242922" {
		t.Errorf("ids %q %q channel %q", d.MessageID, f.MessageID, d.ChannelExternalID)
	}
}

func TestParseGarbage(t *testing.T) {
	for _, body := range []string{``, `{`, `[]`, `"x"`, `{"object":"page","entry":[]}`, `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"from":"1"}]}}]}]}`} {
		_, err := New(nil).Parse([]byte(body), nil)
		if routing.ErrorCode(err) != routing.CodeInvalid {
			t.Errorf("Parse(%q) err = %v, want invalid_argument", body, err)
		}
	}
	// Other fields (account updates) are not messages.
	got, err := New(nil).Parse([]byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}}]}]}`), nil)
	if err != nil || len(got) != 0 {
		t.Errorf("account_update: %v %v", got, err)
	}
}

func TestVerify(t *testing.T) {
	_, files := providertest.Testdata(t, "text.json")
	body := files["text.json"]
	p := New(nil)
	if err := p.Verify(signed(t, body, appSecret), body, appSecret); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	tampered := bytes.Replace(body, []byte("factura"), []byte("Factura"), 1)
	cases := map[string]struct {
		r      *http.Request
		body   []byte
		secret string
	}{
		"tampered body": {signed(t, body, appSecret), tampered, appSecret},
		"wrong secret":  {signed(t, body, "other"), body, appSecret},
		"empty secret":  {signed(t, body, ""), body, ""},
		"missing":       {httptest.NewRequest(http.MethodPost, "/", nil), body, appSecret},
		"sha1 only": {func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set("X-Hub-Signature", "sha1=0000")
			return r
		}(), body, appSecret},
		"not hex": {func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set("X-Hub-Signature-256", "sha256=zz"+providers.HMACSHA256Hex(appSecret, body)[2:])
			return r
		}(), body, appSecret},
		"no prefix": {func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set("X-Hub-Signature-256", providers.HMACSHA256Hex(appSecret, body))
			return r
		}(), body, appSecret},
	}
	for name, c := range cases {
		if err := p.Verify(c.r, c.body, c.secret); routing.ErrorCode(err) != routing.CodeUnauthenticated {
			t.Errorf("%s: err = %v, want unauthenticated", name, err)
		}
	}
}

func TestHandshake(t *testing.T) {
	p := New(nil)
	get := func(q string) *http.Request {
		return httptest.NewRequest(http.MethodGet, "/v1/webhooks/whatsapp?"+q, nil)
	}
	body, err := p.Handshake(get("hub.mode=subscribe&hub.verify_token=tok-91&hub.challenge=1158201444"), "tok-91")
	if err != nil || body != "1158201444" {
		t.Errorf("handshake = %q, %v", body, err)
	}
	if _, err := p.Handshake(get("hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1"), "tok-91"); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Errorf("wrong token: %v", err)
	}
	if _, err := p.Handshake(get("hub.mode=subscribe&hub.verify_token=&hub.challenge=1"), ""); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Errorf("empty configured token: %v", err)
	}
	if _, err := p.Handshake(get("hub.mode=unsubscribe&hub.verify_token=tok-91&hub.challenge=1"), "tok-91"); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Errorf("bad mode: %v", err)
	}
}

func opts(n, titleLen int) []providers.Option {
	out := make([]providers.Option, n)
	for i := range out {
		title := strings.Repeat("x", titleLen-1) + string(rune('a'+i))
		out[i] = providers.Option{ID: "opt" + string(rune('a'+i)), Title: title}
	}
	return out
}

func TestPayloadShapes(t *testing.T) {
	cases := []struct {
		name     string
		msg      providers.Outbound
		wantType string // text, button, list
	}{
		{"plain", providers.Outbound{To: "1", Text: "hi"}, "text"},
		{"3 buttons", providers.Outbound{To: "1", Text: "Which team?", Options: opts(3, 10)}, "button"},
		{"4 options list", providers.Outbound{To: "1", Text: "Which team?", Options: opts(4, 10)}, "list"},
		{"long titles list", providers.Outbound{To: "1", Text: "Which team?", Options: opts(2, 22)}, "list"},
		{"10 options list", providers.Outbound{To: "1", Text: "Which team?", Options: opts(10, 10)}, "list"},
		{"11 numbered", providers.Outbound{To: "1", Text: "Which team?", Options: opts(11, 5)}, "text"},
		{"titles too long", providers.Outbound{To: "1", Text: "Which team?", Options: opts(2, 80)}, "text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Payload(c.msg)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(p)
			var got struct {
				Product     string `json:"messaging_product"`
				To          string `json:"to"`
				Type        string `json:"type"`
				Text        *struct{ Body string }
				Interactive *struct {
					Type   string
					Body   struct{ Text string }
					Action struct {
						Buttons []struct {
							Type  string
							Reply struct{ ID, Title string }
						}
						Button   string
						Sections []struct {
							Rows []struct{ ID, Title, Description string }
						}
					}
				}
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if got.Product != "whatsapp" || got.To != "1" {
				t.Errorf("envelope %s", b)
			}
			kind := got.Type
			if got.Type == "interactive" {
				kind = got.Interactive.Type
				if got.Interactive.Body.Text != c.msg.Text {
					t.Errorf("body %q", got.Interactive.Body.Text)
				}
			}
			if kind != c.wantType {
				t.Fatalf("type %q, want %q: %s", kind, c.wantType, b)
			}
			switch kind {
			case "text":
				for i, o := range c.msg.Options {
					if !strings.Contains(got.Text.Body, strings.Join([]string{itoa(i + 1), ". ", o.Title}, "")) {
						t.Errorf("numbered text lacks option %d: %q", i+1, got.Text.Body)
					}
				}
			case "button":
				if len(got.Interactive.Action.Buttons) != len(c.msg.Options) {
					t.Fatalf("buttons %s", b)
				}
				for i, bt := range got.Interactive.Action.Buttons {
					if bt.Type != "reply" || bt.Reply.ID != c.msg.Options[i].ID || bt.Reply.Title != c.msg.Options[i].Title {
						t.Errorf("button %d = %+v", i, bt)
					}
				}
			case "list":
				rows := got.Interactive.Action.Sections[0].Rows
				if len(rows) != len(c.msg.Options) || got.Interactive.Action.Button == "" {
					t.Fatalf("list %s", b)
				}
				for i, r := range rows {
					if r.ID != c.msg.Options[i].ID || providers.RuneLen(r.Title) > MaxRowTitle {
						t.Errorf("row %d = %+v", i, r)
					}
				}
			}
		})
	}
	if _, err := Payload(providers.Outbound{Text: "x"}); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Errorf("no recipient: %v", err)
	}
	if _, err := Payload(providers.Outbound{To: "1"}); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Errorf("no text: %v", err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func channel(base string) routing.Channel {
	return routing.Channel{ID: "ch_wa", Provider: "whatsapp", ExternalID: "106540352242922", Config: map[string]string{"baseUrl": base}}
}

func TestSendRequest(t *testing.T) {
	srv := providertest.NewServer(t, providertest.Reply{Status: 200, Body: `{"messaging_product":"whatsapp","contacts":[{"input":"34612345678","wa_id":"34612345678"}],"messages":[{"id":"wamid.HBgLMzQ2MTIzNDU2NzgVAgARGBJBQkM="}]}`})
	p := New(providertest.Client(&providertest.Sleeper{}, 3))
	id, err := p.Send(context.Background(), channel(srv.URL), "EAAG-token", providers.Outbound{
		To: "34612345678", Text: "¿Con qué equipo quieres hablar?",
		Options: []providers.Option{{ID: "sales", Title: "Ventas"}, {ID: "support", Title: "Soporte"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if id != "wamid.HBgLMzQ2MTIzNDU2NzgVAgARGBJBQkM=" {
		t.Errorf("id %q", id)
	}
	calls := srv.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	c := calls[0]
	if c.Method != "POST" || c.Path != "/v23.0/106540352242922/messages" {
		t.Errorf("%s %s", c.Method, c.Path)
	}
	if c.Header.Get("Authorization") != "Bearer EAAG-token" || c.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", c.Header)
	}
	var body map[string]any
	if err := json.Unmarshal(c.Body, &body); err != nil {
		t.Fatal(err)
	}
	inter := body["interactive"].(map[string]any)
	if body["type"] != "interactive" || inter["type"] != "button" || body["to"] != "34612345678" {
		t.Errorf("body %s", c.Body)
	}
	// apiVersion is configurable.
	ch := channel(srv.URL)
	ch.Config["apiVersion"] = "v19.0"
	if _, err := p.Send(context.Background(), ch, "EAAG-token", providers.Outbound{To: "1", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Calls()[1].Path; got != "/v19.0/106540352242922/messages" {
		t.Errorf("path %q", got)
	}
}

func TestSenderSuite(t *testing.T) {
	providertest.RunSenderSuite(t, providertest.SenderCase{
		New:     func(c *providers.Client) providers.Sender { return New(c) },
		Channel: channel,
		Secret:  "EAAG-secret-token-123",
		To:      "34612345678",
		OK:      providertest.Reply{Status: 200, Body: `{"messaging_product":"whatsapp","messages":[{"id":"wamid.OK1"}]}`},
		WantID:  "wamid.OK1",
		ErrorBody: func(d string) string {
			return `{"error":{"message":` + strconv.Quote(d) + `,"type":"OAuthException","code":100,"fbtrace_id":"AbC"}}`
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
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[{"id":"x","type":"text"}]}}]}]}`))
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
			if in.Provider != "whatsapp" || in.MessageID == "" || (in.Kind != providers.KindMessage && in.Kind != providers.KindStatus) {
				t.Fatalf("bad event %+v", in)
			}
			if (in.Kind == providers.KindStatus) != (in.Status != nil) {
				t.Fatalf("status mismatch %+v", in)
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b, "sha256="+providers.HMACSHA256Hex(appSecret, b))
		f.Add(b, "sha256="+providers.HMACSHA256Hex("wrong", b))
	}
	f.Add([]byte("{}"), "")
	f.Add([]byte("{}"), "sha256=")
	p := New(nil)
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("X-Hub-Signature-256", sig)
		err := p.Verify(r, body, appSecret)
		hexSig, ok := strings.CutPrefix(sig, "sha256=")
		valid := ok && strings.EqualFold(hexSig, providers.HMACSHA256Hex(appSecret, body))
		if valid != (err == nil) {
			t.Fatalf("Verify(%q) = %v, signature valid = %v", sig, err, valid)
		}
		if err != nil && routing.ErrorCode(err) != routing.CodeUnauthenticated {
			t.Fatalf("error %v is not unauthenticated", err)
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
