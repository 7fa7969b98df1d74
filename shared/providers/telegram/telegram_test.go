package telegram

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

const secretToken = "tg_Webhook-Secret_1234"

func request(t testing.TB, body []byte, token string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/webhooks/telegram?channel=ch_tg", bytes.NewReader(body))
	if token != "" {
		r.Header.Set(SecretHeader, token)
	}
	return r
}

func parseFile(t *testing.T, name string) []providers.Inbound {
	t.Helper()
	_, files := providertest.Testdata(t, name)
	body := files[name]
	p := New(nil)
	r := request(t, body, secretToken)
	if err := p.Verify(r, body, secretToken); err != nil {
		t.Fatal(err)
	}
	got, err := p.Parse(body, r)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestParseText(t *testing.T) {
	got := parseFile(t, "text.json")
	if len(got) != 1 {
		t.Fatalf("%d events", len(got))
	}
	in := got[0]
	if in.Provider != "telegram" || in.Kind != providers.KindMessage || in.MessageID != "721546213" || in.From != "5067712345" ||
		in.FromName != "Giulia Bianchi" || in.Locale != "it" || in.Text != "Ciao, vorrei parlare con il supporto" ||
		!in.At.Equal(time.Unix(1750092001, 0)) || in.ChannelExternalID != "" || in.AckID != "" {
		t.Errorf("got %+v", in)
	}
}

func TestParseCallbackQuery(t *testing.T) {
	got := parseFile(t, "callback_query.json")
	if len(got) != 1 {
		t.Fatalf("%d events", len(got))
	}
	in := got[0]
	if in.Answer != "support" || in.Text != "Supporto" || in.AckID != "2176542347861234567" || in.From != "5067712345" || in.Locale != "it" || in.MessageID != "721546214" {
		t.Errorf("got %+v", in)
	}
	ct, body := New(nil).Respond(got)
	var ack map[string]string
	if ct != "application/json" || json.Unmarshal(body, &ack) != nil || ack["method"] != "answerCallbackQuery" || ack["callback_query_id"] != "2176542347861234567" {
		t.Errorf("respond %q %s", ct, body)
	}
	if ct, body := New(nil).Respond(parseFile(t, "text.json")); ct != "" || body != nil {
		t.Errorf("a plain message needs no method: %q %s", ct, body)
	}
}

func TestParseMediaAndContact(t *testing.T) {
	ph := parseFile(t, "photo.json")
	if len(ph) != 1 || len(ph[0].Media) != 1 || ph[0].Media[0].ProviderID != "AgACAgQAAxkBAAIEpWZ1large" || ph[0].Media[0].Kind != "image" || ph[0].Text != "Lo schermo si è rotto" {
		t.Errorf("photo %+v", ph)
	}
	ct := parseFile(t, "contact.json")
	if len(ct) != 1 || ct[0].Phone != "+393471234567" {
		t.Errorf("contact %+v", ct)
	}
	if ed := parseFile(t, "edited_message.json"); len(ed) != 0 {
		t.Errorf("edits are dropped, got %+v", ed)
	}
}

func TestParseGarbage(t *testing.T) {
	for _, b := range []string{``, `{`, `[]`, `{"message":{"text":"no update id"}}`, `{"update_id":1,"callback_query":{"data":"x"}}`} {
		if _, err := New(nil).Parse([]byte(b), nil); routing.ErrorCode(err) != routing.CodeInvalid {
			t.Errorf("Parse(%q) = %v", b, err)
		}
	}
}

func TestVerify(t *testing.T) {
	p := New(nil)
	body := []byte(`{"update_id":1}`)
	if err := p.Verify(request(t, body, secretToken), body, secretToken); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ header, secret string }{
		"wrong":        {"tg_Webhook-Secret_1235", secretToken},
		"prefix":       {secretToken[:5], secretToken},
		"missing":      {"", secretToken},
		"empty secret": {"", ""},
	} {
		if err := p.Verify(request(t, body, c.header), body, c.secret); routing.ErrorCode(err) != routing.CodeUnauthenticated {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPayload(t *testing.T) {
	p, err := Payload(providers.Outbound{To: "5067712345", Text: "Con quale team?", Options: []providers.Option{{ID: "sales", Title: "Vendite"}, {ID: "support", Title: "Supporto"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	want := `{"chat_id":5067712345,"reply_markup":{"inline_keyboard":[[{"callback_data":"sales","text":"Vendite"}],[{"callback_data":"support","text":"Supporto"}]]},"text":"Con quale team?"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	p, _ = Payload(providers.Outbound{To: "@channel", Text: "Pick", Options: []providers.Option{{ID: strings.Repeat("x", 65), Title: "Long"}}})
	if p["reply_markup"] != nil || p["text"] != "Pick\n\n1. Long" || p["chat_id"] != "@channel" {
		t.Errorf("callback_data over 64 bytes must fall back to numbered text: %v", p)
	}
}

func channel(base string) routing.Channel {
	return routing.Channel{ID: "ch_tg", Provider: "telegram", Config: map[string]string{"baseUrl": base}}
}

func TestSendRequest(t *testing.T) {
	srv := providertest.NewServer(t, providertest.Reply{Status: 200, Body: `{"ok":true,"result":{"message_id":1201,"chat":{"id":5067712345,"type":"private"},"date":1750092200,"text":"Ciao"}}`})
	id, err := New(providertest.Client(&providertest.Sleeper{}, 2)).Send(context.Background(), channel(srv.URL), "7012345678:AAH-bot-token", providers.Outbound{To: "5067712345", Text: "Ciao"})
	if err != nil || id != "1201" {
		t.Fatalf("%q %v", id, err)
	}
	c := srv.Calls()[0]
	if c.Method != "POST" || c.Path != "/bot7012345678:AAH-bot-token/sendMessage" || c.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s %s %v", c.Method, c.Path, c.Header)
	}
	if string(c.Body) != `{"chat_id":5067712345,"text":"Ciao"}` {
		t.Errorf("body %s", c.Body)
	}
}

func TestSendHonoursBodyRetryAfter(t *testing.T) {
	srv := providertest.NewServer(t,
		providertest.Reply{Status: 429, Body: `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}`},
		providertest.Reply{Status: 200, Body: `{"ok":true,"result":{"message_id":9}}`})
	sl := &providertest.Sleeper{}
	if _, err := New(providertest.Client(sl, 3)).Send(context.Background(), channel(srv.URL), "tok", providers.Outbound{To: "1", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if d := sl.Delays(); len(d) != 1 || d[0] != 3*time.Second {
		t.Errorf("delays %v, want [3s]", d)
	}
}

func TestSenderSuite(t *testing.T) {
	providertest.RunSenderSuite(t, providertest.SenderCase{
		New:     func(c *providers.Client) providers.Sender { return New(c) },
		Channel: channel,
		Secret:  "7012345678:AAH-secret-bot-token",
		To:      "5067712345",
		OK:      providertest.Reply{Status: 200, Body: `{"ok":true,"result":{"message_id":77}}`},
		WantID:  "77",
		ErrorBody: func(d string) string {
			return `{"ok":false,"error_code":400,"description":` + strconv.Quote(d) + `}`
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
				t.Fatalf("error %v", err)
			}
			return
		}
		for _, in := range got {
			if in.Provider != "telegram" || in.MessageID == "" || in.Kind != providers.KindMessage {
				t.Fatalf("bad event %+v", in)
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add(secretToken)
	f.Add("")
	f.Add(secretToken + "x")
	f.Add(strings.ToUpper(secretToken))
	p := New(nil)
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header[SecretHeader] = []string{header}
		err := p.Verify(r, nil, secretToken)
		if (err == nil) != (header == secretToken) {
			t.Fatalf("Verify(%q) = %v", header, err)
		}
	})
}

func BenchmarkVerifyAndParse(b *testing.B) {
	_, files := providertest.Testdata(b, "text.json")
	body := files["text.json"]
	r := request(b, body, secretToken)
	p := New(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := p.Verify(r, body, secretToken); err != nil {
			b.Fatal(err)
		}
		if _, err := p.Parse(body, r); err != nil {
			b.Fatal(err)
		}
	}
}
