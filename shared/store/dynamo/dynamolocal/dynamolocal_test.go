package dynamolocal_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-oss/switchboard/shared/store/dynamo/dynamolocal"
)

const childEnv = "DYNAMOLOCAL_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		runChild()
		return
	}
	os.Exit(dynamolocal.Main(m))
}

// runChild starts a server, prints its pid and dies without stopping it, as a
// test binary that panics or times out would.
func runChild() {
	srv, err := dynamolocal.Start(context.Background())
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	fmt.Println("pid", srv.Pid())
	os.Exit(2)
}

func TestSharedServerServesTables(t *testing.T) {
	srv := dynamolocal.Shared(t)
	if !strings.HasPrefix(srv.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("Endpoint %q, want a loopback URL", srv.Endpoint)
	}
	if again := dynamolocal.Shared(t); again != srv {
		t.Fatal("Shared started a second server")
	}
	client := srv.Client()
	name := "harness_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	_, err := client.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	_, err = client.PutItem(t.Context(), &dynamodb.PutItemInput{
		TableName: aws.String(name),
		Item:      map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}},
	})
	if err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName: aws.String(name),
		Key:       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}},
	})
	if err != nil || out.Item == nil {
		t.Fatalf("GetItem: item %v, err %v", out, err)
	}
}

func TestStopKillsServer(t *testing.T) {
	dynamolocal.Shared(t) // skips or fails like the other tests when the tools are missing
	srv, err := dynamolocal.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	pid := srv.Pid()
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.Exited():
	default:
		t.Fatal("Stop returned before the process exited")
	}
	if alive(pid) {
		t.Fatalf("process %d still alive after Stop", pid)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

// TestServerDiesWithTestBinary runs this test binary as a child that starts
// a server and exits without stopping it: the server must die with it.
func TestServerDiesWithTestBinary(t *testing.T) {
	dynamolocal.Shared(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "pid" {
			pid, _ = strconv.Atoi(f[1])
		} else if len(f) > 0 && f[0] == "error" {
			t.Fatalf("child: %s", sc.Text())
		}
	}
	_ = cmd.Wait()
	if pid == 0 {
		t.Fatal("child did not report a server pid")
	}
	// The kernel delivers SIGKILL when the child exits; give it a moment to land.
	deadline := time.Now().Add(2 * time.Minute)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("server %d survived its test binary", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Outside the repository the jar cannot be found: the tests skip, or fail
// with a hint to run `make tools` when SWITCHBOARD_REQUIRE_TOOLS=1.
func TestMissingToolsSkipOrFail(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run := func(require string) (string, error) {
		cmd := exec.CommandContext(t.Context(), exe, "-test.run=^TestSharedServerServesTables$", "-test.v")
		cmd.Dir = t.TempDir() // no go.mod above it
		cmd.Env = append(withoutEnv(os.Environ(), dynamolocal.RequireToolsEnv, childEnv), dynamolocal.RequireToolsEnv+"="+require)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("")
	if err != nil || !strings.Contains(out, "--- SKIP: TestSharedServerServesTables") {
		t.Fatalf("without %s: want a skip, got err %v:\n%s", dynamolocal.RequireToolsEnv, err, out)
	}
	out, err = run("1")
	if err == nil || !strings.Contains(out, "--- FAIL: TestSharedServerServesTables") || !strings.Contains(out, "make tools") {
		t.Fatalf("with %s=1: want a failure naming `make tools`, got err %v:\n%s", dynamolocal.RequireToolsEnv, err, out)
	}
}

func TestLocateFindsJar(t *testing.T) {
	dynamolocal.Shared(t)
	jar, lib, err := dynamolocal.Locate()
	if err != nil || !strings.HasSuffix(jar, "DynamoDBLocal.jar") || !strings.HasSuffix(lib, "DynamoDBLocal_lib") {
		t.Fatalf("Locate() = %q, %q, %v", jar, lib, err)
	}
	t.Chdir(t.TempDir())
	if _, _, err := dynamolocal.Locate(); !errors.Is(err, dynamolocal.ErrNotInstalled) {
		t.Fatalf("Locate outside the repository: %v, want ErrNotInstalled", err)
	}
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		keep := true
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// Field 3 is the state; the command in field 2 is parenthesised.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
