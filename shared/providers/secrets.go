package providers

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

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

// SecretWriter stores channel secrets written through the API
// (PUT /v1/channels/{id}/secret): the local secrets file, or Secrets Manager.
type SecretWriter interface {
	// RefFor is the reference a new secret of channel id is stored under.
	RefFor(channelID string) string
	// Owns reports whether ref names a secret this writer can write.
	Owns(ref string) bool
	// Put stores value (a JSON string, or a credentials object) under ref.
	Put(ctx context.Context, ref string, value json.RawMessage) error
}

// FileSecrets resolves "file:KEY" from a JSON object in a file (the local
// server's secrets.json). A value may be a string or an object (credentials,
// see the package doc); objects are returned as their JSON text. The file is
// read again when it changes (size or modification time), so an edited
// secret is used without a restart; an edit that leaves it malformed keeps
// the last good values until it is fixed. Put writes the file atomically with
// mode 0600.
type FileSecrets struct {
	path string // "" for secrets parsed from memory

	mu     sync.Mutex
	values map[string]string
	stamp  fileStamp
}

type fileStamp struct {
	size int64
	mod  time.Time
}

// LoadFileSecrets reads the JSON object at path. A missing file is an empty
// set of secrets (Put creates it); a malformed one is an error.
func LoadFileSecrets(path string) (*FileSecrets, error) {
	f := &FileSecrets{path: path, values: map[string]string{}}
	if err := f.reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// ParseFileSecrets decodes a secrets file's content, held in memory only.
func ParseFileSecrets(b []byte) (*FileSecrets, error) {
	values, err := parseSecrets(b)
	if err != nil {
		return nil, err
	}
	return &FileSecrets{values: values}, nil
}

func parseSecrets(b []byte) (map[string]string, error) {
	raw, err := rawSecrets(b)
	if err != nil {
		return nil, err
	}
	values := make(map[string]string, len(raw))
	for k, v := range raw {
		s, err := secretText(v)
		if err != nil {
			return nil, routing.Invalid("secrets", "secret %q is neither a string nor an object", k)
		}
		values[k] = s
	}
	return values, nil
}

func rawSecrets(b []byte) (map[string]json.RawMessage, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return nil, routing.Invalid("secrets", "the secrets file is not a JSON object")
	}
	return raw, nil
}

// secretText is a stored value as Secret returns it: a string's text, an
// object's JSON.
func secretText(v json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s, nil
	}
	var obj map[string]any
	if err := json.Unmarshal(v, &obj); err != nil || obj == nil {
		return "", routing.Invalid("secret", "a secret is a string or an object")
	}
	return string(v), nil
}

// reload reads the file again if it changed since the last read. Callers
// hold f.mu (or own f).
func (f *FileSecrets) reload() error {
	if f.path == "" {
		return nil
	}
	fi, err := os.Stat(f.path)
	if errors.Is(err, os.ErrNotExist) {
		f.values, f.stamp = map[string]string{}, fileStamp{}
		return nil
	}
	if err != nil {
		return routing.Errorf(routing.CodeInternal, "cannot read the secrets file")
	}
	stamp := fileStamp{size: fi.Size(), mod: fi.ModTime()}
	if stamp == f.stamp && f.values != nil {
		return nil
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return routing.Errorf(routing.CodeInternal, "cannot read the secrets file")
	}
	values, err := parseSecrets(b)
	if err != nil {
		return err
	}
	f.values, f.stamp = values, stamp
	return nil
}

// Secret returns the value under ref ("file:KEY" or "KEY").
func (f *FileSecrets) Secret(_ context.Context, ref string) (string, error) {
	key := strings.TrimPrefix(ref, "file:")
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.reload() // malformed while being edited: keep the last good values
	v, ok := f.values[key]
	if !ok || v == "" {
		return "", routing.NotFound("secret", ref)
	}
	return v, nil
}

// RefFor is "file:<channel id>".
func (f *FileSecrets) RefFor(channelID string) string { return "file:" + channelID }

// Owns reports whether ref is a "file:" reference.
func (f *FileSecrets) Owns(ref string) bool {
	key, ok := strings.CutPrefix(ref, "file:")
	return ok && key != ""
}

// Put stores value under ref's key, keeping the file's other entries, and
// writes the file atomically (a temporary file renamed over it), mode 0600.
func (f *FileSecrets) Put(_ context.Context, ref string, value json.RawMessage) error {
	key, ok := strings.CutPrefix(ref, "file:")
	if !ok || key == "" {
		return routing.Invalid("secretRef", "not a file: reference")
	}
	text, err := secretText(value)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.path == "" {
		f.values[key] = text
		return nil
	}
	raw := map[string]json.RawMessage{}
	switch b, err := os.ReadFile(f.path); {
	case err == nil:
		if raw, err = rawSecrets(b); err != nil {
			return routing.Errorf(routing.CodeConflict, "the secrets file is malformed; fix it before writing a secret")
		}
	case !errors.Is(err, os.ErrNotExist):
		return routing.Errorf(routing.CodeInternal, "cannot read the secrets file")
	}
	raw[key] = value
	out, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return routing.Errorf(routing.CodeInternal, "cannot encode the secrets file")
	}
	if err := writeFileAtomic(f.path, append(out, '\n'), 0o600); err != nil {
		return routing.Errorf(routing.CodeInternal, "cannot write the secrets file")
	}
	f.stamp = fileStamp{}
	return f.reload()
}

// writeFileAtomic writes b to a temporary file beside path with perm, syncs
// it and renames it over path.
func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secrets-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
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
