package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

const commentWorkflow = `
id: %[1]s
name: %[1]s
trigger: {type: conversation_opened}
steps:
  - {id: note, type: comment, text: "%[1]s ran"}
`

// startedBy lists the workflows that started on a conversation, in timeline order.
func (e *env) startedBy(conv string) []string {
	var out []string
	for _, ev := range e.timeline(conv) {
		if ev["type"] == string(routing.EvWorkflowStarted) {
			out = append(out, ev["actor"].(string))
		}
	}
	return out
}

// Issue 9.14: workflows on one trigger run in priority order, an exclusive
// one stops the rest, a disabled one starts nothing (its running runs
// finish), and only never-published drafts can be deleted.
func TestWorkflowsStopAndOrder(t *testing.T) {
	e := start(t, "support")
	e.team("support", routing.RoundRobin, routing.ModeAutomatic, false)
	low := e.publish(fmt.Sprintf(commentWorkflow, "a-low"))
	high := e.publish(fmt.Sprintf(commentWorkflow, "b-high"))
	r := e.must(e.call("PATCH", "/v1/workflows/"+high, e.admin, map[string]any{"priority": 10}), 200)
	if r.num("priority") != 10 || r.get("exclusive") != false || r.get("disabled") != false {
		t.Fatalf("PATCH answered %s", r.Raw)
	}
	c1 := e.inbound("+34600000001", "hola")
	if got, want := e.startedBy(c1), []string{"workflow:b-high", "workflow:a-low"}; !slices.Equal(got, want) {
		t.Fatalf("started %v, want %v (priority order)", got, want)
	}

	e.must(e.call("PATCH", "/v1/workflows/"+high, e.admin, map[string]any{"exclusive": true}), 200)
	c2 := e.inbound("+34600000002", "hola")
	if got, want := e.startedBy(c2), []string{"workflow:b-high"}; !slices.Equal(got, want) {
		t.Fatalf("started %v, want %v (b-high is exclusive)", got, want)
	}

	r = e.must(e.call("POST", "/v1/workflows/"+high+"/disable", e.admin, nil), 200)
	if r.get("disabled") != true {
		t.Fatalf("disable answered %s", r.Raw)
	}
	c3 := e.inbound("+34600000003", "hola")
	if got, want := e.startedBy(c3), []string{"workflow:a-low"}; !slices.Equal(got, want) {
		t.Fatalf("started %v, want %v (b-high is disabled)", got, want)
	}
	if r := e.must(e.call("GET", "/v1/workflows/"+high, e.admin, nil), 200); r.get("disabled") != true {
		t.Fatalf("GET after disable: %s", r.Raw)
	}
	e.must(e.call("POST", "/v1/workflows/"+high+"/enable", e.admin, nil), 200)
	c4 := e.inbound("+34600000004", "hola")
	if got, want := e.startedBy(c4), []string{"workflow:b-high"}; !slices.Equal(got, want) {
		t.Fatalf("started %v, want %v (enabled again)", got, want)
	}

	// Deleting: a published workflow is refused, a draft goes.
	if r := e.call("DELETE", "/v1/workflows/"+low, e.admin, nil); r.Status != 409 {
		t.Fatalf("DELETE of a published workflow: %d %s, want 409", r.Status, r.Raw)
	}
	draft := e.must(e.call("POST", "/v1/workflows", e.admin, fmt.Sprintf(commentWorkflow, "c-draft")), 201).str("id")
	if r := e.call("DELETE", "/v1/workflows/"+draft+"?version=9", e.admin, nil); r.Status != 409 {
		t.Fatalf("DELETE with a stale version: %d %s, want 409", r.Status, r.Raw)
	}
	e.must(e.call("DELETE", "/v1/workflows/"+draft, e.admin, nil), 204)
	e.must(e.call("GET", "/v1/workflows/"+draft, e.admin, nil), 404)
	e.must(e.call("DELETE", "/v1/workflows/"+draft, e.admin, nil), 404)
}

// A run that started before its workflow was disabled finishes.
func TestDisabledWorkflowRunsFinish(t *testing.T) {
	e := start(t, "support")
	e.team("support", routing.RoundRobin, routing.ModeAutomatic, false)
	id := e.publish(`
id: slow
name: slow
trigger: {type: conversation_opened}
steps:
  - {id: pause, type: wait, duration: 10m}
  - {id: note, type: comment, text: "after the wait"}
`)
	c := e.inbound("+34600000009", "hola")
	e.must(e.call("POST", "/v1/workflows/"+id+"/disable", e.admin, nil), 200)
	if n := e.countEvents(c, routing.EvComment); n != 0 {
		t.Fatalf("%d comments before the wait ended", n)
	}
	e.advance(10 * time.Minute)
	e.settle()
	if n := e.countEvents(c, routing.EvComment); n != 1 {
		t.Fatalf("%d comments after the wait, want 1: the running run finishes", n)
	}
}

// Issue 9.14: DELETE of teams, agents and channels, refused while in use.
func TestDeleteTeamAgentChannel(t *testing.T) {
	e := start(t, "support")
	e.team("support", routing.RoundRobin, routing.ModeAutomatic, false)
	e.team("spare", routing.RoundRobin, routing.ModeAutomatic, false)
	e.agent("ana", 1, routing.StatusOnline, "support", "spare")
	e.agent("bruno", 1, routing.StatusOnline, "spare")

	c := e.inbound("+34600000001", "hola") // assigned to ana, the only member of support
	if got := e.conv(c).str("assigneeId"); got != "ana" {
		t.Fatalf("assignee %q, want ana", got)
	}
	inUse := func(r response) {
		t.Helper()
		if r.Status != 409 || r.str("error.reason") != routing.ReasonInUse {
			t.Fatalf("status %d %s, want 409 in_use", r.Status, r.Raw)
		}
	}
	inUse(e.call("DELETE", "/v1/teams/spare", e.admin, nil))         // members
	inUse(e.call("DELETE", "/v1/channels/"+channelID, e.admin, nil)) // an open conversation
	e.must(e.call("DELETE", "/v1/agents/bruno?version=99", e.admin, nil), 409)
	e.must(e.call("DELETE", "/v1/agents/bruno", e.token("ana"), nil), 403)

	e.must(e.call("DELETE", "/v1/agents/bruno", e.admin, nil), 204)
	e.must(e.call("GET", "/v1/agents/bruno", e.admin, nil), 404)
	if members := e.must(e.call("GET", "/v1/teams/spare", e.admin, nil), 200).get("members").([]any); len(members) != 1 || members[0] != "ana" {
		t.Fatalf("spare's members after removing bruno: %v", members)
	}
	e.must(e.call("DELETE", "/v1/teams/spare/members/ana", e.admin, nil), 200)
	e.must(e.call("DELETE", "/v1/teams/spare", e.admin, nil), 204)
	e.must(e.call("GET", "/v1/teams/spare", e.admin, nil), 404)
	e.must(e.call("DELETE", "/v1/teams/spare", e.admin, nil), 404)

	e.must(e.call("POST", "/v1/conversations/"+c+"/close", e.admin, map[string]any{}), 200)
	e.must(e.call("DELETE", "/v1/agents/ana", e.admin, nil), 204)
	inUse(e.call("DELETE", "/v1/teams/support", e.admin, nil)) // the channel routes to it (config.team)
	e.must(e.call("DELETE", "/v1/channels/"+channelID, e.admin, nil), 204)
	if r := e.must(e.call("GET", "/v1/channels", e.admin, nil), 200); len(r.items()) != 0 {
		t.Fatalf("channels after the delete: %s", r.Raw)
	}
	e.must(e.call("DELETE", "/v1/teams/support", e.admin, nil), 204)
}

// Issue 9.10: POST /v1/teams without onlineOnly makes an online-only team;
// an explicit false is kept.
func TestNewTeamDefaultsToOnlineOnly(t *testing.T) {
	e := start(t, "")
	r := e.must(e.call("POST", "/v1/teams", e.admin, map[string]any{"id": "absent", "name": "A"}), 201)
	if r.get("onlineOnly") != true {
		t.Fatalf("created without onlineOnly: %s", r.Raw)
	}
	r = e.must(e.call("POST", "/v1/teams", e.admin, map[string]any{"id": "off", "name": "O", "onlineOnly": false}), 201)
	if r.get("onlineOnly") != false {
		t.Fatalf("created with onlineOnly false: %s", r.Raw)
	}
	if r := e.must(e.call("GET", "/v1/teams/absent", e.admin, nil), 200); r.get("onlineOnly") != true {
		t.Fatalf("stored: %s", r.Raw)
	}
}
