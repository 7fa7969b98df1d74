package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// publish saves a workflow definition (YAML) and publishes it.
func (e *env) publish(src string) string {
	e.t.Helper()
	r := e.must(e.call("POST", "/v1/workflows", e.admin, src), 201)
	id := r.str("id")
	e.must(e.call("POST", "/v1/workflows/"+id+"/publish", e.admin, nil), 200)
	return id
}

func (e *env) countEvents(conv string, typ routing.EventType) int {
	return count(e.eventTypes(conv), string(typ))
}

const s2Workflow = `
id: reassign-%[1]s
name: Reassign when the first agent does not answer
trigger:
  type: conversation_opened
  firstAssignmentOnly: true
  conditions:
    - {subject: source, operator: equals, value: contact}
steps:
  - {id: first, type: assign, agent: %[2]s}
  - {id: wait, type: wait, duration: %[3]s}
  - id: check
    type: branch
    branches:
      - name: unanswered
        match: all
        conditions:
          - {subject: conversation.status, operator: equals, value: open}
          - {subject: time_since_last_outgoing, operator: not_exists}
        next: reassign
    else: end
  - {id: reassign, type: assign, team: %[4]s, onlineOnly: true}
  - {id: why, type: comment, text: "Reassigned: {{contact.name}} got no answer within %[3]s"}
`

// S2: reassign when the first agent does not answer, in all five cases.
func TestS2ReassignUnanswered(t *testing.T) {
	for _, tc := range []struct {
		name string
		wait time.Duration
	}{{"15m", 15 * time.Minute}, {"7m", 7 * time.Minute}} {
		t.Run(tc.name, func(t *testing.T) {
			setup := func(t *testing.T, secondOnline bool) *env {
				e := start(t, "")
				e.team("first", routing.RoundRobin, routing.ModeAutomatic, true)
				e.team("second", routing.LeastOpen, routing.ModeAutomatic, true)
				e.agent("alba", 3, routing.StatusOnline, "first")
				st := routing.StatusOffline
				if secondOnline {
					st = routing.StatusOnline
				}
				e.agent("beto", 3, st, "second")
				e.agent("cruz", 3, routing.StatusOffline, "second")
				e.publish(fmt.Sprintf(s2Workflow, "s2", "alba", tc.name, "second"))
				return e
			}
			t.Run("unanswered", func(t *testing.T) {
				e := setup(t, true)
				c := e.inbound("+34600100001", "hola")
				if a := e.conv(c).str("assigneeId"); a != "alba" {
					t.Fatalf("first assignment to %q", a)
				}
				e.advance(tc.wait - time.Minute)
				if a := e.conv(c).str("assigneeId"); a != "alba" {
					t.Fatalf("reassigned early to %q", a)
				}
				e.advance(2 * time.Minute)
				cv := e.conv(c)
				if cv.str("assigneeId") != "beto" {
					t.Fatalf("not reassigned to the online agent of the team: %s", cv.Raw)
				}
				types := e.eventTypes(c)
				if count(types, string(routing.EvAssigned)) != 1 || count(types, string(routing.EvReassigned)) != 1 || count(types, string(routing.EvComment)) != 1 {
					t.Fatalf("timeline: %v", types)
				}
				var note bool
				for _, n := range e.notifications("beto") {
					if n["type"] == "comment" && strings.Contains(n["text"].(string), "no answer within "+tc.name) {
						note = true
					}
				}
				if !note {
					t.Fatal("the second agent was not told why")
				}
			})
			t.Run("answered", func(t *testing.T) {
				e := setup(t, true)
				c := e.inbound("+34600100002", "hola")
				e.advance(5 * time.Minute)
				e.must(e.call("POST", "/v1/conversations/"+c+"/messages", e.token("alba"), map[string]any{"text": "Hi, I'm on it"}), 201)
				e.advance(tc.wait)
				if a := e.conv(c).str("assigneeId"); a != "alba" {
					t.Fatalf("answered conversation reassigned to %q", a)
				}
				if e.countEvents(c, routing.EvReassigned) != 0 {
					t.Fatal("reassignment on the timeline")
				}
			})
			t.Run("closed", func(t *testing.T) {
				e := setup(t, true)
				c := e.inbound("+34600100003", "hola")
				e.advance(tc.wait / 2)
				e.must(e.call("POST", "/v1/conversations/"+c+"/close", e.token("alba"), nil), 200)
				e.advance(tc.wait)
				cv := e.conv(c)
				if cv.str("status") != "closed" || cv.str("assigneeId") != "alba" || e.countEvents(c, routing.EvReassigned) != 0 {
					t.Fatalf("closed conversation moved: %s", cv.Raw)
				}
			})
			t.Run("nobody online", func(t *testing.T) {
				e := setup(t, false)
				c := e.inbound("+34600100004", "hola")
				e.advance(tc.wait + time.Minute)
				cv := e.conv(c)
				if cv.str("status") != "pending" || cv.str("teamId") != "second" {
					t.Fatalf("should wait pending for the team: %s", cv.Raw)
				}
				if e.agentState("alba").num("openCount") != 0 {
					t.Fatal("the first agent still holds the slot")
				}
				e.status("cruz", routing.StatusOnline)
				if a := e.conv(c).str("assigneeId"); a != "cruz" {
					t.Fatalf("not assigned when an agent came online: %q", a)
				}
			})
			t.Run("once per opening", func(t *testing.T) {
				e := setup(t, true)
				raw := []byte(`{"channelId":"web","messageId":"dup-1","from":"+34600100005","text":"hola"}`)
				for i := 0; i < 3; i++ {
					e.must(e.signedWebhook(raw, e.sign(raw)), 200)
				}
				e.settle()
				c := e.conversationOf("+34600100005")
				// the bus delivers the opening again (at-least-once delivery)
				ev, _ := events.New("ev-again", events.ConversationOpened, e.m.Clock.Now(), events.ConversationOpenedDetail{ConversationID: c, Source: "contact", ChannelID: "web"})
				for i := 0; i < 2; i++ {
					if err := e.m.Flows.HandleEvent(context.Background(), ev); err != nil {
						t.Fatal(err)
					}
				}
				e.settle()
				if n := e.countEvents(c, routing.EvWorkflowStarted); n != 1 {
					t.Fatalf("%d workflow runs for one opening", n)
				}
				if n := e.countEvents(c, routing.EvMessageIn); n != 1 {
					t.Fatalf("%d messages for one delivery id", n)
				}
				// a reopened conversation is not a first assignment: no new run
				e.must(e.call("POST", "/v1/conversations/"+c+"/close", e.token("alba"), nil), 200)
				raw2 := []byte(`{"channelId":"web","messageId":"dup-2","from":"+34600100005","text":"again"}`)
				e.must(e.signedWebhook(raw2, e.sign(raw2)), 200)
				e.settle()
				if e.conversationOf("+34600100005") != c || e.countEvents(c, routing.EvReopened) != 1 {
					t.Fatal("the conversation should have reopened")
				}
				if n := e.countEvents(c, routing.EvWorkflowStarted); n != 1 {
					t.Fatalf("reopening started the first-assignment workflow again (%d runs)", n)
				}
			})
		})
	}
}

const s1Workflow = `
id: escalate-l2
name: Escalate to %[1]s or %[2]s
trigger:
  type: shortcut
  name: Escalate
  form:
    - id: team
      label: Escalate to team
      type: select
      required: true
      options:
        - {id: %[3]s, label: %[1]s}
        - {id: %[4]s, label: %[2]s}
    - {id: summary, label: Escalation summary, type: text, required: true}
steps:
  - id: route
    type: branch
    branches:
      - {name: a, conditions: [{subject: form.team, operator: equals, value: %[3]s}], next: assign_a}
      - {name: b, conditions: [{subject: form.team, operator: equals, value: %[4]s}], next: assign_b}
    else: end
  - {id: assign_a, type: assign, team: %[3]s}
  - {id: note_a, type: comment, text: "Escalated to %[1]s: {{form.summary}}", next: end}
  - {id: assign_b, type: assign, team: %[4]s}
  - {id: note_b, type: comment, text: "Escalated to %[2]s: {{form.summary}}"}
`

// S1: an agent escalates from a shortcut with a form; the branch on the
// form routes to the chosen team, whose new assignee is notified with the summary.
func TestS1EscalationShortcut(t *testing.T) {
	e := start(t, "first")
	e.team("first", routing.RoundRobin, routing.ModeAutomatic, true)
	e.team("billing", routing.RoundRobin, routing.ModeAutomatic, true)
	e.team("techsup", routing.LeastOpen, routing.ModeAutomatic, true)
	e.agent("yong", 5, routing.StatusOnline, "first")
	e.agent("other", 5, routing.StatusOnline, "first")
	e.agent("bill", 5, routing.StatusOnline, "billing")
	e.agent("tina", 5, routing.StatusOnline, "techsup")
	e.agent("tom", 5, routing.StatusOnline, "techsup")
	wf := e.publish(fmt.Sprintf(s1Workflow, "Billing", "Technical Support", "billing", "techsup"))

	list := e.must(e.call("GET", "/v1/shortcuts", e.token("yong"), nil), 200).items()
	if len(list) != 1 || list[0]["workflowId"] != wf || len(list[0]["form"].([]any)) != 2 {
		t.Fatalf("shortcuts: %v", list)
	}
	c := e.inbound("+4915112345678", "my router is broken")
	if e.conv(c).str("assigneeId") != "yong" {
		c = e.inbound("+4915112345679", "my router is broken") // round robin: the next one is yong's
	}
	if e.conv(c).str("assigneeId") != "yong" {
		t.Fatal("setup: no conversation of yong")
	}
	path := "/v1/conversations/" + c + "/shortcuts/" + wf

	r := e.call("POST", path, e.token("yong"), map[string]any{"form": map[string]string{"team": "techsup"}})
	if r.Status != 400 || r.str("error.field") != "summary" {
		t.Fatalf("missing summary: %d %s", r.Status, r.Raw)
	}
	r = e.call("POST", path, e.token("yong"), map[string]any{"form": map[string]string{"team": "sales", "summary": "x"}})
	if r.Status != 400 || r.str("error.field") != "team" {
		t.Fatalf("bad option: %d %s", r.Status, r.Raw)
	}
	r = e.call("POST", path, e.token("other"), map[string]any{"form": map[string]string{"team": "techsup", "summary": "x"}})
	if r.Status != 403 {
		t.Fatalf("an agent not on the conversation ran the shortcut: %d", r.Status)
	}
	e.settle()
	if n := e.countEvents(c, routing.EvWorkflowStarted); n != 0 || e.conv(c).str("assigneeId") != "yong" {
		t.Fatal("a refused shortcut changed something")
	}

	summary := "Customer's router reboots every 5 minutes since the firmware update"
	r = e.must(e.call("POST", path, e.token("yong"), map[string]any{"form": map[string]string{"team": "techsup", "summary": summary}}), 202)
	if r.str("status") != "started" {
		t.Fatalf("answer: %s", r.Raw)
	}
	e.settle()
	cv := e.conv(c)
	assignee := cv.str("assigneeId")
	if assignee != "tina" && assignee != "tom" {
		t.Fatalf("not routed to Technical Support: %s", cv.Raw)
	}
	var comment bool
	for _, ev := range e.timeline(c) {
		if ev["type"] == string(routing.EvComment) && strings.Contains(ev["note"].(string), summary) {
			comment = true
		}
	}
	if !comment {
		t.Fatalf("no comment with the summary: %v", e.eventTypes(c))
	}
	var notified bool
	for _, n := range e.notifications(assignee) {
		if n["type"] == "comment" && strings.Contains(n["text"].(string), summary) {
			notified = true
		}
	}
	if !notified {
		t.Fatal("the new assignee was not notified with the summary")
	}
	if e.agentState("yong").num("openCount") != 0 {
		t.Fatal("the first-level agent's slot was not freed")
	}
}

const s5Choice = `
id: choice
name: Route by choice
trigger:
  type: conversation_opened
  conditions: [{subject: source, operator: equals, value: contact}]
steps:
  - id: ask
    type: ask
    question: Which team do you want to talk to?
    options: [{id: sales, label: Sales}, {id: support, label: Support}]
    variable: team
    maxAttempts: %d
    timeout: %s
    onTimeout: fallback
  - id: route
    type: branch
    branches:
      - {name: Sales, conditions: [{subject: vars.team, operator: equals, value: sales}], next: to_sales}
      - {name: Support, conditions: [{subject: vars.team, operator: equals, value: support}], next: to_support}
    else: fallback
  - {id: to_sales, type: assign, team: sales}
  - {id: tell_sales, type: send_message, text: "You are now with our Sales team.", next: end}
  - {id: to_support, type: assign, team: support}
  - {id: tell_support, type: send_message, text: "You are now with our Support team.", next: end}
  - {id: fallback, type: assign, team: general}
  - {id: tell_general, type: send_message, text: "An agent will reply shortly."}
`

// S5: ask the contact which team, branch on the answer; invalid answers are
// asked again up to a limit; no answer in time takes the fallback.
func TestS5RouteByChoice(t *testing.T) {
	setup := func(t *testing.T, attempts int, timeout string) *env {
		e := start(t, "")
		for _, team := range []string{"sales", "support", "general"} {
			e.team(team, routing.RoundRobin, routing.ModeAutomatic, true)
			e.agent("ag-"+team, 5, routing.StatusOnline, team)
		}
		e.publish(fmt.Sprintf(s5Choice, attempts, timeout))
		return e
	}
	reply := func(e *env, from, id, text string) {
		e.t.Helper()
		raw := []byte(fmt.Sprintf(`{"channelId":"web","messageId":%q,"from":%q,"text":%q}`, id, from, text))
		e.must(e.signedWebhook(raw, e.sign(raw)), 200)
		e.settle()
	}
	lastSent := func(e *env, c string) string {
		var text string
		for _, ev := range e.timeline(c) {
			if ev["type"] == string(routing.EvMessageOut) {
				text = ev["data"].(map[string]any)["text"].(string)
			}
		}
		return text
	}
	t.Run("answer by number", func(t *testing.T) {
		e := setup(t, 3, "30m")
		c := e.inbound("+447700900001", "hello")
		cv := e.conv(c)
		if cv.str("status") != "pending" || cv.get("botActive") != true || !strings.Contains(lastSent(e, c), "Which team") {
			t.Fatalf("question not asked: %s %v", cv.Raw, e.eventTypes(c))
		}
		reply(e, "+447700900001", "r1", "2")
		cv = e.conv(c)
		if cv.str("assigneeId") != "ag-support" || cv.get("botActive") != false {
			t.Fatalf("not routed to support: %s", cv.Raw)
		}
		if got := lastSent(e, c); got != "You are now with our Support team." {
			t.Fatalf("last message %q", got)
		}
	})
	t.Run("invalid then valid", func(t *testing.T) {
		e := setup(t, 3, "30m")
		c := e.inbound("+447700900002", "hello")
		reply(e, "+447700900002", "r1", "pizza")
		if !strings.Contains(lastSent(e, c), "Please choose") || e.conv(c).str("status") != "pending" {
			t.Fatal("an invalid answer was not asked again")
		}
		reply(e, "+447700900002", "r2", "sales")
		if a := e.conv(c).str("assigneeId"); a != "ag-sales" {
			t.Fatalf("assignee %q", a)
		}
	})
	t.Run("only messages that met the question answer it", func(t *testing.T) {
		e := setup(t, 3, "30m")
		c := e.inbound("+447700900005", "hello")
		deliver := func(id string, d events.MessageReceivedDetail) {
			t.Helper()
			ev, err := events.New(id, events.MessageReceived, e.m.Clock.Now(), d)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.m.Flows.HandleEvent(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			e.settle()
		}
		// stored while nothing was asked (noQuestion): a valid option, yet no answer
		deliver("ev-before", events.MessageReceivedDetail{ConversationID: c, MessageID: "before", Text: "2", NoQuestion: true})
		if cv := e.conv(c); cv.str("status") != "pending" || cv.str("assigneeId") != "" {
			t.Fatalf("a message stored before the question answered it: %s", cv.Raw)
		}
		// an event from before noQuestion existed (no seq either) is looked at
		deliver("ev-old", events.MessageReceivedDetail{ConversationID: c, MessageID: "old", Text: "2"})
		if a := e.conv(c).str("assigneeId"); a != "ag-support" {
			t.Fatalf("an event without noQuestion did not answer the waiting question: %q", a)
		}
	})
	t.Run("too many invalid answers", func(t *testing.T) {
		e := setup(t, 2, "30m")
		c := e.inbound("+447700900003", "hello")
		reply(e, "+447700900003", "r1", "pizza")
		reply(e, "+447700900003", "r2", "pasta")
		if a := e.conv(c).str("assigneeId"); a != "ag-general" {
			t.Fatalf("fallback not taken after the limit: %q", a)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		e := setup(t, 3, "20m")
		c := e.inbound("+447700900004", "hello")
		e.advance(19 * time.Minute)
		if e.conv(c).str("status") != "pending" {
			t.Fatal("timed out early")
		}
		e.advance(2 * time.Minute)
		if a := e.conv(c).str("assigneeId"); a != "ag-general" {
			t.Fatalf("timeout did not take the fallback: %q", a)
		}
		// a late answer is an ordinary message now
		reply(e, "+447700900004", "late", "1")
		if a := e.conv(c).str("assigneeId"); a != "ag-general" || e.countEvents(c, routing.EvMessageIn) != 2 {
			t.Fatalf("late answer rerouted: %q", a)
		}
	})
}

const s5Language = `
id: by-language
name: Route by language
trigger:
  type: conversation_opened
  conditions: [{subject: source, operator: equals, value: contact}]
steps:
  - id: by_language
    type: branch
    branches:
      - {name: Spanish, conditions: [{subject: contact.language, operator: equals, value: %s}], next: to_spanish}
    else: to_general
  - {id: to_spanish, type: assign, team: spanish, next: end}
  - {id: to_general, type: assign, team: general}
`

// S5: route by contact data derived from the phone number before the first step.
func TestS5RouteByLanguage(t *testing.T) {
	e := start(t, "")
	e.team("spanish", routing.RoundRobin, routing.ModeAutomatic, true)
	e.team("general", routing.RoundRobin, routing.ModeAutomatic, true)
	e.agent("sofia", 5, routing.StatusOnline, "spanish")
	e.agent("gary", 5, routing.StatusOnline, "general")
	e.publish(fmt.Sprintf(s5Language, "es"))
	for _, tc := range []struct{ phone, lang, country, agent string }{
		{"+34612345678", "es", "ES", "sofia"},
		{"+5215512345678", "es", "MX", "sofia"},
		{"+393471234567", "it", "IT", "gary"},
	} {
		c := e.inbound(tc.phone, "hi")
		cv := e.conv(c)
		if cv.str("contact.language") != tc.lang || cv.str("contact.country") != tc.country {
			t.Fatalf("%s: contact %s", tc.phone, cv.Raw)
		}
		if cv.str("assigneeId") != tc.agent {
			t.Fatalf("%s routed to %q, want %s", tc.phone, cv.str("assigneeId"), tc.agent)
		}
	}
}

// Drafts and versions: validation errors name the step and field; a
// published version never changes; a run finishes on the version it started
// with, while new runs take the new version.
func TestWorkflowVersions(t *testing.T) {
	e := start(t, "")
	e.team("first", routing.RoundRobin, routing.ModeAutomatic, true)
	e.team("second", routing.RoundRobin, routing.ModeAutomatic, true)
	e.team("third", routing.RoundRobin, routing.ModeAutomatic, true)
	e.agent("alba", 5, routing.StatusOnline, "first")
	e.agent("beto", 5, routing.StatusOnline, "second")
	e.agent("cruz", 5, routing.StatusOnline, "third")

	bad := strings.Replace(fmt.Sprintf(s2Workflow, "v", "alba", "15m", "second"), "team: second", "team: nowhere", 1)
	r := e.call("POST", "/v1/workflows", e.admin, bad)
	if r.Status != 400 || r.str("error.field") != "steps[reassign].team" {
		t.Fatalf("invalid draft: %d %s", r.Status, r.Raw)
	}
	if r := e.call("GET", "/v1/workflows/reassign-v", e.admin, nil); r.Status != 404 {
		t.Fatalf("a refused draft was stored: %d", r.Status)
	}

	id := e.publish(fmt.Sprintf(s2Workflow, "v", "alba", "15m", "second"))
	asl1 := e.must(e.call("GET", "/v1/workflows/"+id+"/asl", e.admin, nil), 200).Raw
	c1 := e.inbound("+34600400001", "hola") // starts on version 1

	e.must(e.call("POST", "/v1/workflows", e.admin, fmt.Sprintf(s2Workflow, "v", "alba", "15m", "third")), 200)
	pub := e.must(e.call("POST", "/v1/workflows/"+id+"/publish", e.admin, nil), 200)
	if pub.num("version") != 2 {
		t.Fatalf("second publish: %s", pub.Raw)
	}
	if again := e.must(e.call("GET", "/v1/workflows/"+id+"/asl?version=1", e.admin, nil), 200).Raw; string(again) != string(asl1) {
		t.Fatal("version 1 changed after version 2 was published")
	}
	c2 := e.inbound("+34600400002", "hola") // starts on version 2
	e.advance(16 * time.Minute)
	if a := e.conv(c1).str("assigneeId"); a != "beto" {
		t.Fatalf("the version-1 run should reassign to team second, got %q", a)
	}
	if a := e.conv(c2).str("assigneeId"); a != "cruz" {
		t.Fatalf("the version-2 run should reassign to team third, got %q", a)
	}
}
