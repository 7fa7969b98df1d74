package generic

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

	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/providers/providertest"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

const secret = "generic-signing-secret"

func signed(t testing.TB, body []byte, s string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/webhooks/generic", bytes.NewReader(body))
	r.Header.Set(SignatureHeader, Sign(s, body))
	return r
}

func parseFile(t *testing.T, name string) []providers.Inbound {
	t.Helper()
	_, files := providertest.Testdata(t, name)
	body := files[name]
	r := signed(t, body, secret)
	p := New(nil)
	if err := p.Verify(r, body, secret); err != nil {
		t.Fatal(err)
	}
	got, err := p.Parse(body, r)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestParse(t *testing.T) {
	got := parseFile(t, "message.json")
	want := providers.Inbound{
		Provider: "generic", Kind: providers.KindMessage, ChannelExternalID: "web-chat-eu", MessageID: "wc-msg-000451",
		From: "visitor-8f2c1a", FromName: "Ada Lovelace", Phone: "+447700900123", Locale: "en-GB",
		Text: "Hello, I can't log in to my account", At: time.Date(2025, 6, 16, 10, 0, 0, 0, time.UTC),
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal([]providers.Inbound{want})
	if !bytes.Equal(gj, wj) {
		t.Errorf("got  %s\nwant %s", gj, wj)
	}
	a := parseFile(t, "answer.json")
	if len(a) != 1 || a[0].Answer != "support" || !a[0].At.Equal(time.Date(2025, 6, 16, 8, 0, 9, 250e6, time.UTC)) || a[0].At.Location() != time.UTC {
		t.Errorf("answer %+v", a)
	}
	b := parseFile(t, "batch.json")
	if len(b) != 2 || b[0].Locale != "de" || !b[0].At.IsZero() || b[1].Kind != providers.KindStatus || b[1].Status.State != providers.StateRead || b[1].Status.MessageID != "snd_01jxyz0000000000000000" {
		t.Errorf("batch %+v", b)
	}
}

func TestParseInvalidNamesField(t *testing.T) {
	cases := map[string]string{
		`{"from":"a","text":"x"}`:                                         "messageId",
		`{"messageId":"1","text":"x"}`:                                    "from",
		`{"messageId":"1","from":"a","phone":"612345678"}`:                "phone",
		`{"messageId":"1","from":"a","at":"yesterday"}`:                   "at",
		`{"messageId":1,"from":"a"}`:                                      "messageId",
		`{"messageId":"1","status":{"messageId":"x","state":"exploded"}}`: "status.state",
		`not json`: "body",
		``:         "body",
	}
	for body, field := range cases {
		_, err := New(nil).Parse([]byte(body), nil)
		var re *routing.Error
		if routing.ErrorCode(err) != routing.CodeInvalid || !asErr(err, &re) || re.Field != field {
			t.Errorf("Parse(%q) = %v, want invalid_argument on %q", body, err, field)
		}
	}
}

func asErr(err error, re **routing.Error) bool {
	e, ok := err.(*routing.Error)
	*re = e
	return ok
}

func TestVerify(t *testing.T) {
	body := []byte(`{"messageId":"1","from":"a"}`)
	p := New(nil)
	if err := p.Verify(signed(t, body, secret), body, secret); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*http.Request{
		"wrong secret": signed(t, body, "nope"),
		"missing":      httptest.NewRequest("POST", "/", nil),
	} {
		if err := p.Verify(r, body, secret); routing.ErrorCode(err) != routing.CodeUnauthenticated {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := p.Verify(signed(t, body, ""), body, ""); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Errorf("empty secret: %v", err)
	}
}

func channel(base string) routing.Channel {
	return routing.Channel{ID: "ch_gen", Provider: "generic", ExternalID: "web-chat-eu", Config: map[string]string{"outboundUrl": base + "/hooks/switchboard"}}
}

func TestSendRequest(t *testing.T) {
	srv := providertest.NewServer(t, providertest.Reply{Status: 202, Body: `{"messageId":"their-77"}`})
	p := New(providertest.Client(&providertest.Sleeper{}, 2))
	id, err := p.Send(context.Background(), channel(srv.URL), secret, providers.Outbound{To: "visitor-8f2c1a", Text: "Which team?", IdempotencyKey: "k-9",
		Options: []providers.Option{{ID: "sales", Title: "Sales"}}})
	if err != nil || id != "their-77" {
		t.Fatalf("%q %v", id, err)
	}
	c := srv.Calls()[0]
	if c.Method != "POST" || c.Path != "/hooks/switchboard" || c.Header.Get(IdempotencyHeader) != "k-9" || c.Header.Get(SignatureHeader) != Sign(secret, c.Body) {
		t.Errorf("%s %s %v", c.Method, c.Path, c.Header)
	}
	want := `{"channelId":"web-chat-eu","messageId":"k-9","to":"visitor-8f2c1a","text":"Which team?","options":[{"id":"sales","title":"Sales"}]}`
	if string(c.Body) != want {
		t.Errorf("body %s", c.Body)
	}
	// Without an id in the answer, the key is the id; without a key one is generated.
	srv2 := providertest.NewServer(t, providertest.Reply{Status: 204})
	cl := providertest.Client(&providertest.Sleeper{}, 1)
	cl.IDs = &ids.Sequence{}
	id, err = New(cl).Send(context.Background(), channel(srv2.URL), secret, providers.Outbound{To: "v", Text: "x"})
	if err != nil || id != "snd_000001" || srv2.Calls()[0].Header.Get(IdempotencyHeader) != "snd_000001" {
		t.Errorf("%q %v", id, err)
	}
	if _, err := New(nil).Send(context.Background(), routing.Channel{Provider: "generic"}, secret, providers.Outbound{To: "v", Text: "x"}); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Errorf("no outboundUrl: %v", err)
	}
}

func TestSenderSuite(t *testing.T) {
	providertest.RunSenderSuite(t, providertest.SenderCase{
		New:     func(c *providers.Client) providers.Sender { return New(c) },
		Channel: channel,
		Secret:  secret,
		To:      "visitor-1",
		OK:      providertest.Reply{Status: 200, Body: `{"messageId":"ok-1"}`},
		WantID:  "ok-1",
		ErrorBody: func(d string) string {
			return `{"error":{"code":"invalid_argument","message":` + strconv.Quote(d) + `}}`
		},
		IdempotencyHeader: IdempotencyHeader,
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
			var re *routing.Error
			if !asErr(err, &re) || re.Code != routing.CodeInvalid || re.Field == "" {
				t.Fatalf("error %v must be invalid_argument naming a field", err)
			}
			return
		}
		for _, in := range got {
			if in.MessageID == "" || (in.Kind == providers.KindMessage && in.From == "") || (in.Kind == providers.KindStatus) != (in.Status != nil) {
				t.Fatalf("bad event %+v", in)
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b, Sign(secret, b))
		f.Add(b, Sign(secret, b[1:]))
	}
	f.Add([]byte{}, "sha256=")
	p := New(nil)
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set(SignatureHeader, sig)
		err := p.Verify(r, body, secret)
		hexSig, ok := strings.CutPrefix(sig, "sha256=")
		valid := ok && strings.EqualFold(hexSig, providers.HMACSHA256Hex(secret, body))
		if valid != (err == nil) {
			t.Fatalf("Verify(%q) = %v, valid = %v", sig, err, valid)
		}
	})
}

func BenchmarkVerifyAndParse(b *testing.B) {
	_, files := providertest.Testdata(b, "message.json")
	body := files["message.json"]
	r := signed(b, body, secret)
	p := New(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := p.Verify(r, body, secret); err != nil {
			b.Fatal(err)
		}
		if _, err := p.Parse(body, r); err != nil {
			b.Fatal(err)
		}
	}
}
