package auth

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func TestSignVerify(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s, err := NewSigner(key, "iss", clk)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign(Principal{Subject: "ana", Role: routing.RoleSupervisor}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Verify(tok)
	if err != nil || p.Subject != "ana" || p.Role != routing.RoleSupervisor {
		t.Fatalf("verify: %+v %v", p, err)
	}
	other, _ := NewSigner([]byte(strings.Repeat("x", 32)), "iss", clk)
	foreign, _ := NewSigner(key, "elsewhere", clk)
	ftok, _ := foreign.Sign(Principal{Subject: "ana", Role: routing.RoleAdmin}, time.Hour)
	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + b64.EncodeToString([]byte(`{"iss":"iss","sub":"ana","role":"admin","exp":9999999999}`)) + "." + parts[2]
	none := b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
	for name, bad := range map[string]string{"garbage": "x.y", "tampered claims": tampered, "alg none": none, "other issuer": ftok} {
		if _, err := s.Verify(bad); routing.ErrorCode(err) != routing.CodeUnauthenticated {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := other.Verify(tok); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Error("a token signed with another key verified")
	}
	clk.Advance(time.Hour)
	if _, err := s.Verify(tok); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v", err)
	}
	if _, err := NewSigner([]byte("short"), "iss", clk); err == nil {
		t.Error("a short key was accepted")
	}
}

func TestAuthenticateHeader(t *testing.T) {
	s, _ := NewSigner(key, "iss", clock.Real{})
	tok, _ := s.Sign(Principal{Subject: "bo", Role: routing.RoleAgent}, time.Minute)
	r := httptest.NewRequest("GET", "/", nil)
	if _, err := s.Authenticate(r); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Fatal("no header accepted")
	}
	r.Header.Set("Authorization", "bearer "+tok)
	if p, err := s.Authenticate(r); err != nil || p.Subject != "bo" {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestGatewayClaims(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claims map[string]string
		sub    string
		want   Principal
		ok     bool
	}{
		{"cognito groups pick the highest role", map[string]string{"sub": "u1", "cognito:groups": "[agent supervisor]"}, "", Principal{"u1", routing.RoleSupervisor}, true},
		{"custom role", map[string]string{"sub": "u2", "custom:role": "admin"}, "", Principal{"u2", routing.RoleAdmin}, true},
		{"other subject claim", map[string]string{"sub": "x", "custom:agent_id": "ana", "role": "agent"}, "custom:agent_id", Principal{"ana", routing.RoleAgent}, true},
		{"no role", map[string]string{"sub": "u3"}, "", Principal{}, false},
		{"unknown group", map[string]string{"sub": "u4", "cognito:groups": "[owner]"}, "", Principal{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r = r.WithContext(WithClaims(r.Context(), tc.claims))
			p, err := GatewayClaims{SubjectClaim: tc.sub}.Authenticate(r)
			if (err == nil) != tc.ok || (tc.ok && p != tc.want) {
				t.Fatalf("got %+v %v", p, err)
			}
		})
	}
	// a request without verified claims (e.g. claims only in client headers) is refused
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Claims", `{"sub":"ana","role":"admin"}`)
	if _, err := (GatewayClaims{}).Authenticate(r); routing.ErrorCode(err) != routing.CodeUnauthenticated {
		t.Fatal("unverified request accepted")
	}
}
