package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// API responses are views, not the stored records: a waiting question's task
// token is never served, and unset values are omitted (never a zero time, never
// a null assignee), the same way on every route.
func TestResponsesAreViews(t *testing.T) {
	e := start(t, "")
	for _, team := range []string{"sales", "support", "general"} {
		e.team(team, routing.RoundRobin, routing.ModeAutomatic, true)
	}
	e.agent("idle", 5, routing.StatusOffline, "general") // never assigned, offline
	e.publish(fmt.Sprintf(s5Choice, 3, "30m"))
	c := e.inbound("+447700900099", "hello")

	stored, err := e.m.Store.GetConversation(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Question == nil || stored.Question.Token == "" {
		t.Fatalf("no question waiting: %+v", stored)
	}
	conv := e.conv(c)
	if strings.Contains(string(conv.Raw), stored.Question.Token) || conv.get("question.token") != nil {
		t.Fatalf("the task token is served: %s", conv.Raw)
	}
	if conv.str("question.text") != "Which team do you want to talk to?" {
		t.Fatalf("the question itself is not shown: %s", conv.Raw)
	}
	if _, ok := conv.Body["assigneeId"]; ok {
		t.Fatalf("assigneeId shown on an unassigned conversation: %s", conv.Raw)
	}

	agent := e.agentState("idle")
	for _, k := range []string{"sessionExpiresAt", "lastAssignedAt"} {
		if _, ok := agent.Body[k]; ok {
			t.Errorf("unset %s shown: %s", k, agent.Raw)
		}
	}
	if agent.str("createdAt") == "" {
		t.Errorf("createdAt missing: %s", agent.Raw)
	}

	idle := e.token("idle")
	for _, r := range []response{
		conv,
		agent,
		e.must(e.call("GET", "/v1/conversations", e.admin, nil), 200),
		e.must(e.call("GET", "/v1/agents", e.admin, nil), 200),
		e.must(e.call("GET", "/v1/teams", e.admin, nil), 200),
		e.must(e.call("GET", "/v1/channels", e.admin, nil), 200),
		e.must(e.call("GET", "/v1/contacts/"+conv.str("contactId"), e.admin, nil), 200),
		e.must(e.call("GET", "/v1/me", idle, nil), 200),
		e.must(e.call("GET", "/v1/stats/queues", e.admin, nil), 200),
	} {
		for _, bad := range []string{"0001-01-01", "null", `"cursor"`, `"token"`} {
			raw := strings.ReplaceAll(string(r.Raw), `"next":null`, "")
			if strings.Contains(raw, bad) {
				t.Errorf("%s in %s", bad, r.Raw)
			}
		}
	}
}
