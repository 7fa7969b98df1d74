package workflow

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// TriggerEvent is something that may start workflows. The engine builds it
// from a domain event and passes it to Matches; it is also the "trigger"
// object of the execution input, so templates can read {{trigger.text}}.
type TriggerEvent struct {
	// Type is one of the Trigger* constants.
	Type string `json:"type"`
	// WorkflowID names the workflow a shortcut run was asked for.
	WorkflowID string `json:"workflowId,omitempty"`
	// Source says who opened the conversation: contact or agent.
	Source    string `json:"source,omitempty"`
	ChannelID string `json:"channelId,omitempty"`
	Provider  string `json:"provider,omitempty"`
	// Text is the message of a message_received event.
	Text string `json:"text,omitempty"`
	// Field and Value are the changed contact field and its new value.
	Field string `json:"field,omitempty"`
	Value string `json:"value,omitempty"`
	// Reason is a handoff's reason (handoff_requested).
	Reason string `json:"reason,omitempty"`
	// Reopened is true when a closed conversation was opened again.
	Reopened bool `json:"reopened,omitempty"`
	// Assignments is how many times the conversation had been assigned when
	// the event happened.
	Assignments int `json:"assignments"`
	// Contact holds the contact's fields (name, phone, language, country and
	// custom fields) for trigger conditions on contact.<field>. It is left
	// out of the execution input, to keep personal data out of the
	// execution history; the snapshot reads it when a branch needs it.
	Contact map[string]string `json:"-"`
	// AgentID is who ran a shortcut.
	AgentID string `json:"agentId,omitempty"`
}

// Matches reports whether the event starts a run of the workflow:
//   - the types must be equal;
//   - a shortcut matches only the workflow it names (ev.WorkflowID == d.ID);
//   - conversation_opened with firstAssignmentOnly matches only a new
//     conversation (not a reopening) that has never been assigned;
//   - contact_field_changed matches only a change of the trigger's field;
//   - the trigger's conditions must hold (all of them, or any with match: any).
//
// Conditions compare case-sensitively, like branch conditions; an absent
// value satisfies only not_equals and not_exists.
func (d *Definition) Matches(ev TriggerEvent) bool {
	t := d.Trigger
	if ev.Type != t.Type {
		return false
	}
	switch t.Type {
	case TriggerShortcut:
		return ev.WorkflowID == d.ID
	case TriggerConversationOpened:
		if t.FirstAssignmentOnly && (ev.Reopened || ev.Assignments > 0) {
			return false
		}
	case TriggerContactFieldChanged:
		if ev.Field != t.Field {
			return false
		}
	}
	if len(t.Conditions) == 0 {
		return true
	}
	matchAny := t.Match == MatchAny
	for _, c := range t.Conditions {
		v, present := ev.lookup(c.Subject)
		ok := evalCondition(c, v, present)
		if matchAny && ok {
			return true
		}
		if !matchAny && !ok {
			return false
		}
	}
	return !matchAny
}

// lookup returns the event's value for a trigger subject.
func (ev TriggerEvent) lookup(s string) (string, bool) {
	var v string
	switch s {
	case "source":
		v = ev.Source
	case "reason":
		v = ev.Reason
	case "channel":
		v = ev.ChannelID
	case "provider":
		v = ev.Provider
	case "text":
		v = ev.Text
	case "value":
		v = ev.Value
	default:
		if name, ok := strings.CutPrefix(s, "contact."); ok {
			v = ev.Contact[name]
		}
	}
	return v, v != ""
}

// evalCondition evaluates a string condition in Go with the compiled ASL's
// semantics.
func evalCondition(c Condition, v string, present bool) bool {
	want := c.Value.String()
	switch c.Operator {
	case OpExists:
		return present
	case OpNotExists:
		return !present
	case OpEquals:
		return present && v == want
	case OpNotEquals:
		return !present || v != want
	case OpContains:
		return present && strings.Contains(v, want)
	case OpGreaterThan, OpLessThan:
		a, err1 := strconv.ParseFloat(v, 64)
		b, err2 := strconv.ParseFloat(want, 64)
		if !present || err1 != nil || err2 != nil {
			return false
		}
		if c.Operator == OpGreaterThan {
			return a > b
		}
		return a < b
	}
	return false
}

// MaxFormValueLength bounds a shortcut form's text values.
const MaxFormValueLength = 4096

// ValidateForm checks the values an agent submitted with a shortcut: every
// required field is present and not blank, select values are option ids and
// no unknown field is given. The error is a *routing.Error with code
// invalid_argument whose Field is the form field's id.
func ValidateForm(def *Definition, values map[string]string) error {
	if def.Trigger.Type != TriggerShortcut {
		if len(values) > 0 {
			return routing.Invalid("form", "workflow %s is not a shortcut and takes no form", def.ID)
		}
		return nil
	}
	known := map[string]*FormField{}
	for i := range def.Trigger.Form {
		known[def.Trigger.Form[i].ID] = &def.Trigger.Form[i]
	}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if known[k] == nil {
			return routing.Invalid(k, "unknown form field %q", k)
		}
	}
	for _, f := range def.Trigger.Form {
		val, ok := values[f.ID]
		if !ok || strings.TrimSpace(val) == "" {
			if f.Required {
				return routing.Invalid(f.ID, "%s is required", f.Label)
			}
			continue
		}
		switch f.Type {
		case FieldSelect:
			if !contains(optionIDs(f.Options), val) {
				return routing.Invalid(f.ID, "%q is not an option of %s (options: %s)", val, f.Label, strings.Join(optionIDs(f.Options), ", "))
			}
		default:
			if utf8.RuneCountInString(val) > MaxFormValueLength {
				return routing.Invalid(f.ID, "%s is longer than %d characters", f.Label, MaxFormValueLength)
			}
		}
	}
	return nil
}

// ExecutionInput is the input of a workflow execution, built by the engine.
type ExecutionInput struct {
	ConversationID string            `json:"conversationId"`
	WorkflowID     string            `json:"workflowId"`
	Version        int               `json:"version"`
	Trigger        TriggerEvent      `json:"trigger"`
	Form           map[string]string `json:"form"`
	Vars           map[string]string `json:"vars"`
}

// MarshalJSON writes form and vars as {} when empty, as the ASL expects.
func (in ExecutionInput) MarshalJSON() ([]byte, error) {
	type plain ExecutionInput
	p := plain(in)
	if p.Form == nil {
		p.Form = map[string]string{}
	}
	if p.Vars == nil {
		p.Vars = map[string]string{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // json.Marshal re-escapes; EncodeInput does not
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// MaxPayloadSize is Step Functions' limit on an execution's input and on
// every state's input and output: 262,144 bytes of UTF-8 JSON.
const MaxPayloadSize = 262144

// EncodeInput encodes an execution input without HTML escaping (a text
// full of '<' would otherwise grow six-fold through \u003c) and refuses one
// larger than MaxPayloadSize with a *routing.Error (invalid_argument)
// naming its largest field, e.g. "trigger.text" or "form.summary".
func EncodeInput(in ExecutionInput) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in); err != nil {
		return nil, err
	}
	raw := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	if len(raw) <= MaxPayloadSize {
		return raw, nil
	}
	field, size := "trigger", 0
	consider := func(name, v string) {
		if len(v) > size {
			field, size = name, len(v)
		}
	}
	consider("trigger.text", in.Trigger.Text)
	consider("trigger.value", in.Trigger.Value)
	for _, k := range slices.Sorted(maps.Keys(in.Form)) {
		consider("form."+k, in.Form[k])
	}
	for _, k := range slices.Sorted(maps.Keys(in.Vars)) {
		consider("vars."+k, in.Vars[k])
	}
	return nil, routing.Invalid(field, "the workflow input would be %d bytes, more than Step Functions' limit of %d: %s is too long", len(raw), MaxPayloadSize, field)
}

// Shortcut is a published shortcut workflow as agents pick it: its live
// version, the name and description its trigger shows, and its form.
type Shortcut struct {
	WorkflowID  string
	Version     int
	Name        string
	Description string
	Form        []FormField
}
