// Package meta holds what the WhatsApp Cloud API and the Messenger Platform
// share: Meta's webhook signature (X-Hub-Signature-256), the GET
// verification handshake and Graph API error bodies.
package meta

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the raw body keyed by the app secret>".
const SignatureHeader = "X-Hub-Signature-256"

// DefaultBaseURL is the Graph API host.
const DefaultBaseURL = "https://graph.facebook.com"

// DefaultGraphVersion is the Graph API version used when a channel has no
// Config["apiVersion"].
const DefaultGraphVersion = "v23.0"

// Verify checks X-Hub-Signature-256 against the raw body with the app secret.
func Verify(r *http.Request, body []byte, appSecret string) error {
	v := ""
	if r != nil {
		v = r.Header.Get(SignatureHeader)
	}
	return providers.VerifySHA256Header(SignatureHeader, v, body, appSecret)
}

// Handshake answers Meta's GET verification: hub.mode=subscribe and a
// hub.verify_token equal to verifyToken; the answer is hub.challenge.
func Handshake(r *http.Request, verifyToken string) (string, error) {
	q := r.URL.Query()
	if q.Get("hub.mode") != "subscribe" {
		return "", routing.Invalid("hub.mode", "hub.mode must be subscribe")
	}
	challenge := q.Get("hub.challenge")
	if challenge == "" {
		return "", routing.Invalid("hub.challenge", "hub.challenge is required")
	}
	if verifyToken == "" {
		return "", providers.Unauthenticated("the channel has no verify token configured")
	}
	if !providers.EqualSecret(q.Get("hub.verify_token"), verifyToken) {
		return "", providers.Unauthenticated("invalid hub.verify_token")
	}
	return challenge, nil
}

// Describe reads a Graph API error body {"error":{"message":...,"code":...}}.
func Describe(body []byte) (string, time.Duration) {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Code    int    `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
		return "", 0
	}
	return e.Error.Message, 0
}

// Version returns the channel's Graph API version.
func Version(ch routing.Channel) string {
	if v := ch.Config["apiVersion"]; v != "" {
		return v
	}
	return DefaultGraphVersion
}
