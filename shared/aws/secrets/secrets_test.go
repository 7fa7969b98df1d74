package secrets_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/switchboard-oss/switchboard/shared/aws/awsfake"
	"github.com/switchboard-oss/switchboard/shared/aws/secrets"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fakeSM struct {
	mu     sync.Mutex
	values map[string]*secretsmanager.GetSecretValueOutput
	errs   map[string]error
	calls  []string
}

func (f *fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.SecretId)
	f.calls = append(f.calls, id)
	if err := f.errs[id]; err != nil {
		return nil, err
	}
	v, ok := f.values[id]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret."}
	}
	return v, nil
}

func newFake() *fakeSM {
	return &fakeSM{
		values: map[string]*secretsmanager.GetSecretValueOutput{
			"switchboard/whatsapp-main": {SecretString: aws.String(`{"appSecret":"s1","accessToken":"t1","verifyToken":"v1"}`)},
			"switchboard/web":           {SecretString: aws.String("plain-secret")},
			"switchboard/binary":        {SecretBinary: []byte("bin-secret")},
			"switchboard/empty":         {SecretString: aws.String("")},
			"other/secret":              {SecretString: aws.String("must not be read")},
		},
		errs: map[string]error{
			"switchboard/denied":    &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User arn:aws:sts::123456789012:assumed-role/x is not authorized"},
			"switchboard/throttled": &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"},
			"switchboard/deleting":  &smithy.GenericAPIError{Code: "InvalidRequestException", Message: "marked for deletion"},
			"switchboard/slow":      context.DeadlineExceeded,
		},
	}
}

func TestResolvesUnderThePrefix(t *testing.T) {
	f := newFake()
	s := secrets.New(f, "switchboard/", secrets.WithLogger(quiet))
	ctx := context.Background()
	v, err := s.Secret(ctx, "aws:switchboard/web")
	if err != nil || v != "plain-secret" {
		t.Fatalf("web: %q, %v", v, err)
	}
	if v, err := s.Secret(ctx, "aws:switchboard/binary"); err != nil || v != "bin-secret" {
		t.Errorf("binary: %q, %v", v, err)
	}
	creds, err := providers.ResolveCredentials(ctx, providers.Resolver{"aws": s}, "aws:switchboard/whatsapp-main")
	if err != nil || creds.AppSecret != "s1" || creds.AccessToken != "t1" || creds.VerifyToken != "v1" {
		t.Errorf("credentials %+v, %v", creds, err)
	}
	for _, ref := range []string{"aws:other/secret", "aws:switchboard/", "aws:", "aws:switchboar", "env:switchboard/web", "switchboard/web", "aws:switchboard/*"} {
		_, err := s.Secret(ctx, ref)
		var re *routing.Error
		if !errors.As(err, &re) || re.Code != routing.CodeInvalid || re.Field != "secretRef" {
			t.Errorf("%q: %v, want invalid secretRef", ref, err)
		}
	}
	for _, id := range f.calls {
		if !strings.HasPrefix(id, "switchboard/") {
			t.Errorf("read %q outside the prefix", id)
		}
	}
}

func TestErrorsAreTranslated(t *testing.T) {
	s := secrets.New(newFake(), "switchboard/", secrets.WithLogger(quiet))
	ctx := context.Background()
	for ref, code := range map[string]routing.Code{
		"aws:switchboard/missing":   routing.CodeNotFound,
		"aws:switchboard/empty":     routing.CodeNotFound,
		"aws:switchboard/deleting":  routing.CodeNotFound,
		"aws:switchboard/denied":    routing.CodeInternal,
		"aws:switchboard/throttled": routing.CodeUnavailable,
		"aws:switchboard/slow":      routing.CodeUnavailable,
	} {
		_, err := s.Secret(ctx, ref)
		if routing.ErrorCode(err) != code {
			t.Errorf("%s: %v, want %s", ref, err, code)
		}
		if err != nil && strings.Contains(err.Error(), "123456789012") {
			t.Errorf("%s leaks the AWS message: %v", ref, err)
		}
	}
}

func TestCacheTTL(t *testing.T) {
	f := newFake()
	clk := clock.NewVirtual(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	s := secrets.New(f, "switchboard/", secrets.WithClock(clk), secrets.WithTTL(time.Minute), secrets.WithLogger(quiet))
	ctx := context.Background()
	read := func() string {
		v, err := s.Secret(ctx, "aws:switchboard/web")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	read()
	f.mu.Lock()
	f.values["switchboard/web"] = &secretsmanager.GetSecretValueOutput{SecretString: aws.String("rotated")}
	f.mu.Unlock()
	if v := read(); v != "plain-secret" || len(f.calls) != 1 {
		t.Errorf("within the TTL: %q after %d calls", v, len(f.calls))
	}
	clk.Advance(61 * time.Second)
	if v := read(); v != "rotated" || len(f.calls) != 2 {
		t.Errorf("after the TTL: %q after %d calls", v, len(f.calls))
	}
	// failures are not cached
	f.mu.Lock()
	f.errs["switchboard/web"] = &smithy.GenericAPIError{Code: "ThrottlingException"}
	f.mu.Unlock()
	clk.Advance(2 * time.Minute)
	if _, err := s.Secret(ctx, "aws:switchboard/web"); routing.ErrorCode(err) != routing.CodeUnavailable {
		t.Fatalf("throttled: %v", err)
	}
	f.mu.Lock()
	delete(f.errs, "switchboard/web")
	f.mu.Unlock()
	if v := read(); v != "rotated" {
		t.Errorf("after a failure: %q", v)
	}
	n := len(f.calls)
	s.Forget("aws:switchboard/web")
	read()
	if len(f.calls) != n+1 {
		t.Error("Forget did not drop the cached value")
	}
	// concurrent readers are safe
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); read() }()
	}
	wg.Wait()
}

func TestOverTheWire(t *testing.T) {
	srv := awsfake.New()
	defer srv.Close()
	srv.PutSecret("switchboard/web", "wire-secret")
	client := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""), RetryMaxAttempts: 1})
	s := secrets.New(client, "switchboard/", secrets.WithLogger(quiet))
	if v, err := s.Secret(context.Background(), "aws:switchboard/web"); err != nil || v != "wire-secret" {
		t.Fatalf("%q, %v", v, err)
	}
	if _, err := s.Secret(context.Background(), "aws:switchboard/none"); !routing.IsNotFound(err) {
		t.Errorf("missing over the wire: %v", err)
	}
}

func (f *fakeSM) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.SecretId)
	f.calls = append(f.calls, "put:"+id)
	if _, ok := f.values[id]; !ok {
		return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret."}
	}
	f.values[id] = &secretsmanager.GetSecretValueOutput{SecretString: in.SecretString}
	return &secretsmanager.PutSecretValueOutput{}, nil
}

func (f *fakeSM) CreateSecret(_ context.Context, in *secretsmanager.CreateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.Name)
	f.calls = append(f.calls, "create:"+id)
	f.values[id] = &secretsmanager.GetSecretValueOutput{SecretString: in.SecretString}
	return &secretsmanager.CreateSecretOutput{}, nil
}

// PUT /v1/channels/{id}/secret on AWS: a new secret under the prefix, then new
// versions of it; the cache never serves the old value after a write.
func TestPutSecret(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	s := secrets.New(f, "switchboard/", secrets.WithLogger(quiet))
	ref := s.RefFor("shop")
	if ref != "aws:switchboard/shop" || !s.Owns(ref) || s.Owns("aws:other/shop") || s.Owns("file:shop") || s.Owns("aws:switchboard/") {
		t.Fatalf("ref %q / Owns", ref)
	}
	if err := s.Put(ctx, ref, []byte(`"first"`)); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Secret(ctx, ref); err != nil || v != "first" {
		t.Fatalf("%q %v", v, err)
	}
	if err := s.Put(ctx, ref, []byte(`{"appSecret":"second"}`)); err != nil {
		t.Fatal(err)
	}
	c, err := providers.ResolveCredentials(ctx, s, ref)
	if err != nil || c.ForVerify() != "second" {
		t.Fatalf("cached or not written: %+v %v", c, err)
	}
	if got := strings.Join(f.calls, " "); !strings.Contains(got, "create:switchboard/shop") || !strings.Contains(got, "put:switchboard/shop") {
		t.Fatalf("calls %s", got)
	}
	if err := s.Put(ctx, "aws:other/x", []byte(`"x"`)); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Fatalf("outside the prefix: %v", err)
	}
}
