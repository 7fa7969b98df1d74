// Package crash kills the local server with SIGKILL at random moments while
// providers deliver webhooks to it, restarts it on the same data folder, and
// checks the promises on what is left: every acknowledged message is stored
// exactly once, and every conversation holding one is assigned or queued on a
// team (none stranded, none duplicated), with no agent over its maximum.
package crash

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/embedded"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

const (
	channelID = "web"
	secret    = "crash-secret"
	secretEnv = "SWITCHBOARD_CRASH_SECRET"
	childEnv  = "SWITCHBOARD_CRASH_CHILD"
)

var agents = map[string]int{"ana": 4, "bea": 4, "cai": 4}

// TestMain runs the server child when asked to.
func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		child(dir)
		return
	}
	os.Exit(m.Run())
}

// child serves the local server on dir until killed, after writing the demo
// team, agents and channel into an empty store.
func child(dir string) {
	m, err := embedded.Open(embedded.Options{Addr: "127.0.0.1:0", DataDir: dir,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	if err := setup(context.Background(), m.Engine); err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	if err := m.Start(); err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Println("URL", m.URL)
	select {}
}

func setup(ctx context.Context, e *engine.Engine) error {
	admin := engine.Person("root", routing.RoleAdmin)
	_, err := e.CreateTeam(ctx, routing.Team{ID: "support", Name: "Support", Strategy: routing.LeastOpen}, admin)
	if routing.IsConflict(err, routing.ReasonExists) {
		return nil // set up by an earlier round
	}
	if err != nil {
		return err
	}
	for id, max := range agents {
		if _, err := e.CreateAgent(ctx, routing.Agent{ID: id, Name: id, MaxConcurrent: max, Teams: []string{"support"}, Status: routing.StatusOnline}, admin); err != nil {
			return err
		}
	}
	_, err = e.CreateChannel(ctx, routing.Channel{ID: channelID, Provider: "generic", ExternalID: channelID, Name: "web", SecretRef: "env:" + secretEnv,
		Config: map[string]string{"team": "support"}}, admin)
	return err
}

// server is one child process.
type server struct {
	cmd    *exec.Cmd
	url    string
	killed sync.Once
}

func startChild(t *testing.T, dir string) *server {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir, secretEnv+"="+secret)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "URL "); ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return &server{cmd: cmd, url: u}
		}
		if strings.HasPrefix(lines.Text(), "ERR") {
			t.Fatalf("child: %s", lines.Text())
		}
	}
	_ = cmd.Wait()
	t.Fatalf("child exited before serving")
	return nil
}

// kill sends SIGKILL (no shutdown, no flush) once, however often it is called.
func (s *server) kill() {
	s.killed.Do(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	})
}

type message struct{ ID, From string }

// deliver posts a signed webhook; ok is a 2xx answer.
func deliver(client *http.Client, url string, m message) bool {
	raw, _ := json.Marshal(map[string]any{"channelId": channelID, "messageId": m.ID, "from": m.From, "text": "hola " + m.ID})
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(raw)
	req, _ := http.NewRequest("POST", url+"/v1/webhooks/generic", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Switchboard-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	res, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode/100 == 2
}

func TestKill9UnderWebhookLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a server process many times")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(8, uint64(time.Now().UnixNano())))
	const rounds, senders, perSender = 12, 6, 12
	client := &http.Client{Timeout: 10 * time.Second}

	var mu sync.Mutex
	acked := map[string]message{} // answered 2xx at least once
	var unacked []message         // the provider delivers these again
	seq := 0
	for round := 0; round < rounds; round++ {
		srv := startChild(t, dir)
		mu.Lock()
		var batch []message
		batch = append(batch, unacked...)
		unacked = nil
		for i := 0; i < senders*perSender; i++ {
			seq++
			// some contacts write more than once: appended to their open conversation
			from := fmt.Sprintf("+3460%07d", seq)
			if seq%5 == 0 {
				from = fmt.Sprintf("+3460%07d", seq-1)
			}
			batch = append(batch, message{ID: fmt.Sprintf("m-%d", seq), From: from})
		}
		mu.Unlock()
		work := make(chan message)
		var wg sync.WaitGroup
		for s := 0; s < senders; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for m := range work {
					ok := deliver(client, srv.url, m)
					mu.Lock()
					if ok {
						acked[m.ID] = m
					} else if _, done := acked[m.ID]; !done {
						unacked = append(unacked, m)
					}
					mu.Unlock()
				}
			}()
		}
		// kill at a random moment of the round: after a random number of deliveries
		killAt := rng.IntN(len(batch))
		for i, m := range batch {
			if i == killAt {
				go srv.kill()
			}
			work <- m
		}
		close(work)
		wg.Wait()
		srv.kill()
	}
	// Providers deliver whatever was never acknowledged once more, to a server
	// that stays up this time.
	final := startChild(t, dir)
	for _, m := range unacked {
		if deliver(client, final.url, m) {
			acked[m.ID] = m
		}
	}
	final.kill()
	if len(acked) < rounds*senders {
		t.Fatalf("only %d messages acknowledged: the server hardly ran", len(acked))
	}

	// Restart in process and let the relay publish everything left in the outbox.
	m, err := embedded.Open(embedded.Options{Addr: "127.0.0.1:0", DataDir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	if err := m.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	check(t, m.Store, acked)
}

// check reads the store back: the oracle is the set of acknowledged messages.
func check(t *testing.T, st store.Store, acked map[string]message) {
	ctx := context.Background()
	seen := map[string]int{} // message id -> times stored
	holding := map[string]int{}
	stranded, convs := 0, 0
	err := store.ForEach(ctx, store.Conversations(st, store.ConversationFilter{}), func(c routing.Conversation) error {
		convs++
		err := store.ForEach(ctx, func(ctx context.Context, p store.PageRequest) (store.Page[routing.Event], error) {
			return st.Events(ctx, c.ID, p)
		}, func(ev routing.Event) error {
			if ev.Type == routing.EvMessageIn {
				id, _ := ev.Data["messageId"].(string)
				seen[id]++
			}
			return nil
		})
		if err != nil {
			return err
		}
		switch {
		case c.Status == routing.ConvOpen && c.AssigneeID != "":
			holding[c.AssigneeID]++
		case c.Status == routing.ConvPending && c.TeamID != "" && c.AssigneeID == "":
		default:
			stranded++
			t.Errorf("conversation %s is %s, team %q, agent %q: neither assigned nor queued", c.ID, c.Status, c.TeamID, c.AssigneeID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id := range acked {
		if seen[id] != 1 {
			t.Errorf("acknowledged message %s is stored %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s stored %d times", id, n)
		}
	}
	for id, max := range agents {
		a, err := st.GetAgent(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.OpenCount != holding[id] || a.OpenCount > max {
			t.Errorf("agent %s counts %d open (maximum %d) but holds %d", id, a.OpenCount, max, holding[id])
		}
	}
	t.Logf("%d acknowledged messages, %d stored, %d conversations, %d stranded", len(acked), len(seen), convs, stranded)
}
