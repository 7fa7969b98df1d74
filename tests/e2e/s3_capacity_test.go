package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// S3: automatic assignment within capacity, the pending queue drained in
// urgency-then-age order when a slot frees, an agent coming online, a raised
// maximum; paused agents receive nothing.
func TestS3AutomaticCapacityAndPendingQueue(t *testing.T) {
	for _, tc := range []struct {
		name       string
		maxA, maxB int
	}{{"max2and1", 2, 1}, {"max3and2", 3, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, "care")
			e.team("care", routing.LeastOpen, routing.ModeAutomatic, true)
			e.agent("a", tc.maxA, routing.StatusOnline, "care")
			e.agent("b", tc.maxB, routing.StatusOnline, "care")
			e.agent("p", 5, routing.StatusPaused, "care")
			e.agent("boss", 0, routing.StatusOffline)
			e.must(e.call("PATCH", "/v1/agents/boss", e.admin, map[string]any{"role": "supervisor"}), 200)

			capacity := tc.maxA + tc.maxB
			var convs []string
			for i := 0; i < capacity+3; i++ {
				convs = append(convs, e.inbound(fmt.Sprintf("+3460000%04d", i), "hello"))
				e.m.Virtual.Advance(time.Second) // distinct ages
			}
			for i, id := range convs {
				c := e.conv(id)
				if i < capacity {
					if c.str("status") != "open" || c.str("assigneeId") == "" {
						t.Fatalf("conversation %d: %s, want open and assigned", i, c.Raw)
					}
					if c.str("assigneeId") == "p" {
						t.Fatal("a paused agent received a conversation")
					}
				} else if c.str("status") != "pending" || c.str("teamId") != "care" {
					t.Fatalf("conversation %d: %s, want pending on care", i, c.Raw)
				}
			}
			if got := e.agentState("a").num("openCount"); int(got) != tc.maxA {
				t.Fatalf("a holds %v, want %d", got, tc.maxA)
			}
			if got := e.agentState("b").num("openCount"); int(got) != tc.maxB {
				t.Fatalf("b holds %v, want %d", got, tc.maxB)
			}
			stats := e.must(e.call("GET", "/v1/stats/queues", e.token("boss"), nil), 200)
			team := stats.Body["teams"].([]any)[0].(map[string]any)
			if team["pending"].(float64) != 3 || team["slotsFree"].(float64) != 0 || team["agentsOnline"].(float64) != 2 {
				t.Fatalf("stats: %v", team)
			}

			// the newest pending conversation is an emergency: it goes first when a slot frees
			p1, p2, p3 := convs[capacity], convs[capacity+1], convs[capacity+2]
			e.must(e.call("POST", "/v1/conversations/"+p3+"/escalate", e.token("boss"), map[string]any{"type": "emergency", "summary": "bleeding"}), 200)
			first := convs[0]
			holder := e.conv(first).str("assigneeId")
			e.must(e.call("POST", "/v1/conversations/"+first+"/close", e.token(holder), map[string]any{"note": "solved"}), 200)
			e.settle()
			if c := e.conv(p3); c.str("status") != "open" || c.str("assigneeId") != holder {
				t.Fatalf("emergency not assigned first to the freed agent: %s", c.Raw)
			}
			if e.conv(p1).str("status") != "pending" || e.conv(p2).str("status") != "pending" {
				t.Fatal("older non-urgent conversations should still wait")
			}

			// raising a maximum drains the oldest
			e.must(e.call("PATCH", "/v1/agents/b", e.admin, map[string]any{"maxConcurrent": tc.maxB + 1}), 200)
			if c := e.conv(p1); c.str("assigneeId") != "b" {
				t.Fatalf("raised maximum did not drain the oldest: %s", c.Raw)
			}
			// an agent coming online drains the rest
			e.agent("c", 4, routing.StatusOffline, "care")
			if e.conv(p2).str("status") != "pending" {
				t.Fatal("an offline agent received a conversation of an online-only team")
			}
			e.status("c", routing.StatusOnline)
			if c := e.conv(p2); c.str("assigneeId") != "c" {
				t.Fatalf("agent coming online did not take the queue: %s", c.Raw)
			}
			// the timeline records why the agent won
			var assigned map[string]any
			for _, ev := range e.timeline(p2) {
				if ev["type"] == string(routing.EvAssigned) {
					assigned = ev
				}
			}
			data, _ := assigned["data"].(map[string]any)
			if data == nil || data["why"] == "" || len(data["candidates"].([]any)) != 4 {
				t.Fatalf("assignment event lacks candidates and reason: %v", assigned)
			}
		})
	}
}

// S3 manual mode: nothing is assigned automatically; agents take pending
// conversations within their maximum.
func TestS3ManualModeTake(t *testing.T) {
	e := start(t, "desk")
	e.team("desk", routing.RoundRobin, routing.ModeManual, false)
	e.team("other", routing.RoundRobin, routing.ModeManual, false)
	e.agent("m1", 1, routing.StatusOnline, "desk")
	e.agent("x", 3, routing.StatusOnline, "other")
	c1 := e.inbound("+390611111111", "ciao")
	c2 := e.inbound("+390622222222", "ciao")
	for _, c := range []string{c1, c2} {
		if s := e.conv(c).str("status"); s != "pending" {
			t.Fatalf("manual team assigned automatically: %s", s)
		}
	}
	// someone outside the team cannot take it
	r := e.call("POST", "/v1/conversations/"+c1+"/take", e.token("x"), nil)
	if r.Status != 403 {
		t.Fatalf("take by non-member: %d %s", r.Status, r.Raw)
	}
	e.must(e.call("POST", "/v1/conversations/"+c1+"/take", e.token("m1"), nil), 200)
	r = e.call("POST", "/v1/conversations/"+c2+"/take", e.token("m1"), nil)
	if r.Status != 409 || r.str("error.reason") != routing.ReasonCapacity || !strings.Contains(r.str("error.message"), "maximum is 1") {
		t.Fatalf("take beyond capacity: %d %s", r.Status, r.Raw)
	}
	if e.conv(c2).str("status") != "pending" || e.agentState("m1").num("openCount") != 1 {
		t.Fatal("a refused take changed something")
	}
	// a taken conversation cannot be taken again
	r = e.call("POST", "/v1/conversations/"+c1+"/take", e.token("m1"), nil)
	if r.Status != 409 {
		t.Fatalf("second take: %d", r.Status)
	}
	// closing frees the slot but a manual team is not drained automatically
	e.must(e.call("POST", "/v1/conversations/"+c1+"/close", e.token("m1"), nil), 200)
	e.settle()
	if e.conv(c2).str("status") != "pending" {
		t.Fatal("manual team drained automatically")
	}
	e.must(e.call("POST", "/v1/conversations/"+c2+"/take", e.token("m1"), nil), 200)
}

// S3 sessions: after the session length online or paused the agent is
// disconnected; a warning comes first; extending restarts the session.
func TestS3SessionTimeout(t *testing.T) {
	cfg := engine.DefaultConfig()
	cfg.SessionLength, cfg.SessionWarning = 10*time.Hour, 20*time.Minute
	e := start(t, "", withEngine(cfg))
	e.team("t", routing.RoundRobin, routing.ModeAutomatic, true)
	e.agent("s", 2, routing.StatusOnline, "t")
	e.agent("q", 2, routing.StatusOnline, "t")

	warnings := func(agent string) int {
		n := 0
		for _, n2 := range e.notifications(agent) {
			if n2["type"] == string(routing.NoteSessionWarning) {
				n++
			}
		}
		return n
	}
	e.advance(9*time.Hour + 39*time.Minute)
	if warnings("s") != 0 {
		t.Fatal("warned too early")
	}
	e.status("q", routing.StatusPaused) // paused still counts toward the session
	e.advance(2 * time.Minute)          // 9h41m: inside the 20-minute warning window
	if warnings("s") != 1 || warnings("q") != 1 {
		t.Fatalf("warnings: s=%d q=%d, want 1 each", warnings("s"), warnings("q"))
	}
	e.must(e.call("POST", "/v1/agents/s/session/extend", e.token("s"), nil), 200)
	e.advance(30 * time.Minute) // 10h11m: q is gone, s extended
	if st := e.agentState("q").str("status"); st != "offline" {
		t.Fatalf("q still %s after its session", st)
	}
	if st := e.agentState("s").str("status"); st != "online" {
		t.Fatalf("s is %s after extending", st)
	}
	ended := 0
	for _, n := range e.notifications("q") {
		if n["type"] == string(routing.NoteSessionEnded) {
			ended++
		}
	}
	if ended != 1 {
		t.Fatalf("q got %d session-ended notices", ended)
	}
	// s was extended at 9h41m: warned again at 19h21m, disconnected at 19h41m
	e.advance(9*time.Hour + 11*time.Minute) // 19h22m
	if warnings("s") != 2 || e.agentState("s").str("status") != "online" {
		t.Fatalf("second warning missing or disconnected early")
	}
	e.advance(20 * time.Minute) // 19h42m
	if st := e.agentState("s").str("status"); st != "offline" {
		t.Fatalf("s is %s after the extended session", st)
	}
	// another agent cannot extend someone else's session
	e.status("s", routing.StatusOnline)
	if r := e.call("POST", "/v1/agents/s/session/extend", e.token("q"), nil); r.Status != 403 {
		t.Fatalf("foreign extend: %d", r.Status)
	}
}
