package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// S4: reassignment needs an internal note that lands on the timeline; the new
// assignee is notified; a refused request changes nothing.
func TestS4ReassignWithRequiredNote(t *testing.T) {
	e := start(t, "front")
	e.team("front", routing.RoundRobin, routing.ModeAutomatic, true)
	e.agent("lia", 3, routing.StatusOnline, "front")
	e.agent("max", 3, routing.StatusOffline, "front")
	c := e.inbound("+34911222333", "hola")
	before := e.conv(c)
	if before.str("assigneeId") != "lia" {
		t.Fatalf("not assigned: %s", before.Raw)
	}
	r := e.call("POST", "/v1/conversations/"+c+"/assign", e.token("lia"), map[string]any{"agentId": "max"})
	if r.Status != 400 || r.str("error.field") != "note" {
		t.Fatalf("reassign without note: %d %s", r.Status, r.Raw)
	}
	if after := e.conv(c); after.num("version") != before.num("version") || after.str("assigneeId") != "lia" {
		t.Fatal("a refused reassignment changed the conversation")
	}
	note := "Max handles refunds"
	e.must(e.call("POST", "/v1/conversations/"+c+"/assign", e.token("lia"), map[string]any{"agentId": "max", "note": note}), 200)
	if got := e.conv(c).str("assigneeId"); got != "max" {
		t.Fatalf("assignee %s", got)
	}
	var found bool
	for _, ev := range e.timeline(c) {
		if ev["type"] == string(routing.EvReassigned) && ev["note"] == note && ev["actor"] == "agent:lia" {
			found = true
		}
	}
	if !found {
		t.Fatalf("timeline lacks the reassignment with its note: %v", e.eventTypes(c))
	}
	var notified bool
	for _, n := range e.notifications("max") {
		if n["type"] == "assignment" && strings.Contains(n["text"].(string), note) {
			notified = true
		}
	}
	if !notified {
		t.Fatal("the new assignee was not notified with the note")
	}
	if e.agentState("lia").num("openCount") != 0 || e.agentState("max").num("openCount") != 1 {
		t.Fatal("slots not moved with the reassignment")
	}
	// lia no longer may act on it
	if r := e.call("POST", "/v1/conversations/"+c+"/comments", e.token("lia"), map[string]any{"text": "x"}); r.Status != 403 {
		t.Fatalf("former assignee still acts: %d", r.Status)
	}
}

// S4: escalations with a type reach the staff queue by urgency, then age.
func TestS4EscalationQueueOrder(t *testing.T) {
	e := start(t, "front")
	e.team("front", routing.LeastOpen, routing.ModeAutomatic, false)
	e.agent("ag", 10, routing.StatusOnline, "front")
	e.agent("boss", 0, routing.StatusOffline)
	e.must(e.call("PATCH", "/v1/agents/boss", e.admin, map[string]any{"role": "supervisor"}), 200)

	plan := []routing.EscalationType{routing.EscGeneral, routing.EscEmergency, routing.EscBilling, routing.EscComplaint, routing.EscEmergency, routing.EscAppointment, routing.EscPurchase}
	ids := map[string]routing.EscalationType{}
	var order []string
	for i, typ := range plan {
		c := e.inbound("+1555000000"+string(rune('0'+i)), "help")
		e.m.Virtual.Advance(time.Minute)
		r := e.call("POST", "/v1/conversations/"+c+"/escalate", e.token("ag"), map[string]any{"type": typ, "summary": "case " + string(typ)})
		e.must(r, 200)
		ids[c] = typ
		order = append(order, c)
	}
	r := e.call("POST", "/v1/conversations/"+order[0]+"/escalate", e.token("ag"), map[string]any{"type": "urgent", "summary": "x"})
	if r.Status != 400 || r.str("error.field") != "type" {
		t.Fatalf("bad type: %d %s", r.Status, r.Raw)
	}
	r = e.call("POST", "/v1/conversations/"+order[0]+"/escalate", e.token("ag"), map[string]any{"type": "general"})
	if r.Status != 400 || r.str("error.field") != "summary" {
		t.Fatalf("missing summary: %d %s", r.Status, r.Raw)
	}
	q := e.must(e.call("GET", "/v1/escalations", e.token("boss"), nil), 200).items()
	if len(q) != len(plan) {
		t.Fatalf("queue has %d, want %d", len(q), len(plan))
	}
	for i := 1; i < len(q); i++ {
		a, b := routing.EscalationType(q[i-1]["escalation"].(map[string]any)["type"].(string)), routing.EscalationType(q[i]["escalation"].(map[string]any)["type"].(string))
		if a.Rank() > b.Rank() {
			t.Fatalf("queue out of urgency order at %d: %s before %s", i, a, b)
		}
		if a == b && q[i-1]["escalation"].(map[string]any)["at"].(string) > q[i]["escalation"].(map[string]any)["at"].(string) {
			t.Fatalf("same urgency out of age order at %d", i)
		}
	}
	if q[0]["id"] != order[1] || q[1]["id"] != order[4] {
		t.Fatalf("the two emergencies, oldest first, should lead: %v %v", q[0]["id"], q[1]["id"])
	}
	// every escalation is a timeline event and notifies the staff
	if n := count(e.eventTypes(order[2]), string(routing.EvEscalated)); n != 1 {
		t.Fatalf("escalation events: %d", n)
	}
	var esc int
	for _, n := range e.notifications("boss") {
		if n["type"] == "escalation" {
			esc++
		}
	}
	if esc != len(plan) {
		t.Fatalf("supervisor got %d escalation notices, want %d", esc, len(plan))
	}
	// an agent cannot read the staff queue
	if r := e.call("GET", "/v1/escalations", e.token("ag"), nil); r.Status != 403 {
		t.Fatalf("agent read the staff queue: %d", r.Status)
	}
}

// S4: close, internal note, contact name (phone until named), bot flag.
func TestS4CloseCommentContactAndBot(t *testing.T) {
	e := start(t, "front")
	e.team("front", routing.RoundRobin, routing.ModeAutomatic, true)
	e.agent("ag", 2, routing.StatusOnline, "front")
	e.agent("peer", 2, routing.StatusOffline, "front")
	e.must(e.call("POST", "/v1/channels", e.admin, map[string]any{"id": "bot", "provider": "generic", "externalId": "bot", "name": "bot", "secretRef": "file:" + channelID, "config": map[string]string{"bot": "true"}}), 201)

	c := e.inbound("+5491133334444", "hola")
	cv := e.conv(c)
	contactID := cv.str("contact.id")
	if got := cv.str("contact.displayName"); got != "+5491133334444" {
		t.Fatalf("a new contact should show its phone, got %q", got)
	}
	r := e.call("PATCH", "/v1/contacts/"+contactID, e.token("ag"), map[string]any{"name": "Lucía Pérez"})
	e.must(r, 200)
	if got := e.conv(c).str("contact.displayName"); got != "Lucía Pérez" {
		t.Fatalf("display name %q", got)
	}
	if r := e.call("PATCH", "/v1/contacts/"+contactID, e.token("ag"), map[string]any{"country": "argentina"}); r.Status != 400 || r.str("error.field") != "country" {
		t.Fatalf("bad country: %d %s", r.Status, r.Raw)
	}
	// internal note with a mention notifies the mentioned agent
	e.must(e.call("POST", "/v1/conversations/"+c+"/comments", e.token("ag"), map[string]any{"text": "@peer can you check the invoice?"}), 201)
	var got bool
	for _, n := range e.notifications("peer") {
		if n["type"] == "comment" && strings.Contains(n["text"].(string), "invoice") {
			got = true
		}
	}
	if !got {
		t.Fatal("mentioned agent not notified")
	}
	e.must(e.call("POST", "/v1/conversations/"+c+"/close", e.token("ag"), map[string]any{"note": "done"}), 200)
	if s := e.conv(c).str("status"); s != "closed" {
		t.Fatalf("status %s", s)
	}
	if e.agentState("ag").num("openCount") != 0 {
		t.Fatal("closing did not free the slot")
	}
	types := e.eventTypes(c)
	for _, want := range []routing.EventType{routing.EvOpened, routing.EvMessageIn, routing.EvAssigned, routing.EvContactUpdated, routing.EvComment, routing.EvClosed} {
		if count(types, string(want)) != 1 {
			t.Fatalf("timeline %v lacks one %s", types, want)
		}
	}

	// a bot channel's conversation stays with the bot: no queue, no assignment until a handoff
	raw := []byte(`{"channelId":"bot","messageId":"b1","from":"+34600999888","text":"hi"}`)
	e.must(e.signedWebhook(raw, e.sign(raw)), 200)
	e.settle()
	ct, err := e.m.Store.ContactByExternalID(t.Context(), "bot", "+34600999888")
	if err != nil {
		t.Fatal(err)
	}
	bc := e.conv(ct.OpenConversationID)
	if bc.get("botActive") != true || bc.str("status") != "bot" {
		t.Fatalf("bot conversation: %s", bc.Raw)
	}
	if r := e.call("POST", "/v1/conversations/"+bc.str("id")+"/assign", e.admin, map[string]any{"agentId": "ag"}); r.Status != 409 || r.str("error.reason") != "bot_phase" && !strings.Contains(r.str("error.message"), "bot phase") {
		t.Fatalf("assigning in the bot phase: %d %s", r.Status, r.Raw)
	}
	e.must(e.call("POST", "/v1/conversations/"+bc.str("id")+"/handoff", e.admin, map[string]any{"reason": "supervisor takes over", "teamId": "front"}), 200)
	e.settle()
	after := e.conv(bc.str("id"))
	if after.get("botActive") != false || after.str("status") != "open" || after.str("handoff.reason") != "supervisor takes over" {
		t.Fatalf("after the handoff: %s", after.Raw)
	}
}
