package bolt_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
)

// The crash test re-executes the test binary as a child that commits in a
// loop and prints each acknowledged commit; the parent kills it with
// SIGKILL, reopens the file and checks that every acknowledged commit is
// there and that the file and the capacity counter are consistent.

const (
	crashPathEnv  = "SWITCHBOARD_BOLT_CRASH_CHILD"
	crashStartEnv = "SWITCHBOARD_BOLT_CRASH_START"
	crashPrefix   = "committed "
)

func crashConversationID(n int) string { return fmt.Sprintf("cv_%08d", n) }

// crashChild commits conversations (each with an event and a +1 load on
// ag_1) until killed, printing each id once Commit has returned.
func crashChild(t *testing.T, path string) {
	start, err := strconv.Atoi(os.Getenv(crashStartEnv))
	if err != nil {
		t.Fatal(err)
	}
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute) // never outlive a dead parent for long
	for n := start; time.Now().Before(deadline); n++ {
		id := crashConversationID(n)
		at := time.Unix(int64(n), 0).UTC()
		err := s.Commit(t.Context(), store.Tx{
			Conversations: []store.ConversationWrite{{Value: routing.Conversation{
				ID: id, ContactID: "ct_1", ChannelID: "ch_1", Status: routing.ConvOpen, TeamID: "team_a",
				AssigneeID: "ag_1", Source: "contact", OpenedAt: at, AssignedAt: &at, Assignments: 1,
			}}},
			Loads:  []store.LoadChange{{AgentID: "ag_1", Delta: 1, At: at}},
			Events: []routing.Event{{ID: "ev_" + id, ConversationID: id, At: at, Type: routing.EvAssigned, Actor: "system", Note: strings.Repeat("x", 200)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(os.Stdout, "%s%s\n", crashPrefix, id)
	}
	s.Close()
}

func TestCrashKeepsAcknowledgedCommits(t *testing.T) {
	if path := os.Getenv(crashPathEnv); path != "" {
		crashChild(t, path)
		return
	}
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Commit(t.Context(), store.Tx{Agents: []store.AgentWrite{{Value: routing.Agent{
		ID: "ag_1", Name: "Ana", Status: routing.StatusOnline, MaxConcurrent: 1 << 30, Teams: []string{"team_a"},
	}}}})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	var acked []string
	for round, killAfter := range []int{40, 150, 90} {
		ids := runAndKill(t, path, round*1_000_000, killAfter)
		if len(ids) < killAfter {
			t.Fatalf("round %d: child acknowledged only %d commits", round, len(ids))
		}
		acked = append(acked, ids...)
		verifyAfterCrash(t, path, acked)
	}
}

// runAndKill starts a child committing from id number start, kills it with
// SIGKILL after killAfter acknowledgements and returns every id it acknowledged.
func runAndKill(t *testing.T, path string, start, killAfter int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledgedCommits$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashPathEnv+"="+path, crashStartEnv+"="+strconv.Itoa(start))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, crashPrefix); ok {
			ids = append(ids, id)
		}
		if len(ids) == killAfter && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before %d commits: %v\nstderr: %s", killAfter, err, stderr.String())
	}
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child: want killed, got %v", err)
	}
	return ids
}

func verifyAfterCrash(t *testing.T, path string, acked []string) {
	t.Helper()
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatalf("file inconsistent after SIGKILL: %v", err)
	}
	ctx := t.Context()
	for _, id := range acked {
		if _, err := s.GetConversation(ctx, id); err != nil {
			t.Fatalf("acknowledged %s lost: %v", id, err)
		}
		ev, err := s.Events(ctx, id, store.PageRequest{})
		if err != nil || len(ev.Items) != 1 {
			t.Fatalf("event of acknowledged %s: %d items, %v", id, len(ev.Items), err)
		}
	}
	var stored int
	cursor := ""
	for {
		p, err := s.ListConversations(ctx, store.ConversationFilter{AssigneeID: "ag_1", PageRequest: store.PageRequest{Cursor: cursor, Limit: store.MaxLimit}})
		if err != nil {
			t.Fatal(err)
		}
		stored += len(p.Items)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	// At most one commit per round can be durable but unacknowledged.
	if stored < len(acked) || stored > len(acked)+3 {
		t.Fatalf("%d conversations stored, %d acknowledged", stored, len(acked))
	}
	a, err := s.GetAgent(ctx, "ag_1")
	if err != nil {
		t.Fatal(err)
	}
	if a.OpenCount != stored {
		t.Fatalf("agent OpenCount %d but %d conversations stored: the counter and the conversations diverged", a.OpenCount, stored)
	}
}
