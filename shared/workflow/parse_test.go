package workflow

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const s2YAML = `
id: reassign-unanswered
name: Reassign
trigger:
  type: conversation_opened
  firstAssignmentOnly: true
  conditions:
    - {subject: source, operator: equals, value: contact}
steps:
  - {id: first, type: assign, agent: ana}
  - {id: wait, type: wait, duration: 900}
  - id: check
    type: branch
    branches:
      - name: unanswered
        conditions:
          - {subject: conversation.status, operator: equals, value: open}
          - {subject: time_since_last_outgoing, operator: not_exists}
        next: again
    else: end
  - {id: again, type: assign, team: support, onlineOnly: true}
`

const s2JSON = `{
  "id": "reassign-unanswered",
  "name": "Reassign",
  "trigger": {"type": "conversation_opened", "firstAssignmentOnly": true,
              "conditions": [{"subject": "source", "operator": "equals", "value": "contact"}]},
  "steps": [
    {"id": "first", "type": "assign", "agent": "ana"},
    {"id": "wait", "type": "wait", "duration": 900},
    {"id": "check", "type": "branch", "else": "end", "branches": [
      {"name": "unanswered", "next": "again", "conditions": [
        {"subject": "conversation.status", "operator": "equals", "value": "open"},
        {"subject": "time_since_last_outgoing", "operator": "not_exists"}]}]},
    {"id": "again", "type": "assign", "team": "support", "onlineOnly": true}
  ]
}`

func TestParseYAMLAndJSONAgree(t *testing.T) {
	y, err := Parse([]byte(s2YAML))
	if err != nil {
		t.Fatal(err)
	}
	j, err := Parse([]byte(s2JSON))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(y, j) {
		t.Fatalf("YAML and JSON differ:\n%+v\n%+v", y, j)
	}
	if y.Steps[1].Duration != "900" || y.Steps[3].OnlineOnly != true || y.Trigger.Conditions[0].Value.String() != "contact" {
		t.Fatalf("unexpected decode: %+v", y)
	}
	ay, err := Compile(y)
	if err != nil {
		t.Fatal(err)
	}
	aj, err := Compile(j)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ay, aj) {
		t.Fatal("same workflow in YAML and JSON compiled differently")
	}
}

func TestCanonicalRoundTrip(t *testing.T) {
	for name, path := range sources(t) {
		def := parseFile(t, path)
		canon, err := def.MarshalCanonical()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsAny(canon, "\n") || !json.Valid(canon) {
			t.Fatalf("%s: canonical form is not compact JSON: %s", name, canon)
		}
		back, err := Parse(canon)
		if err != nil {
			t.Fatalf("%s: canonical form does not parse: %v\n%s", name, err, canon)
		}
		if !reflect.DeepEqual(def, back) {
			t.Fatalf("%s: round trip changed the definition:\n%+v\n%+v", name, def, back)
		}
		again, _ := back.MarshalCanonical()
		if !bytes.Equal(canon, again) {
			t.Fatalf("%s: canonical form is not stable", name)
		}
	}
	def, _ := Parse([]byte(s2YAML))
	canon, _ := def.MarshalCanonical()
	if !strings.Contains(string(canon), `"duration":900`) || !strings.HasPrefix(string(canon), `{"id":"reassign-unanswered","name":"Reassign","trigger":{"type":"conversation_opened"`) {
		t.Fatalf("unexpected canonical form: %s", canon)
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct {
		name, in, step, field, msg string
	}{
		{"unknown step field", opened + "  - {id: a, type: close, nxt: end}\n", "a", "nxt", `unknown field "nxt"`},
		{"case typo suggests", opened + "  - {id: a, type: assign, team: x, onlineonly: true}\n", "a", "onlineonly", `did you mean "onlineOnly"`},
		{"unknown top-level field", "id: t\nname: T\nversion: 2\ntrigger: {type: conversation_closed}\nsteps: [{id: a, type: close}]\n", "", "version", "unknown field"},
		{"unknown trigger field", "id: t\nname: T\ntrigger: {type: conversation_closed, when: now}\nsteps: [{id: a, type: close}]\n", "", "trigger.when", "unknown field"},
		{"unknown condition field", opened + "  - id: r\n    type: branch\n    branches: [{conditions: [{subject: contact.x, op: exists}], next: end}]\n    else: end\n", "r", "branches[0].conditions[0].op", "unknown field"},
		{"wrong type", opened + "  - {id: q, type: ask, maxAttempts: three}\n", "q", "maxAttempts", "whole number"},
		{"fraction", opened + "  - {id: q, type: ask, maxAttempts: 2.5}\n", "q", "maxAttempts", "whole number"},
		{"steps not a list", "id: t\nname: T\ntrigger: {type: conversation_closed}\nsteps: {id: a}\n", "", "steps", "must be a list"},
		{"bool as string", opened + "  - {id: a, type: assign, team: x, onlineOnly: \"yes\"}\n", "a", "onlineOnly", "true or false"},
		{"duration as list", opened + "  - {id: w, type: wait, duration: [1]}\n", "w", "duration", "a duration is"},
		{"negative duration number", opened + "  - {id: w, type: wait, duration: -5}\n", "w", "duration", "whole number of seconds"},
		{"step without id", opened + "  - {type: close, when: now}\n", "", "steps[0].when", "unknown field"},
		{"json unknown field", `{"id":"t","name":"T","trigger":{"type":"conversation_closed"},"steps":[{"id":"a","type":"close","bogus":1}]}`, "a", "bogus", "unknown field"},
		{"json duplicate key", `{"id":"t","id":"u","name":"T","trigger":{"type":"conversation_closed"},"steps":[]}`, "", "", "duplicate key"},
		{"yaml duplicate key", "id: t\nid: u\n", "", "", "duplicate key"},
		{"json trailing data", `{"id":"t"} {"id":"u"}`, "", "", "unexpected data"},
		{"yaml two documents", "id: t\n---\nid: u\n", "", "", "one YAML document"},
		{"not an object", "- a\n- b\n", "", "", "must be an object"},
		{"empty", "  \n", "", "", "empty"},
		{"bad yaml", "id: [\n", "", "", "invalid YAML"},
		{"bad json", `{"id": }`, "", "", "invalid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.in))
			ve, ok := err.(*ValidationError)
			if !ok {
				t.Fatalf("want *ValidationError, got %T %v", err, err)
			}
			for _, e := range ve.Errors {
				if e.Step == c.step && e.Field == c.field && strings.Contains(e.Message, c.msg) {
					return
				}
			}
			t.Fatalf("want step %q field %q message containing %q; got %v", c.step, c.field, c.msg, ve.Errors)
		})
	}
}

func TestParseYAMLScalars(t *testing.T) {
	def, err := Parse([]byte(opened + `  - id: r
    type: branch
    branches:
      - conditions:
          - {subject: conversation.botActive, operator: equals, value: false}
          - {subject: conversation.assignments, operator: greater_than, value: 2}
          - {subject: contact.birthday, operator: equals, value: 2024-01-02}
          - {subject: contact.answer, operator: equals, value: no}
        next: end
    else: end
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range def.Steps[0].Branches[0].Conditions {
		got = append(got, c.Value.String())
	}
	want := []string{"false", "2", "2024-01-02", "no"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("values %q, want %q", got, want)
	}
	if errs := Validate(def, nil); len(errs) != 0 {
		t.Fatal(errs)
	}
}

func TestParseBounds(t *testing.T) {
	big := bytes.Repeat([]byte(" "), MaxDefinitionBytes+1)
	if _, err := Parse(big); err == nil {
		t.Fatal("accepted an oversized definition")
	}
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	if _, err := Parse([]byte(`{"id":` + deep + `}`)); err == nil || !strings.Contains(err.Error(), "too deep") {
		t.Fatalf("deep nesting: %v", err)
	}
}

func TestParseYAMLAliasBomb(t *testing.T) {
	doc := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g"} {
		doc += n + ": &" + n + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+", ", 10), ", ") + "]\n"
		prev = n
	}
	_, err := Parse([]byte(doc))
	if err == nil || !strings.Contains(err.Error(), "aliases") {
		t.Fatalf("want an alias expansion error, got %v", err)
	}
}
