// Package auth signs and verifies the bearer tokens of the local server
// (HS256 JWTs with a key kept in its data folder) and reads the claims that
// API Gateway's JWT authorizer verified on AWS. Both yield a Principal.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Principal is the signed-in user.
type Principal struct {
	Subject string       // the agent id
	Role    routing.Role // agent, supervisor or admin
}

// Authenticator finds the principal of a request.
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, error)
}

func unauthenticated(msg string) error {
	return routing.Errorf(routing.CodeUnauthenticated, "%s", msg)
}

// Signer signs and verifies HS256 JWTs.
type Signer struct {
	key    []byte
	issuer string
	clock  clock.Clock
}

// NewSigner returns a signer with the given key (at least 32 bytes).
func NewSigner(key []byte, issuer string, clk clock.Clock) (*Signer, error) {
	if len(key) < 32 {
		return nil, errors.New("auth: key must be at least 32 bytes")
	}
	return &Signer{key: key, issuer: issuer, clock: clk}, nil
}

// LoadOrCreateKey reads the hex key in path, creating a random one (mode 0600) if absent.
func LoadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return hex.DecodeString(strings.TrimSpace(string(b)))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

type claims struct {
	Iss  string `json:"iss"`
	Sub  string `json:"sub"`
	Role string `json:"role"`
	Iat  int64  `json:"iat"`
	Exp  int64  `json:"exp"`
}

var b64 = base64.RawURLEncoding

const header = `{"alg":"HS256","typ":"JWT"}`

// Sign returns a token for p valid for ttl.
func (s *Signer) Sign(p Principal, ttl time.Duration) (string, error) {
	if p.Subject == "" || !p.Role.Valid() {
		return "", errors.New("auth: a token needs a subject and a valid role")
	}
	now := s.clock.Now()
	body, err := json.Marshal(claims{Iss: s.issuer, Sub: p.Subject, Role: string(p.Role), Iat: now.Unix(), Exp: now.Add(ttl).Unix()})
	if err != nil {
		return "", err
	}
	signing := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString(body)
	return signing + "." + b64.EncodeToString(s.mac(signing)), nil
}

func (s *Signer) mac(data string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// Verify checks a token's signature, algorithm, issuer and expiry.
func (s *Signer) Verify(token string) (Principal, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Principal{}, unauthenticated("malformed token")
	}
	hdr, err := b64.DecodeString(parts[0])
	if err != nil {
		return Principal{}, unauthenticated("malformed token header")
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hdr, &h) != nil || h.Alg != "HS256" {
		return Principal{}, unauthenticated("unsupported token algorithm")
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, s.mac(parts[0]+"."+parts[1])) {
		return Principal{}, unauthenticated("bad token signature")
	}
	body, err := b64.DecodeString(parts[1])
	if err != nil {
		return Principal{}, unauthenticated("malformed token claims")
	}
	var c claims
	if err := json.Unmarshal(body, &c); err != nil {
		return Principal{}, unauthenticated("malformed token claims")
	}
	if c.Iss != s.issuer {
		return Principal{}, unauthenticated("token from another issuer")
	}
	if s.clock.Now().Unix() >= c.Exp {
		return Principal{}, unauthenticated("token expired")
	}
	p := Principal{Subject: c.Sub, Role: routing.Role(c.Role)}
	if p.Subject == "" || !p.Role.Valid() {
		return Principal{}, unauthenticated("token without subject or role")
	}
	return p, nil
}

// Authenticate reads "Authorization: Bearer <token>".
func (s *Signer) Authenticate(r *http.Request) (Principal, error) {
	tok, ok := bearer(r)
	if !ok {
		return Principal{}, unauthenticated("missing bearer token")
	}
	return s.Verify(tok)
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 8 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(h[7:]), true
}

type claimsKey struct{}

// WithClaims stores claims an upstream authorizer verified (API Gateway's JWT
// authorizer) in ctx. Only the Lambda adapter calls it, from the request
// context API Gateway sends, never from client headers.
func WithClaims(ctx context.Context, c map[string]string) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// GatewayClaims authenticates from claims stored by WithClaims. The subject
// comes from SubjectClaim (default "sub"; Cognito users use
// "custom:agent_id"), the role from "custom:role", "role" or the first
// Cognito group named agent, supervisor or admin.
type GatewayClaims struct {
	SubjectClaim string
}

// Authenticate implements Authenticator.
func (g GatewayClaims) Authenticate(r *http.Request) (Principal, error) {
	c, _ := r.Context().Value(claimsKey{}).(map[string]string)
	if c == nil {
		return Principal{}, unauthenticated("no verified claims on the request")
	}
	subClaim := g.SubjectClaim
	if subClaim == "" {
		subClaim = "sub"
	}
	p := Principal{Subject: c[subClaim]}
	for _, k := range []string{"custom:role", "role"} {
		if routing.Role(c[k]).Valid() {
			p.Role = routing.Role(c[k])
			break
		}
	}
	if p.Role == "" {
		groups := strings.Trim(c["cognito:groups"], "[]")
		for _, g := range strings.FieldsFunc(groups, func(r rune) bool { return r == ',' || r == ' ' }) {
			if r := routing.Role(strings.Trim(g, `"`)); r.Valid() && r.Rank() > p.Role.Rank() {
				p.Role = r
			}
		}
	}
	if p.Subject == "" || !p.Role.Valid() {
		return Principal{}, unauthenticated(fmt.Sprintf("claims need %s and a role", subClaim))
	}
	return p, nil
}
