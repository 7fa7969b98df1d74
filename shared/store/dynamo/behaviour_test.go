package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
)

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

func commit(t testing.TB, s store.Store, tx store.Tx) {
	t.Helper()
	if err := s.Commit(context.Background(), tx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func agent(id string, max int) routing.Agent {
	return routing.Agent{ID: id, Name: "Agent " + id, Role: routing.RoleAgent, Status: routing.StatusOnline, MaxConcurrent: max, Teams: []string{"team_a"}, CreatedAt: t0}
}

func conversation(id, team, assignee string) routing.Conversation {
	c := routing.Conversation{ID: id, ContactID: "ct_1", ChannelID: "ch_1", Status: routing.ConvPending, TeamID: team, Source: "contact", OpenedAt: t0, PendingSince: t0}
	if assignee != "" {
		c.Status, c.AssigneeID, c.PendingSince, c.AssignedAt, c.Assignments = routing.ConvOpen, assignee, time.Time{}, &t0, 1
	}
	return c
}

func event(id, conv string, at time.Time) routing.Event {
	return routing.Event{ID: id, ConversationID: conv, At: at, Type: routing.EvComment, Actor: "system", Note: "note " + id}
}

// routeTx is the transaction of routing one new conversation to an agent:
// the conversation, the agent's slot, two timeline events and a notification.
func routeTx(conv, agentID string, at time.Time) store.Tx {
	return store.Tx{
		Conversations: []store.ConversationWrite{{Value: conversation(conv, "team_a", agentID)}},
		Loads:         []store.LoadChange{{AgentID: agentID, Delta: 1, At: at, RequireStatus: []routing.AgentStatus{routing.StatusOnline}}},
		Events: []routing.Event{
			{ID: conv + "_ev1", ConversationID: conv, At: at, Type: routing.EvOpened, Actor: "contact"},
			{ID: conv + "_ev2", ConversationID: conv, At: at, Type: routing.EvAssigned, Actor: "system", Data: map[string]any{"agentId": agentID, "strategy": "round_robin"}},
		},
		Notifications: []routing.Notification{{ID: conv + "_nt", AgentID: agentID, At: at, Type: routing.NoteAssignment, ConversationID: conv, Text: "New conversation assigned to you"}},
	}
}

func wantReason(t *testing.T, err error, code routing.Code, reason string) {
	t.Helper()
	if routing.ErrorCode(err) != code || routing.ErrorReason(err) != reason {
		t.Fatalf("want %s/%q, got %s/%q: %v", code, reason, routing.ErrorCode(err), routing.ErrorReason(err), err)
	}
}

func TestTableSchemaNames(t *testing.T) {
	in := dynamo.TableSchema("tbl")
	if *in.TableName != "tbl" || in.BillingMode != types.BillingModePayPerRequest {
		t.Fatalf("table %q billing %s", *in.TableName, in.BillingMode)
	}
	if len(in.KeySchema) != 2 || *in.KeySchema[0].AttributeName != "pk" || in.KeySchema[0].KeyType != types.KeyTypeHash ||
		*in.KeySchema[1].AttributeName != "sk" || in.KeySchema[1].KeyType != types.KeyTypeRange {
		t.Fatalf("key schema %+v, want pk HASH, sk RANGE", in.KeySchema)
	}
	if len(in.GlobalSecondaryIndexes) != 5 {
		t.Fatalf("%d GSIs, want 5", len(in.GlobalSecondaryIndexes))
	}
	if in.StreamSpecification == nil || !*in.StreamSpecification.StreamEnabled || in.StreamSpecification.StreamViewType != types.StreamViewTypeNewImage {
		t.Fatalf("stream %+v, want enabled with NEW_IMAGE (the outbox feed)", in.StreamSpecification)
	}
	for i, g := range in.GlobalSecondaryIndexes {
		name := fmt.Sprintf("gsi%d", i+1)
		if *g.IndexName != name || *g.KeySchema[0].AttributeName != name+"pk" || *g.KeySchema[1].AttributeName != name+"sk" ||
			g.Projection.ProjectionType != types.ProjectionTypeKeysOnly {
			t.Fatalf("GSI %d: %s on %s/%s projection %s", i, *g.IndexName, *g.KeySchema[0].AttributeName, *g.KeySchema[1].AttributeName, g.Projection.ProjectionType)
		}
	}
	for _, d := range in.AttributeDefinitions {
		if d.AttributeType != types.ScalarAttributeTypeS {
			t.Fatalf("attribute %s is %s, want S", *d.AttributeName, d.AttributeType)
		}
	}
}

func TestCommitItemLimit(t *testing.T) {
	s := newStore(t)
	many := func(n int) store.Tx {
		var tx store.Tx
		for i := range n {
			tx.Events = append(tx.Events, event(fmt.Sprintf("ev_%03d", i), "cv_1", t0))
		}
		return tx
	}
	err := s.Commit(t.Context(), many(dynamo.MaxTxItems+1))
	if routing.ErrorCode(err) != routing.CodeInvalid {
		t.Fatalf("101 items: want invalid_argument, got %v", err)
	}
	p, _ := s.Events(t.Context(), "cv_1", store.PageRequest{})
	if len(p.Items) != 0 {
		t.Fatalf("refused Tx wrote %d events", len(p.Items))
	}
	// Outbox events count: one item per Key of the Tx whose events no
	// timeline entry of the Tx carries. 99 events of cv_1 + outbox of 2
	// other keys is 101 items.
	tx := many(dynamo.MaxTxItems - 1)
	tx.Outbox = []store.OutboxEvent{outboxEvent("ag_1", "bus_1"), outboxEvent("ag_2", "bus_2"), outboxEvent("ag_1", "bus_3")}
	if err := s.Commit(t.Context(), tx); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Fatalf("99 events + outbox of 2 keys (101 items): want invalid_argument, got %v", err)
	}
	tx.Outbox = tx.Outbox[:1]
	commit(t, s, tx)
	// cv_1's own events ride on its timeline entries: no item of their own
	full := many(dynamo.MaxTxItems)
	for i := range full.Events {
		full.Events[i].ID = fmt.Sprintf("ev2_%03d", i)
	}
	full.Outbox = []store.OutboxEvent{outboxEvent("cv_1", "bus_4"), outboxEvent("cv_1", "bus_5")}
	commit(t, s, full)
}

// When several conditions fail, the error names the first in Tx order.
func TestFirstFailedConditionWins(t *testing.T) {
	s := newStore(t)
	commit(t, s, store.Tx{
		Conversations: []store.ConversationWrite{{Value: conversation("cv_1", "team_a", "")}},
		Agents:        []store.AgentWrite{{Value: agent("ag_1", 0)}},
	})
	stale := store.ConversationWrite{Value: conversation("cv_1", "team_a", ""), ExpectVersion: 5}
	full := store.LoadChange{AgentID: "ag_1", Delta: 1, At: t0}
	err := s.Commit(t.Context(), store.Tx{Conversations: []store.ConversationWrite{stale}, Loads: []store.LoadChange{full}})
	wantReason(t, err, routing.CodeConflict, routing.ReasonVersion)
	fresh := store.ConversationWrite{Value: conversation("cv_1", "team_a", ""), ExpectVersion: 1}
	err = s.Commit(t.Context(), store.Tx{Conversations: []store.ConversationWrite{fresh}, Loads: []store.LoadChange{full}})
	wantReason(t, err, routing.CodeConflict, routing.ReasonCapacity)
	if c, _ := s.GetConversation(t.Context(), "cv_1"); c.Version != 1 {
		t.Fatalf("conversation version %d after failed Txs, want 1", c.Version)
	}
}

// Channel and external ids may hold '#': the reservation key must not let
// ("a#b", "c") and ("a", "b#c") collide.
func TestContactKeyEscaping(t *testing.T) {
	s := newStore(t)
	pairs := [][3]string{{"ct_1", "a#b", "c"}, {"ct_2", "a", "b#c"}, {"ct_3", "a%23b", "c"}, {"ct_4", "a", "b%23c"}}
	for _, p := range pairs {
		commit(t, s, store.Tx{Contacts: []store.ContactWrite{{Value: routing.Contact{ID: p[0], ChannelID: p[1], ExternalID: p[2], CreatedAt: t0}}}})
	}
	for _, p := range pairs {
		c, err := s.ContactByExternalID(t.Context(), p[1], p[2])
		if err != nil || c.ID != p[0] {
			t.Fatalf("ContactByExternalID(%q, %q) = %q, %v; want %s", p[1], p[2], c.ID, err, p[0])
		}
	}
}

func TestContactExternalIDCannotChange(t *testing.T) {
	s := newStore(t)
	c := routing.Contact{ID: "ct_1", ChannelID: "ch_1", ExternalID: "ext_1", Name: "Ana", CreatedAt: t0}
	commit(t, s, store.Tx{Contacts: []store.ContactWrite{{Value: c}}})
	moved := c
	moved.ExternalID = "ext_2"
	err := s.Commit(t.Context(), store.Tx{Contacts: []store.ContactWrite{{Value: moved, ExpectVersion: 1}}})
	if routing.ErrorCode(err) != routing.CodeInvalid || err.(*routing.Error).Field != "contacts[0].externalId" {
		t.Fatalf("changing the external id: want invalid_argument on contacts[0].externalId, got %v", err)
	}
	// A stale version is reported as such even when the pair also changed.
	err = s.Commit(t.Context(), store.Tx{Contacts: []store.ContactWrite{{Value: moved, ExpectVersion: 7}}})
	wantReason(t, err, routing.CodeConflict, routing.ReasonVersion)
	got, err := s.ContactByExternalID(t.Context(), "ch_1", "ext_1")
	if err != nil || got.Version != 1 {
		t.Fatalf("contact after refused updates: version %d, err %v", got.Version, err)
	}
	if _, err := s.ContactByExternalID(t.Context(), "ch_1", "ext_2"); !routing.IsNotFound(err) {
		t.Fatalf("ext_2: want not found, got %v", err)
	}
}

func TestNewTeamWithCursorInOneTx(t *testing.T) {
	s := newStore(t)
	team := routing.Team{ID: "team_a", Name: "A", Strategy: routing.RoundRobin, Mode: routing.ModeAutomatic, Members: []string{"ag_1"}, CreatedAt: t0}
	commit(t, s, store.Tx{Teams: []store.TeamWrite{{Value: team}}, Cursors: []store.CursorSet{{TeamID: "team_a", AgentID: "ag_1"}}})
	got, err := s.GetTeam(t.Context(), "team_a")
	if err != nil || got.Cursor != "ag_1" || got.Version != 1 {
		t.Fatalf("team: Cursor %q Version %d err %v; want ag_1, 1", got.Cursor, got.Version, err)
	}
	list, err := s.ListTeams(t.Context(), store.PageRequest{})
	if err != nil || len(list.Items) != 1 || list.Items[0].Cursor != "ag_1" {
		t.Fatalf("ListTeams: %+v err %v; want the team with cursor ag_1", list.Items, err)
	}
	err = s.Commit(t.Context(), store.Tx{Cursors: []store.CursorSet{{TeamID: "team_a", AgentID: "ag_2"}, {TeamID: "team_a", AgentID: "ag_3"}}})
	if routing.ErrorCode(err) != routing.CodeInvalid {
		t.Fatalf("two cursor sets of one team: want invalid_argument, got %v", err)
	}
}

// The capacity counter lives on its own item without index keys: a LoadChange
// is one conditional update of one small item (1 WCU), never an index write.
func TestLoadChangeWritesOneItem(t *testing.T) {
	s := newStore(t, dynamo.WithConsumedCapacity())
	commit(t, s, store.Tx{Agents: []store.AgentWrite{{Value: agent("ag_1", 3)}}})
	s.ResetStats()
	commit(t, s, store.Tx{Loads: []store.LoadChange{{AgentID: "ag_1", Delta: 1, At: t0}}})
	st := s.Stats()
	if st.Requests != 1 || st.Operations["UpdateItem"].Requests != 1 {
		t.Fatalf("requests %+v, want one UpdateItem", st.Operations)
	}
	if st.WriteCapacityUnits != 1 {
		t.Fatalf("LoadChange consumed %.1f WCU, want 1 (no index write)", st.WriteCapacityUnits)
	}
	// The agent's profile update leaves the counter alone.
	s.ResetStats()
	a := agent("ag_1", 4)
	a.OpenCount = 0
	commit(t, s, store.Tx{Agents: []store.AgentWrite{{Value: a, ExpectVersion: 1}}})
	got, err := s.GetAgent(t.Context(), "ag_1")
	if err != nil || got.OpenCount != 1 || got.MaxConcurrent != 4 || got.Version != 2 {
		t.Fatalf("agent %+v err %v; want OpenCount 1, MaxConcurrent 4, Version 2", got, err)
	}
}

// unprocessed wraps a client so that each BatchGetItem serves only the first
// few keys and hands the rest back as UnprocessedKeys, as DynamoDB does under
// load or past 16 MB.
type unprocessed struct {
	*dynamodb.Client
	serve int
	calls int
}

func (u *unprocessed) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	u.calls++
	for table, ka := range in.RequestItems {
		if len(ka.Keys) <= u.serve {
			break
		}
		rest := ka.Keys[u.serve:]
		ka.Keys = ka.Keys[:u.serve]
		in.RequestItems[table] = ka
		out, err := u.Client.BatchGetItem(ctx, in, optFns...)
		if err != nil {
			return out, err
		}
		out.UnprocessedKeys = map[string]types.KeysAndAttributes{table: {Keys: rest, ConsistentRead: ka.ConsistentRead}}
		return out, nil
	}
	return u.Client.BatchGetItem(ctx, in, optFns...)
}

func TestGetAgentsRetriesUnprocessedKeys(t *testing.T) {
	client, table := newTable(t)
	api := &unprocessed{Client: client, serve: 7}
	s := dynamo.New(api, table, dynamo.WithConflictRetries(8, time.Millisecond))
	var ids []string
	for start := 0; start < 60; start += 20 {
		var tx store.Tx
		for i := start; i < start+20; i++ {
			id := fmt.Sprintf("ag_%02d", i)
			ids = append(ids, id)
			tx.Agents = append(tx.Agents, store.AgentWrite{Value: agent(id, 2)})
		}
		commit(t, s, tx)
	}
	commit(t, s, store.Tx{Loads: []store.LoadChange{{AgentID: "ag_33", Delta: 1, At: t0}}})
	ask := []string{"ag_59", "ag_33", "nobody", "ag_00", "ag_33"}
	ask = append(ask, ids...)
	got, err := s.GetAgents(t.Context(), ask)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ask)-1 {
		t.Fatalf("got %d agents, want %d", len(got), len(ask)-1)
	}
	for i, id := range append([]string{"ag_59", "ag_33", "ag_00", "ag_33"}, ids...) {
		if got[i].ID != id {
			t.Fatalf("agent %d is %s, want %s", i, got[i].ID, id)
		}
	}
	if got[1].OpenCount != 1 {
		t.Fatalf("ag_33 OpenCount %d, want 1", got[1].OpenCount)
	}
	if api.calls < 120/7 {
		t.Fatalf("%d BatchGetItem calls; the wrapper serves 7 keys a call, so 120 keys need at least %d", api.calls, 120/7)
	}
}

func TestStatsCountRequestsAndCapacity(t *testing.T) {
	s := newStore(t, dynamo.WithConsumedCapacity())
	commit(t, s, store.Tx{Agents: []store.AgentWrite{{Value: agent("ag_1", 100)}}})
	s.ResetStats()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.Commit(context.Background(), routeTx(fmt.Sprintf("cv_%d", i), "ag_1", t0))
			_, _ = s.GetAgent(context.Background(), "ag_1")
			_ = s.Stats()
		}()
	}
	wg.Wait()
	st := s.Stats()
	if st.Operations["TransactWriteItems"].Requests != 8 || st.Operations["Query"].Requests != 8 || st.Requests != 16 {
		t.Fatalf("requests %+v total %d, want 8 TransactWriteItems and 8 Query", st.Operations, st.Requests)
	}
	if st.WriteCapacityUnits <= 0 || st.ReadCapacityUnits <= 0 || st.Operations["Query"].WriteCapacityUnits != 0 {
		t.Fatalf("capacity RCU %.1f WCU %.1f; want both > 0 and reads not counted as writes", st.ReadCapacityUnits, st.WriteCapacityUnits)
	}
	s.ResetStats()
	if st := s.Stats(); st.Requests != 0 || st.WriteCapacityUnits != 0 || len(st.Operations) != 0 {
		t.Fatalf("after ResetStats: %+v", st)
	}
	// Without the option requests are counted but no capacity is asked for.
	plain := newStore(t)
	commit(t, plain, store.Tx{Agents: []store.AgentWrite{{Value: agent("ag_1", 1)}}})
	if st := plain.Stats(); st.Requests != 1 || st.WriteCapacityUnits != 0 {
		t.Fatalf("without WithConsumedCapacity: %+v", st)
	}
}

// TestRouteOneConversationCapacity measures the capacity of the transaction
// that routes one conversation and of the reads around it, and logs it for the
// cost report. DynamoDB Local's accounting of transactions is not AWS's (it
// undercounts them); TestRoutingTxCostModel computes AWS's rules from the items.
func TestRouteOneConversationCapacity(t *testing.T) {
	s := newStore(t, dynamo.WithConsumedCapacity())
	commit(t, s, store.Tx{
		Agents: []store.AgentWrite{{Value: agent("ag_1", 5)}},
		Teams:  []store.TeamWrite{{Value: routing.Team{ID: "team_a", Name: "A", Strategy: routing.RoundRobin, Mode: routing.ModeAutomatic, Members: []string{"ag_1"}, CreatedAt: t0}}},
	})
	measure := func(name string, fn func() error) dynamo.Stats {
		t.Helper()
		s.ResetStats()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		st := s.Stats()
		t.Logf("%-58s requests %2d  RCU %5.1f  WCU %5.1f  %v", name, st.Requests, st.ReadCapacityUnits, st.WriteCapacityUnits, opNames(st))
		return st
	}
	route := measure("route: conversation + LoadChange + 2 events + notification", func() error {
		return s.Commit(t.Context(), routeTx("cv_1", "ag_1", t0))
	})
	// Five items in ONE request.
	if route.Requests != 1 || route.Operations["TransactWriteItems"].Requests != 1 {
		t.Fatalf("routing took %d requests (%v), want one TransactWriteItems", route.Requests, opNames(route))
	}
	if route.WriteCapacityUnits <= 0 {
		t.Fatalf("routing reported %.1f WCU", route.WriteCapacityUnits)
	}
	measure("route with round-robin cursor", func() error {
		tx := routeTx("cv_2", "ag_1", t0)
		tx.Cursors = []store.CursorSet{{TeamID: "team_a", AgentID: "ag_1"}}
		return s.Commit(t.Context(), tx)
	})
	measure("webhook dedupe claim (single conditional put)", func() error {
		return s.Commit(t.Context(), store.Tx{Claims: []store.Claim{{Key: "wamid.1", At: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour)}}})
	})
	measure("close: conversation update + LoadChange -1 + event", func() error {
		c := conversation("cv_1", "team_a", "ag_1")
		c.Status, c.ClosedAt = routing.ConvClosed, &t0
		return s.Commit(t.Context(), store.Tx{
			Conversations: []store.ConversationWrite{{Value: c, ExpectVersion: 1}},
			Loads:         []store.LoadChange{{AgentID: "ag_1", Delta: -1, At: t0}},
			Events:        []routing.Event{event("cv_1_ev3", "cv_1", t0)},
		})
	})
	measure("GetConversation", func() error { _, err := s.GetConversation(t.Context(), "cv_1"); return err })
	measure("GetAgent (profile + load, one Query)", func() error { _, err := s.GetAgent(t.Context(), "ag_1"); return err })
	measure("PendingQueue (team, 10)", func() error { _, err := s.PendingQueue(t.Context(), "team_a", 10); return err })
	measure("ListConversations assignee (3 status partitions + items)", func() error {
		_, err := s.ListConversations(t.Context(), store.ConversationFilter{AssigneeID: "ag_1"})
		return err
	})
	measure("ListConversations status open (8 shards + items)", func() error {
		_, err := s.ListConversations(t.Context(), store.ConversationFilter{Status: routing.ConvOpen})
		return err
	})
	measure("Events page", func() error { _, err := s.Events(t.Context(), "cv_1", store.PageRequest{}); return err })
}

func opNames(st dynamo.Stats) map[string]int64 {
	out := map[string]int64{}
	for op, o := range st.Operations {
		out[op] = o.Requests
	}
	return out
}

// BenchmarkCommitRoute commits the routing transaction (conversation,
// LoadChange, two events, a notification) against DynamoDB Local.
func BenchmarkCommitRoute(b *testing.B) {
	s := newStore(b, dynamo.WithConsumedCapacity())
	commit(b, s, store.Tx{Agents: []store.AgentWrite{{Value: agent("ag_1", 1<<30)}}})
	s.ResetStats()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := s.Commit(context.Background(), routeTx(fmt.Sprintf("cv_%d", i), "ag_1", t0)); err != nil {
			b.Fatal(err)
		}
	}
	st := s.Stats()
	b.ReportMetric(st.WriteCapacityUnits/float64(b.N), "WCU/op")
}

// BenchmarkCommitClaim commits a one-item Tx (the webhook dedupe claim),
// which takes the single conditional PutItem path.
func BenchmarkCommitClaim(b *testing.B) {
	s := newStore(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		err := s.Commit(context.Background(), store.Tx{Claims: []store.Claim{{Key: fmt.Sprintf("k%d", i), At: t0, ExpiresAt: t0.Add(time.Hour)}}})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommitCapacityContended is the capacity race as a benchmark:
// parallel routing transactions on one agent.
func BenchmarkCommitCapacityContended(b *testing.B) {
	s := newStore(b)
	commit(b, s, store.Tx{Agents: []store.AgentWrite{{Value: agent("ag_1", 1<<30)}}})
	var n sync.Mutex
	i := 0
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.Lock()
			i++
			id := fmt.Sprintf("cv_%d", i)
			n.Unlock()
			if err := s.Commit(context.Background(), routeTx(id, "ag_1", t0)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// An item over DynamoDB's 400 KB is refused as invalid input, through the
// single-write path and inside a transaction, and nothing is written.
func TestOversizedItemIsInvalid(t *testing.T) {
	s := newStore(t)
	big := routing.WorkflowVersion{WorkflowID: "wf_1", Number: 1, ASL: make([]byte, 420<<10), PublishedAt: t0}
	for name, tx := range map[string]store.Tx{
		"single": {Versions: []routing.WorkflowVersion{big}},
		"tx": {
			Workflows: []store.WorkflowWrite{{Value: routing.Workflow{ID: "wf_1", Name: "W", UpdatedAt: t0, PublishedVersion: 1}}},
			Versions:  []routing.WorkflowVersion{big},
		},
	} {
		err := s.Commit(t.Context(), tx)
		if routing.ErrorCode(err) != routing.CodeInvalid {
			t.Fatalf("%s: want invalid_argument, got %v", name, err)
		}
		if _, err := s.GetWorkflowVersion(t.Context(), "wf_1", 1); !routing.IsNotFound(err) {
			t.Fatalf("%s: oversized version was stored (%v)", name, err)
		}
		if _, err := s.GetWorkflow(t.Context(), "wf_1"); !routing.IsNotFound(err) {
			t.Fatalf("%s: workflow of a refused Tx was stored (%v)", name, err)
		}
	}
}

// EnsureTable accepts a table that exists (several local servers started
// with --create-table on one table) and leaves its items alone.
func TestEnsureTableTwice(t *testing.T) {
	client, name := newTable(t)
	s := dynamo.New(client, name)
	commit(t, s, store.Tx{Events: []routing.Event{event("ev_1", "cv_1", t0)}})
	for range 2 {
		if err := dynamo.EnsureTable(t.Context(), client, name); err != nil {
			t.Fatalf("EnsureTable on an existing table: %v", err)
		}
	}
	if p, err := s.Events(t.Context(), "cv_1", store.PageRequest{}); err != nil || len(p.Items) != 1 {
		t.Fatalf("events after EnsureTable: %d (err %v), want 1", len(p.Items), err)
	}
}
