package workflow

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

func mustParse(t *testing.T, src string) *Definition {
	t.Helper()
	def, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if errs := Validate(def, nil); len(errs) > 0 {
		t.Fatal(AsError(errs))
	}
	return def
}

func TestMatches(t *testing.T) {
	s2 := mustParse(t, s2YAML)
	shortcut := mustParse(t, shortcutHead+"  - {id: a, type: close}\n")
	msg := mustParse(t, `id: m
name: M
trigger:
  type: message_received
  match: any
  conditions:
    - {subject: text, operator: contains, value: refund}
    - {subject: contact.language, operator: equals, value: es}
steps: [{id: a, type: close}]
`)
	field := mustParse(t, `id: f
name: F
trigger:
  type: contact_field_changed
  field: vip
  conditions: [{subject: value, operator: not_equals, value: "no"}]
steps: [{id: a, type: close}]
`)
	closed := mustParse(t, "id: c\nname: C\ntrigger: {type: conversation_closed}\nsteps: [{id: a, type: close}]\n")
	cases := []struct {
		name string
		def  *Definition
		ev   TriggerEvent
		want bool
	}{
		{"opened by contact", s2, TriggerEvent{Type: TriggerConversationOpened, Source: "contact"}, true},
		{"opened by agent", s2, TriggerEvent{Type: TriggerConversationOpened, Source: "agent"}, false},
		{"opened without source", s2, TriggerEvent{Type: TriggerConversationOpened}, false},
		{"reopened", s2, TriggerEvent{Type: TriggerConversationOpened, Source: "contact", Reopened: true}, false},
		{"already assigned", s2, TriggerEvent{Type: TriggerConversationOpened, Source: "contact", Assignments: 1}, false},
		{"other type", s2, TriggerEvent{Type: TriggerMessageReceived, Source: "contact"}, false},
		{"shortcut for this workflow", shortcut, TriggerEvent{Type: TriggerShortcut, WorkflowID: "t"}, true},
		{"shortcut for another workflow", shortcut, TriggerEvent{Type: TriggerShortcut, WorkflowID: "u"}, false},
		{"message text", msg, TriggerEvent{Type: TriggerMessageReceived, Text: "I want a refund"}, true},
		{"message language", msg, TriggerEvent{Type: TriggerMessageReceived, Text: "hola", Contact: map[string]string{"language": "es"}}, true},
		{"message neither", msg, TriggerEvent{Type: TriggerMessageReceived, Text: "Refund?", Contact: map[string]string{"language": "en"}}, false},
		{"field changed", field, TriggerEvent{Type: TriggerContactFieldChanged, Field: "vip", Value: "yes"}, true},
		{"field cleared counts as not no", field, TriggerEvent{Type: TriggerContactFieldChanged, Field: "vip"}, true},
		{"field set to no", field, TriggerEvent{Type: TriggerContactFieldChanged, Field: "vip", Value: "no"}, false},
		{"other field", field, TriggerEvent{Type: TriggerContactFieldChanged, Field: "name", Value: "yes"}, false},
		{"closed", closed, TriggerEvent{Type: TriggerConversationClosed}, true},
	}
	for _, c := range cases {
		if got := c.def.Matches(c.ev); got != c.want {
			t.Errorf("%s: Matches = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestEvalConditionOperators(t *testing.T) {
	cases := []struct {
		op, want, v string
		present     bool
		ok          bool
	}{
		{OpEquals, "a", "a", true, true}, {OpEquals, "a", "A", true, false}, {OpEquals, "a", "", false, false},
		{OpNotEquals, "a", "b", true, true}, {OpNotEquals, "a", "", false, true}, {OpNotEquals, "a", "a", true, false},
		{OpContains, "fun", "refund", true, true}, {OpContains, "x", "refund", true, false},
		{OpGreaterThan, "5", "7", true, true}, {OpGreaterThan, "5", "3", true, false}, {OpGreaterThan, "5", "", false, false},
		{OpLessThan, "5", "3", true, true}, {OpLessThan, "5", "abc", true, false},
		{OpExists, "", "x", true, true}, {OpExists, "", "", false, false},
		{OpNotExists, "", "", false, true}, {OpNotExists, "", "x", true, false},
	}
	for _, c := range cases {
		cond := Condition{Subject: "text", Operator: c.op}
		if c.want != "" {
			cond.Value = V(c.want)
		}
		if got := evalCondition(cond, c.v, c.present); got != c.ok {
			t.Errorf("%s %q on %q (present %v) = %v, want %v", c.op, c.want, c.v, c.present, got, c.ok)
		}
	}
}

func TestValidateForm(t *testing.T) {
	def := parseFile(t, sources(t)["s1-escalation-shortcut"])
	ok := map[string]string{"team": "technical_support", "summary": "Router keeps rebooting"}
	if err := ValidateForm(def, ok); err != nil {
		t.Fatalf("valid form rejected: %v", err)
	}
	cases := []struct {
		name   string
		values map[string]string
		field  string
	}{
		{"missing summary", map[string]string{"team": "billing"}, "summary"},
		{"blank summary", map[string]string{"team": "billing", "summary": "   "}, "summary"},
		{"missing team", map[string]string{"summary": "x"}, "team"},
		{"team not an option", map[string]string{"team": "Technical Support", "summary": "x"}, "team"},
		{"unknown field", map[string]string{"team": "billing", "summary": "x", "priority": "high"}, "priority"},
		{"summary too long", map[string]string{"team": "billing", "summary": strings.Repeat("x", MaxFormValueLength+1)}, "summary"},
	}
	for _, c := range cases {
		err := ValidateForm(def, c.values)
		var re *routing.Error
		if e, ok := err.(*routing.Error); ok {
			re = e
		}
		if re == nil || re.Code != routing.CodeInvalid || re.Field != c.field {
			t.Errorf("%s: got %v, want invalid_argument on %s", c.name, err, c.field)
		}
	}
	notShortcut := mustParse(t, s2YAML)
	if err := ValidateForm(notShortcut, nil); err != nil {
		t.Errorf("no form for a non-shortcut: %v", err)
	}
	if err := ValidateForm(notShortcut, map[string]string{"a": "b"}); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Errorf("values for a non-shortcut accepted: %v", err)
	}
	optional := mustParse(t, shortcutHead+"  - {id: a, type: close}\n")
	if err := ValidateForm(optional, map[string]string{}); err != nil {
		t.Errorf("optional fields may be left out: %v", err)
	}
}

func TestExecutionInputJSON(t *testing.T) {
	b, err := json.Marshal(ExecutionInput{ConversationID: "c", WorkflowID: "w", Version: 2,
		Trigger: TriggerEvent{Type: TriggerConversationOpened, Source: "contact"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"conversationId":"c","workflowId":"w","version":2,"trigger":{"type":"conversation_opened","source":"contact","assignments":0},"form":{},"vars":{}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}
