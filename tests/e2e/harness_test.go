// Package e2e runs Switchboard's acceptance scenarios end to end: the local
// server (embedded mode) started on port 0 with a virtual clock, driven only
// through its HTTP API and webhooks.
package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/embedded"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// env is one running local server and a client for it.
type env struct {
	t      testing.TB
	m      *embedded.Main
	url    string
	admin  string // bearer token of an admin principal
	secret string // the generic channel's signing secret
	client *http.Client
	msgSeq atomic.Int64
	// outbound receives the generic channel's replies (its outboundUrl).
	outbound *httptest.Server

	defaultTeam string
	chOnce      sync.Once
}

const channelID = "web"

// startConfig is what options change before the server starts.
type startConfig struct {
	opts    embedded.Options
	secrets map[string]string
}

type option func(*startConfig)

// withDataDir reuses a data folder (to restart a server on it).
func withDataDir(dir string) option { return func(s *startConfig) { s.opts.DataDir = dir } }

func withEngine(c engine.Config) option { return func(s *startConfig) { s.opts.Engine = c } }

// withSecrets adds entries to the local secrets file (file:KEY references).
func withSecrets(m map[string]string) option {
	return func(s *startConfig) {
		for k, v := range m {
			s.secrets[k] = v
		}
	}
}

// withFastProviders makes outbound sends retry quickly.
func withFastProviders() option {
	return func(s *startConfig) {
		s.opts.ProviderClient = &providers.Client{Attempts: 2, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, Timeout: time.Minute} // quick retries; the timeout bounds a hang only
	}
}

// start runs a fresh local server with a virtual clock, an admin token and a
// generic channel routed to defaultTeam (if not empty).
func start(t testing.TB, defaultTeam string, opts ...option) *env {
	t.Helper()
	dir := t.TempDir()
	secret := "test-secret"
	cfg := startConfig{
		opts: embedded.Options{Addr: "127.0.0.1:0", DataDir: dir, VirtualClock: true, ClockStart: t0, IDs: &ids.Sequence{}, BusWorkers: 8,
			Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}, // not a line per request
		secrets: map[string]string{channelID: secret},
	}
	for _, f := range opts {
		f(&cfg)
	}
	b, _ := json.Marshal(cfg.secrets)
	if err := os.WriteFile(filepath.Join(cfg.opts.DataDir, "secrets.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	o := cfg.opts
	m, err := embedded.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	tok, err := m.Signer.Sign(auth.Principal{Subject: "root", Role: routing.RoleAdmin}, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(sink.Close)
	e := &env{t: t, m: m, url: m.URL, admin: tok, secret: secret, client: &http.Client{Timeout: 5 * time.Minute} /* a bound for hangs */, defaultTeam: defaultTeam, outbound: sink}
	return e
}

// channel creates the generic channel on first use, once the default team exists.
func (e *env) channel() {
	e.chOnce.Do(func() {
		cfg := map[string]string{"outboundUrl": e.outbound.URL}
		if e.defaultTeam != "" {
			cfg["team"] = e.defaultTeam
		}
		e.must(e.call("POST", "/v1/channels", e.admin, map[string]any{"id": channelID, "provider": "generic", "externalId": channelID, "name": "web", "secretRef": "file:" + channelID, "config": cfg}), 201)
	})
}

// response is a decoded API answer.
type response struct {
	Status int
	Body   map[string]any
	Raw    []byte
}

func (r response) str(path string) string {
	v := r.get(path)
	s, _ := v.(string)
	return s
}

func (r response) num(path string) float64 {
	f, _ := r.get(path).(float64)
	return f
}

func (r response) items() []map[string]any {
	raw, _ := r.Body["items"].([]any)
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i], _ = x.(map[string]any)
	}
	return out
}

// get follows a dotted path through the JSON body.
func (r response) get(path string) any {
	var cur any = r.Body
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func (e *env) call(method, path, token string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Raw: raw}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

// must fails the test unless r has the status.
func (e *env) must(r response, status int) response {
	e.t.Helper()
	if r.Status != status {
		e.t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	return r
}

func (e *env) token(agent string) string {
	e.t.Helper()
	tok, err := e.m.Token(context.Background(), agent, 48*time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *env) team(id string, strategy routing.Strategy, mode routing.Mode, onlineOnly bool) {
	e.t.Helper()
	e.must(e.call("POST", "/v1/teams", e.admin, map[string]any{"id": id, "name": id, "strategy": strategy, "mode": mode, "onlineOnly": onlineOnly}), 201)
}

func (e *env) agent(id string, max int, status routing.AgentStatus, teams ...string) {
	e.t.Helper()
	e.must(e.call("POST", "/v1/agents", e.admin, map[string]any{"id": id, "name": id, "maxConcurrent": max, "teams": teams}), 201)
	if status != routing.StatusOffline {
		e.status(id, status)
	}
}

func (e *env) status(agent string, s routing.AgentStatus) response {
	e.t.Helper()
	return e.must(e.call("PUT", "/v1/agents/"+agent+"/status", e.token(agent), map[string]any{"status": s}), 200)
}

// inbound posts a signed generic webhook message and returns the conversation id.
func (e *env) inbound(from, text string) string {
	e.t.Helper()
	id := fmt.Sprintf("msg-%d", e.msgSeq.Add(1))
	r := e.webhook(map[string]any{"channelId": channelID, "messageId": id, "from": from, "phone": from, "text": text})
	if r.Status != 200 {
		e.t.Fatalf("webhook: %d %s", r.Status, r.Raw)
	}
	e.settle()
	conv := e.conversationOf(from)
	if conv == "" {
		e.t.Fatalf("no conversation for %s", from)
	}
	return conv
}

func (e *env) webhook(body map[string]any) response {
	e.t.Helper()
	raw, _ := json.Marshal(body)
	return e.signedWebhook(raw, e.sign(raw))
}

func (e *env) sign(raw []byte) string {
	mac := hmac.New(sha256.New, []byte(e.secret))
	mac.Write(raw)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (e *env) signedWebhook(raw []byte, sig string) response {
	e.t.Helper()
	e.channel()
	req, _ := http.NewRequest("POST", e.url+"/v1/webhooks/generic", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("X-Switchboard-Signature", sig)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Raw: b}
	_ = json.Unmarshal(b, &out.Body)
	return out
}

func (e *env) conversationOf(from string) string {
	e.t.Helper()
	c, err := e.m.Store.ContactByExternalID(context.Background(), channelID, from)
	if err != nil {
		return ""
	}
	if c.OpenConversationID != "" {
		return c.OpenConversationID
	}
	return c.LastConversationID
}

func (e *env) settle() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a bound for hangs, not a speed assumption
	defer cancel()
	if err := e.m.Settle(ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) advance(d time.Duration) {
	e.t.Helper()
	e.must(e.call("POST", "/v1/dev/clock/advance", e.admin, map[string]any{"duration": d.String()}), 200)
}

func (e *env) conv(id string) response {
	e.t.Helper()
	return e.must(e.call("GET", "/v1/conversations/"+id, e.admin, nil), 200)
}

func (e *env) timeline(id string) []map[string]any {
	e.t.Helper()
	return e.must(e.call("GET", "/v1/conversations/"+id+"/events?limit=1000", e.admin, nil), 200).items()
}

func (e *env) eventTypes(id string) []string {
	var out []string
	for _, ev := range e.timeline(id) {
		out = append(out, ev["type"].(string))
	}
	return out
}

func (e *env) agentState(id string) response {
	e.t.Helper()
	return e.must(e.call("GET", "/v1/agents/"+id, e.admin, nil), 200)
}

func (e *env) notifications(agent string) []map[string]any {
	e.t.Helper()
	return e.must(e.call("GET", "/v1/me/notifications?limit=1000", e.token(agent), nil), 200).items()
}

func count(xs []string, x string) int {
	n := 0
	for _, s := range xs {
		if s == x {
			n++
		}
	}
	return n
}
