package embedded

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

func openDemo(t *testing.T, dir string) *Main {
	t.Helper()
	m, err := Open(Options{Addr: "127.0.0.1:0", DataDir: dir, Demo: true, WorkflowsDir: BuiltinWorkflows, VirtualClock: true,
		ClockStart: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), IDs: &ids.Sequence{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The built-in examples are the docs' examples, byte for byte.
func TestBuiltinExamplesMatchDocs(t *testing.T) {
	docs, err := filepath.Glob(filepath.Join("..", "..", "docs", "examples", "*.yaml"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("docs/examples: %v %v", docs, err)
	}
	built, err := builtinExamples.ReadDir("examples")
	if err != nil {
		t.Fatal(err)
	}
	if len(built) != len(docs) {
		t.Fatalf("%d built-in examples, %d in docs/examples: copy docs/examples/*.yaml to shared/embedded/examples", len(built), len(docs))
	}
	for _, f := range docs {
		want, _ := os.ReadFile(f)
		got, err := builtinExamples.ReadFile("examples/" + filepath.Base(f))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("shared/embedded/examples/%s differs from docs/examples: copy it again (%v)", filepath.Base(f), err)
		}
	}
}

// --demo started outside the checkout (an installed binary) loads the
// built-in workflows; restarted on the same data folder it changes nothing,
// so an edited draft stays edited.
func TestDemoLoadsOnlyIntoAnEmptyStore(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(t.TempDir()) // no docs/examples here
	ctx := context.Background()
	m := openDemo(t, dir)
	if len(m.Demo.Workflows) != 4 || !strings.Contains(strings.Join(m.Demo.Workflows, " "), "reassign-unanswered (published v1)") {
		t.Fatalf("workflows %v", m.Demo.Workflows)
	}
	admin := engine.Person("admin", routing.RoleAdmin)
	src, err := builtinExamples.ReadFile("examples/s2-reassign-unanswered.yaml")
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(src, []byte("name: "), []byte("name: Edited "), 1)
	if _, _, err := m.Flows.SaveDraft(ctx, edited, admin, 0); err != nil {
		t.Fatal(err)
	}
	before, err := m.Store.GetWorkflow(ctx, "reassign-unanswered")
	if err != nil {
		t.Fatal(err)
	}
	m.Close()

	m = openDemo(t, dir)
	defer m.Close()
	after, err := m.Store.GetWorkflow(ctx, "reassign-unanswered")
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version || !bytes.Equal(after.Definition, before.Definition) || !strings.HasPrefix(after.Name, "Edited ") {
		t.Fatalf("the restart rewrote the edited draft: v%d %q -> v%d %q", before.Version, before.Name, after.Version, after.Name)
	}
	if len(m.Demo.Tokens) != len(DemoAgents) || m.Demo.ChannelSecret == "" {
		t.Fatalf("demo info on restart: %+v", m.Demo)
	}
}

// --demo accepts the secrets.json shape of docs/operations.md: an object of
// credentials per channel.
func TestDemoAcceptsCredentialObjects(t *testing.T) {
	dir := t.TempDir()
	content := `{"web": {"appSecret": "web-secret"}, "wa": {"appSecret": "a", "accessToken": "b", "verifyToken": "c"}}`
	if err := os.WriteFile(filepath.Join(dir, "secrets.json"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	m := openDemo(t, dir)
	defer m.Close()
	if m.Demo.ChannelSecret != "web-secret" {
		t.Fatalf("secret %q", m.Demo.ChannelSecret)
	}
}

// A malformed secrets.json is an error at start, never silently empty.
func TestMalformedSecretsFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secrets.json"), []byte(`{"web": "x",`), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := Open(Options{Addr: "127.0.0.1:0", DataDir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil {
		m.Close()
		t.Fatal("opened with a malformed secrets.json")
	}
}
