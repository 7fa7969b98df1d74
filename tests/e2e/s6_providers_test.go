package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/providers/twilio"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

const openedAssign = `{"id":"greet","name":"Route new conversations","trigger":{"type":"conversation_opened"},"steps":[{"id":"a","type":"assign","team":"front"}]}`

func readTestdata(t *testing.T, provider, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "providers", provider, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hubSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// S6: each provider's real payload, signed as the provider signs it: a bad
// or missing signature is 401 and stores nothing; the same delivery five
// times at once is one message, one conversation opening, one workflow run.
func TestS6ProviderWebhooks(t *testing.T) {
	type delivery struct {
		path        string
		contentType string
		body        []byte
		sign        func(r *http.Request) // adds the valid signature
		unsign      func(r *http.Request) // adds a wrong one
	}
	cases := []struct {
		provider, externalID, from, wantCountry, wantLang string
		make                                              func(e *env) delivery
	}{
		{"whatsapp", "106540352242922", "34612345678", "ES", "es", func(e *env) delivery {
			body := readTestdata(t, "whatsapp", "text.json")
			return delivery{"/v1/webhooks/whatsapp", "application/json", body,
				func(r *http.Request) { r.Header.Set("X-Hub-Signature-256", hubSignature("wa-secret", body)) },
				func(r *http.Request) { r.Header.Set("X-Hub-Signature-256", hubSignature("other", body)) }}
		}},
		{"messenger", "108712345678901", "6783212345678912", "", "", func(e *env) delivery {
			body := readTestdata(t, "messenger", "text.json")
			return delivery{"/v1/webhooks/messenger", "application/json", body,
				func(r *http.Request) { r.Header.Set("X-Hub-Signature-256", hubSignature("fb-secret", body)) },
				func(r *http.Request) { r.Header.Set("X-Hub-Signature-256", hubSignature("fb-secre", body)) }}
		}},
		{"telegram", "tg-bot", "5067712345", "", "it", func(e *env) delivery {
			body := readTestdata(t, "telegram", "text.json")
			return delivery{"/v1/webhooks/telegram?channel=telegram", "application/json", body,
				func(r *http.Request) { r.Header.Set("X-Telegram-Bot-Api-Secret-Token", "tg-secret") },
				func(r *http.Request) { r.Header.Set("X-Telegram-Bot-Api-Secret-Token", "tg-secreT") }}
		}},
		{"twilio", "+15005550006", "+14155551234", "US", "en", func(e *env) delivery {
			body := bytes.TrimSpace(readTestdata(t, "twilio", "sms.form"))
			params, _ := url.ParseQuery(string(body))
			full := e.url + "/v1/webhooks/twilio"
			return delivery{"/v1/webhooks/twilio", "application/x-www-form-urlencoded", body,
				func(r *http.Request) { r.Header.Set("X-Twilio-Signature", twilio.Signature("tw-token", full, params)) },
				func(r *http.Request) {
					r.Header.Set("X-Twilio-Signature", twilio.Signature("tw-token", full+"x", params))
				}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.provider, func(t *testing.T) {
			e := start(t, "", withSecrets(map[string]string{"wa": "wa-secret", "fb": "fb-secret", "tg": "tg-secret", "tw": `{"authToken":"tw-token"}`}))
			e.team("front", routing.RoundRobin, routing.ModeAutomatic, false)
			e.agent("ag", 10, routing.StatusOnline, "front")
			ref := map[string]string{"whatsapp": "wa", "messenger": "fb", "telegram": "tg", "twilio": "tw"}[tc.provider]
			e.must(e.call("POST", "/v1/channels", e.admin, map[string]any{"id": tc.provider, "provider": tc.provider, "externalId": tc.externalID, "name": tc.provider, "secretRef": "file:" + ref}), 201)
			e.publish(openedAssign)
			d := tc.make(e)
			post := func(sign func(*http.Request)) int {
				req, _ := http.NewRequest("POST", e.url+d.path, bytes.NewReader(d.body))
				req.Header.Set("Content-Type", d.contentType)
				if sign != nil {
					sign(req)
				}
				res, err := e.client.Do(req)
				if err != nil {
					t.Error(err)
					return 0
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				return res.StatusCode
			}
			for _, bad := range []func(*http.Request){nil, d.unsign} {
				if code := post(bad); code != 401 {
					t.Fatalf("bad or missing signature: %d, want 401", code)
				}
			}
			e.settle()
			if _, err := e.m.Store.ContactByExternalID(context.Background(), tc.provider, tc.from); !routing.IsNotFound(err) {
				t.Fatalf("an unverified webhook stored a contact: %v", err)
			}
			var wg sync.WaitGroup
			for i := 0; i < 5; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if code := post(d.sign); code != 200 {
						t.Errorf("valid delivery: %d", code)
					}
				}()
			}
			wg.Wait()
			e.settle()
			ct, err := e.m.Store.ContactByExternalID(context.Background(), tc.provider, tc.from)
			if err != nil {
				t.Fatalf("contact not stored: %v", err)
			}
			if ct.Country != tc.wantCountry || ct.Language != tc.wantLang {
				t.Fatalf("contact enrichment: country %q language %q, want %q %q", ct.Country, ct.Language, tc.wantCountry, tc.wantLang)
			}
			c := ct.OpenConversationID
			types := e.eventTypes(c)
			if count(types, string(routing.EvMessageIn)) != 1 || count(types, string(routing.EvOpened)) != 1 || count(types, string(routing.EvWorkflowStarted)) != 1 {
				t.Fatalf("five deliveries: %v", types)
			}
			if e.conv(c).str("assigneeId") != "ag" {
				t.Fatal("the workflow did not route it")
			}
			if convs := listAllE(e, c); convs != 1 {
				t.Fatalf("%d conversations", convs)
			}
		})
	}
}

func listAllE(e *env, _ string) int {
	return len(e.must(e.call("GET", "/v1/conversations?limit=100", e.admin, nil), 200).items())
}

// S6 outbound: Send Message and Ask a Question go out through the channel's
// provider; an outage is retried, recorded on the timeline, and never blocks
// the workflow forever.
func TestS6OutboundThroughProvider(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	fail := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if fail {
			w.WriteHeader(503)
			return
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		m["_signature"] = r.Header.Get("X-Switchboard-Signature")
		m["_key"] = r.Header.Get("Idempotency-Key")
		got = append(got, m)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"out-1"}`)
	}))
	defer srv.Close()
	e := start(t, "", withFastProviders())
	e.team("front", routing.RoundRobin, routing.ModeAutomatic, false)
	e.agent("ag", 10, routing.StatusOnline, "front")
	e.must(e.call("POST", "/v1/channels", e.admin, map[string]any{"id": "out", "provider": "generic", "externalId": "out", "name": "out", "secretRef": "file:" + channelID, "config": map[string]string{"outboundUrl": srv.URL}}), 201)
	e.publish(`{"id":"ask","name":"Ask","trigger":{"type":"conversation_opened"},"steps":[
	  {"id":"q","type":"ask","question":"Sales or Support?","options":[{"id":"sales","label":"Sales"},{"id":"support","label":"Support"}],"variable":"team","timeout":"10m","onTimeout":"a"},
	  {"id":"a","type":"assign","team":"front"},
	  {"id":"m","type":"send_message","text":"Connected."}]}`)
	raw := []byte(`{"channelId":"out","messageId":"o1","from":"+34600000042","text":"hi"}`)
	e.must(e.signedWebhook(raw, e.sign(raw)), 200)
	e.settle()
	mu.Lock()
	if len(got) != 1 || !strings.Contains(strings.ToLower(toJSON(got[0])), "sales or support") || got[0]["_signature"] == "" || got[0]["_key"] == "" {
		t.Fatalf("question not delivered through the provider: %v", got)
	}
	mu.Unlock()
	ct, _ := e.m.Store.ContactByExternalID(context.Background(), "out", "+34600000042")
	conv := ct.OpenConversationID

	// the provider goes down before the answer: the confirmation fails, is retried, and the run ends
	mu.Lock()
	fail = true
	mu.Unlock()
	raw = []byte(`{"channelId":"out","messageId":"o2","from":"+34600000042","text":"Support"}`)
	e.must(e.signedWebhook(raw, e.sign(raw)), 200)
	e.settle()
	e.advance(10 * time.Minute) // the machine's Retry backoff on the virtual clock
	types := e.eventTypes(conv)
	if count(types, string(routing.EvMessageFailed)) < 2 {
		t.Fatalf("the failed send was not retried and recorded: %v", types)
	}
	if count(types, string(routing.EvWorkflowFailed)) != 1 {
		t.Fatalf("the failure did not end the run on the timeline: %v", types)
	}
	if e.conv(conv).str("assigneeId") != "ag" {
		t.Fatal("the steps before the outage were lost")
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
