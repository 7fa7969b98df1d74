package lambdaruntime_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/modroot"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo/dynamolocal"
	"github.com/switchboard-oss/switchboard/tests/lambdaruntime"
)

func TestMain(m *testing.M) {
	code := dynamolocal.Main(m)
	for _, b := range []*builds{&built, &arm64} {
		if b.dir != "" {
			os.RemoveAll(b.dir)
		}
	}
	os.Exit(code)
}

// goTool finds the go command, skipping (or failing, with
// SWITCHBOARD_REQUIRE_TOOLS=1) when there is none.
func goTool(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		if p := filepath.Join(strings.TrimSpace(string(out)), "bin", "go"); fileExists(p) {
			return p
		}
	}
	if os.Getenv(dynamolocal.RequireToolsEnv) == "1" {
		t.Fatalf("the go command is not on PATH (%s=1 makes this a failure)", dynamolocal.RequireToolsEnv)
	}
	t.Skip("skipping: the go command is not on PATH")
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// builds are the functions built once per test binary, in temporary folders.
type builds struct {
	once sync.Once
	dir  string
	err  error
	out  string
}

var built, arm64 builds

// build builds every function with the flags `make build` uses (-tags
// lambda.norpc -trimpath -ldflags='-s -w', CGO_ENABLED=0) and env on top
// (GOOS, GOARCH), into one folder (<dir>/<function>).
func (b *builds) build(t testing.TB, env ...string) string {
	t.Helper()
	goBin := goTool(t)
	root := modroot.Must(t)
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "switchboard-lambdas-")
		if b.err != nil {
			return
		}
		pkgs := make([]string, len(deployenv.Functions))
		for i, f := range deployenv.Functions {
			pkgs[i] = "./functions/" + f
		}
		cmd := exec.Command(goBin, append([]string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", b.dir + string(os.PathSeparator)}, pkgs...)...)
		cmd.Dir = root
		cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
		out, err := cmd.CombinedOutput()
		b.out, b.err = string(out), err
	})
	if b.err != nil {
		t.Fatalf("go build %v: %v\n%s", env, b.err, b.out)
	}
	return b.dir
}

// buildFunctions builds every function for the host's OS and architecture.
func buildFunctions(t testing.TB) string { return built.build(t) }

// buildBootstraps builds every function as `make build` does: linux/arm64.
func buildBootstraps(t testing.TB) string { return arm64.build(t, "GOOS=linux", "GOARCH=arm64") }

// proc is one function process talking to its own Runtime API.
type proc struct {
	name     string
	cmd      *exec.Cmd
	rt       *lambdaruntime.Server
	output   *syncBuffer
	exited   chan struct{}
	waitErr  error
	InitTime time.Duration
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// baseEnv isolates the process from the machine's AWS configuration.
func baseEnv() map[string]string {
	return map[string]string{
		"AWS_REGION":                  dynamolocal.Region,
		"AWS_ACCESS_KEY_ID":           "local",
		"AWS_SECRET_ACCESS_KEY":       "local",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_LAMBDA_LOG_LEVEL":        "DEBUG",
		"TZ":                          "UTC",
	}
}

// startFunction runs a built function with env (on top of baseEnv) and
// waits until it asks for its first invocation, or exits.
func startFunction(t testing.TB, dir, name string, env map[string]string) *proc {
	t.Helper()
	rt, err := lambdaruntime.Start()
	if err != nil {
		t.Fatal(err)
	}
	rt.FunctionARN = "arn:aws:lambda:us-east-1:123456789012:function:Switchboard-" + name
	p := &proc{name: name, rt: rt, output: &syncBuffer{}, exited: make(chan struct{})}
	all := baseEnv()
	for k, v := range env {
		all[k] = v
	}
	all["AWS_LAMBDA_RUNTIME_API"] = rt.Address()
	all["AWS_LAMBDA_FUNCTION_NAME"] = "Switchboard-" + name
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p.cmd = exec.Command(filepath.Join(dir, name))
	for _, k := range keys {
		p.cmd.Env = append(p.cmd.Env, k+"="+all[k])
	}
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	started := time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(t) })
	deadline := time.After(5 * time.Minute)
	for p.rt.FirstNext().IsZero() {
		select {
		case <-p.exited:
			return p
		case <-deadline:
			t.Fatalf("%s did not ask for an invocation within 60s; output:\n%s", name, p.output.String())
		case <-time.After(2 * time.Millisecond):
		}
	}
	p.InitTime = p.rt.FirstNext().Sub(started)
	return p
}

func (p *proc) stop(t testing.TB) {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Kill() // only the process this test started
		<-p.exited
	}
	_ = p.rt.Close()
	if t.Failed() {
		t.Logf("%s output:\n%s", p.name, p.output.String())
	}
}

// invoke sends one event and returns the function's answer.
func (p *proc) invoke(t *testing.T, payload []byte) lambdaruntime.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	done := make(chan struct{})
	var res lambdaruntime.Result
	var err error
	go func() {
		res, err = p.rt.Invoke(ctx, payload)
		close(done)
	}()
	select {
	case <-done:
	case <-p.exited:
		t.Fatalf("%s exited (%v) during an invocation; output:\n%s", p.name, p.waitErr, p.output.String())
	}
	if err != nil {
		t.Fatalf("%s: %v; output:\n%s", p.name, err, p.output.String())
	}
	return res
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(modroot.Must(t), "events", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func fileSize(t testing.TB, p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func goos() string   { return runtime.GOOS }
func goarch() string { return runtime.GOARCH }
