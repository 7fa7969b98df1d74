package e2e

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"sync"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// The capacity invariant under load: conversations opened concurrently onto
// agents*slots: exactly agents*slots assigned, the rest pending, no agent over
// its maximum; then closing conversations drains the queue in
// urgency-then-age order until it is empty, with nothing lost or duplicated.
func TestCapacityInvariantUnderLoad(t *testing.T) {
	const agents, slots, conversations = 100, 5, 10000
	e := start(t, "load")
	e.team("load", routing.LeastOpen, routing.ModeAutomatic, true)
	for i := 0; i < agents; i++ {
		e.agent(fmt.Sprintf("ag%03d", i), slots, routing.StatusOnline, "load")
	}
	ctx := context.Background()

	parallel(t, conversations, 32, func(i int) {
		from := fmt.Sprintf("+1202555%05d", i)
		r := e.webhook(map[string]any{"channelId": channelID, "messageId": fmt.Sprintf("load-%d", i), "from": from, "text": "hi"})
		if r.Status != 200 {
			t.Errorf("webhook %d: %d %s", i, r.Status, r.Raw)
		}
	})
	e.settle()

	all := listAll(t, e.m.Store, store.ConversationFilter{})
	if len(all) != conversations {
		t.Fatalf("%d conversations exist, want %d", len(all), conversations)
	}
	assigned, pending := 0, 0
	perAgent := map[string]int{}
	for _, c := range all {
		switch c.Status {
		case routing.ConvOpen:
			assigned++
			perAgent[c.AssigneeID]++
		case routing.ConvPending:
			pending++
		}
	}
	if assigned != agents*slots || pending != conversations-agents*slots {
		t.Fatalf("assigned %d pending %d, want %d and %d", assigned, pending, agents*slots, conversations-agents*slots)
	}
	checkLoads(t, e, perAgent, slots)

	// escalate a random tenth of the pending ones so urgency reorders the queue
	rng := rand.New(rand.NewSource(7))
	var pendingConvs []routing.Conversation
	for _, c := range all {
		if c.Status == routing.ConvPending {
			pendingConvs = append(pendingConvs, c)
		}
	}
	for _, c := range pendingConvs {
		if rng.Intn(10) == 0 {
			typ := routing.EscalationTypes[rng.Intn(len(routing.EscalationTypes))]
			e.must(e.call("POST", "/v1/conversations/"+c.ID+"/escalate", e.admin, map[string]any{"type": typ, "summary": "load"}), 200)
		}
	}
	queue := listAll(t, e.m.Store, store.ConversationFilter{Status: routing.ConvPending})
	sort.Slice(queue, func(i, j int) bool { return routing.QueueLess(queue[i], queue[j]) })

	// close in rounds of `batch` concurrent closes: each round must assign
	// exactly the next `batch` conversations of the queue
	open := map[string]bool{}
	for _, c := range all {
		if c.Status == routing.ConvOpen {
			open[c.ID] = true
		}
	}
	const batch = 100
	next := 0
	for next < len(queue) {
		var victims []string
		for id := range open {
			victims = append(victims, id)
			if len(victims) == batch {
				break
			}
		}
		parallel(t, len(victims), 16, func(i int) {
			if r := e.call("POST", "/v1/conversations/"+victims[i]+"/close", e.admin, nil); r.Status != 200 {
				t.Errorf("close: %d %s", r.Status, r.Raw)
			}
		})
		e.settle()
		for _, id := range victims {
			delete(open, id)
		}
		want := min(batch, len(queue)-next)
		for _, c := range queue[next : next+want] {
			got, err := e.m.Store.GetConversation(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != routing.ConvOpen {
				t.Fatalf("queue position %d (%s, rank %d) not assigned after its round: %s", next, c.ID, c.Rank(), got.Status)
			}
			open[c.ID] = true
		}
		next += want
		if t.Failed() {
			return
		}
	}
	if q, _ := e.m.Store.PendingQueue(ctx, "load", 10); len(q) != 0 {
		t.Fatalf("queue not empty: %d left", len(q))
	}
	final := listAll(t, e.m.Store, store.ConversationFilter{})
	perAgent = map[string]int{}
	closed := 0
	for _, c := range final {
		switch c.Status {
		case routing.ConvOpen:
			perAgent[c.AssigneeID]++
		case routing.ConvClosed:
			closed++
		}
	}
	if len(final) != conversations || closed+len(open) != conversations {
		t.Fatalf("lost or duplicated: %d conversations, %d closed, %d open", len(final), closed, len(open))
	}
	checkLoads(t, e, perAgent, slots)
}

func checkLoads(t *testing.T, e *env, perAgent map[string]int, max int) {
	t.Helper()
	page, err := e.m.Store.ListAgents(context.Background(), store.PageRequest{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range page.Items {
		if a.OpenCount > max || a.OpenCount != perAgent[a.ID] {
			t.Fatalf("agent %s: openCount %d, holds %d, max %d", a.ID, a.OpenCount, perAgent[a.ID], max)
		}
	}
}

func listAll(t *testing.T, st store.Store, f store.ConversationFilter) []routing.Conversation {
	t.Helper()
	var out []routing.Conversation
	f.Limit = store.MaxLimit
	for {
		p, err := st.ListConversations(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out
		}
		f.Cursor = p.Next
	}
}

// parallel runs fn(0..n-1) on `workers` goroutines.
func parallel(t *testing.T, n, workers int, fn func(i int)) {
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
