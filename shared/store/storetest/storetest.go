// Package storetest is the conformance suite of the store contract
// (store.Store). Every backend's test calls RunConformanceTests once:
//
//	func TestConformance(t *testing.T) {
//		storetest.RunConformanceTests(t, func(t *testing.T) store.Store { ... })
//	}
//
// Each check is its own subtest, so a failure names what broke
// (go test -run 'TestConformance/Loads/AtCapacity').
//
// What it covers: create-if-absent and versioned updates of every entity
// (ReasonExists, ReasonVersion, CodeNotFound for a missing item), not-found
// reads, contact (channel, external id) uniqueness, agent load fields,
// LoadChange (capacity, RequireStatus, ReasonNoLoad, missing agent),
// cursors, claims and their expiry, the timeline and notification order and
// paging, ListConversations filters and order, the pending queue order,
// claim values (GetClaim), the transactional outbox (written with the
// state, never by a refused Tx, in commit order per key, at least once until
// acknowledged), malformed Txs (CodeInvalid), atomicity of a failed Tx across every kind of
// write, and races (50 goroutines on an agent with 5 slots; 20 stale
// writers; 20 claimers; 20 creators of one contact).
//
// Notes for backend authors: all times are UTC, some with nanoseconds; no
// Tx in the suite writes more than 25 items; checks on time and paging never
// sleep, and pages may be short wherever the contract allows it.
package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// RunConformanceTests runs the whole contract against the backend that
// newStore opens. Every leaf subtest calls newStore once; it must return a
// fresh, empty store and arrange its own cleanup (t.Cleanup): the suite never
// calls Close. The suite runs its subtests sequentially.
func RunConformanceTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	h := harness{newStore: newStore}
	t.Run("Tx", h.testTx)
	t.Run("Conversations", h.testConversations)
	t.Run("Contacts", h.testContacts)
	t.Run("Agents", h.testAgents)
	t.Run("Teams", h.testTeams)
	t.Run("Channels", h.testChannels)
	t.Run("Workflows", h.testWorkflows)
	t.Run("WorkflowVersions", h.testWorkflowVersions)
	t.Run("Deletes", h.testDeletes)
	t.Run("Loads", h.testLoads)
	t.Run("Cursors", h.testCursors)
	t.Run("Claims", h.testClaims)
	t.Run("ClaimValues", h.testClaimValues)
	t.Run("Outbox", h.testOutbox)
	t.Run("Events", h.testEvents)
	t.Run("Notifications", h.testNotifications)
	t.Run("ListConversations", h.testListConversations)
	t.Run("PendingQueue", h.testPendingQueue)
	t.Run("Atomicity", h.testAtomicity)
	t.Run("Races", h.testRaces)
}

type harness struct {
	newStore func(t *testing.T) store.Store
}

// run runs fn as a subtest with a fresh store.
func (h harness) run(t *testing.T, name string, fn func(t *testing.T, s store.Store)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		s := h.newStore(t)
		if s == nil {
			t.Fatal("newStore returned nil")
		}
		fn(t, s)
	})
}

// t0 is the suite's epoch: a whole second, so backends that keep less than
// nanosecond precision elsewhere still order the suite's times correctly.
var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ptr[T any](v T) *T { return &v }

// commit commits tx and fails the test on error.
func commit(t *testing.T, s store.Store, tx store.Tx) {
	t.Helper()
	if err := s.Commit(t.Context(), tx); err != nil {
		t.Fatalf("Commit: unexpected error: %v", err)
	}
}

// wantConflict fails unless err is a conflict with reason.
func wantConflict(t *testing.T, err error, reason string) {
	t.Helper()
	if !routing.IsConflict(err, reason) {
		t.Fatalf("want conflict %q, got code %q reason %q: %v", reason, routing.ErrorCode(err), routing.ErrorReason(err), err)
	}
}

// wantCode fails unless err has code.
func wantCode(t *testing.T, err error, code routing.Code) {
	t.Helper()
	if routing.ErrorCode(err) != code {
		t.Fatalf("want code %q, got %q: %v", code, routing.ErrorCode(err), err)
	}
}

func wantNotFound(t *testing.T, err error) {
	t.Helper()
	if !routing.IsNotFound(err) {
		t.Fatalf("want not found, got code %q: %v", routing.ErrorCode(err), err)
	}
}

// sameJSON compares values through their JSON form, so times compare by
// instant and representation details (nil vs empty map) do not matter.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("%s: marshal got: %v", what, err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("%s: marshal want: %v", what, err)
	}
	if string(g) != string(w) {
		t.Fatalf("%s:\n got  %s\n want %s", what, g, w)
	}
}

func wantIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %v\n want %v", what, got, want)
	}
}

// collect follows Next from the first page to the last, checking page bounds.
func collect[T any](t *testing.T, limit int, fetch func(cursor string) (store.Page[T], error)) []T {
	t.Helper()
	max := store.PageRequest{Limit: limit}.EffectiveLimit()
	var all []T
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 2000 {
			t.Fatalf("paging did not end after %d pages", pages)
		}
		p, err := fetch(cursor)
		if err != nil {
			t.Fatalf("page %d: unexpected error: %v", pages, err)
		}
		if len(p.Items) > max {
			t.Fatalf("page %d has %d items, limit %d", pages, len(p.Items), max)
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			return all
		}
		if p.Next == cursor {
			t.Fatalf("page %d: Next did not move (%q)", pages, p.Next)
		}
		cursor = p.Next
	}
}

func convIDs(cs []routing.Conversation) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func agentIDs(as []routing.Agent) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func eventIDs(es []routing.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func notificationIDs(ns []routing.Notification) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

// Fixtures.

func newConversation(id string) routing.Conversation {
	return routing.Conversation{
		ID:           id,
		ContactID:    "ct_1",
		ChannelID:    "ch_1",
		Status:       routing.ConvPending,
		TeamID:       "team_a",
		Source:       "contact",
		OpenedAt:     t0,
		PendingSince: t0,
	}
}

func openConversation(id, agent string, when time.Time) routing.Conversation {
	c := newConversation(id)
	c.Status = routing.ConvOpen
	c.AssigneeID = agent
	c.PendingSince = time.Time{}
	c.AssignedAt = ptr(when)
	c.Assignments = 1
	return c
}

func newContact(id, channel, external string) routing.Contact {
	return routing.Contact{
		ID: id, ChannelID: channel, ExternalID: external,
		Name: "Ana " + id, Phone: "+5511999990000",
		CreatedAt: t0, UpdatedAt: t0,
	}
}

func newAgent(id string, max int, status routing.AgentStatus) routing.Agent {
	return routing.Agent{
		ID: id, Name: "Agent " + id, Email: id + "@example.com",
		Role: routing.RoleAgent, Status: status, StatusSince: t0,
		MaxConcurrent: max, Teams: []string{"team_a"},
		CreatedAt: t0,
	}
}

func newTeam(id string) routing.Team {
	return routing.Team{
		ID: id, Name: "Team " + id, Strategy: routing.RoundRobin,
		OnlineOnly: true, Mode: routing.ModeAutomatic,
		Members: []string{"ag_1", "ag_2"}, CreatedAt: t0,
	}
}

func newChannel(id string) routing.Channel {
	return routing.Channel{
		ID: id, Provider: "whatsapp", ExternalID: "pn_" + id, Name: "Channel " + id,
		SecretRef: "secret/" + id, Config: map[string]string{"region": "br"}, CreatedAt: t0,
	}
}

func newWorkflow(id string) routing.Workflow {
	return routing.Workflow{
		ID: id, Name: "Workflow " + id, Trigger: "conversation.opened",
		Definition: []byte(`{"steps":[]}`), UpdatedAt: t0,
	}
}

func newVersion(workflow string, n int) routing.WorkflowVersion {
	return routing.WorkflowVersion{
		WorkflowID: workflow, Number: n, Trigger: "conversation.opened",
		Definition:  []byte(fmt.Sprintf(`{"v":%d}`, n)),
		ASL:         []byte(fmt.Sprintf(`{"StartAt":"S%d"}`, n)),
		PublishedAt: at(time.Duration(n) * time.Minute),
	}
}

func newEvent(id, conv string, when time.Time) routing.Event {
	return routing.Event{ID: id, ConversationID: conv, At: when, Type: routing.EvComment, Actor: "agent:ag_1", Note: "note " + id}
}

func newNotification(id, agent string, when time.Time) routing.Notification {
	return routing.Notification{ID: id, AgentID: agent, At: when, Type: routing.NoteAssignment, ConversationID: "cv_1", Text: "text " + id}
}
