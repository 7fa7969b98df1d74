package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Channel secrets: written through the API (write-only, 0600 in the data
// folder), references checked when a channel is created, the file read again
// when it changes, and a webhook whose secret is missing answers 503.
func TestChannelSecrets(t *testing.T) {
	e := start(t, "")
	secretsFile := filepath.Join(e.m.Opts.DataDir, "secrets.json")

	// a plain secret, or a reference that resolves to nothing, is refused
	for _, ref := range []string{"s3cr3t-value", "file:absent", "nope:x"} {
		r := e.call("POST", "/v1/channels", e.admin, map[string]any{"id": "shop", "provider": "generic", "externalId": "shop", "secretRef": ref})
		if r.Status != 400 || r.str("error.field") != "secretRef" {
			t.Fatalf("secretRef %q: %d %s", ref, r.Status, r.Raw)
		}
		if strings.Contains(string(r.Raw), "s3cr3t") {
			t.Fatalf("the secret is echoed: %s", r.Raw)
		}
	}
	if n := len(e.must(e.call("GET", "/v1/channels", e.admin, nil), 200).items()); n != 0 {
		t.Fatalf("%d channels after refusals", n)
	}

	// store the secret, then reference it
	put := e.must(e.call("PUT", "/v1/channels/shop/secret", e.admin, map[string]any{"secret": "shop-secret-1"}), 200)
	if put.str("secretRef") != "file:shop" || strings.Contains(string(put.Raw), "shop-secret-1") {
		t.Fatalf("put: %s", put.Raw)
	}
	if fi, err := os.Stat(secretsFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secrets.json mode %v %v", fi.Mode(), err)
	}
	e.must(e.call("POST", "/v1/channels", e.admin, map[string]any{"id": "shop", "provider": "generic", "externalId": "shop", "secretRef": "file:shop"}), 201)
	list := e.must(e.call("GET", "/v1/channels", e.admin, nil), 200)
	if strings.Contains(string(list.Raw), "shop-secret") || list.items()[0]["secretRef"] != "file:shop" {
		t.Fatalf("channels: %s", list.Raw)
	}
	bad := e.call("PUT", "/v1/channels/shop/secret", e.admin, map[string]any{"secret": map[string]any{"appSecret": 5}})
	if bad.Status != 400 || bad.str("error.field") != "secret.appSecret" {
		t.Fatalf("bad secret: %d %s", bad.Status, bad.Raw)
	}

	hook := func(secret string) response {
		raw := []byte(`{"channelId":"shop","messageId":"` + secret + `","from":"+447700900123","text":"hi"}`)
		e.secret = secret
		return e.signedWebhook(raw, e.sign(raw))
	}
	e.must(hook("shop-secret-1"), 200)

	// a new secret through the API is used at once
	e.must(e.call("PUT", "/v1/channels/shop/secret", e.admin, map[string]any{"secret": map[string]any{"appSecret": "shop-secret-2"}}), 200)
	e.must(hook("shop-secret-2"), 200)
	if r := hook("shop-secret-1"); r.Status != 401 {
		t.Fatalf("the old secret still verifies: %d", r.Status)
	}

	// an edit of the file is used without a restart
	var onDisk map[string]any
	b, _ := os.ReadFile(secretsFile)
	if err := json.Unmarshal(b, &onDisk); err != nil {
		t.Fatal(err)
	}
	onDisk["shop"] = "shop-secret-edited-by-hand"
	b, _ = json.Marshal(onDisk)
	if err := os.WriteFile(secretsFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	e.must(hook("shop-secret-edited-by-hand"), 200)

	// the secret disappears: 503 with Retry-After, never 500
	delete(onDisk, "shop")
	b, _ = json.Marshal(onDisk)
	if err := os.WriteFile(secretsFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	raw := []byte(`{"channelId":"shop","messageId":"gone","from":"+447700900123","text":"hi"}`)
	req, _ := http.NewRequest("POST", e.url+"/v1/webhooks/generic", bytes.NewReader(raw))
	req.Header.Set("X-Switchboard-Signature", e.sign(raw))
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("missing secret: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
}
