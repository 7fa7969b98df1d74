package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
)

// The engine's rules, pinned at the engine: every use case's refusals with
// the error code a client gets (and the field or the conflict reason), so
// they hold whatever edge calls the engine. The oracles are written out.

// codeWorld is the fixture every case starts from.
//
//	teams    t (automatic, online only: a1, a2, off), u (u1), routed (no members; channel cr routes to it)
//	agents   a1 (agent, online, max 1), a2 (agent, online, max 0), off (agent, offline, max 2),
//	         u1 (agent, online, max 1), sup (supervisor, online, max 0)
//	channels c (generic, team t), cr (generic, team routed), bc (generic, bot phase, team t)
//	convs    open (assigned to a1), pending (queued on t), closed, bot (in the bot phase)
type codeWorld struct {
	e                          *engine.Engine
	open, pending, closed, bot string
	openContact, closedContact string
}

var (
	sup     = engine.Person("sup", routing.RoleSupervisor)
	agentA1 = engine.Person("a1", routing.RoleAgent)
	agentA2 = engine.Person("a2", routing.RoleAgent)
	agentU1 = engine.Person("u1", routing.RoleAgent)
	ghost   = engine.Person("ghost", routing.RoleAgent) // signed in, but no agent record
	botBob  = engine.Person("bob", routing.RoleBot)
	flow    = engine.Workflow("wf_1")
)

func newCodeWorld(t *testing.T) *codeWorld {
	t.Helper()
	// Like newEngine, without an fsync per commit: every case builds its own world.
	st, err := bolt.Open(filepath.Join(t.TempDir(), "codes.db"), bolt.WithoutSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewVirtual(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	e := engine.New(engine.Deps{Store: st, Clock: clk, IDs: &ids.Sequence{}}, engine.DefaultConfig())
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.CreateTeam(ctx, routing.Team{ID: "t", Name: "T", OnlineOnly: true}, admin))
	must(e.CreateTeam(ctx, routing.Team{ID: "u", Name: "U"}, admin))
	must(e.CreateTeam(ctx, routing.Team{ID: "routed", Name: "Routed"}, admin))
	for _, a := range []routing.Agent{
		{ID: "a1", Name: "A1", MaxConcurrent: 1, Teams: []string{"t"}, Status: routing.StatusOnline},
		{ID: "a2", Name: "A2", MaxConcurrent: 0, Teams: []string{"t"}, Status: routing.StatusOnline},
		{ID: "off", Name: "Off", MaxConcurrent: 2, Teams: []string{"t"}, Status: routing.StatusOffline},
		{ID: "u1", Name: "U1", MaxConcurrent: 1, Teams: []string{"u"}, Status: routing.StatusOnline},
		{ID: "sup", Name: "Sup", Role: routing.RoleSupervisor, Status: routing.StatusOnline},
	} {
		must(e.CreateAgent(ctx, a, admin))
	}
	ch, err := e.CreateChannel(ctx, routing.Channel{ID: "c", Provider: "generic", SecretRef: "env:X", Config: map[string]string{"team": "t"}}, admin)
	must(ch, err)
	must(e.CreateChannel(ctx, routing.Channel{ID: "cr", Provider: "generic", SecretRef: "env:X", Config: map[string]string{"team": "routed"}}, admin))
	bc, err := e.CreateChannel(ctx, routing.Channel{ID: "bc", Provider: "generic", SecretRef: "env:X", Config: map[string]string{"team": "t", engine.CfgBot: "true"}}, admin)
	must(bc, err)

	w := &codeWorld{e: e}
	ingest := func(ch routing.Channel, from string) engine.IngestResult {
		t.Helper()
		r, err := e.Ingest(ctx, ch, engine.Inbound{MessageID: "m-" + from, From: from, Text: "hola"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	open := ingest(ch, "+1")
	w.open, w.openContact = open.ConversationID, open.ContactID
	if r, err := e.RouteDefault(ctx, w.open); err != nil || r.AgentID != "a1" {
		t.Fatalf("fixture: open went to %+v, %v; want a1", r, err)
	}
	w.pending = ingest(ch, "+2").ConversationID
	if r, err := e.RouteDefault(ctx, w.pending); err != nil || r.Status != engine.Queued || r.TeamID != "t" {
		t.Fatalf("fixture: pending is %+v, %v; want queued on t", r, err)
	}
	closed := ingest(ch, "+3")
	w.closed, w.closedContact = closed.ConversationID, closed.ContactID
	must(e.Close(ctx, w.closed, admin, ""))
	w.bot = ingest(bc, "+4").ConversationID
	for id, status := range map[string]routing.ConversationStatus{w.open: routing.ConvOpen, w.pending: routing.ConvPending, w.closed: routing.ConvClosed, w.bot: routing.ConvBot} {
		if c, err := st.GetConversation(ctx, id); err != nil || c.Status != status {
			t.Fatalf("fixture: %s is %s (%v), want %s", id, c.Status, err, status)
		}
	}
	return w
}

// want is an expected outcome: a code, and the field (invalid_argument and
// already_exists) or the reason (conflict) it names. The zero want is success.
type want struct {
	code          routing.Code
	field, reason string
}

func invalid(field string) want { return want{code: routing.CodeInvalid, field: field} }
func conflict(reason string) want {
	w := want{code: routing.CodeConflict, reason: reason}
	if reason == routing.ReasonExists {
		w.field = "id"
	}
	return w
}

var (
	refused  = want{code: routing.CodeForbidden}
	notFound = want{code: routing.CodeNotFound}
	allowed  = want{}
)

func (w want) String() string {
	if w.code == "" {
		return "no error"
	}
	return strings.TrimSpace(string(w.code) + " " + w.field + " " + w.reason)
}

func ptr[T any](v T) *T { return &v }

func long(n int) string { return strings.Repeat("x", n) }

type codeCase struct {
	name string
	run  func(ctx context.Context, w *codeWorld) error
	want want
}

func two[T any](_ T, err error) error { return err }

var codeCases = []codeCase{
	// Ingest: what a provider sends.
	{"Ingest/no message id", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Ingest(ctx, routing.Channel{ID: "c", Provider: "generic"}, engine.Inbound{From: "+9", Text: "x"}))
	}, invalid("messageId")},
	{"Ingest/no sender", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Ingest(ctx, routing.Channel{ID: "c", Provider: "generic"}, engine.Inbound{MessageID: "m9", Text: "x"}))
	}, invalid("from")},
	{"Ingest/text over 64 KiB", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Ingest(ctx, routing.Channel{ID: "c", Provider: "generic"}, engine.Inbound{MessageID: "m9", From: "+9", Text: long(64<<10 + 1)}))
	}, invalid("text")},

	// Assign.
	{"Assign/agent and team", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Assign(ctx, w.pending, engine.Target{AgentID: "a1", TeamID: "t"}, sup, "", 0))
	}, invalid("agentId")},
	{"Assign/neither agent nor team", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Assign(ctx, w.pending, engine.Target{}, sup, "", 0))
	}, invalid("agentId")},
	{"Assign/note over 4096 bytes", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Assign(ctx, w.pending, engine.Target{TeamID: "u"}, sup, long(4097), 0))
	}, invalid("note")},
	{"Assign/unknown conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Assign(ctx, "conv_nope", engine.Target{TeamID: "u"}, sup, "", 0))
	}, notFound},
	{"Assign/stale version", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Assign(ctx, w.pending, engine.Target{TeamID: "u"}, sup, "", 99))
	}, conflict(routing.ReasonVersion)},
	{"Assign/closed", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Assign(ctx, w.closed, engine.Target{TeamID: "u"}, sup, "", 0))
	}, conflict("closed")},
	{"Assign/in the bot phase", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Assign(ctx, w.bot, engine.Target{TeamID: "u"}, sup, "", 0))
	}, conflict("bot_phase")},
	{"Assign/another agent's conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Assign(ctx, w.open, engine.Target{TeamID: "u"}, agentA2, "moving it", 0))
	}, refused},
	{"Assign/reassign without a note", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Assign(ctx, w.open, engine.Target{AgentID: "u1"}, sup, "", 0))
	}, invalid("note")},
	{"Assign/unknown agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Assign(ctx, w.pending, engine.Target{AgentID: "nobody"}, sup, "", 0))
	}, invalid("agentId")},
	{"Assign/unknown team", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Assign(ctx, w.pending, engine.Target{TeamID: "nowhere"}, sup, "", 0))
	}, invalid("teamId")},
	{"Assign/agent with no free slot, by a person", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Assign(ctx, w.pending, engine.Target{AgentID: "a2"}, sup, "", 0))
	}, want{code: routing.CodeConflict, reason: routing.ReasonCapacity, field: "agentId"}},

	// Take.
	{"Take/by a workflow", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Take(ctx, w.pending, flow))
	}, refused},
	{"Take/unknown conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Take(ctx, "conv_nope", agentA1))
	}, notFound},
	{"Take/in the bot phase", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Take(ctx, w.bot, agentA2))
	}, conflict("bot_phase")},
	{"Take/already open", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Take(ctx, w.open, agentA2))
	}, conflict("not_pending")},
	{"Take/closed", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Take(ctx, w.closed, agentA2))
	}, conflict("not_pending")},
	{"Take/not an agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Take(ctx, w.pending, ghost))
	}, refused},
	{"Take/another team's queue", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Take(ctx, w.pending, agentU1))
	}, refused},
	{"Take/no free slot", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Take(ctx, w.pending, agentA2))
	}, conflict(routing.ReasonCapacity)},

	// Close.
	{"Close/note over 4096 bytes", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Close(ctx, w.open, agentA1, long(4097)))
	}, invalid("note")},
	{"Close/unknown conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Close(ctx, "conv_nope", admin, ""))
	}, notFound},
	{"Close/another agent's conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Close(ctx, w.open, agentA2, ""))
	}, refused},
	{"Close/a bot, out of the bot phase", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Close(ctx, w.open, botBob, ""))
	}, refused},
	{"Close/already closed", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Close(ctx, w.closed, agentA2, ""))
	}, allowed},

	// Escalate.
	{"Escalate/unknown type", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Escalate(ctx, w.open, "urgent", "help", "", agentA1))
	}, invalid("type")},
	{"Escalate/no summary", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Escalate(ctx, w.open, routing.EscalationType("billing"), "  ", "", agentA1))
	}, invalid("summary")},
	{"Escalate/summary over 4096 bytes", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Escalate(ctx, w.open, routing.EscalationType("billing"), long(4097), "", agentA1))
	}, invalid("summary")},
	{"Escalate/unknown team", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Escalate(ctx, w.open, routing.EscalationType("billing"), "help", "nowhere", agentA1))
	}, invalid("teamId")},
	{"Escalate/unknown conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Escalate(ctx, "conv_nope", routing.EscalationType("billing"), "help", "", admin))
	}, notFound},
	{"Escalate/closed", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Escalate(ctx, w.closed, routing.EscalationType("billing"), "help", "", admin))
	}, conflict("closed")},
	{"Escalate/another agent's conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Escalate(ctx, w.open, routing.EscalationType("billing"), "help", "", agentA2))
	}, refused},

	// Comment.
	{"Comment/no text", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Comment(ctx, w.open, " ", agentA1))
	}, invalid("text")},
	{"Comment/text over 8192 bytes", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Comment(ctx, w.open, long(8193), agentA1))
	}, invalid("text")},
	{"Comment/unknown conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Comment(ctx, "conv_nope", "note", admin))
	}, notFound},
	{"Comment/another agent's conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Comment(ctx, w.open, "note", agentA2))
	}, refused},
	{"Comment/a bot, out of the bot phase", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Comment(ctx, w.open, "note", botBob))
	}, refused},

	// SendMessage.
	{"SendMessage/no text", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.SendMessage(ctx, w.open, engine.Outbound{Text: ""}, agentA1))
	}, invalid("text")},
	{"SendMessage/text over 4096 bytes", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.SendMessage(ctx, w.open, engine.Outbound{Text: long(4097)}, agentA1))
	}, invalid("text")},
	{"SendMessage/unknown conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.SendMessage(ctx, "conv_nope", engine.Outbound{Text: "hi"}, admin))
	}, notFound},
	{"SendMessage/another agent's conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.SendMessage(ctx, w.open, engine.Outbound{Text: "hi"}, agentA2))
	}, refused},
	{"SendMessage/a person reports a fallback", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.SendMessage(ctx, w.open, engine.Outbound{Text: "hi", Fallback: true}, agentA1))
	}, invalid("fallback")},

	// UpdateContact.
	{"UpdateContact/name over 200 bytes", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateContact(ctx, w.openContact, engine.ContactPatch{Name: ptr(long(201))}, agentA1, 0))
	}, invalid("name")},
	{"UpdateContact/language not ISO 639", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateContact(ctx, w.openContact, engine.ContactPatch{Language: ptr("Spanish")}, agentA1, 0))
	}, invalid("language")},
	{"UpdateContact/country not ISO 3166", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateContact(ctx, w.openContact, engine.ContactPatch{Country: ptr("es")}, agentA1, 0))
	}, invalid("country")},
	{"UpdateContact/custom field name", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateContact(ctx, w.openContact, engine.ContactPatch{Fields: map[string]string{"Plan": "gold"}}, agentA1, 0))
	}, invalid("fields.Plan")},
	{"UpdateContact/built-in field as custom", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateContact(ctx, w.openContact, engine.ContactPatch{Fields: map[string]string{"phone": "+1"}}, agentA1, 0))
	}, invalid("fields.phone")},
	{"UpdateContact/custom value over 1024 bytes", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateContact(ctx, w.openContact, engine.ContactPatch{Fields: map[string]string{"plan": long(1025)}}, agentA1, 0))
	}, invalid("fields.plan")},
	{"UpdateContact/unknown contact", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateContact(ctx, "ct_nope", engine.ContactPatch{Name: ptr("Ada")}, admin, 0))
	}, notFound},
	{"UpdateContact/stale version", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateContact(ctx, w.openContact, engine.ContactPatch{Name: ptr("Ada")}, admin, 99))
	}, conflict(routing.ReasonVersion)},
	{"UpdateContact/another agent's contact", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateContact(ctx, w.openContact, engine.ContactPatch{Name: ptr("Ada")}, agentA2, 0))
	}, refused},
	{"UpdateContact/contact with no open conversation, by an agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateContact(ctx, w.closedContact, engine.ContactPatch{Name: ptr("Ada")}, agentA1, 0))
	}, refused},

	// CreateTeam and CreateTeamSpec.
	{"CreateTeam/by a supervisor", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateTeam(ctx, routing.Team{ID: "v", Name: "V"}, sup))
	}, refused},
	{"CreateTeam/id", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateTeam(ctx, routing.Team{ID: "Sales Team", Name: "V"}, admin))
	}, invalid("id")},
	{"CreateTeam/no name", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateTeam(ctx, routing.Team{ID: "v"}, admin))
	}, invalid("name")},
	{"CreateTeam/strategy", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateTeam(ctx, routing.Team{ID: "v", Name: "V", Strategy: "fastest"}, admin))
	}, invalid("strategy")},
	{"CreateTeam/mode", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateTeam(ctx, routing.Team{ID: "v", Name: "V", Mode: "sometimes"}, admin))
	}, invalid("mode")},
	{"CreateTeam/members", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateTeam(ctx, routing.Team{ID: "v", Name: "V", Members: []string{"a1"}}, admin))
	}, invalid("members")},
	{"CreateTeam/exists", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateTeam(ctx, routing.Team{ID: "t", Name: "T"}, admin))
	}, conflict(routing.ReasonExists)},
	{"CreateTeamSpec/by an agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateTeamSpec(ctx, engine.TeamSpec{ID: "v", Name: "V"}, agentA1))
	}, refused},
	{"CreateTeamSpec/exists", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateTeamSpec(ctx, engine.TeamSpec{ID: "u", Name: "U", OnlineOnly: ptr(false)}, admin))
	}, conflict(routing.ReasonExists)},

	// UpdateTeam.
	{"UpdateTeam/by a supervisor", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateTeam(ctx, "t", engine.TeamPatch{Name: ptr("T2")}, sup, 0))
	}, refused},
	{"UpdateTeam/strategy", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateTeam(ctx, "t", engine.TeamPatch{Strategy: ptr(routing.Strategy("fastest"))}, admin, 0))
	}, invalid("strategy")},
	{"UpdateTeam/mode", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateTeam(ctx, "t", engine.TeamPatch{Mode: ptr(routing.Mode("sometimes"))}, admin, 0))
	}, invalid("mode")},
	{"UpdateTeam/blank name", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateTeam(ctx, "t", engine.TeamPatch{Name: ptr(" ")}, admin, 0))
	}, invalid("name")},
	{"UpdateTeam/unknown team", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateTeam(ctx, "nowhere", engine.TeamPatch{Name: ptr("N")}, admin, 0))
	}, notFound},
	{"UpdateTeam/stale version", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateTeam(ctx, "t", engine.TeamPatch{Name: ptr("T2")}, admin, 99))
	}, conflict(routing.ReasonVersion)},

	// SetMember.
	{"SetMember/by a supervisor", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.SetMember(ctx, "u", "a1", true, sup))
	}, refused},
	{"SetMember/unknown team", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.SetMember(ctx, "nowhere", "a1", true, admin))
	}, notFound},
	{"SetMember/unknown agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.SetMember(ctx, "u", "nobody", true, admin))
	}, notFound},

	// CreateAgent.
	{"CreateAgent/by a supervisor", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateAgent(ctx, routing.Agent{ID: "b1", Name: "B1"}, sup))
	}, refused},
	{"CreateAgent/id", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateAgent(ctx, routing.Agent{ID: "B 1", Name: "B1"}, admin))
	}, invalid("id")},
	{"CreateAgent/no name", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateAgent(ctx, routing.Agent{ID: "b1"}, admin))
	}, invalid("name")},
	{"CreateAgent/role", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateAgent(ctx, routing.Agent{ID: "b1", Name: "B1", Role: "boss"}, admin))
	}, invalid("role")},
	{"CreateAgent/negative maximum", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateAgent(ctx, routing.Agent{ID: "b1", Name: "B1", MaxConcurrent: -1}, admin))
	}, invalid("maxConcurrent")},
	{"CreateAgent/maximum over 1000", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateAgent(ctx, routing.Agent{ID: "b1", Name: "B1", MaxConcurrent: 1001}, admin))
	}, invalid("maxConcurrent")},
	{"CreateAgent/status", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateAgent(ctx, routing.Agent{ID: "b1", Name: "B1", Status: "away"}, admin))
	}, invalid("status")},
	{"CreateAgent/unknown team", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateAgent(ctx, routing.Agent{ID: "b1", Name: "B1", Teams: []string{"t", "zz"}}, admin))
	}, invalid("teams[1]")},
	{"CreateAgent/exists", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateAgent(ctx, routing.Agent{ID: "a1", Name: "A1"}, admin))
	}, conflict(routing.ReasonExists)},

	// UpdateAgent.
	{"UpdateAgent/by a supervisor", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateAgent(ctx, "a1", engine.AgentPatch{Name: ptr("A")}, sup, 0))
	}, refused},
	{"UpdateAgent/blank name", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateAgent(ctx, "a1", engine.AgentPatch{Name: ptr("")}, admin, 0))
	}, invalid("name")},
	{"UpdateAgent/role", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateAgent(ctx, "a1", engine.AgentPatch{Role: ptr(routing.Role("boss"))}, admin, 0))
	}, invalid("role")},
	{"UpdateAgent/maximum over 1000", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateAgent(ctx, "a1", engine.AgentPatch{MaxConcurrent: ptr(1001)}, admin, 0))
	}, invalid("maxConcurrent")},
	{"UpdateAgent/unknown team", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateAgent(ctx, "a1", engine.AgentPatch{Teams: &[]string{"nowhere"}}, admin, 0))
	}, invalid("teams[0]")},
	{"UpdateAgent/unknown agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateAgent(ctx, "nobody", engine.AgentPatch{Name: ptr("N")}, admin, 0))
	}, notFound},
	{"UpdateAgent/stale version", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.UpdateAgent(ctx, "a1", engine.AgentPatch{Name: ptr("A")}, admin, 99))
	}, conflict(routing.ReasonVersion)},

	// SetStatus and ExtendSession.
	{"SetStatus/status", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.SetStatus(ctx, "a1", "away", agentA1))
	}, invalid("status")},
	{"SetStatus/another agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.SetStatus(ctx, "a1", routing.StatusPaused, agentA2))
	}, refused},
	{"SetStatus/unknown agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.SetStatus(ctx, "nobody", routing.StatusPaused, sup))
	}, notFound},
	{"ExtendSession/another agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.ExtendSession(ctx, "a1", agentA2))
	}, refused},
	{"ExtendSession/unknown agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.ExtendSession(ctx, "nobody", sup))
	}, notFound},
	{"ExtendSession/offline", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.ExtendSession(ctx, "off", engine.Person("off", routing.RoleAgent)))
	}, conflict("offline")},

	// CreateChannel.
	{"CreateChannel/by a supervisor", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateChannel(ctx, routing.Channel{ID: "c2", Provider: "generic", SecretRef: "env:X"}, sup))
	}, refused},
	{"CreateChannel/id", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateChannel(ctx, routing.Channel{ID: "Web Chat", Provider: "generic", SecretRef: "env:X"}, admin))
	}, invalid("id")},
	{"CreateChannel/provider", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateChannel(ctx, routing.Channel{ID: "c2", Provider: "fax", SecretRef: "env:X"}, admin))
	}, invalid("provider")},
	{"CreateChannel/no secret reference", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateChannel(ctx, routing.Channel{ID: "c2", Provider: "generic"}, admin))
	}, invalid("secretRef")},
	{"CreateChannel/unknown team", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateChannel(ctx, routing.Channel{ID: "c2", Provider: "generic", SecretRef: "env:X", Config: map[string]string{"team": "nowhere"}}, admin))
	}, invalid("config.team")},
	{"CreateChannel/unknown handoff team", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateChannel(ctx, routing.Channel{ID: "c2", Provider: "generic", SecretRef: "env:X", Config: map[string]string{engine.CfgHandoffTeam: "nowhere"}}, admin))
	}, invalid("config.handoffTeam")},
	{"CreateChannel/handoff after fallbacks", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateChannel(ctx, routing.Channel{ID: "c2", Provider: "generic", SecretRef: "env:X", Config: map[string]string{engine.CfgHandoffFallback: "0"}}, admin))
	}, invalid("config.handoffAfterFallbacks")},
	{"CreateChannel/handoff after silence", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateChannel(ctx, routing.Channel{ID: "c2", Provider: "generic", SecretRef: "env:X", Config: map[string]string{engine.CfgHandoffSilence: "soon"}}, admin))
	}, invalid("config.handoffAfterSilence")},
	{"CreateChannel/exists", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.CreateChannel(ctx, routing.Channel{ID: "c", Provider: "generic", SecretRef: "env:X"}, admin))
	}, conflict(routing.ReasonExists)},

	// Handoff.
	{"Handoff/no reason", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Handoff(ctx, w.bot, engine.HandoffRequest{}, botBob))
	}, invalid("reason")},
	{"Handoff/reason over 200 bytes", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Handoff(ctx, w.bot, engine.HandoffRequest{Reason: long(201)}, botBob))
	}, invalid("reason")},
	{"Handoff/summary over 4096 bytes", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Handoff(ctx, w.bot, engine.HandoffRequest{Reason: "asked", Summary: long(4097)}, botBob))
	}, invalid("summary")},
	{"Handoff/escalation type", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Handoff(ctx, w.bot, engine.HandoffRequest{Reason: "asked", EscalationType: "urgent"}, botBob))
	}, invalid("escalationType")},
	{"Handoff/unknown team", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Handoff(ctx, w.bot, engine.HandoffRequest{Reason: "asked", TeamID: "nowhere"}, botBob))
	}, invalid("teamId")},
	{"Handoff/unknown conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Handoff(ctx, "conv_nope", engine.HandoffRequest{Reason: "asked"}, botBob))
	}, notFound},
	{"Handoff/a bot, out of the bot phase", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Handoff(ctx, w.open, engine.HandoffRequest{Reason: "asked"}, botBob))
	}, refused},
	{"Handoff/closed", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Handoff(ctx, w.closed, engine.HandoffRequest{Reason: "asked"}, admin))
	}, conflict("closed")},
	{"Handoff/already with people", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Handoff(ctx, w.open, engine.HandoffRequest{Reason: "asked"}, admin))
	}, conflict("not_in_bot_phase")},

	// DeleteTeam, DeleteAgent, DeleteChannel.
	{"DeleteTeam/by a supervisor", func(ctx context.Context, w *codeWorld) error {
		return w.e.DeleteTeam(ctx, "routed", sup, 0)
	}, refused},
	{"DeleteTeam/unknown team", func(ctx context.Context, w *codeWorld) error {
		return w.e.DeleteTeam(ctx, "nowhere", admin, 0)
	}, notFound},
	{"DeleteTeam/stale version", func(ctx context.Context, w *codeWorld) error {
		return w.e.DeleteTeam(ctx, "routed", admin, 99)
	}, conflict(routing.ReasonVersion)},
	{"DeleteTeam/with members", func(ctx context.Context, w *codeWorld) error {
		return w.e.DeleteTeam(ctx, "u", admin, 0)
	}, conflict(routing.ReasonInUse)},
	{"DeleteTeam/a channel routes to it", func(ctx context.Context, w *codeWorld) error {
		return w.e.DeleteTeam(ctx, "routed", admin, 0)
	}, conflict(routing.ReasonInUse)},
	{"DeleteAgent/by a supervisor", func(ctx context.Context, w *codeWorld) error {
		return w.e.DeleteAgent(ctx, "u1", sup, 0)
	}, refused},
	{"DeleteAgent/oneself", func(ctx context.Context, w *codeWorld) error {
		return w.e.DeleteAgent(ctx, "root", admin, 0)
	}, conflict(routing.ReasonInUse)},
	{"DeleteAgent/unknown agent", func(ctx context.Context, w *codeWorld) error {
		return w.e.DeleteAgent(ctx, "nobody", admin, 0)
	}, notFound},
	{"DeleteAgent/stale version", func(ctx context.Context, w *codeWorld) error {
		return w.e.DeleteAgent(ctx, "u1", admin, 99)
	}, conflict(routing.ReasonVersion)},
	{"DeleteAgent/with an open conversation (requeued, then removed)", func(ctx context.Context, w *codeWorld) error {
		return w.e.DeleteAgent(ctx, "a1", admin, 0)
	}, allowed},
	{"DeleteChannel/by a supervisor", func(ctx context.Context, w *codeWorld) error {
		return w.e.DeleteChannel(ctx, "cr", sup, 0)
	}, refused},
	{"DeleteChannel/unknown channel", func(ctx context.Context, w *codeWorld) error {
		return w.e.DeleteChannel(ctx, "nowhere", admin, 0)
	}, notFound},
	{"DeleteChannel/stale version", func(ctx context.Context, w *codeWorld) error {
		return w.e.DeleteChannel(ctx, "cr", admin, 99)
	}, conflict(routing.ReasonVersion)},
	{"DeleteChannel/with open and pending conversations", func(ctx context.Context, w *codeWorld) error {
		return w.e.DeleteChannel(ctx, "c", admin, 0)
	}, conflict(routing.ReasonInUse)},

	// Supervisors' views, and what workflows and the dispatcher call.
	{"QueueStats/by an agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.QueueStats(ctx, agentA1))
	}, refused},
	{"EscalationQueue/by an agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.EscalationQueue(ctx, agentA1, 10))
	}, refused},
	{"BotStats/by an agent", func(ctx context.Context, w *codeWorld) error {
		_, _, err := w.e.BotStats(ctx, agentA1)
		return err
	}, refused},
	{"CanView/another agent's conversation", func(ctx context.Context, w *codeWorld) error {
		return w.e.CanView(ctx, agentA2, routing.Conversation{ID: w.open, Status: routing.ConvOpen, AssigneeID: "a1", TeamID: "t"})
	}, refused},
	{"Ask/fewer than two options", func(ctx context.Context, w *codeWorld) error {
		return w.e.Ask(ctx, w.open, routing.Question{Text: "Which?", Options: []routing.AnswerOption{{ID: "1", Label: "One"}}}, "k1", flow)
	}, invalid("options")},
	{"Ask/unknown conversation", func(ctx context.Context, w *codeWorld) error {
		return w.e.Ask(ctx, "conv_nope", routing.Question{Text: "Which?", Options: []routing.AnswerOption{{ID: "1", Label: "One"}, {ID: "2", Label: "Two"}}}, "k1", flow)
	}, notFound},
	{"RouteDefault/unknown conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.RouteDefault(ctx, "conv_nope"))
	}, notFound},
	{"SetBotActive/unknown conversation", func(ctx context.Context, w *codeWorld) error {
		return w.e.SetBotActive(ctx, "conv_nope", true, flow)
	}, notFound},
	{"Answer/unknown conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Answer(ctx, "conv_nope", "1", "", 0))
	}, notFound},
	{"ClearQuestion/unknown conversation", func(ctx context.Context, w *codeWorld) error {
		return w.e.ClearQuestion(ctx, "conv_nope", "tok")
	}, notFound},

	// Queries: reads apply the same visibility as acting.
	{"GetConversation/another agent's", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.GetConversation(ctx, agentA2, w.open))
	}, refused},
	{"GetConversation/a team's pending one", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.GetConversation(ctx, agentA2, w.pending))
	}, allowed},
	{"GetConversation/another team's pending one", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.GetConversation(ctx, agentU1, w.pending))
	}, refused},
	{"GetConversation/unknown", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.GetConversation(ctx, sup, "conv_nope"))
	}, notFound},
	{"ListConversations/an agent's page holds only theirs", func(ctx context.Context, w *codeWorld) error {
		pg, err := w.e.ListConversations(ctx, agentU1, store.ConversationFilter{})
		for _, c := range pg.Items {
			if c.ID != w.bot { // any person may look at what a bot holds
				return fmt.Errorf("u1 sees %s (%s, assignee %q, team %s)", c.ID, c.Status, c.AssigneeID, c.TeamID)
			}
		}
		return err
	}, allowed},
	{"Events/another agent's conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Events(ctx, agentA2, w.open, store.PageRequest{}))
	}, refused},
	{"ConversationContact/another agent's conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.ConversationContact(ctx, agentA2, routing.Conversation{ID: w.open, Status: routing.ConvOpen, AssigneeID: "a1", TeamID: "t"}))
	}, refused},
	{"ConversationChannel/another agent's conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.ConversationChannel(ctx, agentA2, w.open))
	}, refused},
	{"GetContact/of another agent's conversation", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.GetContact(ctx, agentA2, w.openContact))
	}, refused},
	{"GetContact/with no open conversation, by an agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.GetContact(ctx, agentA1, w.closedContact))
	}, refused},
	{"GetContact/unknown", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.GetContact(ctx, sup, "ct_nope"))
	}, notFound},
	{"ListTeams/by a supervisor", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.ListTeams(ctx, sup, store.PageRequest{}))
	}, refused},
	{"GetTeam/by an agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.GetTeam(ctx, agentA1, "t"))
	}, refused},
	{"ListAgents/by an agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.ListAgents(ctx, agentA1, store.PageRequest{}))
	}, refused},
	{"GetAgent/another agent's profile", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.GetAgent(ctx, agentA1, "a2"))
	}, refused},
	{"GetAgent/one's own", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.GetAgent(ctx, agentA1, "a1"))
	}, allowed},
	{"ListChannels/by a supervisor", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.ListChannels(ctx, sup, store.PageRequest{}))
	}, refused},
	{"GetChannel/by an agent", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.GetChannel(ctx, agentA1, "c"))
	}, refused},
	{"Notifications/one's own", func(ctx context.Context, w *codeWorld) error {
		return two(w.e.Notifications(ctx, agentA1, store.PageRequest{}))
	}, allowed},
}

// noRefusals are the exported methods of *engine.Engine with no row above:
// accessors, and plumbing that refuses nothing of its own (a workflow's
// timeline entry, the sweep, the drains, deadlines, step results).
var noRefusals = map[string]bool{
	"Config": true, "Now": true, "RecordWorkflow": true, "RecordWorkflowOnce": true, "Sweep": true,
	"DrainAgent": true, "DrainTeam": true, "NextSessionDeadline": true, "NextBotDeadline": true, "StepResult": true,
}

// A new use case gets its rows here (or a reason in noRefusals).
func TestEveryUseCaseHasErrorCodes(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range codeCases {
		covered[strings.SplitN(tc.name, "/", 2)[0]] = true
	}
	typ := reflect.TypeOf(&engine.Engine{})
	for i := range typ.NumMethod() {
		if name := typ.Method(i).Name; !covered[name] && !noRefusals[name] {
			t.Errorf("(*engine.Engine).%s has no row in codeCases", name)
		}
	}
}

func TestUseCaseErrorCodes(t *testing.T) {
	for _, tc := range codeCases {
		t.Run(tc.name, func(t *testing.T) {
			w := newCodeWorld(t)
			err := tc.run(context.Background(), w)
			got := want{code: routing.ErrorCode(err), reason: routing.ErrorReason(err)}
			var re *routing.Error
			if errors.As(err, &re) {
				got.field = re.Field
			}
			if tc.want.code != routing.CodeConflict {
				got.reason = "" // only conflicts carry a reason
			}
			if got != tc.want {
				t.Fatalf("got %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}
