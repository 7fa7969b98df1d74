package dynamoload

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/embedded"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/providers/generic"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo/dynamolocal"
)

// Three `switchboard dev --store dynamodb` processes on one DynamoDB Local
// table, as three Lambda instances share one table on AWS: webhooks and
// closes are spread over the three, every process relays every outbox event
// (each reads the whole stream), so each conversation's routing is attempted
// by three engines at once. The oracle reads the table itself (a Scan and
// GetItems, decoding the stored JSON), not the store's queries:
//
//   - every acknowledged message is stored exactly once;
//   - no conversation is assigned twice by the system (at most one system
//     assignment per stay in a queue, and no system reassignment);
//   - no agent holds more than its maximum, and each load counter equals the
//     conversations the agent holds;
//   - closing a round of conversations assigns exactly the next ones of the
//     queue in urgency-then-age order;
//   - nothing is stranded: every conversation is assigned, pending on a
//     team's queue, or closed.
func TestThreeProcessesShareOneTable(t *testing.T) {
	const (
		procs         = 3
		agents, slots = 8, 5 // 40 slots
		conversations = 330  // 290 queued behind 40 slots: eight rounds of closes
		workers       = 12
		secretEnv     = "SWITCHBOARD_MULTIPROC_SECRET"
		secret        = "multiproc-secret"
	)
	srv := dynamolocal.Shared(t)
	bin := buildSwitchboard(t)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	client := srv.Client()
	table := fmt.Sprintf("multiproc-%d", time.Now().UnixNano())
	if err := dynamo.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}

	// Seed the team, its agents and the channel through an engine on the table.
	st := dynamo.New(client, table, dynamo.WithLogger(quiet))
	e := engine.New(engine.Deps{Store: st, Clock: clock.Real{}, IDs: ids.Random{}, Log: quiet}, engine.DefaultConfig())
	root := engine.Person("root", routing.RoleAdmin)
	if _, err := e.CreateTeam(ctx, routing.Team{ID: "mp", Name: "Multi", Strategy: routing.LeastOpen}, root); err != nil {
		t.Fatal(err)
	}
	for i := range agents {
		if _, err := e.CreateAgent(ctx, routing.Agent{ID: fmt.Sprintf("ag%d", i), Name: "a", MaxConcurrent: slots, Teams: []string{"mp"}, Status: routing.StatusOnline}, root); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.CreateChannel(ctx, routing.Channel{ID: "web", Provider: "generic", SecretRef: "env:" + secretEnv, Config: map[string]string{"team": "mp"}}, root); err != nil {
		t.Fatal(err)
	}

	// One signing key for the three (each has its own data folder).
	dirs := make([]string, procs)
	var key []byte
	for i := range dirs {
		dirs[i] = t.TempDir()
		if i == 0 {
			var err error
			if key, err = auth.LoadOrCreateKey(filepath.Join(dirs[0], "jwt.key")); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := os.ReadFile(filepath.Join(dirs[0], "jwt.key"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dirs[i], "jwt.key"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	signer, err := auth.NewSigner(key, embedded.Issuer, clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	token, err := signer.Sign(auth.Principal{Subject: "root", Role: routing.RoleAdmin}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	urls := make([]string, procs)
	for i := range procs {
		urls[i] = startDev(t, bin, dirs[i], srv.Endpoint, table, secretEnv+"="+secret)
	}
	start := time.Now()

	// 1. Webhooks, spread over the three.
	// a bound for hangs, not a speed: with both cores busy, a close (which
	// drains the freed slots in the request) waited 30 s on DynamoDB Local
	httpc := &http.Client{Timeout: 5 * time.Minute}
	parallel(conversations, workers, func(i int) {
		body := fmt.Sprintf(`{"channelId":"web","messageId":"m%d","from":"+1202555%04d","text":"hi"}`, i, i)
		req, _ := http.NewRequest(http.MethodPost, urls[i%procs]+"/v1/webhooks/generic", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(generic.SignatureHeader, generic.Sign(secret, []byte(body)))
		if code, msg := do(httpc, req); code/100 != 2 {
			t.Errorf("webhook %d on process %d: %d %s", i, i%procs, code, msg)
		}
	})
	if t.Failed() {
		return
	}
	t.Logf("%d webhooks acknowledged in %s", conversations, time.Since(start).Round(time.Millisecond))
	// Bounds, not expectations: DynamoDB Local runs one transaction at a time
	// and the three processes each route every conversation.
	settled := waitSettled(t, client, table, conversations, agents*slots, 5*time.Minute)
	t.Logf("routed: %d open, %d queued after %s", agents*slots, conversations-agents*slots, time.Since(start).Round(time.Millisecond))

	// 2. Escalate every seventh queued conversation (spread over the three), so
	// urgency reorders the queue.
	var queued []routing.Conversation
	for _, c := range settled.convs {
		if c.Status == routing.ConvPending {
			queued = append(queued, c)
		}
	}
	sort.Slice(queued, func(i, j int) bool { return queued[i].ID < queued[j].ID })
	escTypes := []routing.EscalationType{routing.EscEmergency, routing.EscComplaint, routing.EscBilling}
	var toEscalate []string
	for i, c := range queued {
		if i%7 == 0 {
			toEscalate = append(toEscalate, c.ID)
		}
	}
	parallel(len(toEscalate), workers, func(i int) {
		body := fmt.Sprintf(`{"type":%q,"summary":"load","teamId":"mp"}`, escTypes[i%len(escTypes)])
		if code, msg := api(httpc, urls[i%procs], token, "/v1/conversations/"+toEscalate[i]+"/escalate", body); code/100 != 2 {
			t.Errorf("escalate %s: %d %s", toEscalate[i], code, msg)
		}
	})
	if t.Failed() {
		return
	}
	settled = waitSettled(t, client, table, conversations, agents*slots, 2*time.Minute)
	queue := settled.queue()
	open := settled.open()

	// 3. Close in rounds, spread over the three: each round frees every slot
	// and must assign exactly the next conversations of the queue.
	for next, round := 0, 0; next < len(queue); round++ {
		victims := open
		parallel(len(victims), workers, func(i int) {
			if code, msg := api(httpc, urls[(i+round)%procs], token, "/v1/conversations/"+victims[i]+"/close", `{"note":"done"}`); code/100 != 2 {
				t.Errorf("close %s: %d %s", victims[i], code, msg)
			}
		})
		if t.Failed() {
			return
		}
		n := min(len(victims), len(queue)-next)
		want := queue[next : next+n]
		const stall = 4 * time.Minute // DynamoDB Local runs one transaction at a time, behind three relays' backlogs
		deadline, lastMissing := time.Now().Add(stall), -1
		for {
			missing := 0
			for _, id := range want {
				if c := getConversation(t, client, table, id); c.Status != routing.ConvOpen {
					missing++
				}
			}
			if missing == 0 {
				break
			}
			if missing != lastMissing { // progress: a busy machine is slow, not wrong
				lastMissing, deadline = missing, time.Now().Add(stall)
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d of queue positions %d..%d not assigned, no progress for %s (the slots went elsewhere, or nobody drained)", round, missing, next, next+n-1, stall)
			}
			time.Sleep(250 * time.Millisecond) // the oracle's reads load DynamoDB Local too
		}
		open = want
		next += n
	}
	t.Logf("queue of %d drained in order in rounds; total %s", len(queue), time.Since(start).Round(time.Millisecond))

	// 4. The whole table, read back once everything is quiet.
	final := waitSettled(t, client, table, conversations, len(open), 2*time.Minute)
	if q := final.queue(); len(q) != 0 {
		t.Fatalf("%d conversations still queued", len(q))
	}
	final.check(t, slots)
}

// tableState is the table decoded by the oracle.
type tableState struct {
	convs    map[string]routing.Conversation
	events   map[string][]routing.Event // by conversation, in sort-key order
	loads    map[string]int             // agent -> openCount
	messages map[string]int             // message.received events by message id
}

func scanTable(t *testing.T, client *dynamodb.Client, table string) tableState {
	t.Helper()
	s := tableState{convs: map[string]routing.Conversation{}, events: map[string][]routing.Event{}, loads: map[string]int{}, messages: map[string]int{}}
	var start map[string]types.AttributeValue
	for {
		out, err := client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table), ExclusiveStartKey: start, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			pk, sk := attrS(it, "pk"), attrS(it, "sk")
			switch {
			case strings.HasPrefix(pk, "CONV#") && sk == "CONV":
				var c routing.Conversation
				mustJSON(t, attrS(it, "doc"), &c)
				s.convs[c.ID] = c
			case strings.HasPrefix(pk, "CONV#") && strings.HasPrefix(sk, "EV#"):
				var ev routing.Event
				mustJSON(t, attrS(it, "doc"), &ev)
				s.events[ev.ConversationID] = append(s.events[ev.ConversationID], ev)
				if ev.Type == routing.EvMessageIn {
					s.messages[fmt.Sprint(ev.Data["messageId"])]++
				}
			case strings.HasPrefix(pk, "AGENT#") && sk == "LOAD":
				n, err := strconv.Atoi(it["openCount"].(*types.AttributeValueMemberN).Value)
				if err != nil {
					t.Fatal(err)
				}
				s.loads[strings.TrimPrefix(pk, "AGENT#")] = n
			}
		}
		if out.LastEvaluatedKey == nil {
			break
		}
		start = out.LastEvaluatedKey
	}
	for id := range s.events { // the sort key orders by time; keep it so
		sort.SliceStable(s.events[id], func(i, j int) bool {
			a, b := s.events[id][i], s.events[id][j]
			return a.At.Before(b.At) || (a.At.Equal(b.At) && a.ID < b.ID)
		})
	}
	return s
}

// queue is the pending conversations in urgency-then-age order (rank, then
// PendingSince, then id), as ids.
func (s tableState) queue() []string {
	var q []routing.Conversation
	for _, c := range s.convs {
		if c.Status == routing.ConvPending {
			q = append(q, c)
		}
	}
	sort.Slice(q, func(i, j int) bool {
		a, b := q[i], q[j]
		if a.Rank() != b.Rank() {
			return a.Rank() < b.Rank()
		}
		if !a.PendingSince.Equal(b.PendingSince) {
			return a.PendingSince.Before(b.PendingSince)
		}
		return a.ID < b.ID
	})
	out := make([]string, len(q))
	for i, c := range q {
		out[i] = c.ID
	}
	return out
}

func (s tableState) open() []string {
	var out []string
	for _, c := range s.convs {
		if c.Status == routing.ConvOpen {
			out = append(out, c.ID)
		}
	}
	sort.Strings(out)
	return out
}

// counts summarises the conversations by state.
func (s tableState) counts() string {
	n := map[string]int{}
	for _, c := range s.convs {
		k := string(c.Status)
		if c.Status == routing.ConvPending && c.TeamID == "" {
			k = "pending without a team"
		}
		n[k]++
	}
	return fmt.Sprintf("%d conversations %v", len(s.convs), n)
}

// settled reports whether the table is quiet: conversations conversations,
// exactly open of them assigned, none stranded.
func (s tableState) settled(conversations, open int) string {
	if len(s.convs) != conversations {
		return fmt.Sprintf("%d conversations, want %d", len(s.convs), conversations)
	}
	n := 0
	for _, c := range s.convs {
		switch {
		case c.Status == routing.ConvOpen && c.AssigneeID != "":
			n++
		case c.Status == routing.ConvPending && c.TeamID != "", c.Status == routing.ConvClosed:
		default:
			return fmt.Sprintf("conversation %s is %s with team %q assignee %q", c.ID, c.Status, c.TeamID, c.AssigneeID)
		}
	}
	if n != open {
		return fmt.Sprintf("%d open, want %d", n, open)
	}
	return ""
}

// waitSettled polls until the table is settled. bound is how long it may go
// without progress (the conversations' states not changing), not how long it
// may take: a busy machine is slow, not wrong.
func waitSettled(t *testing.T, client *dynamodb.Client, table string, conversations, open int, bound time.Duration) tableState {
	t.Helper()
	start := time.Now()
	deadline, report := start.Add(bound), start.Add(30*time.Second)
	last := ""
	for {
		s := scanTable(t, client, table)
		why := s.settled(conversations, open)
		if why == "" {
			s.check(t, 0)
			return s
		}
		if c := s.counts(); c != last {
			last, deadline = c, time.Now().Add(bound) // progress
		}
		if time.Now().After(report) { // progress, for a slow machine
			t.Logf("after %s: %s", time.Since(start).Round(time.Second), s.counts())
			report = report.Add(30 * time.Second)
		}
		if time.Now().After(deadline) {
			s.check(t, 0)
			t.Fatalf("no progress for %s (after %s in all): %s (%s)", bound, time.Since(start).Round(time.Second), why, s.counts())
		}
		time.Sleep(time.Second) // a Scan of the whole table each time: keep the load low
	}
}

// check asserts the invariants on a decoded table (max 0: not checked).
func (s tableState) check(t *testing.T, max int) {
	t.Helper()
	for id, n := range s.messages {
		if n != 1 {
			t.Errorf("message %s stored %d times", id, n)
		}
	}
	holds := map[string]int{}
	for _, c := range s.convs {
		if c.Status == routing.ConvOpen {
			holds[c.AssigneeID]++
		}
	}
	for ag, n := range s.loads {
		if n != holds[ag] || (max > 0 && n > max) {
			t.Errorf("agent %s: openCount %d, holds %d conversations, max %d", ag, n, holds[ag], max)
		}
	}
	bad := 0
	for id, evs := range s.events {
		system := 0
		for _, ev := range evs {
			person := strings.HasPrefix(ev.Actor, "agent:")
			why := ""
			switch {
			case ev.Type == routing.EvQueued:
				system = 0
			case ev.Type == routing.EvAssigned && !person:
				if system++; system > 1 {
					why = "assigned twice by the system without being queued in between"
				}
			case ev.Type == routing.EvReassigned && !person:
				why = "reassigned by " + ev.Actor
			}
			if why != "" {
				if bad++; bad <= 10 {
					t.Errorf("conversation %s %s: %s", id, why, timeline(evs))
				}
				break
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d conversations in all assigned twice by the system", bad)
	}
	if t.Failed() {
		t.FailNow()
	}
}

func timeline(evs []routing.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "\n  %s %s %s %v", ev.At.Format("15:04:05.000000"), ev.Type, ev.Actor, ev.Data["to"])
	}
	return b.String()
}

func getConversation(t *testing.T, client *dynamodb.Client, table, id string) routing.Conversation {
	t.Helper()
	out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "CONV#" + id}, "sk": &types.AttributeValueMemberS{Value: "CONV"}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	var c routing.Conversation
	mustJSON(t, attrS(out.Item, "doc"), &c)
	return c
}

func attrS(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
}

func api(c *http.Client, base, token, path, body string) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return do(c, req)
}

func do(c *http.Client, req *http.Request) (int, string) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// startDev starts `switchboard dev` on the DynamoDB table and returns its
// URL; the process is killed when the test ends, and its log is printed if
// the test failed.
func startDev(t *testing.T, bin, dir, endpoint, table string, env ...string) string {
	t.Helper()
	cmd := exec.Command(bin, "dev", "--addr", "127.0.0.1:0", "--data", dir,
		"--store", "dynamodb", "--dynamodb-endpoint", endpoint, "--table", table)
	cmd.Env = append(os.Environ(), env...)
	var logBuf syncBuffer
	cmd.Stderr = &logBuf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			lines := strings.Split(logBuf.String(), "\n")
			t.Logf("process %d (%s), last log lines:\n%s", cmd.Process.Pid, dir, strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		close(found)
	}()
	select {
	case url, ok := <-found:
		if !ok {
			t.Fatalf("switchboard dev exited before listening:\n%s", logBuf.String())
		}
		return url
	case <-time.After(5 * time.Minute): // bounds a hang, not the speed of a start on a busy machine
		t.Fatalf("switchboard dev did not listen within 5 minutes:\n%s", logBuf.String())
	}
	return ""
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

// buildSwitchboard builds the CLI once into the test's temp folder.
func buildSwitchboard(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv(dynamolocal.RequireToolsEnv) == "1" {
			t.Fatalf("the go command is not on PATH (%s=1 makes this a failure)", dynamolocal.RequireToolsEnv)
		}
		t.Skip("skipping: the go command is not on PATH")
	}
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env GOMOD: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "switchboard")
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/switchboard")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/switchboard: %v\n%s", err, b)
	}
	return bin
}
