package workflow

import (
	"strings"
	"testing"
)

// opened is a trigger header for the invalid-workflow table.
const opened = "id: t\nname: T\ntrigger:\n  type: conversation_opened\nsteps:\n"

const shortcutHead = `id: t
name: T
trigger:
  type: shortcut
  name: Go
  form:
    - {id: team, label: Team, type: select, options: [{id: a, label: A}, {id: b, label: B}]}
    - {id: note, label: Note, type: text}
steps:
`

func TestValidateRejects(t *testing.T) {
	cases := []struct {
		name      string
		yaml      string
		step      string
		field     string
		msg       string
		directory Directory
	}{
		{"missing step id", opened + "  - type: close\n", "", "steps[0].id", "required", nil},
		{"duplicate step id", opened + "  - {id: a, type: close}\n  - {id: a, type: close}\n", "a", "id", "duplicate step id", nil},
		{"unknown step type", opened + "  - {id: a, type: teleport}\n", "a", "type", "unknown step type", nil},
		{"unknown team", opened + "  - {id: a, type: assign, team: nope}\n", "a", "team", `unknown team "nope"`, demoDirectory{}},
		{"unknown agent", opened + "  - {id: a, type: assign, agent: zoe}\n", "a", "agent", `unknown agent "zoe"`, demoDirectory{}},
		{"unknown agent in a condition", opened + `  - id: r
    type: branch
    branches: [{conditions: [{subject: conversation.assignee, operator: equals, value: zoe}], next: end}]
    else: end
`, "r", "branches[0].conditions[0].value", `unknown agent "zoe"`, demoDirectory{}},
		{"unreachable step", opened + "  - {id: a, type: close, next: end}\n  - {id: orphan, type: close}\n", "orphan", "id", "unreachable", nil},
		{"branch without else", opened + `  - id: route
    type: branch
    branches: [{conditions: [{subject: contact.language, operator: equals, value: es}], next: a}]
  - {id: a, type: close}
`, "route", "else", "required", nil},
		{"bad duration", opened + "  - {id: w, type: wait, duration: 15 minutes}\n", "w", "duration", "invalid duration", nil},
		{"zero duration", opened + "  - {id: w, type: wait, duration: 0}\n", "w", "duration", "at least 1 second", nil},
		{"duration over a year", opened + "  - {id: w, type: wait, duration: 400d}\n", "w", "duration", "exceeds 365 days", nil},
		{"goto loop without wait", opened + "  - {id: a, type: comment, text: hi}\n  - {id: again, type: goto, target: a}\n", "again", "target", "no wait or ask", nil},
		{"branch back-edge without wait", opened + `  - {id: a, type: assign, team: sales}
  - id: route
    type: branch
    branches: [{conditions: [{subject: conversation.status, operator: equals, value: pending}], next: a}]
    else: end
`, "route", "branches[0].next", "no wait or ask", nil},
		{"variable never set", opened + `  - id: route
    type: branch
    branches: [{conditions: [{subject: vars.team, operator: equals, value: sales}], next: end}]
    else: end
`, "route", "branches[0].conditions[0].subject", "no ask step sets it", nil},
		{"variable unset on the timeout path", opened + `  - id: ask
    type: ask
    question: Team?
    options: [{id: sales, label: Sales}, {id: support, label: Support}]
    variable: team
    timeout: 10m
    onTimeout: route
  - id: route
    type: branch
    branches: [{conditions: [{subject: vars.team, operator: equals, value: sales}], next: end}]
    else: end
`, "route", "branches[0].conditions[0].subject", "may be unset", nil},
		{"variable in a template before its ask", opened + `  - {id: hello, type: send_message, text: "You chose {{vars.team}}"}
  - id: ask
    type: ask
    question: Team?
    options: [{id: sales, label: Sales}, {id: support, label: Support}]
    variable: team
    timeout: 10m
    onTimeout: end
`, "hello", "text", "may be unset", nil},
		{"form outside a shortcut", opened + `  - id: route
    type: branch
    branches: [{conditions: [{subject: form.team, operator: equals, value: a}], next: end}]
    else: end
`, "route", "branches[0].conditions[0].subject", "only shortcut workflows have a form", nil},
		{"form field not in the form", shortcutHead + `  - id: route
    type: branch
    branches: [{conditions: [{subject: form.priority, operator: equals, value: high}], next: end}]
    else: end
`, "route", "branches[0].conditions[0].subject", `has no field "priority"`, nil},
		{"form value not an option", shortcutHead + `  - id: route
    type: branch
    branches: [{conditions: [{subject: form.team, operator: equals, value: c}], next: end}]
    else: end
`, "route", "branches[0].conditions[0].value", "not an option of form field team", nil},
		{"form field in a template", opened + "  - {id: c, type: comment, text: \"{{form.summary}}\"}\n", "c", "text", "only shortcut workflows have a form", nil},
		{"invalid escalation type", opened + "  - {id: esc, type: escalate, escalationType: urgent}\n", "esc", "escalationType", "unknown escalation type", nil},
		{"ask with one option", opened + "  - {id: q, type: ask, question: \"Sure?\", options: [{id: y, label: Yes}], variable: ok, timeout: 5m, onTimeout: end}\n", "q", "options", "at least 2 options", nil},
		{"ask without timeout", opened + "  - {id: q, type: ask, question: \"Sure?\", options: [{id: y, label: Yes}, {id: n, label: No}], variable: ok, onTimeout: end}\n", "q", "timeout", "required", nil},
		{"ask without onTimeout", opened + "  - {id: q, type: ask, question: \"Sure?\", options: [{id: y, label: Yes}, {id: n, label: No}], variable: ok, timeout: 5m}\n", "q", "onTimeout", "required", nil},
		{"ask with duplicate options", opened + "  - {id: q, type: ask, question: \"Sure?\", options: [{id: y, label: Yes}, {id: y, label: No}], variable: ok, timeout: 5m, onTimeout: end}\n", "q", "options[1].id", "duplicate option id", nil},
		{"unknown operator", opened + `  - id: route
    type: branch
    branches:
      - {conditions: [{subject: contact.language, operator: equals, value: es}], next: end}
      - {conditions: [{subject: contact.country, operator: eq, value: MX}], next: end}
    else: end
`, "route", "branches[1].conditions[0].operator", `unknown operator "eq"`, nil},
		{"greater_than on text", opened + `  - id: route
    type: branch
    branches: [{conditions: [{subject: contact.name, operator: greater_than, value: m}], next: end}]
    else: end
`, "route", "branches[0].conditions[0].operator", "cannot be used with contact.name", nil},
		{"exists with a value", opened + `  - id: route
    type: branch
    branches: [{conditions: [{subject: contact.vip, operator: exists, value: yes}], next: end}]
    else: end
`, "route", "branches[0].conditions[0].value", "takes no value", nil},
		{"bad conversation status", opened + `  - id: route
    type: branch
    branches: [{conditions: [{subject: conversation.status, operator: equals, value: opened}], next: end}]
    else: end
`, "route", "branches[0].conditions[0].value", "not a conversation status", nil},
		{"bad time value", opened + `  - id: route
    type: branch
    branches: [{conditions: [{subject: time_since_last_incoming, operator: greater_than, value: soon}], next: end}]
    else: end
`, "route", "branches[0].conditions[0].value", "not a duration", nil},
		{"unknown subject", opened + `  - id: route
    type: branch
    branches: [{conditions: [{subject: weather.today, operator: equals, value: sunny}], next: end}]
    else: end
`, "route", "branches[0].conditions[0].subject", "unknown subject", nil},
		{"branch without conditions", opened + `  - id: route
    type: branch
    branches: [{name: always, next: end}]
    else: end
`, "route", "branches[0].conditions", "at least one condition", nil},
		{"unknown next", opened + "  - {id: a, type: close, next: b}\n", "a", "next", `unknown step "b"`, nil},
		{"field of another step type", opened + "  - {id: w, type: wait, duration: 5m, team: sales}\n", "w", "team", "not a field of a wait step", nil},
		{"next on a branch", opened + `  - id: route
    type: branch
    branches: [{conditions: [{subject: contact.language, operator: exists}], next: end}]
    else: end
    next: end
`, "route", "next", "not a field of a branch step", nil},
		{"agent and team", opened + "  - {id: a, type: assign, agent: ana, team: sales}\n", "a", "team", "not both", nil},
		{"assign to nobody", opened + "  - {id: a, type: assign}\n", "a", "team", "needs an agent or a team", nil},
		{"onlineOnly with an agent", opened + "  - {id: a, type: assign, agent: ana, onlineOnly: true}\n", "a", "onlineOnly", "only for assignment to a team", nil},
		{"unknown template reference", opened + "  - {id: c, type: comment, text: \"Hi {{customer.name}}\"}\n", "c", "text", "unknown reference", nil},
		{"unclosed template", opened + "  - {id: c, type: comment, text: \"Hi {{contact.name\"}\n", "c", "text", "unclosed", nil},
		{"vars value not an option", opened + `  - id: ask
    type: ask
    question: Team?
    options: [{id: sales, label: Sales}, {id: support, label: Support}]
    variable: team
    timeout: 10m
    onTimeout: end
  - id: route
    type: branch
    branches: [{conditions: [{subject: vars.team, operator: equals, value: billing}], next: end}]
    else: end
`, "route", "branches[0].conditions[0].value", "not an option of the question", nil},
		{"goto guard too large", opened + "  - {id: w, type: wait, duration: 1m}\n  - {id: g, type: goto, target: w, maxIterations: 1000}\n", "g", "maxIterations", "between 1 and 100", nil},
		{"goto to end", opened + "  - {id: g, type: goto, target: end}\n", "g", "target", "needs a step id", nil},
		{"reserved step id", opened + "  - {id: Done, type: close}\n", "Done", "id", "reserved", nil},
		{"update the phone", opened + "  - {id: u, type: update_contact, field: phone, value: \"123\"}\n", "u", "field", "cannot be changed", nil},
		{"shortcut with conditions", "id: t\nname: T\ntrigger:\n  type: shortcut\n  name: Go\n  conditions: [{subject: source, operator: equals, value: contact}]\nsteps:\n  - {id: a, type: close}\n", "", "trigger.conditions", "no conditions", nil},
		{"shortcut without a name", "id: t\nname: T\ntrigger:\n  type: shortcut\nsteps:\n  - {id: a, type: close}\n", "", "trigger.name", "required", nil},
		{"select without options", "id: t\nname: T\ntrigger:\n  type: shortcut\n  name: Go\n  form: [{id: team, label: Team, type: select}]\nsteps:\n  - {id: a, type: close}\n", "", "trigger.form[0].options", "needs options", nil},
		{"contact_field_changed without field", "id: t\nname: T\ntrigger:\n  type: contact_field_changed\nsteps:\n  - {id: a, type: close}\n", "", "trigger.field", "required", nil},
		{"trigger subject of another trigger", "id: t\nname: T\ntrigger:\n  type: conversation_closed\n  conditions: [{subject: text, operator: contains, value: hi}]\nsteps:\n  - {id: a, type: close}\n", "", "trigger.conditions[0].subject", "unknown subject", nil},
		{"firstAssignmentOnly on another trigger", "id: t\nname: T\ntrigger:\n  type: message_received\n  firstAssignmentOnly: true\nsteps:\n  - {id: a, type: close}\n", "", "trigger.firstAssignmentOnly", "only for the conversation_opened", nil},
		{"unknown trigger", "id: t\nname: T\ntrigger:\n  type: cron\nsteps:\n  - {id: a, type: close}\n", "", "trigger.type", "unknown trigger type", nil},
		{"no steps", "id: t\nname: T\ntrigger:\n  type: conversation_closed\nsteps: []\n", "", "steps", "at least one step", nil},
		{"no name", "id: t\ntrigger:\n  type: conversation_closed\nsteps:\n  - {id: a, type: close}\n", "", "name", "required", nil},
		{"bad workflow id", "id: 'my workflow'\nname: T\ntrigger:\n  type: conversation_closed\nsteps:\n  - {id: a, type: close}\n", "", "id", "invalid id", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			def, err := Parse([]byte(c.yaml))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			errs := Validate(def, c.directory)
			for _, e := range errs {
				if e.Step == c.step && e.Field == c.field && strings.Contains(e.Message, c.msg) {
					if _, err := Compile(def); err == nil && c.directory == nil {
						t.Fatal("Compile accepted an invalid workflow")
					}
					return
				}
			}
			t.Fatalf("want step %q field %q message containing %q; got %v", c.step, c.field, c.msg, errs)
		})
	}
}

func TestValidateDirectoryNilSkipsLookups(t *testing.T) {
	def, err := Parse([]byte(opened + "  - {id: a, type: assign, team: nope}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if errs := Validate(def, nil); len(errs) != 0 {
		t.Fatalf("nil directory should skip team checks: %v", errs)
	}
	if errs := Validate(def, demoDirectory{}); len(errs) != 1 {
		t.Fatalf("want 1 error with the directory, got %v", errs)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	def, err := Parse([]byte(opened + "  - {id: a, type: wait, duration: 2 days}\n  - {id: b, type: escalate, escalationType: soon}\n  - {id: c, type: assign}\n"))
	if err != nil {
		t.Fatal(err)
	}
	errs := Validate(def, nil)
	got := map[string]bool{}
	for _, e := range errs {
		got[e.Path()] = true
	}
	for _, want := range []string{"steps[a].duration", "steps[b].escalationType", "steps[c].team"} {
		if !got[want] {
			t.Errorf("missing error at %s; got %v", want, errs)
		}
	}
	ve := AsError(errs).(*ValidationError)
	re := ve.RoutingError()
	if re.Field != "steps[a].duration" || !strings.Contains(re.Message, "and 2 more") {
		t.Errorf("RoutingError = %+v", re)
	}
}

func TestLoopWithWaitIsAllowed(t *testing.T) {
	def, err := Parse([]byte(opened + `  - {id: w, type: wait, duration: 1h}
  - id: route
    type: branch
    branches: [{conditions: [{subject: conversation.status, operator: equals, value: pending}], next: w}]
    else: end
`))
	if err != nil {
		t.Fatal(err)
	}
	if errs := Validate(def, nil); len(errs) != 0 {
		t.Fatalf("a loop through a wait is valid: %v", errs)
	}
}

// A cycle that contains a wait can still hide an inner cycle without one.
func TestInnerLoopWithoutWaitIsFound(t *testing.T) {
	def, err := Parse([]byte(opened + `  - {id: w, type: wait, duration: 1h}
  - id: route
    type: branch
    branches:
      - {conditions: [{subject: conversation.status, operator: equals, value: pending}], next: w}
      - {conditions: [{subject: conversation.status, operator: equals, value: open}], next: note}
    else: end
  - {id: note, type: comment, text: still open}
  - {id: back, type: goto, target: route}
`))
	if err != nil {
		t.Fatal(err)
	}
	errs := Validate(def, nil)
	if len(errs) != 1 || errs[0].Step != "back" || errs[0].Field != "target" {
		t.Fatalf("want the inner loop reported at back.target, got %v", errs)
	}
}

func TestParseDuration(t *testing.T) {
	good := map[string]int64{"15m": 900, "2h": 7200, "1h30m": 5400, "90": 90, "45s": 45, "1d12h": 129600, " 10m ": 600}
	for in, want := range good {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "15x", "1m1h", "1h1h", "-5m", "1.5h", "0", "0m", "366d", "15 m", "99999999999"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}

// A step of unknown type is reported once; the steps after it are not
// reported unreachable because of it.
func TestUnknownTypeDoesNotCascade(t *testing.T) {
	def, err := Parse([]byte(opened + "  - {id: a, type: teleport}\n  - {id: b, type: close}\n"))
	if err != nil {
		t.Fatal(err)
	}
	errs := Validate(def, nil)
	if len(errs) != 1 || errs[0].Step != "a" || errs[0].Field != "type" {
		t.Fatalf("got %v", errs)
	}
}
