package providers

import (
	"context"
	"encoding/json"
	"os"
	"strings"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Secrets resolves a secret reference (routing.Channel.SecretRef) to its value.
type Secrets interface {
	Secret(ctx context.Context, ref string) (string, error)
}

// EnvSecrets resolves "env:NAME" from the environment.
type EnvSecrets struct {
	// Lookup replaces os.LookupEnv (tests).
	Lookup func(string) (string, bool)
}

// Secret returns the variable named by ref ("env:NAME" or "NAME").
func (e EnvSecrets) Secret(_ context.Context, ref string) (string, error) {
	name := strings.TrimPrefix(ref, "env:")
	if name == "" {
		return "", routing.Invalid("secretRef", "empty secret reference")
	}
	look := e.Lookup
	if look == nil {
		look = os.LookupEnv
	}
	v, ok := look(name)
	if !ok || v == "" {
		return "", routing.NotFound("secret", ref)
	}
	return v, nil
}

// FileSecrets resolves "file:KEY" from a JSON object loaded once from a file.
// A value may be a string or an object (credentials, see the package doc);
// objects are returned as their JSON text.
type FileSecrets struct {
	values map[string]string
}

// LoadFileSecrets reads the JSON object at path.
func LoadFileSecrets(path string) (*FileSecrets, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, routing.Errorf(routing.CodeInternal, "cannot read the secrets file")
	}
	return ParseFileSecrets(b)
}

// ParseFileSecrets decodes a secrets file's content.
func ParseFileSecrets(b []byte) (*FileSecrets, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, routing.Invalid("secrets", "the secrets file is not a JSON object")
	}
	fs := &FileSecrets{values: make(map[string]string, len(raw))}
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			fs.values[k] = s
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(v, &obj); err != nil {
			return nil, routing.Invalid("secrets", "secret %q is neither a string nor an object", k)
		}
		fs.values[k] = string(v)
	}
	return fs, nil
}

// Secret returns the value under ref ("file:KEY" or "KEY").
func (f *FileSecrets) Secret(_ context.Context, ref string) (string, error) {
	key := strings.TrimPrefix(ref, "file:")
	v, ok := f.values[key]
	if !ok || v == "" {
		return "", routing.NotFound("secret", ref)
	}
	return v, nil
}

// Resolver dispatches a reference by its scheme ("env:", "file:", ...).
type Resolver map[string]Secrets

// Secret resolves ref with the Secrets registered for its scheme.
func (r Resolver) Secret(ctx context.Context, ref string) (string, error) {
	scheme, _, ok := strings.Cut(ref, ":")
	if !ok || scheme == "" {
		return "", routing.Invalid("secretRef", "secret reference %q has no scheme (env:, file:)", ref)
	}
	s, ok := r[scheme]
	if !ok {
		return "", routing.Invalid("secretRef", "unknown secret scheme %q", scheme)
	}
	return s.Secret(ctx, ref)
}

// Credentials are a channel's secrets by role (see the package doc).
type Credentials struct {
	AppSecret   string `json:"appSecret,omitempty"`
	AccessToken string `json:"accessToken,omitempty"`
	VerifyToken string `json:"verifyToken,omitempty"`
}

// ForVerify is the secret that checks inbound signatures.
func (c Credentials) ForVerify() string { return c.AppSecret }

// ForSend is the secret that authenticates outbound calls.
func (c Credentials) ForSend() string { return c.AccessToken }

// ForHandshake is the token of GET verification handshakes.
func (c Credentials) ForHandshake() string { return c.VerifyToken }

// ParseCredentials reads a secret value: a JSON object with appSecret,
// accessToken, verifyToken (authToken fills the first two when they are
// absent), or a plain string used for every role.
func ParseCredentials(value string) (Credentials, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return Credentials{}, routing.Invalid("secretRef", "the channel's secret is empty")
	}
	if !strings.HasPrefix(v, "{") {
		return Credentials{AppSecret: v, AccessToken: v, VerifyToken: v}, nil
	}
	var c struct {
		Credentials
		AuthToken string `json:"authToken"`
	}
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		return Credentials{}, routing.Invalid("secretRef", "the channel's secret is not a valid credentials object")
	}
	if c.AppSecret == "" {
		c.AppSecret = c.AuthToken
	}
	if c.AccessToken == "" {
		c.AccessToken = c.AuthToken
	}
	return c.Credentials, nil
}

// ResolveCredentials resolves ref through s and parses it.
func ResolveCredentials(ctx context.Context, s Secrets, ref string) (Credentials, error) {
	if ref == "" {
		return Credentials{}, routing.Invalid("secretRef", "the channel has no secret reference")
	}
	if s == nil {
		return Credentials{}, routing.Errorf(routing.CodeInternal, "no secrets resolver configured")
	}
	v, err := s.Secret(ctx, ref)
	if err != nil {
		return Credentials{}, err
	}
	return ParseCredentials(v)
}
