// Package secrets resolves channel secret references "aws:<name>" from AWS
// Secrets Manager (providers.Secrets), for names under the configured prefix
// only (the stack's SECRETS_PREFIX, which is also all the functions' IAM
// policy allows), with a small in-memory cache so a burst of webhooks does
// not call Secrets Manager once per request.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Scheme is the reference scheme: "aws:<secret name>".
const Scheme = "aws"

// API is the part of the Secrets Manager client the resolver calls;
// *secretsmanager.Client implements it.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

// DefaultTTL is how long a value is served from the cache: a rotated
// credential is picked up within this time.
const DefaultTTL = 5 * time.Minute

// Secrets implements providers.Secrets over Secrets Manager. It is safe for
// concurrent use.
type Secrets struct {
	api    API
	prefix string
	ttl    time.Duration
	clock  clock.Clock
	log    *slog.Logger

	mu    sync.Mutex
	cache map[string]entry
}

type entry struct {
	value   string
	expires time.Time
}

var _ providers.Secrets = (*Secrets)(nil)

// Option configures Secrets.
type Option func(*Secrets)

// WithTTL sets the cache lifetime (0 disables the cache).
func WithTTL(d time.Duration) Option { return func(s *Secrets) { s.ttl = d } }

// WithClock sets the clock of the cache (tests).
func WithClock(c clock.Clock) Option { return func(s *Secrets) { s.clock = c } }

// WithLogger sets the logger of failures reported to callers without detail.
func WithLogger(l *slog.Logger) Option { return func(s *Secrets) { s.log = l } }

// New returns a resolver of secrets whose names start with prefix (it must
// not be empty). It makes no call.
func New(api API, prefix string, opts ...Option) *Secrets {
	s := &Secrets{api: api, prefix: prefix, ttl: DefaultTTL, clock: clock.Real{}, log: slog.Default(), cache: map[string]entry{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Secret returns the secret string named by ref ("aws:<name>"). A name
// outside the prefix is refused without a call.
func (s *Secrets) Secret(ctx context.Context, ref string) (string, error) {
	scheme, name, ok := strings.Cut(ref, ":")
	if !ok || scheme != Scheme {
		return "", routing.Invalid("secretRef", "secret reference %q is not aws:<name>", ref)
	}
	if name == "" || s.prefix == "" || !strings.HasPrefix(name, s.prefix) || len(name) == len(s.prefix) {
		return "", routing.Invalid("secretRef", "secret %q is not under the prefix %q", name, s.prefix)
	}
	if len(name) > 512 || strings.ContainsAny(name, "*? \t\r\n") {
		return "", routing.Invalid("secretRef", "secret name %q is not valid", name)
	}
	now := s.clock.Now()
	s.mu.Lock()
	e, hit := s.cache[name]
	s.mu.Unlock()
	if hit && now.Before(e.expires) {
		return e.value, nil
	}
	out, err := s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil {
		return "", s.translate(ctx, err, ref)
	}
	v := aws.ToString(out.SecretString)
	if v == "" && len(out.SecretBinary) > 0 {
		v = string(out.SecretBinary)
	}
	if v == "" {
		return "", routing.NotFound("secret", ref)
	}
	if s.ttl > 0 {
		s.mu.Lock()
		s.cache[name] = entry{value: v, expires: now.Add(s.ttl)}
		s.mu.Unlock()
	}
	return v, nil
}

// WriteAPI is the part of the Secrets Manager client Put calls;
// *secretsmanager.Client implements it.
type WriteAPI interface {
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
}

var (
	_ WriteAPI               = (*secretsmanager.Client)(nil)
	_ providers.SecretWriter = (*Secrets)(nil)
)

// RefFor is "aws:<prefix><channel id>".
func (s *Secrets) RefFor(channelID string) string { return Scheme + ":" + s.prefix + channelID }

// Owns reports whether ref is an "aws:" reference under the prefix.
func (s *Secrets) Owns(ref string) bool {
	scheme, name, ok := strings.Cut(ref, ":")
	return ok && scheme == Scheme && s.prefix != "" && strings.HasPrefix(name, s.prefix) && len(name) > len(s.prefix)
}

// Put stores value (a JSON string, or a credentials object stored as its
// JSON text) as the secret named by ref: a new version of an existing secret,
// or a new secret. The cached value is dropped.
func (s *Secrets) Put(ctx context.Context, ref string, value json.RawMessage) error {
	if !s.Owns(ref) {
		return routing.Invalid("secretRef", "secret reference %q is not aws:%s<name>", ref, s.prefix)
	}
	w, ok := s.api.(WriteAPI)
	if !ok {
		return routing.Errorf(routing.CodeNotFound, "this server cannot write secrets")
	}
	text := string(value)
	var str string
	if err := json.Unmarshal(value, &str); err == nil {
		text = str
	}
	_, name, _ := strings.Cut(ref, ":")
	_, err := w.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(text)})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "ResourceNotFoundException" {
		_, err = w.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(text),
			Description: aws.String("Switchboard channel credentials (PUT /v1/channels/{id}/secret)")})
	}
	s.Forget(ref)
	if err != nil {
		return s.translate(ctx, err, ref)
	}
	return nil
}

// Forget drops a cached value (e.g. after a signature failed with it).
func (s *Secrets) Forget(ref string) {
	_, name, _ := strings.Cut(ref, ":")
	s.mu.Lock()
	delete(s.cache, name)
	s.mu.Unlock()
}

func (s *Secrets) translate(ctx context.Context, err error, ref string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return routing.Errorf(routing.CodeUnavailable, "reading the secret was cancelled or timed out")
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ResourceNotFoundException":
			return routing.NotFound("secret", ref)
		case "InvalidRequestException": // e.g. scheduled for deletion
			s.log.WarnContext(ctx, "secrets: secret not readable", "ref", ref, "error", err)
			return routing.NotFound("secret", ref)
		case "ThrottlingException", "InternalServiceError", "InternalServiceErrorException", "ServiceUnavailable":
			return routing.Errorf(routing.CodeUnavailable, "the secret store is busy, try again")
		}
		s.log.ErrorContext(ctx, "secrets: secret refused", "ref", ref, "code", api.ErrorCode(), "error", err)
		return routing.Errorf(routing.CodeInternal, "cannot read the channel's secret")
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		s.log.WarnContext(ctx, "secrets: network error", "ref", ref, "error", err)
		return routing.Errorf(routing.CodeUnavailable, "the secret store is unreachable, try again")
	}
	s.log.ErrorContext(ctx, "secrets: unexpected error", "ref", ref, "error", err)
	return routing.Errorf(routing.CodeInternal, "cannot read the channel's secret")
}
