package providers

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Unauthenticated is the error of a bad or missing webhook signature.
func Unauthenticated(format string, args ...any) *routing.Error {
	return routing.Errorf(routing.CodeUnauthenticated, format, args...)
}

// HMACSHA256Hex returns the lowercase hex HMAC-SHA256 of body keyed by secret.
func HMACSHA256Hex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifySHA256Header checks a header value of the form "sha256=<hex>" (Meta's
// X-Hub-Signature-256, Switchboard's X-Switchboard-Signature) against the
// HMAC-SHA256 of body, in constant time. header names the header in errors.
func VerifySHA256Header(header, value string, body []byte, secret string) error {
	if secret == "" {
		return Unauthenticated("the channel has no webhook secret configured")
	}
	if value == "" {
		return Unauthenticated("missing %s header", header)
	}
	hexSig, ok := strings.CutPrefix(value, "sha256=")
	if !ok {
		return Unauthenticated("%s must be sha256=<hex>", header)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return Unauthenticated("%s must be sha256=<hex>", header)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return Unauthenticated("invalid %s", header)
	}
	return nil
}

// EqualSecret compares two secrets in constant time, whatever their lengths
// (both are hashed first, so not even the length leaks).
func EqualSecret(a, b string) bool {
	ha := sha256.Sum256([]byte(a))
	hb := sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
