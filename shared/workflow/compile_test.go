package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func compileSource(t *testing.T, name string, opts ...Options) (*Definition, map[string]any) {
	t.Helper()
	def := parseFile(t, sources(t)[name])
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	asl, err := CompileWith(def, o)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(asl, &m); err != nil {
		t.Fatal(err)
	}
	return def, m
}

func states(m map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for k, v := range m["States"].(map[string]any) {
		out[k] = v.(map[string]any)
	}
	return out
}

func TestCompileIsDeterministic(t *testing.T) {
	for name, path := range sources(t) {
		def := parseFile(t, path)
		first, err := Compile(def)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			again, _ := Compile(parseFile(t, path))
			if !bytes.Equal(first, again) {
				t.Fatalf("%s: compile is not deterministic", name)
			}
		}
	}
}

// TestCompiledMachinesAreWellFormed checks every generated machine against
// the contract: each target exists, every Task calls the one task function
// with Retry and a Catch that records the failure, and nothing uses
// JSONata or IsPresent: false.
func TestCompiledMachinesAreWellFormed(t *testing.T) {
	for _, name := range sortedKeys(sources(t)) {
		_, m := compileSource(t, name)
		st := states(m)
		if _, ok := st[m["StartAt"].(string)]; !ok {
			t.Errorf("%s: StartAt %v is not a state", name, m["StartAt"])
		}
		var targets []string
		for sn, s := range st {
			if n, ok := s["Next"].(string); ok {
				targets = append(targets, n)
			}
			if n, ok := s["Default"].(string); ok {
				targets = append(targets, n)
			}
			for _, c := range asList(s["Choices"]) {
				targets = append(targets, c.(map[string]any)["Next"].(string))
			}
			catches := asList(s["Catch"])
			for _, c := range catches {
				targets = append(targets, c.(map[string]any)["Next"].(string))
			}
			if s["Type"] != "Task" {
				continue
			}
			params := s["Parameters"].(map[string]any)
			payload := params["Payload"].(map[string]any)
			if params["FunctionName"] != TaskFunctionPlaceholder || payload["state.$"] != "$" || payload["action"] == nil {
				t.Errorf("%s/%s: Task does not follow the contract: %v", name, sn, params)
			}
			if len(asList(s["Retry"])) != 1 || len(catches) == 0 {
				t.Errorf("%s/%s: Task without Retry or Catch", name, sn)
			}
			last := catches[len(catches)-1].(map[string]any)
			wantLast := stateRecordFailure
			if sn == stateRecordFailure {
				wantLast = stateFailed
			}
			if last["Next"] != wantLast || last["ResultPath"] != "$.error" {
				t.Errorf("%s/%s: last Catch %v", name, sn, last)
			}
			switch s["Resource"] {
			case ResourceInvoke:
				if payload["action"] == ActionAsk {
					t.Errorf("%s/%s: ask must wait for its token", name, sn)
				}
			case ResourceInvokeWait:
				if payload["action"] != ActionAsk || payload["TaskToken.$"] != "$$.Task.Token" || s["TimeoutSeconds"] == nil {
					t.Errorf("%s/%s: callback task malformed: %v", name, sn, s)
				}
			default:
				t.Errorf("%s/%s: resource %v", name, sn, s["Resource"])
			}
		}
		for _, target := range targets {
			if _, ok := st[target]; !ok {
				t.Errorf("%s: target %q is not a state", name, target)
			}
		}
		raw, _ := json.Marshal(m)
		for _, bad := range []string{`"IsPresent":false`, "JSONata", "QueryLanguage", "{%"} {
			if strings.Contains(string(raw), bad) {
				t.Errorf("%s: machine contains %s", name, bad)
			}
		}
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func TestExamplesCoverEveryStepAndTrigger(t *testing.T) {
	steps, triggers := map[string]bool{}, map[string]bool{}
	subjects := map[string]bool{}
	for _, path := range sources(t) {
		def := parseFile(t, path)
		triggers[def.Trigger.Type] = true
		for _, s := range def.Steps {
			steps[s.Type] = true
			for _, b := range s.Branches {
				for _, c := range b.Conditions {
					sub, _ := branchSubject(c.Subject)
					key := sub.ns
					if key == "" || key == "conversation" {
						key = c.Subject
					}
					subjects[key] = true
				}
			}
		}
	}
	for _, s := range StepTypes {
		if !steps[s] {
			t.Errorf("no golden workflow uses step type %s", s)
		}
	}
	for _, tr := range TriggerTypes {
		if !triggers[tr] {
			t.Errorf("no golden workflow uses trigger %s", tr)
		}
	}
	for _, s := range []string{"contact", "form", "vars", "time_since_last_incoming", "time_since_last_outgoing",
		"conversation.status", "conversation.assignments", "conversation.team", "conversation.botActive", "conversation.escalation"} {
		if !subjects[s] {
			t.Errorf("no golden workflow branches on %s", s)
		}
	}
}

// TestSnapshotsOnlyWhereLiveDataIsRead checks the per-step compile (kept
// for the cost report's "before"); stretches take their snapshots in Go.
func TestSnapshotsOnlyWhereLiveDataIsRead(t *testing.T) {
	cases := map[string]map[string]string{
		// step id -> type of the state named after it
		"s1-escalation-shortcut": {"route": "Choice"},                             // form only: no snapshot
		"s5-route-by-choice":     {"route": "Choice"},                             // vars only
		"s2-reassign-unanswered": {"check_reply": "Task"},                         // live data after a wait
		"chained-branches":       {"by_language": "Task", "by_country": "Choice"}, // reuses by_language's snapshot
		"all-steps":              {"triage": "Task"},
	}
	for name, want := range cases {
		_, m := compileSource(t, name, Options{PerStep: true})
		st := states(m)
		for id, typ := range want {
			if st[id]["Type"] != typ {
				t.Errorf("%s: state %s is %v, want %s", name, id, st[id]["Type"], typ)
			}
			if typ == "Task" {
				if st[id]["ResultPath"] != "$.ctx" || st[id+".choice"]["Type"] != "Choice" {
					t.Errorf("%s: snapshot %s malformed", name, id)
				}
			}
		}
	}
}

func TestConditionRules(t *testing.T) {
	cases := []struct {
		subject, op, value, want string
	}{
		{"contact.language", OpEquals, "es", `{"And":[{"Variable":"$.ctx.data.contact.language","IsPresent":true},{"Variable":"$.ctx.data.contact.language","StringEquals":"es"}]}`},
		{"contact.vip", OpNotEquals, "no", `{"Or":[{"Not":{"Variable":"$.ctx.data.contact.fields.vip","IsPresent":true}},{"Not":{"Variable":"$.ctx.data.contact.fields.vip","StringEquals":"no"}}]}`},
		{"contact.name", OpContains, `a*b\c`, `{"And":[{"Variable":"$.ctx.data.contact.name","IsPresent":true},{"Variable":"$.ctx.data.contact.name","StringMatches":"*a\\*b\\\\c*"}]}`},
		{"conversation.assignments", OpGreaterThan, "1", `{"And":[{"Variable":"$.ctx.data.conversation.assignments","IsPresent":true},{"Variable":"$.ctx.data.conversation.assignments","NumericGreaterThan":1}]}`},
		{"time_since_last_incoming", OpLessThan, "10m", `{"And":[{"Variable":"$.ctx.data.secondsSinceLastIncoming","IsPresent":true},{"Variable":"$.ctx.data.secondsSinceLastIncoming","NumericLessThan":600}]}`},
		{"time_since_last_outgoing", OpNotExists, "", `{"Not":{"Variable":"$.ctx.data.secondsSinceLastOutgoing","IsPresent":true}}`},
		{"conversation.assignee", OpExists, "", `{"Variable":"$.ctx.data.conversation.assigneeId","IsPresent":true}`},
		{"conversation.botActive", OpEquals, "false", `{"And":[{"Variable":"$.ctx.data.conversation.botActive","IsPresent":true},{"Variable":"$.ctx.data.conversation.botActive","BooleanEquals":false}]}`},
		{"conversation.assignments", OpNotEquals, "0", `{"Or":[{"Not":{"Variable":"$.ctx.data.conversation.assignments","IsPresent":true}},{"Not":{"Variable":"$.ctx.data.conversation.assignments","NumericEquals":0}}]}`},
		{"vars.team", OpEquals, "sales", `{"And":[{"Variable":"$.vars.team","IsPresent":true},{"Variable":"$.vars.team","StringEquals":"sales"}]}`},
		{"form.team", OpEquals, "billing", `{"And":[{"Variable":"$.form.team","IsPresent":true},{"Variable":"$.form.team","StringEquals":"billing"}]}`},
	}
	for _, c := range cases {
		cond := Condition{Subject: c.subject, Operator: c.op}
		if c.value != "" {
			cond.Value = V(c.value)
		}
		got, _ := json.Marshal(conditionRule(cond))
		if string(got) != c.want {
			t.Errorf("%s %s %q:\n got %s\nwant %s", c.subject, c.op, c.value, got, c.want)
		}
	}
	// match any flattens nested Or, match all flattens nested And.
	b := Branch{Match: MatchAll, Conditions: []Condition{
		{Subject: "contact.language", Operator: OpEquals, Value: V("es")},
		{Subject: "contact.country", Operator: OpExists},
	}}
	got, _ := json.Marshal(branchRule(b))
	want := `{"And":[{"Variable":"$.ctx.data.contact.language","IsPresent":true},{"Variable":"$.ctx.data.contact.language","StringEquals":"es"},{"Variable":"$.ctx.data.contact.country","IsPresent":true}]}`
	if string(got) != want {
		t.Errorf("branch rule:\n got %s\nwant %s", got, want)
	}
}

func TestCompileRejectsInvalid(t *testing.T) {
	def, err := Parse([]byte(opened + "  - {id: a, type: wait}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(def)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Errors[0].Step != "a" || ve.Errors[0].Field != "duration" {
		t.Fatalf("got %v", err)
	}
}

func TestExpressEligible(t *testing.T) {
	want := map[string]bool{
		"s1-escalation-shortcut": true, "s5-route-by-language": true,
		// 4 and 5 tasks on the longest path: above ExpressMaxSeconds, so Standard
		"contact-field-changed": false, "chained-branches": false,
		"s2-reassign-unanswered": false, "s5-route-by-choice": false, "reminder-loop": false, "all-steps": false,
	}
	for name, w := range want {
		if got := ExpressEligible(parseFile(t, sources(t)[name])); got != w {
			t.Errorf("%s: ExpressEligible = %v, want %v", name, got, w)
		}
	}
}

func TestGraph(t *testing.T) {
	g := Graph(parseFile(t, sources(t)["s1-escalation-shortcut"]))
	for _, want := range []string{
		"flowchart TD\n",
		`trigger(["Shortcut: Escalate to Billing or Technical Support"])`,
		"trigger --> n0",
		`n0{"route: Route to the selected team"}`,
		`n0 -->|"Billing"| n1`,
		`n0 -->|"Technical Support"| n3`,
		`n0 -->|"else"| stop`,
		`n2["summary_billing: Escalation summary for Billing"]`,
		"n2 --> stop",
		"n3 --> n4",
		"stop((end))",
	} {
		if !strings.Contains(g, want) {
			t.Errorf("graph lacks %q:\n%s", want, g)
		}
	}
	g = Graph(parseFile(t, sources(t)["all-steps"]))
	for _, want := range []string{
		`n1(["ask_reason: Why a refund?"])`,
		`n1 -->|"answer"| n2`, `n1 -->|"timeout"| n10`, `n1 -->|"invalid"| n9`,
		`n7{{"retry: Go to triage (at most 3 times)"}}`, `n7 -->|"loop"| n2`, `n7 -->|"after 3"| n8`,
		`n6(["wait_a_bit: Wait 1h30m"])`,
		`Message received (text contains refund or text contains reembolso)`,
	} {
		if !strings.Contains(g, want) {
			t.Errorf("graph lacks %q:\n%s", want, g)
		}
	}
	if got := mermaidLabel(`say "hi" <b>|x`); got != `"say #quot;hi#quot; #lt;b#gt;#124;x"` {
		t.Errorf("mermaidLabel = %s", got)
	}
}

func TestWriteStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"plain", `q"uote\back`, "tab\tnl\ncr\r\x01\x1f", "ñandú – 日本", "bad\xffutf8", "line\u2028sep\u2029", "<&>"} {
		var b bytes.Buffer
		writeString(&b, s)
		var back string
		if err := json.Unmarshal(b.Bytes(), &back); err != nil {
			t.Fatalf("%q: %v (%s)", s, err, b.Bytes())
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if back != want {
			t.Errorf("round trip of %q gave %q", s, back)
		}
	}
}
