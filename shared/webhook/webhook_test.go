package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/providers/catalog"
	"github.com/switchboard-oss/switchboard/shared/providers/generic"
	"github.com/switchboard-oss/switchboard/shared/providers/twilio"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

const (
	waSecret      = "wa-app-secret"
	genericSecret = "generic-secret"
	tgSecret      = "tg-secret-token"
	twilioToken   = "twilio-auth-token"
	publicBase    = "https://hooks.example.com"
)

type fakeChannels struct {
	mu       sync.Mutex
	channels []routing.Channel
	err      error // returned by every lookup when set
}

func (f *fakeChannels) ChannelByExternalID(_ context.Context, provider, ext string) (routing.Channel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return routing.Channel{}, f.err
	}
	for _, c := range f.channels {
		if c.Provider == provider && c.ExternalID == ext {
			return c, nil
		}
	}
	return routing.Channel{}, routing.NotFound("channel", ext)
}

func (f *fakeChannels) GetChannel(_ context.Context, id string) (routing.Channel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return routing.Channel{}, f.err
	}
	for _, c := range f.channels {
		if c.ID == id {
			return c, nil
		}
	}
	return routing.Channel{}, routing.NotFound("channel", id)
}

func (f *fakeChannels) ChannelsOf(_ context.Context, provider string) ([]routing.Channel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []routing.Channel
	for _, c := range f.channels {
		if c.Provider == provider {
			out = append(out, c)
		}
	}
	return out, nil
}

type call struct {
	ch     routing.Channel
	events []providers.Inbound
}

type fakeIngestor struct {
	mu    sync.Mutex
	calls []call
	err   error
}

func (f *fakeIngestor) Ingest(_ context.Context, ch routing.Channel, msgs []providers.Inbound) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.calls = append(f.calls, call{ch, append([]providers.Inbound(nil), msgs...)})
	return nil
}

func (f *fakeIngestor) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

type env struct {
	h        *Handler
	mux      *http.ServeMux
	channels *fakeChannels
	ingest   *fakeIngestor
	clock    *clock.Virtual
}

var start = time.Date(2025, 6, 16, 9, 30, 0, 0, time.UTC)

func newEnv(t *testing.T) *env {
	t.Helper()
	secrets, err := providers.ParseFileSecrets([]byte(`{
		"wa":      {"appSecret": "` + waSecret + `", "accessToken": "EAAG", "verifyToken": "verify-me"},
		"wa2":     {"appSecret": "another-app-secret"},
		"generic": "` + genericSecret + `",
		"tg":      {"appSecret": "` + tgSecret + `", "accessToken": "123:bot"},
		"twilio":  {"authToken": "` + twilioToken + `"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{
		channels: &fakeChannels{channels: []routing.Channel{
			{ID: "ch_wa", Provider: "whatsapp", ExternalID: "106540352242922", SecretRef: "file:wa"},
			{ID: "ch_wa2", Provider: "whatsapp", ExternalID: "999999999999999", SecretRef: "file:wa2"},
			{ID: "ch_gen", Provider: "generic", ExternalID: "web-chat-eu", SecretRef: "file:generic"},
			{ID: "ch_tg", Provider: "telegram", SecretRef: "file:tg"},
			{ID: "ch_sms", Provider: "twilio", ExternalID: "+15005550006", SecretRef: "file:twilio"},
			{ID: "ch_nosecret", Provider: "generic", ExternalID: "broken", SecretRef: "file:absent"},
		}},
		ingest: &fakeIngestor{},
		clock:  clock.NewVirtual(start),
	}
	e.h = &Handler{
		Providers: catalog.New(catalog.Config{PublicBaseURL: publicBase}),
		Channels:  e.channels,
		Secrets:   providers.Resolver{"file": secrets},
		Ingestor:  e.ingest,
		Clock:     e.clock,
	}
	e.mux = http.NewServeMux()
	e.h.Register(e.mux)
	return e
}

func (e *env) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	return w
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(target string, body []byte, header ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

func metaSig(secret string, body []byte) string {
	return "sha256=" + providers.HMACSHA256Hex(secret, body)
}

func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code routing.Code, field string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("not the error shape: %s", w.Body)
	}
	if b.Error.Code != string(code) || b.Error.Message == "" || b.Error.Field != field {
		t.Errorf("error %+v, want code %s field %q", b.Error, code, field)
	}
}

func TestGenericValidSignature(t *testing.T) {
	e := newEnv(t)
	body := []byte(`{"channelId":"web-chat-eu","messageId":"m-1","from":"visitor-1","text":"hi","at":"2025-06-16T09:00:00Z"}`)
	w := e.do(post("/v1/webhooks/generic", body, generic.SignatureHeader, generic.Sign(genericSecret, body)))
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"ok":true}` {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	calls := e.ingest.Calls()
	if len(calls) != 1 || calls[0].ch.ID != "ch_gen" || len(calls[0].events) != 1 {
		t.Fatalf("calls %+v", calls)
	}
	ev := calls[0].events[0]
	if ev.MessageID != "m-1" || ev.Text != "hi" || !ev.At.Equal(time.Date(2025, 6, 16, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("event %+v", ev)
	}
	// Without "at" the clock stamps it.
	body = []byte(`{"channelId":"web-chat-eu","messageId":"m-2","from":"visitor-1","text":"again"}`)
	if w := e.do(post("/v1/webhooks/generic", body, generic.SignatureHeader, generic.Sign(genericSecret, body))); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if got := e.ingest.Calls()[1].events[0].At; !got.Equal(start) {
		t.Errorf("at %v, want the clock's %v", got, start)
	}
}

func TestGenericByChannelID(t *testing.T) {
	e := newEnv(t)
	// channelId may be the Switchboard id as well as the external id.
	body := []byte(`{"channelId":"ch_gen","messageId":"m-9","from":"v"}`)
	if w := e.do(post("/v1/webhooks/generic", body, generic.SignatureHeader, generic.Sign(genericSecret, body))); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if c := e.ingest.Calls(); len(c) != 1 || c[0].ch.ID != "ch_gen" {
		t.Errorf("calls %+v", c)
	}
}

func TestWhatsAppByExternalID(t *testing.T) {
	e := newEnv(t)
	body := readFile(t, "../providers/whatsapp/testdata/text.json")
	w := e.do(post("/v1/webhooks/whatsapp", body, "X-Hub-Signature-256", metaSig(waSecret, body)))
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	calls := e.ingest.Calls()
	if len(calls) != 1 || calls[0].ch.ID != "ch_wa" || calls[0].events[0].Phone != "+34612345678" {
		t.Fatalf("calls %+v", calls)
	}
}

func TestBadOrMissingSignature(t *testing.T) {
	wa := readFile(t, "../providers/whatsapp/testdata/text.json")
	gen := []byte(`{"channelId":"web-chat-eu","messageId":"m-1","from":"v","text":"hi"}`)
	tampered := bytes.Replace(wa, []byte("factura"), []byte("FACTURA"), 1)
	cases := map[string]*http.Request{
		"whatsapp wrong secret":    post("/v1/webhooks/whatsapp", wa, "X-Hub-Signature-256", metaSig("guess", wa)),
		"whatsapp tampered":        post("/v1/webhooks/whatsapp", tampered, "X-Hub-Signature-256", metaSig(waSecret, wa)),
		"whatsapp missing":         post("/v1/webhooks/whatsapp", wa),
		"whatsapp channel param":   post("/v1/webhooks/whatsapp?channel=ch_wa", wa),
		"other channel's secret":   post("/v1/webhooks/whatsapp?channel=ch_wa2", wa, "X-Hub-Signature-256", metaSig(waSecret, wa)),
		"generic wrong secret":     post("/v1/webhooks/generic", gen, generic.SignatureHeader, generic.Sign("nope", gen)),
		"generic missing":          post("/v1/webhooks/generic", gen),
		"telegram wrong token":     post("/v1/webhooks/telegram?channel=ch_tg", readFile(t, "../providers/telegram/testdata/text.json"), "X-Telegram-Bot-Api-Secret-Token", "nope"),
		"twilio missing":           post("/v1/webhooks/twilio?channel=ch_sms", readFile(t, "../providers/twilio/testdata/sms.form")),
		"unknown channel":          post("/v1/webhooks/generic", []byte(`{"channelId":"nope","messageId":"1","from":"v"}`), generic.SignatureHeader, generic.Sign(genericSecret, []byte(`{"channelId":"nope","messageId":"1","from":"v"}`))),
		"unknown channel param":    post("/v1/webhooks/generic?channel=ch_nope", gen, generic.SignatureHeader, generic.Sign(genericSecret, gen)),
		"channel of another kind":  post("/v1/webhooks/whatsapp?channel=ch_gen", gen, "X-Hub-Signature-256", metaSig(genericSecret, gen)),
		"garbage, wrong signature": post("/v1/webhooks/generic?channel=ch_gen", []byte("{{{"), generic.SignatureHeader, "sha256=00"),
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			wantError(t, e.do(r), http.StatusUnauthorized, routing.CodeUnauthenticated, "")
			if n := len(e.ingest.Calls()); n != 0 {
				t.Errorf("%d ingests after a refused webhook", n)
			}
		})
	}
}

func TestGarbageIsBadRequest(t *testing.T) {
	e := newEnv(t)
	body := []byte(`{"channelId":"web-chat-eu","from":"v"}`) // no messageId
	wantError(t, e.do(post("/v1/webhooks/generic?channel=ch_gen", body, generic.SignatureHeader, generic.Sign(genericSecret, body))), 400, routing.CodeInvalid, "messageId")
	wantError(t, e.do(post("/v1/webhooks/whatsapp", []byte("not json"))), 400, routing.CodeInvalid, "body")
	if n := len(e.ingest.Calls()); n != 0 {
		t.Errorf("%d ingests", n)
	}
}

func TestTelegramNeedsChannelAndAcksCallbacks(t *testing.T) {
	e := newEnv(t)
	body := readFile(t, "../providers/telegram/testdata/callback_query.json")
	wantError(t, e.do(post("/v1/webhooks/telegram", body, "X-Telegram-Bot-Api-Secret-Token", tgSecret)), 400, routing.CodeInvalid, "channel")
	w := e.do(post("/v1/webhooks/telegram?channel=ch_tg", body, "X-Telegram-Bot-Api-Secret-Token", tgSecret))
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || !strings.Contains(w.Body.String(), `"method":"answerCallbackQuery"`) {
		t.Fatalf("%d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	calls := e.ingest.Calls()
	if len(calls) != 1 || calls[0].ch.ID != "ch_tg" || calls[0].events[0].Answer != "support" {
		t.Errorf("calls %+v", calls)
	}
}

func TestTwilioAnswersTwiML(t *testing.T) {
	e := newEnv(t)
	body := readFile(t, "../providers/twilio/testdata/sms.form")
	params, _ := url.ParseQuery(string(body))
	target := "/v1/webhooks/twilio"
	r := post(target, body, "Content-Type", "application/x-www-form-urlencoded",
		twilio.SignatureHeader, twilio.Signature(twilioToken, publicBase+target, params))
	w := e.do(r)
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/xml" || w.Body.String() != "<Response/>" {
		t.Fatalf("%d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	calls := e.ingest.Calls()
	if len(calls) != 1 || calls[0].ch.ID != "ch_sms" || !calls[0].events[0].At.Equal(start) {
		t.Errorf("calls %+v", calls)
	}
}

func TestHandshake(t *testing.T) {
	e := newEnv(t)
	get := func(provider, q string) *httptest.ResponseRecorder {
		return e.do(httptest.NewRequest(http.MethodGet, "/v1/webhooks/"+provider+"?"+q, nil))
	}
	for _, q := range []string{
		"channel=ch_wa&hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444",
		"hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444", // no channel: any WhatsApp channel's token
	} {
		w := get("whatsapp", q)
		if w.Code != 200 || w.Body.String() != "1158201444" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d %q %s", q, w.Code, w.Header().Get("Content-Type"), w.Body)
		}
	}
	// wrong, missing or unknown: 403, as Meta expects
	wantError(t, get("whatsapp", "channel=ch_wa&hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"), 403, routing.CodeForbidden, "")
	wantError(t, get("whatsapp", "channel=ch_wa&hub.mode=subscribe&hub.challenge=1"), 403, routing.CodeForbidden, "")
	wantError(t, get("whatsapp", "channel=ch_wa2&hub.mode=subscribe&hub.verify_token=&hub.challenge=1"), 403, routing.CodeForbidden, "")
	wantError(t, get("whatsapp", "hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"), 403, routing.CodeForbidden, "")
	wantError(t, get("whatsapp", "channel=ch_nope&hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1"), 403, routing.CodeForbidden, "")
	// a WhatsApp channel's token does not open another provider's handshake
	wantError(t, get("messenger", "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1"), 403, routing.CodeForbidden, "")
	wantError(t, get("messenger", "channel=ch_wa&hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1"), 403, routing.CodeForbidden, "")
	wantError(t, get("whatsapp", "channel=ch_wa&hub.mode=nope&hub.verify_token=verify-me&hub.challenge=1"), 400, routing.CodeInvalid, "hub.mode")
	wantError(t, e.do(httptest.NewRequest(http.MethodGet, "/v1/webhooks/telegram?channel=ch_tg", nil)), 404, routing.CodeNotFound, "")
	if n := len(e.ingest.Calls()); n != 0 {
		t.Errorf("%d ingests", n)
	}
}

func TestOversizedBody(t *testing.T) {
	e := newEnv(t)
	e.h.MaxBody = 1024
	big := bytes.Repeat([]byte("a"), 1025)
	wantError(t, e.do(post("/v1/webhooks/generic?channel=ch_gen", big, generic.SignatureHeader, generic.Sign(genericSecret, big))), 413, routing.CodeInvalid, "body")
	// Without a Content-Length (chunked), the reader's limit catches it.
	r := post("/v1/webhooks/generic?channel=ch_gen", nil, generic.SignatureHeader, generic.Sign(genericSecret, big))
	r.Body = io.NopCloser(bytes.NewReader(big))
	r.ContentLength = -1
	wantError(t, e.do(r), 413, routing.CodeInvalid, "body")
	if n := len(e.ingest.Calls()); n != 0 {
		t.Errorf("%d ingests", n)
	}
	// The default limit is 1 MiB.
	e.h.MaxBody = 0
	huge := bytes.Repeat([]byte(" "), 1<<20+1)
	wantError(t, e.do(post("/v1/webhooks/generic?channel=ch_gen", huge)), 413, routing.CodeInvalid, "body")
}

func TestUnknownProviderAndMethod(t *testing.T) {
	e := newEnv(t)
	wantError(t, e.do(post("/v1/webhooks/smoke-signals", []byte("{}"))), 404, routing.CodeNotFound, "")
	w := httptest.NewRecorder()
	e.h.Serve(w, httptest.NewRequest(http.MethodPut, "/v1/webhooks/generic", nil), "generic")
	if w.Code != 405 || w.Header().Get("Allow") != "GET, POST" {
		t.Errorf("%d %v", w.Code, w.Header())
	}
}

func TestSameDeliveryFiveTimesConcurrently(t *testing.T) {
	e := newEnv(t)
	body := readFile(t, "../providers/whatsapp/testdata/text.json")
	sig := metaSig(waSecret, body)
	var wg sync.WaitGroup
	codes := make([]int, 5)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.do(post("/v1/webhooks/whatsapp", body, "X-Hub-Signature-256", sig)).Code
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("delivery %d: %d", i, c)
		}
	}
	// Dedupe is the Ingestor's job: every delivery reaches it, with the same id.
	calls := e.ingest.Calls()
	if len(calls) != 5 {
		t.Fatalf("%d ingests, want 5", len(calls))
	}
	for _, c := range calls {
		if c.events[0].MessageID != calls[0].events[0].MessageID {
			t.Errorf("message ids differ: %q %q", c.events[0].MessageID, calls[0].events[0].MessageID)
		}
	}
}

func TestIngestFailures(t *testing.T) {
	body := []byte(`{"channelId":"web-chat-eu","messageId":"m-1","from":"v"}`)
	sig := generic.Sign(genericSecret, body)
	e := newEnv(t)
	e.ingest.err = routing.Errorf(routing.CodeUnavailable, "store is busy")
	wantError(t, e.do(post("/v1/webhooks/generic", body, generic.SignatureHeader, sig)), 503, routing.CodeUnavailable, "")
	e.ingest.err = io.ErrUnexpectedEOF
	w := e.do(post("/v1/webhooks/generic", body, generic.SignatureHeader, sig))
	wantError(t, w, 500, routing.CodeInternal, "")
	if strings.Contains(w.Body.String(), "EOF") {
		t.Errorf("internal error text leaked: %s", w.Body)
	}
	e.ingest.err = nil
	e.channels.err = routing.Errorf(routing.CodeUnavailable, "table throttled")
	wantError(t, e.do(post("/v1/webhooks/generic", body, generic.SignatureHeader, sig)), 503, routing.CodeUnavailable, "")
}

// A channel whose secret is missing answers 503 with Retry-After (providers
// retry it; a 500 they would retry forever), logged as an error naming the channel.
func TestMissingSecretIsUnavailable(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	e.h.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	body := []byte(`{"channelId":"broken","messageId":"m-1","from":"v"}`)
	w := e.do(post("/v1/webhooks/generic", body, generic.SignatureHeader, generic.Sign("x", body)))
	wantError(t, w, 503, routing.CodeUnavailable, "")
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if strings.Contains(w.Body.String(), "absent") {
		t.Errorf("secret ref leaked: %s", w.Body)
	}
	if len(e.ingest.Calls()) != 0 {
		t.Error("ingested")
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "channel=ch_nosecret") {
		t.Errorf("not logged as an error naming the channel: %s", l)
	}
}

// A Meta app may deliver several phone numbers in one POST: each event goes to
// its own channel, events of unknown numbers are dropped.
func TestMultiChannelPayload(t *testing.T) {
	e := newEnv(t)
	body := []byte(`{"object":"whatsapp_business_account","entry":[
	 {"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"messages":[{"from":"34600000001","id":"wamid.A","timestamp":"1750000000","type":"text","text":{"body":"a"}}]}}]},
	 {"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"555"},"messages":[{"from":"34600000002","id":"wamid.B","timestamp":"1750000000","type":"text","text":{"body":"b"}}]}}]}]}`)
	w := e.do(post("/v1/webhooks/whatsapp", body, "X-Hub-Signature-256", metaSig(waSecret, body)))
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	calls := e.ingest.Calls()
	if len(calls) != 1 || calls[0].ch.ID != "ch_wa" || len(calls[0].events) != 1 || calls[0].events[0].MessageID != "wamid.A" {
		t.Errorf("calls %+v", calls)
	}
	// With ?channel=, events naming another number go to it only if the body verifies with its secret.
	e2 := newEnv(t)
	body2 := bytes.ReplaceAll(body, []byte(`"555"`), []byte(`"999999999999999"`))
	w = e2.do(post("/v1/webhooks/whatsapp?channel=ch_wa", body2, "X-Hub-Signature-256", metaSig(waSecret, body2)))
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	calls = e2.ingest.Calls()
	if len(calls) != 1 || calls[0].ch.ID != "ch_wa" || len(calls[0].events) != 1 {
		t.Errorf("ch_wa2 has another app secret, its event must be dropped: %+v", calls)
	}
}

func TestNoEventsWithoutChannel(t *testing.T) {
	e := newEnv(t)
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}}]}]}`)
	w := e.do(post("/v1/webhooks/whatsapp", body))
	if w.Code != 200 || len(e.ingest.Calls()) != 0 {
		t.Errorf("%d %s, %d ingests", w.Code, w.Body, len(e.ingest.Calls()))
	}
}

func TestServeWithoutPattern(t *testing.T) {
	e := newEnv(t)
	body := []byte(`{"channelId":"web-chat-eu","messageId":"m-1","from":"v"}`)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, post("/prefix/webhooks/generic", body, generic.SignatureHeader, generic.Sign(genericSecret, body)))
	if w.Code != 200 || len(e.ingest.Calls()) != 1 {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}

func BenchmarkWebhookGeneric(b *testing.B) {
	secrets, _ := providers.ParseFileSecrets([]byte(`{"generic":"` + genericSecret + `"}`))
	h := &Handler{
		Providers: catalog.New(catalog.Config{}),
		Channels:  &fakeChannels{channels: []routing.Channel{{ID: "ch_gen", Provider: "generic", ExternalID: "web-chat-eu", SecretRef: "file:generic"}}},
		Secrets:   providers.Resolver{"file": secrets},
		Ingestor:  &discard{},
	}
	body := []byte(`{"channelId":"web-chat-eu","messageId":"m-1","from":"visitor-1","text":"hello","at":"2025-06-16T09:00:00Z"}`)
	sig := generic.Sign(genericSecret, body)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.Serve(w, post("/v1/webhooks/generic", body, generic.SignatureHeader, sig), "generic")
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

type discard struct{}

func (discard) Ingest(context.Context, routing.Channel, []providers.Inbound) error { return nil }
