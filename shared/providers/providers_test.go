package providers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/providers/providertest"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

func TestEnvSecrets(t *testing.T) {
	env := providers.EnvSecrets{Lookup: func(k string) (string, bool) {
		v, ok := map[string]string{"WA_SECRET": `{"appSecret":"a"}`, "EMPTY": ""}[k]
		return v, ok
	}}
	ctx := context.Background()
	if v, err := env.Secret(ctx, "env:WA_SECRET"); err != nil || v != `{"appSecret":"a"}` {
		t.Errorf("%q %v", v, err)
	}
	for _, ref := range []string{"env:MISSING", "env:EMPTY"} {
		if _, err := env.Secret(ctx, ref); !routing.IsNotFound(err) {
			t.Errorf("%s: %v", ref, err)
		}
	}
	t.Setenv("SWITCHBOARD_TEST_SECRET_X", "from-os")
	if v, err := (providers.EnvSecrets{}).Secret(ctx, "env:SWITCHBOARD_TEST_SECRET_X"); err != nil || v != "from-os" {
		t.Errorf("os env: %q %v", v, err)
	}
}

func TestFileSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.json")
	content := `{"wa-main": {"appSecret": "s1", "accessToken": "t1", "verifyToken": "v1"}, "generic": "plain-secret"}`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	fs, err := providers.LoadFileSecrets(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := providers.ResolveCredentials(ctx, fs, "file:wa-main")
	if err != nil || c.ForVerify() != "s1" || c.ForSend() != "t1" || c.ForHandshake() != "v1" {
		t.Errorf("%+v %v", c, err)
	}
	c, err = providers.ResolveCredentials(ctx, fs, "file:generic")
	if err != nil || c.ForVerify() != "plain-secret" || c.ForSend() != "plain-secret" {
		t.Errorf("%+v %v", c, err)
	}
	if _, err := fs.Secret(ctx, "file:nope"); !routing.IsNotFound(err) {
		t.Errorf("missing key: %v", err)
	}
	if _, err := providers.ParseFileSecrets([]byte(`{"k": 5}`)); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Errorf("number value: %v", err)
	}
	absent, err := providers.LoadFileSecrets(filepath.Join(t.TempDir(), "absent.json"))
	if err != nil {
		t.Fatalf("a missing file is an empty set of secrets: %v", err)
	}
	if _, err := absent.Secret(ctx, "file:k"); !routing.IsNotFound(err) {
		t.Errorf("missing file: %v", err)
	}
}

// A malformed file is an error at start, never silently empty; the file is
// read again when it changes, without a restart; an edit that breaks it keeps
// the last good values.
func TestFileSecretsReloadAndMalformed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "secrets.json")
	if err := os.WriteFile(path, []byte(`{"web": "one",`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := providers.LoadFileSecrets(path); routing.ErrorCode(err) != routing.CodeInvalid || strings.Contains(err.Error(), dir) {
		t.Fatalf("malformed file at start: %v", err)
	}
	if err := os.WriteFile(path, []byte(`{"web": "one"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fs, err := providers.LoadFileSecrets(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := fs.Secret(ctx, "file:web"); v != "one" {
		t.Fatalf("got %q", v)
	}
	if err := os.WriteFile(path, []byte(`{"web": "second", "wa": {"appSecret": "s"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if v, _ := fs.Secret(ctx, "file:web"); v != "second" {
		t.Fatalf("not reloaded: %q", v)
	}
	if err := os.WriteFile(path, []byte(`{"web": "thi`), 0o600); err != nil {
		t.Fatal(err)
	}
	if v, _ := fs.Secret(ctx, "file:web"); v != "second" {
		t.Fatalf("a broken edit lost the last good values: %q", v)
	}
}

// Put writes one secret atomically with mode 0600, keeping the other entries.
func TestFileSecretsPut(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(path, []byte(`{"wa": {"appSecret": "s", "verifyToken": "v"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := providers.LoadFileSecrets(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Put(ctx, fs.RefFor("web"), []byte(`"new-secret"`)); err != nil {
		t.Fatal(err)
	}
	if err := fs.Put(ctx, "file:tg", []byte(`{"appSecret": "a", "accessToken": "b"}`)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	var onDisk map[string]any
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &onDisk); err != nil || onDisk["web"] != "new-secret" || onDisk["wa"].(map[string]any)["verifyToken"] != "v" || onDisk["tg"].(map[string]any)["accessToken"] != "b" {
		t.Fatalf("file %s %v", b, err)
	}
	if v, _ := fs.Secret(ctx, "file:web"); v != "new-secret" {
		t.Fatalf("got %q", v)
	}
	if err := fs.Put(ctx, "file:x", []byte(`5`)); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Fatalf("a number: %v", err)
	}
	if fs.Owns("env:X") || !fs.Owns("file:web") {
		t.Fatal("Owns")
	}
}

func TestResolver(t *testing.T) {
	fs, _ := providers.ParseFileSecrets([]byte(`{"k":"from-file"}`))
	r := providers.Resolver{
		"file": fs,
		"env":  providers.EnvSecrets{Lookup: func(string) (string, bool) { return "from-env", true }},
	}
	ctx := context.Background()
	if v, _ := r.Secret(ctx, "file:k"); v != "from-file" {
		t.Errorf("file: %q", v)
	}
	if v, _ := r.Secret(ctx, "env:K"); v != "from-env" {
		t.Errorf("env: %q", v)
	}
	for _, ref := range []string{"k", "vault:k", ":k"} {
		if _, err := r.Secret(ctx, ref); routing.ErrorCode(err) != routing.CodeInvalid {
			t.Errorf("%q: %v", ref, err)
		}
	}
}

func TestParseCredentials(t *testing.T) {
	c, err := providers.ParseCredentials(`{"authToken":"tw"}`)
	if err != nil || c.ForVerify() != "tw" || c.ForSend() != "tw" || c.ForHandshake() != "" {
		t.Errorf("authToken: %+v %v", c, err)
	}
	c, _ = providers.ParseCredentials(`{"authToken":"tw","accessToken":"other"}`)
	if c.ForSend() != "other" || c.ForVerify() != "tw" {
		t.Errorf("explicit wins: %+v", c)
	}
	for _, bad := range []string{"", "  ", "{not json"} {
		if _, err := providers.ParseCredentials(bad); routing.ErrorCode(err) != routing.CodeInvalid {
			t.Errorf("%q: %v", bad, err)
		} else if strings.Contains(err.Error(), "not json") {
			t.Errorf("error echoes the secret: %v", err)
		}
	}
	if _, err := providers.ResolveCredentials(context.Background(), nil, ""); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Errorf("empty ref: %v", err)
	}
}

func TestMatchOption(t *testing.T) {
	opts := []providers.Option{{ID: "sales", Title: "Sales"}, {ID: "support", Title: "Technical Support"}}
	cases := []struct {
		in   providers.Inbound
		want string
	}{
		{providers.Inbound{Answer: "support", Text: "whatever"}, "support"},
		{providers.Inbound{Text: "1"}, "sales"},
		{providers.Inbound{Text: " 2. "}, "support"},
		{providers.Inbound{Text: "technical support"}, "support"},
		{providers.Inbound{Text: "SALES"}, "sales"},
		{providers.Inbound{Text: "3"}, ""},
		{providers.Inbound{Text: "0"}, ""},
		{providers.Inbound{Text: "billing"}, ""},
		{providers.Inbound{Answer: "unknown", Text: ""}, ""},
	}
	for _, c := range cases {
		o, ok := providers.MatchOption(opts, c.in)
		if o.ID != c.want || ok != (c.want != "") {
			t.Errorf("%+v -> %+v %v, want %q", c.in, o, ok, c.want)
		}
	}
}

func TestNumberedTextAndTruncate(t *testing.T) {
	got := providers.NumberedText("Which team?", []providers.Option{{ID: "a", Title: "Sales"}, {ID: "b", Title: "Support"}})
	if got != "Which team?\n\n1. Sales\n2. Support" {
		t.Errorf("%q", got)
	}
	if providers.NumberedText("plain", nil) != "plain" {
		t.Error("no options changes the text")
	}
	if got := providers.Truncate("Atención al cliente", 8); got != "Atenció…" || providers.RuneLen(got) != 8 {
		t.Errorf("%q", got)
	}
	if providers.Truncate("short", 8) != "short" {
		t.Error("short text truncated")
	}
}

type fakeProvider struct{ name string }

func (f fakeProvider) Name() string                                           { return f.name }
func (fakeProvider) Verify(*http.Request, []byte, string) error               { return nil }
func (fakeProvider) Parse([]byte, *http.Request) ([]providers.Inbound, error) { return nil, nil }

type fakeSender struct {
	fakeProvider
	gotSecret string
}

func (f *fakeSender) Send(_ context.Context, _ routing.Channel, secret string, _ providers.Outbound) (string, error) {
	f.gotSecret = secret
	return "id-1", nil
}

func TestRegistryAndDeliver(t *testing.T) {
	s := &fakeSender{fakeProvider: fakeProvider{"b"}}
	reg := providers.NewRegistry(fakeProvider{"a"}, s)
	if names := reg.Names(); strings.Join(names, ",") != "a,b" {
		t.Errorf("names %v", names)
	}
	if _, ok := reg.Sender("a"); ok {
		t.Error("a cannot send")
	}
	if _, ok := reg.Get("c"); ok {
		t.Error("c is not registered")
	}
	secrets, _ := providers.ParseFileSecrets([]byte(`{"b":{"appSecret":"verify-me","accessToken":"send-me"}}`))
	id, err := providers.Deliver(context.Background(), reg, secrets, routing.Channel{Provider: "b", SecretRef: "file:b"}, providers.Outbound{To: "x", Text: "y"})
	if err != nil || id != "id-1" || s.gotSecret != "send-me" {
		t.Errorf("%q %v secret=%q", id, err, s.gotSecret)
	}
	if _, err := providers.Deliver(context.Background(), reg, secrets, routing.Channel{Provider: "a", SecretRef: "file:b"}, providers.Outbound{}); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Errorf("non-sender: %v", err)
	}
}

func TestVerifySHA256Header(t *testing.T) {
	body := []byte("payload")
	good := "sha256=" + providers.HMACSHA256Hex("k", body)
	if err := providers.VerifySHA256Header("X-Sig", good, body, "k"); err != nil {
		t.Fatal(err)
	}
	if err := providers.VerifySHA256Header("X-Sig", strings.ToUpper(good[:7])+good[7:], body, "k"); err == nil {
		t.Error("prefix must be lowercase sha256=")
	}
	if err := providers.VerifySHA256Header("X-Sig", good[:len(good)-2], body, "k"); err == nil {
		t.Error("short signature accepted")
	}
	err := providers.VerifySHA256Header("X-Sig", "", body, "k")
	if routing.ErrorCode(err) != routing.CodeUnauthenticated || !strings.Contains(err.Error(), "X-Sig") {
		t.Errorf("missing: %v", err)
	}
	if !providers.EqualSecret("abc", "abc") || providers.EqualSecret("abc", "abcd") || providers.EqualSecret("", "a") {
		t.Error("EqualSecret")
	}
}

func TestClientRetryAfterDate(t *testing.T) {
	now := time.Date(2025, 6, 16, 10, 0, 0, 0, time.UTC)
	srv := providertest.NewServer(t,
		providertest.Reply{Status: 503, Header: map[string]string{"Retry-After": now.Add(4 * time.Second).Format(http.TimeFormat)}},
		providertest.Reply{Status: 200, Body: "{}"})
	sl := &providertest.Sleeper{}
	c := providertest.Client(sl, 3)
	c.Now = func() time.Time { return now }
	resp, err := c.Do(context.Background(), providers.Request{Provider: "x", Method: "POST", URL: srv.URL})
	if err != nil || resp.Attempts != 2 {
		t.Fatalf("%+v %v", resp, err)
	}
	if d := sl.Delays(); len(d) != 1 || d[0] != 4*time.Second {
		t.Errorf("delays %v, want [4s]", d)
	}
}

func TestClientBackoffIsCapped(t *testing.T) {
	srv := providertest.NewServer(t, providertest.Reply{Status: 502})
	sl := &providertest.Sleeper{}
	c := &providers.Client{Attempts: 8, BaseDelay: time.Second, MaxDelay: 10 * time.Second, Sleep: sl.Sleep}
	_, err := c.Do(context.Background(), providers.Request{Method: "POST", URL: srv.URL})
	if routing.ErrorCode(err) != routing.CodeUnavailable || !strings.Contains(err.Error(), "502") {
		t.Fatalf("%v", err)
	}
	want := []time.Duration{1, 2, 4, 8, 10, 10, 10}
	d := sl.Delays()
	if len(d) != len(want) {
		t.Fatalf("delays %v", d)
	}
	for i := range want {
		if d[i] != want[i]*time.Second {
			t.Errorf("delay %d = %v, want %v", i, d[i], want[i]*time.Second)
		}
	}
}

func TestClientPerAttemptTimeout(t *testing.T) {
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	defer close(block)
	sl := &providertest.Sleeper{}
	c := &providers.Client{Attempts: 2, Timeout: 20 * time.Millisecond, Sleep: sl.Sleep}
	_, err := c.Do(context.Background(), providers.Request{Provider: "slowpoke", Method: "POST", URL: slow.URL})
	if routing.ErrorCode(err) != routing.CodeUnavailable || !strings.Contains(err.Error(), "2 attempts") {
		t.Errorf("%v", err)
	}
	if len(sl.Delays()) != 1 {
		t.Errorf("delays %v", sl.Delays())
	}
}
