package lambdaruntime_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
)

// RIEEnv names the aws-lambda-rie binary of AWS's Runtime Interface
// Emulator; without it, the one on PATH. Install it with
//
//	go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
const RIEEnv = "SWITCHBOARD_RIE"

// rieBinary finds the emulator, or "" when there is none.
func rieBinary() string {
	if p := os.Getenv(RIEEnv); p != "" {
		return p
	}
	p, _ := exec.LookPath("aws-lambda-rie")
	return p
}

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// rieInvoke runs bin under the emulator with env (on top of baseEnv),
// invokes it once with payload (the emulator starts the function on the
// first invocation) and returns the init duration of its INIT REPORT and
// the answer. The emulator's own Runtime API listens on 127.0.0.1:9001,
// so one runs at a time.
func rieInvoke(tb testing.TB, rie, bin string, env map[string]string, payload []byte) (time.Duration, []byte) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, bin)
	all := baseEnv()
	for k, v := range env {
		all[k] = v
	}
	all["PATH"] = os.Getenv("PATH")
	for k, v := range all {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the emulator and the function it starts
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the process group this test started
		_ = cmd.Wait()
	}()
	url := "http://" + addr + "/2015-03-31/functions/function/invocations"
	var body []byte
	for deadline := time.Now().Add(3 * time.Minute); ; { // bounds a hang, not the emulator's speed
		res, err := http.Post(url, "application/json", bytes.NewReader(payload))
		if err == nil {
			body, err = io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				tb.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the emulator did not answer: %v\n%s", err, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// the emulator may log the report just after it answers
	m := initReport.FindStringSubmatch(out.String())
	for deadline := time.Now().Add(time.Minute); m == nil && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		m = initReport.FindStringSubmatch(out.String())
	}
	if m == nil {
		tb.Fatalf("no INIT REPORT in the emulator's output (answer %s):\n%s", body, out.String())
	}
	ms, _ := strconv.ParseFloat(m[1], 64)
	return time.Duration(ms * float64(time.Millisecond)), body
}

// The functions run under AWS's Runtime Interface Emulator too: the relay
// answers an empty batch, the api its health route. Skipped without the
// emulator (RIEEnv).
func TestRuntimeInterfaceEmulator(t *testing.T) {
	rie := rieBinary()
	if rie == "" {
		t.Skip("no aws-lambda-rie on PATH (" + RIEEnv + ")")
	}
	dir := buildFunctions(t)
	init, body := rieInvoke(t, rie, filepath.Join(dir, deployenv.Relay), stackEnv(deployenv.Relay, "rie"), []byte(`{"Records":[]}`))
	if string(bytes.TrimSpace(body)) != `{"batchItemFailures":null}` {
		t.Errorf("relay answered %s", body)
	}
	t.Logf("relay: INIT REPORT %v", init)
	init, body = rieInvoke(t, rie, filepath.Join(dir, deployenv.API), stackEnv(deployenv.API, "rie"), sample(t, "apigw-health.json"))
	var res struct{ StatusCode int }
	if json.Unmarshal(body, &res) != nil || res.StatusCode != http.StatusOK {
		t.Errorf("api health answered %s", body)
	}
	t.Logf("api: INIT REPORT %v", init)
}
