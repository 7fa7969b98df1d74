package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// botEnv is a server with a chatbot-first channel "bot" (generic webhooks,
// the test secret) whose handoffs go to team "front" (automatic, agent ag),
// and a token for the bot.
type botEnv struct {
	*env
	bot string // the bot's token
}

func startBot(t *testing.T, team string, rules map[string]string) *botEnv {
	t.Helper()
	e := start(t, team)
	e.team("front", routing.RoundRobin, routing.ModeAutomatic, true)
	e.team("desk", routing.RoundRobin, routing.ModeManual, true)
	e.agent("ag", 5, routing.StatusOnline, "front", "desk")
	e.channel()
	cfg := map[string]string{"bot": "true", "team": team, "outboundUrl": e.outbound.URL}
	for k, v := range rules {
		cfg[k] = v
	}
	e.must(e.call("POST", "/v1/channels", e.admin, map[string]any{"id": "bot", "provider": "generic", "externalId": "bot", "name": "bot",
		"secretRef": "file:" + channelID, "config": cfg}), 201)
	tok, err := e.m.Signer.Sign(auth.Principal{Subject: "helper", Role: routing.RoleBot}, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &botEnv{env: e, bot: tok}
}

// say delivers a contact's message on the bot channel and returns its conversation.
func (e *botEnv) say(from, text string) string {
	e.t.Helper()
	id := fmt.Sprintf("bot-msg-%d", e.msgSeq.Add(1))
	raw := fmt.Appendf(nil, `{"channelId":"bot","messageId":%q,"from":%q,"phone":%q,"text":%q}`, id, from, from, text)
	e.must(e.signedWebhook(raw, e.sign(raw)), 200)
	e.settle()
	ct, err := e.m.Store.ContactByExternalID(e.t.Context(), "bot", from)
	if err != nil {
		e.t.Fatal(err)
	}
	return ct.OpenConversationID
}

func (e *botEnv) reply(conv, text string, fallback bool) response {
	e.t.Helper()
	return e.call("POST", "/v1/conversations/"+conv+"/messages", e.bot, map[string]any{"text": text, "fallback": fallback})
}

func (e *botEnv) handoffs(conv string) []map[string]any {
	var out []map[string]any
	for _, ev := range e.timeline(conv) {
		if ev["type"] == string(routing.EvHandoff) {
			out = append(out, ev)
		}
	}
	return out
}

// A bot converses, hands off with a summary, and the agent who gets it sees why.
func TestBotConversesAndHandsOffWithSummary(t *testing.T) {
	e := startBot(t, "front", nil)
	c := e.say("+34600300001", "hola")
	cv := e.conv(c)
	if cv.str("status") != "bot" || cv.str("assigneeId") != "" || cv.get("botActive") != true {
		t.Fatalf("a new conversation on a bot channel: %s", cv.Raw)
	}
	if e.agentState("ag").num("openCount") != 0 {
		t.Fatal("someone was given a conversation the bot holds")
	}
	// the bot reads what the contact wrote and answers
	evs := e.must(e.call("GET", "/v1/conversations/"+c+"/events", e.bot, nil), 200).items()
	if len(evs) == 0 || !strings.Contains(toJSON(evs), "hola") {
		t.Fatalf("the bot cannot read the message: %v", evs)
	}
	e.must(e.reply(c, "Hi! I am the shop's assistant. What happened?", false), 201)
	e.say("+34600300001", "my order 123 is late")
	// people cannot take it from the bot
	if r := e.call("POST", "/v1/conversations/"+c+"/assign", e.admin, map[string]any{"agentId": "ag"}); r.Status != 409 {
		t.Fatalf("assign in the bot phase: %d %s", r.Status, r.Raw)
	}
	if r := e.call("POST", "/v1/conversations/"+c+"/take", e.token("ag"), nil); r.Status != 409 {
		t.Fatalf("take in the bot phase: %d %s", r.Status, r.Raw)
	}
	e.advance(time.Hour) // sweeps and drains: still with the bot (no rule on this channel)
	if e.conv(c).str("status") != "bot" {
		t.Fatal("the bot phase ended by itself")
	}

	h := e.must(e.call("POST", "/v1/conversations/"+c+"/handoff", e.bot, map[string]any{
		"reason": "refund request", "summary": "Order 123 is a week late; the contact wants a refund", "escalationType": "billing"}), 200)
	if h.str("status") != "pending" || h.str("handoff.by") != "bot:helper" {
		t.Fatalf("handoff answer: %s", h.Raw)
	}
	e.settle()
	got := e.must(e.call("GET", "/v1/conversations/"+c, e.token("ag"), nil), 200)
	if got.str("status") != "open" || got.str("assigneeId") != "ag" || got.str("handoff.summary") != "Order 123 is a week late; the contact wants a refund" || got.str("escalation.type") != "billing" {
		t.Fatalf("after the handoff: %s", got.Raw)
	}
	seen := false
	for _, n := range e.notifications("ag") {
		if n["conversationId"] == c && strings.Contains(fmt.Sprint(n["text"]), "wants a refund") {
			seen = true
		}
	}
	if !seen {
		t.Fatalf("the assignee's notification does not carry the summary: %v", e.notifications("ag"))
	}
	hs := e.handoffs(c)
	if len(hs) != 1 || hs[0]["actor"] != "bot:helper" || !strings.Contains(toJSON(hs[0]), "refund request") {
		t.Fatalf("timeline handoff: %v", hs)
	}
	// the history is kept, in order
	types := e.eventTypes(c)
	if types[0] != string(routing.EvOpened) || count(types, string(routing.EvBotStarted)) != 1 || count(types, string(routing.EvMessageIn)) != 2 || count(types, string(routing.EvMessageOut)) != 1 {
		t.Fatalf("timeline %v", types)
	}
	// the bot lets go: it can no longer read, answer or hand off
	for _, r := range []response{
		e.call("GET", "/v1/conversations/"+c, e.bot, nil),
		e.reply(c, "still here", false),
		e.call("POST", "/v1/conversations/"+c+"/assign", e.bot, map[string]any{"teamId": "front"}),
		e.call("GET", "/v1/teams", e.bot, nil),
	} {
		if r.Status != 403 {
			t.Fatalf("bot after the handoff: %d %s", r.Status, r.Raw)
		}
	}
	if r := e.call("POST", "/v1/conversations/"+c+"/handoff", e.token("ag"), map[string]any{"reason": "again"}); r.Status != 409 || r.str("error.code") != "conflict" {
		t.Fatalf("a second handoff: %d %s", r.Status, r.Raw)
	}
	e.must(e.call("POST", "/v1/conversations/"+c+"/close", e.token("ag"), nil), 200)
	r := e.call("POST", "/v1/conversations/"+c+"/handoff", e.admin, map[string]any{"reason": "late"})
	if r.Status != 409 || !strings.Contains(r.str("error.message"), "closed") {
		t.Fatalf("handing off a closed conversation: %d %s", r.Status, r.Raw)
	}
}

// Each rule of the channel fires once, at the stated moment.
func TestBotHandoffRulesFireOnceOnTime(t *testing.T) {
	e := startBot(t, "front", map[string]string{
		"handoffKeywords": "human", "handoffKeywords.es": "agente",
		"handoffAfterFallbacks": "2", "handoffAfterSilence": "3m", "handoffMaxBotTime": "20m",
	})
	reason := func(c string) string { return e.conv(c).str("handoff.reason") }
	once := func(c, want string) {
		t.Helper()
		hs := e.handoffs(c)
		if len(hs) != 1 || !strings.Contains(toJSON(hs[0]), want) {
			t.Fatalf("%s: handoffs %v, want one %s", c, hs, want)
		}
		if st := e.conv(c).str("status"); st != "open" {
			t.Fatalf("%s: %s after the handoff, want assigned", c, st)
		}
	}

	// the contact asks for a person (Spanish keyword for a Spanish number)
	kw := e.say("+34600300010", "hola")
	e.must(e.reply(kw, "¿En qué puedo ayudarte?", false), 201)
	e.say("+34600300010", "¡Quiero hablar con un agente!")
	if reason(kw) != routing.HandoffContactAsked {
		t.Fatalf("keyword: %s", e.conv(kw).Raw)
	}
	once(kw, routing.HandoffContactAsked)

	// the bot gives up: the second fallback hands off
	fb := e.say("+34600300020", "blorp")
	e.must(e.reply(fb, "Sorry, I did not understand", true), 201)
	if e.conv(fb).str("status") != "bot" {
		t.Fatal("handed off after one fallback")
	}
	e.say("+34600300020", "zzz")
	e.must(e.reply(fb, "Sorry, I still did not understand", true), 201)
	e.settle()
	if reason(fb) != routing.HandoffBotGaveUp {
		t.Fatalf("fallbacks: %s", e.conv(fb).Raw)
	}
	once(fb, routing.HandoffBotGaveUp)

	// the bot stays silent 3 minutes after a message; another conversation,
	// answered in time, is not handed off; a third lasts the maximum time
	silent := e.say("+34600300030", "hello?")
	answered := e.say("+34600300040", "hi")
	long := e.say("+34600300050", "hi")
	e.advance(time.Minute)
	e.must(e.reply(answered, "Hello!", false), 201)
	e.must(e.reply(long, "Hello!", false), 201)
	e.advance(2*time.Minute - time.Second) // 2:59 after the message
	if e.conv(silent).str("status") != "bot" {
		t.Fatal("silence rule fired early")
	}
	e.advance(time.Second) // 3:00
	if reason(silent) != routing.HandoffBotSilent {
		t.Fatalf("silence: %s", e.conv(silent).Raw)
	}
	if e.conv(answered).str("status") != "bot" {
		t.Fatal("a conversation the bot answered in time was handed off for silence")
	}
	at := e.handoffs(silent)[0]["at"]
	if want := t0.Add(3 * time.Minute).Format(time.RFC3339); at != want {
		t.Fatalf("silence handoff at %v, want %s", at, want)
	}
	// the long one keeps talking with its bot until the 20th minute
	for i := 0; i < 4; i++ {
		e.advance(4 * time.Minute)
		e.say("+34600300050", "and another thing")
		e.must(e.reply(long, "I see", false), 201)
	}
	// 19 minutes in
	if st := e.conv(long).str("status"); st != "bot" {
		t.Fatalf("long conversation %s before its maximum", st)
	}
	e.advance(time.Minute) // 20:00 since it opened
	if reason(long) != routing.HandoffMaxBotTime {
		t.Fatalf("maximum bot time: %s", e.conv(long).Raw)
	}
	// answered in time, it has now been in the bot phase 20 minutes too
	if reason(answered) != routing.HandoffMaxBotTime {
		t.Fatalf("answered conversation: %s", e.conv(answered).Raw)
	}
	e.advance(time.Hour) // nothing fires twice
	for _, c := range []string{kw, fb, silent, long} {
		if n := len(e.handoffs(c)); n != 1 {
			t.Fatalf("%s handed off %d times", c, n)
		}
	}

	// stats: per channel, handoffs by reason and containment
	contained := e.say("+34600300060", "thanks, bye")
	e.must(e.call("POST", "/v1/conversations/"+contained+"/close", e.bot, nil), 200) // the bot finished it alone
	e.must(e.call("GET", "/v1/stats/bot", e.token("ag"), nil), 403)                  // supervisors and admins only
	stats := e.must(e.call("GET", "/v1/stats/bot", e.admin, nil), 200)
	ch := stats.Body["channels"].([]any)[0].(map[string]any)
	hs := ch["handoffs"].(map[string]any)
	if ch["channelId"] != "bot" || ch["contained"] != float64(1) || hs[routing.HandoffContactAsked] != float64(1) || hs[routing.HandoffBotGaveUp] != float64(1) || hs[routing.HandoffBotSilent] != float64(1) || hs[routing.HandoffMaxBotTime] != float64(2) {
		t.Fatalf("bot stats %s", stats.Raw)
	}
}

// A manual team keeps a handed-off conversation pending until someone takes it.
func TestBotHandoffToManualTeamWaitsToBeTaken(t *testing.T) {
	e := startBot(t, "desk", nil)
	c := e.say("+34600300070", "hola")
	e.must(e.call("POST", "/v1/conversations/"+c+"/handoff", e.bot, map[string]any{"reason": "needs a person"}), 200)
	e.settle()
	e.advance(10 * time.Minute)
	if cv := e.conv(c); cv.str("status") != "pending" || cv.str("teamId") != "desk" {
		t.Fatalf("manual handoff: %s", cv.Raw)
	}
	e.must(e.call("POST", "/v1/conversations/"+c+"/take", e.token("ag"), nil), 200)
	if e.conv(c).str("assigneeId") != "ag" {
		t.Fatal("not taken")
	}
}

// A workflow step hands off too: a message about a refund skips the bot.
func TestWorkflowHandoffStep(t *testing.T) {
	e := startBot(t, "front", nil)
	e.team("billing", routing.RoundRobin, routing.ModeAutomatic, true)
	e.agent("bill", 3, routing.StatusOnline, "billing")
	e.publish(`{"id":"bot-refund","name":"Refunds skip the bot","trigger":{"type":"message_received","conditions":[{"subject":"text","operator":"contains","value":"refund"}]},
	  "steps":[{"id":"to_billing","type":"handoff","reason":"refund request","team":"billing","summary":"{{contact.phone}} asked about a refund"}]}`)
	c := e.say("+34600300080", "hola")
	if e.conv(c).str("status") != "bot" {
		t.Fatal("not in the bot phase")
	}
	e.say("+34600300080", "I want a refund")
	cv := e.conv(c)
	if cv.str("assigneeId") != "bill" || cv.str("handoff.reason") != "refund request" || cv.str("handoff.by") != "workflow:bot-refund" || cv.str("handoff.summary") != "+34600300080 asked about a refund" {
		t.Fatalf("after the workflow's handoff: %s", cv.Raw)
	}
	// on a conversation already with people the step has nothing to do
	e.say("+34600300080", "refund, please")
	if n := len(e.handoffs(c)); n != 1 {
		t.Fatalf("%d handoffs", n)
	}
}
