// Package dynamoload runs the core's capacity invariant under load against
// the DynamoDB store on DynamoDB Local: the engine exactly as the Lambda
// functions wire it, many conversations routed concurrently onto few slots.
package dynamoload

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo/dynamolocal"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.Main(m)) }

// 500 conversations (not the embedded test's 10,000: DynamoDB Local runs
// transactions one at a time, 10-40 ms each here, so 2,000 already took
// 4 minutes with the race detector) opened concurrently onto 20 agents x 5
// slots: exactly 100 assigned, 400 pending, nobody over capacity; then
// closing conversations drains the queue in urgency-then-age order until it
// is empty.
func TestCapacityInvariantOnDynamoDBLocal(t *testing.T) {
	const agents, slots, conversations, workers = 20, 5, 500, 16
	srv := dynamolocal.Shared(t)
	ctx := context.Background()
	table := fmt.Sprintf("load-%d", time.Now().UnixNano())
	client := srv.Client()
	if err := dynamo.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	st := dynamo.New(client, table, dynamo.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	clk := clock.NewVirtual(time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC))
	e := engine.New(engine.Deps{Store: st, Clock: clk, IDs: ids.Random{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, engine.DefaultConfig())
	root := engine.Person("root", routing.RoleAdmin)
	if _, err := e.CreateTeam(ctx, routing.Team{ID: "load", Name: "Load", Strategy: routing.LeastOpen, OnlineOnly: true}, root); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < agents; i++ {
		if _, err := e.CreateAgent(ctx, routing.Agent{ID: fmt.Sprintf("ag%02d", i), Name: "a", MaxConcurrent: slots, Teams: []string{"load"}, Status: routing.StatusOnline}, root); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := e.CreateChannel(ctx, routing.Channel{ID: "c", Provider: "generic", SecretRef: "aws:x", Config: map[string]string{"team": "load"}}, root)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	convs := make([]string, conversations)
	parallel(conversations, workers, func(i int) {
		r, err := e.Ingest(ctx, ch, engine.Inbound{MessageID: fmt.Sprint("m", i), From: fmt.Sprint("+1202555", i), Text: "hi"})
		if err != nil {
			t.Errorf("ingest %d: %v", i, err)
			return
		}
		convs[i] = r.ConversationID
		if _, err := e.RouteDefault(ctx, r.ConversationID); err != nil {
			t.Errorf("route %d: %v", i, err)
		}
	})
	t.Logf("%d conversations ingested and routed in %s", conversations, time.Since(start).Round(time.Millisecond))
	if t.Failed() {
		return
	}
	open, pending := map[string]bool{}, []routing.Conversation{}
	perAgent := map[string]int{}
	for _, id := range convs {
		c, err := st.GetConversation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		switch c.Status {
		case routing.ConvOpen:
			open[c.ID] = true
			perAgent[c.AssigneeID]++
		case routing.ConvPending:
			pending = append(pending, c)
		}
	}
	if len(open) != agents*slots || len(pending) != conversations-agents*slots {
		t.Fatalf("open %d pending %d, want %d and %d", len(open), len(pending), agents*slots, conversations-agents*slots)
	}
	checkLoads(t, st, perAgent, slots)

	// escalate every seventh pending conversation so urgency reorders the queue
	for i, c := range pending {
		if i%7 == 0 {
			typ := routing.EscalationTypes[i%len(routing.EscalationTypes)]
			if _, err := e.Escalate(ctx, c.ID, typ, "load", "", root); err != nil {
				t.Fatal(err)
			}
		}
	}
	queue := make([]routing.Conversation, 0, len(pending))
	for _, c := range pending {
		fresh, err := st.GetConversation(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		queue = append(queue, fresh)
	}
	sort.Slice(queue, func(i, j int) bool { return routing.QueueLess(queue[i], queue[j]) })
	head, err := st.PendingQueue(ctx, "load", 20)
	if err != nil {
		t.Fatal(err)
	}
	for i := range head {
		if head[i].ID != queue[i].ID {
			t.Fatalf("PendingQueue position %d: %s, want %s", i, head[i].ID, queue[i].ID)
		}
	}
	// close in rounds: each round of k closes assigns exactly the next k of the queue
	const round = 25
	for next := 0; next < len(queue); {
		var victims []string
		for id := range open {
			victims = append(victims, id)
			if len(victims) == round {
				break
			}
		}
		parallel(len(victims), workers, func(i int) {
			if _, err := e.Close(ctx, victims[i], root, ""); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		for _, id := range victims {
			delete(open, id)
		}
		n := min(round, len(queue)-next)
		for _, c := range queue[next : next+n] {
			got, err := st.GetConversation(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != routing.ConvOpen {
				t.Fatalf("queue position %d (%s, rank %d) not assigned after its round", next, c.ID, c.Rank())
			}
			open[c.ID] = true
		}
		next += n
		if t.Failed() {
			return
		}
	}
	if q, _ := st.PendingQueue(ctx, "load", 10); len(q) != 0 {
		t.Fatalf("queue not empty: %d left", len(q))
	}
	perAgent = map[string]int{}
	for id := range open {
		c, _ := st.GetConversation(ctx, id)
		perAgent[c.AssigneeID]++
	}
	checkLoads(t, st, perAgent, slots)
	t.Logf("drained %d pending conversations in queue order; total %s", len(queue), time.Since(start).Round(time.Millisecond))
}

func checkLoads(t *testing.T, st store.Store, perAgent map[string]int, max int) {
	t.Helper()
	err := store.ForEach(context.Background(), st.ListAgents, func(a routing.Agent) error {
		if a.OpenCount > max || a.OpenCount != perAgent[a.ID] {
			return fmt.Errorf("agent %s: openCount %d, holds %d, max %d", a.ID, a.OpenCount, perAgent[a.ID], max)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func parallel(n, workers int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
