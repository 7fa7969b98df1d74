package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/httpapi"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Each role against each route: allowed, or 403 — never anything in between.
func TestRolesPerRoute(t *testing.T) {
	e := start(t, "front")
	e.team("front", routing.RoundRobin, routing.ModeAutomatic, true)
	e.team("spare", routing.RoundRobin, routing.ModeManual, false)
	e.team("extra", routing.RoundRobin, routing.ModeAutomatic, false)
	e.agent("ag", 500, routing.StatusOnline, "front", "spare")
	e.agent("sup", 500, routing.StatusOffline, "front", "spare")
	e.agent("adm", 500, routing.StatusOffline, "front", "spare")
	e.must(e.call("PATCH", "/v1/agents/sup", e.admin, map[string]any{"role": "supervisor"}), 200)
	e.must(e.call("PATCH", "/v1/agents/adm", e.admin, map[string]any{"role": "admin"}), 200)

	type route struct {
		method, path string
		body         any
		min          routing.Role
	}
	n := 0
	fresh := func() string { n++; return e.inbound(fmt.Sprintf("+4477009%05d", n), "hi") } // assigned to ag
	table := func(c, contact string, i int) []route {
		return []route{
			{"GET", "/v1/me", nil, routing.RoleAgent},
			{"GET", "/v1/me/notifications", nil, routing.RoleAgent},
			{"GET", "/v1/conversations", nil, routing.RoleAgent},
			{"GET", "/v1/conversations/" + c, nil, routing.RoleAgent},
			{"GET", "/v1/conversations/" + c + "/events", nil, routing.RoleAgent},
			{"POST", "/v1/conversations/" + c + "/comments", map[string]any{"text": "note"}, routing.RoleAgent},
			{"POST", "/v1/conversations/" + c + "/messages", map[string]any{"text": "hello"}, routing.RoleAgent},
			{"POST", "/v1/conversations/" + c + "/escalate", map[string]any{"type": "billing", "summary": "s"}, routing.RoleAgent},
			{"POST", "/v1/conversations/" + c + "/assign", map[string]any{"teamId": "front", "note": "move"}, routing.RoleAgent},
			{"POST", "/v1/conversations/" + c + "/take", nil, routing.RoleAgent},
			{"POST", "/v1/conversations/" + c + "/close", nil, routing.RoleAgent},
			{"GET", "/v1/escalations", nil, routing.RoleSupervisor},
			{"GET", "/v1/contacts/" + contact, nil, routing.RoleAgent},
			{"PATCH", "/v1/contacts/" + contact, map[string]any{"name": "N"}, routing.RoleAgent},
			{"GET", "/v1/teams", nil, routing.RoleAdmin},
			{"POST", "/v1/teams", map[string]any{"id": fmt.Sprintf("t%d", i), "name": "T"}, routing.RoleAdmin},
			{"GET", "/v1/teams/front", nil, routing.RoleAdmin},
			{"PATCH", "/v1/teams/extra", map[string]any{"name": "Extra"}, routing.RoleAdmin},
			{"PUT", "/v1/teams/extra/members/ag", nil, routing.RoleAdmin},
			{"DELETE", "/v1/teams/extra/members/ag", nil, routing.RoleAdmin},
			{"GET", "/v1/agents", nil, routing.RoleAdmin},
			{"POST", "/v1/agents", map[string]any{"id": fmt.Sprintf("new%d", i), "name": "New", "maxConcurrent": 1}, routing.RoleAdmin},
			{"GET", "/v1/agents/sup", nil, routing.RoleSupervisor},
			{"PATCH", "/v1/agents/ag", map[string]any{"maxConcurrent": 50}, routing.RoleAdmin},
			{"PUT", "/v1/agents/sup/status", map[string]any{"status": "offline"}, routing.RoleSupervisor},
			{"POST", "/v1/agents/sup/session/extend", nil, routing.RoleSupervisor},
			{"GET", "/v1/channels", nil, routing.RoleAdmin},
			{"POST", "/v1/channels", map[string]any{"id": fmt.Sprintf("ch%d", i), "provider": "generic", "secretRef": "file:x"}, routing.RoleAdmin},
			{"PUT", "/v1/channels/x/secret", map[string]any{"secret": "s"}, routing.RoleAdmin},
			{"GET", "/v1/stats/queues", nil, routing.RoleSupervisor},
			{"GET", "/v1/stats/bot", nil, routing.RoleSupervisor},
			{"POST", "/v1/conversations/" + c + "/handoff", map[string]any{"reason": "r"}, routing.RoleAgent}, // 409: not in the bot phase
			{"POST", "/v1/dev/clock/advance", map[string]any{"duration": "1s"}, routing.RoleAdmin},
			{"POST", "/v1/workflows", fmt.Sprintf(shortcutDef, i), routing.RoleAdmin},
			{"GET", "/v1/workflows", nil, routing.RoleAdmin},
			{"GET", "/v1/workflows/sc", nil, routing.RoleAdmin},
			{"POST", "/v1/workflows/sc/publish", nil, routing.RoleAdmin},
			{"GET", "/v1/workflows/sc/asl", nil, routing.RoleAdmin},
			{"GET", "/v1/workflows/sc/graph", nil, routing.RoleAdmin},
			{"PATCH", "/v1/workflows/sc", map[string]any{"priority": 1}, routing.RoleAdmin},
			{"POST", "/v1/workflows/sc/enable", nil, routing.RoleAdmin},
			{"POST", "/v1/workflows/nope/disable", nil, routing.RoleAdmin}, // 404
			{"DELETE", "/v1/workflows/nope", nil, routing.RoleAdmin},       // 404
			{"DELETE", "/v1/teams/nope", nil, routing.RoleAdmin},
			{"DELETE", "/v1/agents/nope", nil, routing.RoleAdmin},
			{"DELETE", "/v1/channels/nope", nil, routing.RoleAdmin},
			{"GET", "/v1/shortcuts", nil, routing.RoleAgent},
			{"POST", "/v1/conversations/" + c + "/shortcuts/sc", map[string]any{"form": map[string]string{"note": "n"}}, routing.RoleAgent},
		}
	}
	e.must(e.call("POST", "/v1/workflows", e.admin, fmt.Sprintf(shortcutDef, 0)), 201)
	e.must(e.call("POST", "/v1/workflows/sc/publish", e.admin, nil), 200)
	covered := map[string]bool{}
	for i, who := range []string{"ag", "sup", "adm"} {
		role := []routing.Role{routing.RoleAgent, routing.RoleSupervisor, routing.RoleAdmin}[i]
		tok := e.token(who)
		for j, rt := range table("", "", 0) {
			c := fresh()
			contact := e.conv(c).str("contactId")
			rt = table(c, contact, i*100+j)[j]
			if strings.HasSuffix(rt.path, "/take") { // take needs a pending conversation of the user's (manual) team
				e.must(e.call("POST", "/v1/conversations/"+c+"/assign", e.admin, map[string]any{"teamId": "spare", "note": "park"}), 200)
			}
			r := e.call(rt.method, rt.path, tok, rt.body)
			denied := role.Rank() < rt.min.Rank()
			if denied && r.Status != 403 {
				t.Errorf("%s %s %s: %d, want 403: %s", who, rt.method, rt.path, r.Status, r.Raw)
			}
			if !denied && (r.Status == 403 || r.Status >= 500 || r.Status == 401) {
				t.Errorf("%s %s %s: %d, want allowed: %s", who, rt.method, rt.path, r.Status, r.Raw)
			}
			if r := e.call(rt.method, rt.path, "", rt.body); r.Status != 401 || r.str("error.code") != "unauthenticated" {
				t.Errorf("%s %s without a token: %d", rt.method, rt.path, r.Status)
			}
			covered[rt.method+" "+pattern(rt.path)] = true
		}
	}
	// a bot reads, answers and hands off only conversations in their bot
	// phase: on everything else, every route is 403
	botTok, err := e.m.Signer.Sign(auth.Principal{Subject: "helper-bot", Role: routing.RoleBot}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := fresh()
	for _, rt := range table(c, e.conv(c).str("contactId"), 999) {
		if r := e.call(rt.method, rt.path, botTok, rt.body); r.Status != 403 {
			t.Errorf("bot %s %s: %d, want 403: %s", rt.method, rt.path, r.Status, r.Raw)
		}
	}
	// every authenticated route is in the table
	api := httpapi.New(httpapi.Config{Engine: e.m.Engine, Auth: e.m.Signer, AdvanceClock: e.m.Advance, Workflows: e.m.Flows})
	for _, r := range api.Routes() {
		if !covered[r.Pattern] {
			t.Errorf("route %s is not in the role table", r.Pattern)
		}
	}
}

// shortcutDef is a shortcut workflow; %d changes its description.
const shortcutDef = `{"id":"sc","name":"Note","description":"d%d","trigger":{"type":"shortcut","name":"Note","form":[{"id":"note","label":"Note","type":"text","required":true}]},"steps":[{"id":"c","type":"comment","text":"{{form.note}}"}]}`

// pattern turns a concrete path back into its route pattern.
func pattern(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		switch {
		case strings.HasPrefix(p, "conv_"):
			parts[i] = "{id}"
		case strings.HasPrefix(p, "ct_"):
			parts[i] = "{id}"
		case i == 3 && (parts[2] == "teams" || parts[2] == "agents" || parts[2] == "workflows" || parts[2] == "channels") && p != "":
			parts[i] = "{id}"
		case i == 5 && parts[4] == "shortcuts":
			parts[i] = "{workflowId}"
		case i == 5 && parts[4] == "members":
			parts[i] = "{agentId}"
		}
	}
	return strings.Join(parts, "/")
}

// Bad input: each a 4xx in the error shape naming the field, and nothing changed.
func TestBadInput(t *testing.T) {
	e := start(t, "front")
	e.team("front", routing.RoundRobin, routing.ModeAutomatic, false)
	e.agent("ag", 5, routing.StatusOnline, "front")
	e.agent("bo", 5, routing.StatusOnline, "front")
	e.agent("full", 0, routing.StatusOnline)
	c := e.inbound("+33612345678", "bonjour")
	before := e.conv(c)
	agentsBefore := len(e.must(e.call("GET", "/v1/agents", e.admin, nil), 200).items())
	big := `{"text":"` + strings.Repeat("x", httpapi.MaxBody+10) + `"}`
	tok := e.token("ag")
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		code, field        string
	}{
		{"malformed JSON", "POST", "/v1/conversations/" + c + "/comments", `{"text": `, 400, "invalid_argument", ""},
		{"not an object", "POST", "/v1/conversations/" + c + "/comments", `[1,2]`, 400, "invalid_argument", "body"},
		{"two objects", "POST", "/v1/conversations/" + c + "/comments", `{"text":"a"}{"text":"b"}`, 400, "invalid_argument", ""},
		{"unknown field", "POST", "/v1/conversations/" + c + "/comments", `{"text":"a","colour":"red"}`, 400, "invalid_argument", "colour"},
		{"missing required", "POST", "/v1/conversations/" + c + "/comments", `{}`, 400, "invalid_argument", "text"},
		{"wrong type", "POST", "/v1/conversations/" + c + "/comments", `{"text": 5}`, 400, "invalid_argument", "text"},
		{"oversized body", "POST", "/v1/conversations/" + c + "/comments", big, 413, "invalid_argument", ""},
		{"unknown conversation", "POST", "/v1/conversations/conv_nope/close", `{}`, 404, "not_found", ""},
		{"unknown agent target", "POST", "/v1/conversations/" + c + "/assign", `{"agentId":"ghost","note":"n"}`, 400, "invalid_argument", "agentId"},
		{"unknown team target", "POST", "/v1/conversations/" + c + "/assign", `{"teamId":"ghost","note":"n"}`, 400, "invalid_argument", "teamId"},
		{"agent at capacity", "POST", "/v1/conversations/" + c + "/assign", `{"agentId":"full","note":"n"}`, 409, "conflict", "agentId"},
		{"both targets", "POST", "/v1/conversations/" + c + "/assign", `{"teamId":"front","agentId":"bo","note":"n"}`, 400, "invalid_argument", "agentId"},
		{"stale version", "POST", "/v1/conversations/" + c + "/assign", fmt.Sprintf(`{"agentId":"bo","note":"n","version":%d}`, int(before.num("version"))-1), 409, "conflict", ""},
		{"bad escalation type", "POST", "/v1/conversations/" + c + "/escalate", `{"type":"soon","summary":"s"}`, 400, "invalid_argument", "type"},
		{"bad status filter", "GET", "/v1/conversations?status=lost", nil, 400, "invalid_argument", "status"},
		{"bad limit", "GET", "/v1/conversations?limit=0", nil, 400, "invalid_argument", "limit"},
		{"agent without max", "POST", "/v1/agents", `{"id":"zed","name":"Zed"}`, 400, "invalid_argument", "maxConcurrent"},
		{"agent bad id", "POST", "/v1/agents", `{"id":"Zed Z","name":"Zed","maxConcurrent":1}`, 400, "invalid_argument", "id"},
		{"agent max negative", "POST", "/v1/agents", `{"id":"zed","name":"Zed","maxConcurrent":-1}`, 400, "invalid_argument", "maxConcurrent"},
		{"agent unknown team", "POST", "/v1/agents", `{"id":"zed","name":"Zed","maxConcurrent":1,"teams":["front","nope"]}`, 400, "invalid_argument", "teams[1]"},
		{"agent wrong type", "POST", "/v1/agents", `{"id":"zed","name":"Zed","maxConcurrent":"two"}`, 400, "invalid_argument", "maxConcurrent"},
		{"duplicate agent", "POST", "/v1/agents", `{"id":"ag","name":"Again","maxConcurrent":1}`, 409, "conflict", "id"},
		{"team bad strategy", "POST", "/v1/teams", `{"id":"x","name":"X","strategy":"random"}`, 400, "invalid_argument", "strategy"},
		{"status unknown", "PUT", "/v1/agents/ag/status", `{"status":"away"}`, 400, "invalid_argument", "status"},
		{"unknown route", "GET", "/v1/nothing", nil, 404, "not_found", ""},
		{"patch agent wrong type", "PATCH", "/v1/agents/ag", `{"maxConcurrent":"two"}`, 400, "invalid_argument", "maxConcurrent"},
		{"patch team wrong type", "PATCH", "/v1/teams/front", `{"onlineOnly":"yes"}`, 400, "invalid_argument", "onlineOnly"},
		{"patch contact wrong type", "PATCH", "/v1/contacts/" + before.str("contactId"), `{"fields":{"vip":3}}`, 400, "invalid_argument", "fields.vip"},
		{"invalid UTF-8", "POST", "/v1/agents", "{\"id\":\"zed\",\"name\":\"\xff\xfe\",\"maxConcurrent\":1}", 400, "invalid_argument", "name"},
		{"invalid UTF-8 nested", "PATCH", "/v1/contacts/" + before.str("contactId"), "{\"fields\":{\"note\":\"ok\",\"city\":\"M\xe1laga\"}}", 400, "invalid_argument", "fields.city"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			who := e.admin
			if strings.Contains(tc.path, "/comments") {
				who = tok
			}
			r := e.call(tc.method, tc.path, who, tc.body)
			if r.Status != tc.status || r.str("error.code") != tc.code || r.str("error.field") != tc.field {
				t.Fatalf("got %d %s", r.Status, r.Raw)
			}
			if r.str("error.message") == "" {
				t.Fatal("no message")
			}
		})
	}
	after := e.conv(c)
	if after.num("version") != before.num("version") || after.str("assigneeId") != before.str("assigneeId") {
		t.Fatalf("refused requests changed the conversation: %s -> %s", before.Raw, after.Raw)
	}
	if n := len(e.must(e.call("GET", "/v1/agents", e.admin, nil), 200).items()); n != agentsBefore {
		t.Fatalf("agents %d -> %d", agentsBefore, n)
	}
	if types := e.eventTypes(c); count(types, string(routing.EvComment)) != 0 {
		t.Fatalf("a refused comment reached the timeline: %v", types)
	}
}

// docs/openapi.yaml documents exactly the routes the handler serves.
func TestOpenAPIMatchesHandler(t *testing.T) {
	e := start(t, "")
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	roles := map[string]string{} // operation -> its x-role
	bots := map[string]bool{}    // operation -> open to bots (x-bot)
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method == "parameters" {
				continue
			}
			key := strings.ToUpper(method) + " " + path
			documented[key] = true
			var o struct {
				Role      string         `yaml:"x-role"`
				Bot       bool           `yaml:"x-bot"`
				Responses map[string]any `yaml:"responses"`
			}
			b, _ := yaml.Marshal(op)
			if err := yaml.Unmarshal(b, &o); err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			roles[key] = o.Role
			bots[key] = o.Bot
			has4xx := false
			for status := range o.Responses {
				has4xx = has4xx || (len(status) == 3 && status[0] == '4')
			}
			if !has4xx {
				t.Errorf("%s documents no 4xx response", key)
			}
		}
	}
	api := httpapi.New(httpapi.Config{Engine: e.m.Engine, Auth: e.m.Signer, AdvanceClock: e.m.Advance, Workflows: e.m.Flows})
	served := map[string]bool{"GET /v1/health": true, "POST /v1/webhooks/{provider}": true, "GET /v1/webhooks/{provider}": true}
	for k := range served {
		if roles[k] != "public" {
			t.Errorf("%s: x-role %q, want public", k, roles[k])
		}
	}
	for _, r := range api.Routes() {
		served[r.Pattern] = true
		if want := string(r.MinRole); roles[r.Pattern] != want && documented[r.Pattern] {
			t.Errorf("%s: x-role %q, but the route needs %s", r.Pattern, roles[r.Pattern], want)
		}
		if bots[r.Pattern] != r.Bot && documented[r.Pattern] {
			t.Errorf("%s: x-bot %v, but the route is open to bots: %v", r.Pattern, bots[r.Pattern], r.Bot)
		}
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Fatalf("undocumented routes %v; documented but not served %v", missing, extra)
	}
}
