package stack_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/switchboard-oss/switchboard/infra/stack"
	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
)

// placeholderAssets writes <dir>/<name>/bootstrap for the given functions.
func placeholderAssets(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func propsFrom(ctx map[string]any) (stack.Props, error) {
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	return stack.PropsFromContext(app.Node())
}

func TestPropsDefaults(t *testing.T) {
	dir := placeholderAssets(t, deployenv.Functions...)
	got, err := propsFrom(map[string]any{stack.CtxAssetDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want := stack.DefaultProps()
	want.AssetDir = dir
	if !reflect.DeepEqual(got, want) {
		t.Errorf("props from an empty context:\n got %+v\nwant %+v", got, want)
	}
	if want.EventBusName != "switchboard" || want.StateMachinePrefix != "switchboard-" || want.SessionHours != 12 ||
		want.SessionWarningMinutes != 30 || want.MemorySize != 256 || want.AssetDir == "build/lambda" || want.Destroy ||
		want.ConfigCacheSeconds != 10 {
		t.Errorf("unexpected documented defaults: %+v", want)
	}
	if stack.DefaultProps().AssetDir != "build/lambda" {
		t.Errorf("default assetDir %q, want build/lambda", stack.DefaultProps().AssetDir)
	}
}

func TestPropsRelativeAssetDirIsFromRepoRoot(t *testing.T) {
	dir := placeholderAssets(t, deployenv.Functions...)
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("RepoRoot %s has no go.mod", root)
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := propsFrom(map[string]any{stack.CtxAssetDir: rel})
	if err != nil {
		t.Fatal(err)
	}
	if got.AssetDir != dir {
		t.Errorf("assetDir %q resolved to %q, want %q", rel, got.AssetDir, dir)
	}
}

func TestPropsContextValues(t *testing.T) {
	dir := placeholderAssets(t, deployenv.Functions...)
	got, err := propsFrom(map[string]any{
		stack.CtxAssetDir:           dir,
		stack.CtxRemovalPolicy:      "DESTROY",
		stack.CtxOIDCAudience:       " a , b,,c ",
		stack.CtxOIDCIssuer:         "https://issuer.example.com/",
		stack.CtxSessionHours:       10.0,
		stack.CtxThrottleRate:       "12.5",
		stack.CtxCorsOrigins:        "https://a.example.com,http://localhost:5173",
		stack.CtxMFA:                "Optional",
		stack.CtxCognitoFeaturePlan: "essentials",
		stack.CtxConfigCacheSeconds: "30",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Destroy || got.SessionHours != 10 || got.ThrottleRate != 12.5 || got.MFA != "optional" ||
		got.CognitoFeaturePlan != "essentials" || got.ConfigCacheSeconds != 30 || got.OIDCIssuer != "https://issuer.example.com/" ||
		!reflect.DeepEqual(got.OIDCAudience, []string{"a", "b", "c"}) ||
		!reflect.DeepEqual(got.CorsOrigins, []string{"https://a.example.com", "http://localhost:5173"}) {
		t.Errorf("props %+v", got)
	}
}

func TestPropsErrorsNameTheContextKey(t *testing.T) {
	dir := placeholderAssets(t, deployenv.Functions...)
	cases := []struct {
		ctx  map[string]any
		want []string
	}{
		{map[string]any{stack.CtxRemovalPolicy: "keep"}, []string{"removalPolicy", "keep"}},
		{map[string]any{stack.CtxSessionHours: "twelve"}, []string{"sessionHours"}},
		{map[string]any{stack.CtxSessionHours: "7.5"}, []string{"sessionHours"}},
		{map[string]any{stack.CtxSessionHours: "0"}, []string{"sessionHours"}},
		{map[string]any{stack.CtxSessionHours: "2", stack.CtxSessionWarningMinutes: "120"}, []string{"sessionWarningMinutes"}},
		{map[string]any{stack.CtxOIDCIssuer: "https://issuer.example.com"}, []string{"oidcIssuer", "oidcAudience"}},
		{map[string]any{stack.CtxOIDCAudience: "api"}, []string{"oidcIssuer"}},
		{map[string]any{stack.CtxOIDCIssuer: "http://insecure.example.com", stack.CtxOIDCAudience: "api"}, []string{"oidcIssuer", "https://"}},
		{map[string]any{stack.CtxLogRetentionDays: "31"}, []string{"logRetentionDays", "30"}},
		{map[string]any{stack.CtxMemorySize: "64"}, []string{"memorySize"}},
		{map[string]any{stack.CtxEventBusName: "default"}, []string{"eventBusName"}},
		{map[string]any{stack.CtxEventBusName: "has space"}, []string{"eventBusName"}},
		{map[string]any{stack.CtxStateMachinePrefix: "bad/prefix"}, []string{"stateMachinePrefix"}},
		{map[string]any{stack.CtxSecretsPrefix: "sb/*"}, []string{"secretsPrefix"}},
		{map[string]any{stack.CtxAlarmEmail: "nobody"}, []string{"alarmEmail"}},
		{map[string]any{stack.CtxThrottleRate: "-1"}, []string{"apiThrottleRate"}},
		{map[string]any{stack.CtxThrottleBurst: "0"}, []string{"apiThrottleBurst"}},
		{map[string]any{stack.CtxArchiveRetentionDays: "-3"}, []string{"archiveRetentionDays"}},
		{map[string]any{stack.CtxCorsOrigins: "agents.example.com"}, []string{"corsOrigins"}},
		{map[string]any{stack.CtxMFA: "sometimes"}, []string{"mfa"}},
		{map[string]any{stack.CtxCognitoFeaturePlan: "lite"}, []string{"cognitoFeaturePlan"}},
		{map[string]any{stack.CtxConfigCacheSeconds: "-1"}, []string{"configCacheSeconds", "between 0 and 300"}},
		{map[string]any{stack.CtxConfigCacheSeconds: 301.0}, []string{"configCacheSeconds", "between 0 and 300"}},
		{map[string]any{stack.CtxConfigCacheSeconds: "ten"}, []string{"configCacheSeconds"}},
	}
	for _, c := range cases {
		c.ctx[stack.CtxAssetDir] = dir
		_, err := propsFrom(c.ctx)
		if err == nil {
			t.Errorf("context %v: no error", c.ctx)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("context %v: error %q does not mention %q", c.ctx, err, w)
			}
		}
	}
}

func TestPropsMissingBootstrap(t *testing.T) {
	dir := placeholderAssets(t, deployenv.API, deployenv.Webhooks, deployenv.Task)
	_, err := propsFrom(map[string]any{stack.CtxAssetDir: dir})
	if err == nil {
		t.Fatal("no error with dispatcher and sweeper bootstraps missing")
	}
	for _, w := range []string{"assetDir", "dispatcher", "sweeper", "make build"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "webhooks") {
		t.Errorf("error %q names a function whose bootstrap exists", err)
	}
}

func TestStackID(t *testing.T) {
	if got := stack.StackID(awscdk.NewApp(nil).Node()); got != "Switchboard" {
		t.Errorf("default stack id %q", got)
	}
	ctx := map[string]any{stack.CtxStackName: "SwitchboardProd"}
	if got := stack.StackID(awscdk.NewApp(&awscdk.AppProps{Context: &ctx}).Node()); got != "SwitchboardProd" {
		t.Errorf("stack id from context %q", got)
	}
}

func TestNewRejectsInvalidProps(t *testing.T) {
	p := stack.DefaultProps()
	p.AssetDir = t.TempDir() // no bootstraps
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(strings.ToLower(jsiiSafeString(r)), "bootstrap") {
			t.Errorf("New with missing assets: recovered %v, want a panic about the bootstraps", r)
		}
	}()
	stack.New(awscdk.NewApp(nil), "Invalid", p)
}

func jsiiSafeString(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}
