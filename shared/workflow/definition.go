// Package workflow holds Switchboard's routing workflows: the definition
// format (YAML or JSON), its validation, the compiler to Amazon States
// Language (JSONPath only) and the task-side contract the engine implements.
//
// A definition is a trigger and an ordered list of steps. Each step has a
// unique id and a type; it continues at `next`, by default the following
// step, and the end of the list ends the workflow. The reserved target
// "end" ends the workflow from anywhere.
//
// The package imports only the standard library, gopkg.in/yaml.v3 and
// shared/routing; it knows nothing of AWS.
package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// End is the reserved step target that ends the workflow.
const End = "end"

// Trigger types.
const (
	TriggerConversationOpened  = "conversation_opened"
	TriggerShortcut            = "shortcut"
	TriggerMessageReceived     = "message_received"
	TriggerContactFieldChanged = "contact_field_changed"
	TriggerConversationClosed  = "conversation_closed"
	// TriggerHandoffRequested: a conversation left the bot phase for people
	// (a handoff by the bot, a person, a workflow or a rule); the workflow
	// routes it. With none matching, it goes to the handoff's team.
	TriggerHandoffRequested = "handoff_requested"
)

// TriggerTypes lists every trigger type, in documentation order.
var TriggerTypes = []string{
	TriggerConversationOpened, TriggerShortcut, TriggerMessageReceived,
	TriggerContactFieldChanged, TriggerConversationClosed, TriggerHandoffRequested,
}

// Step types.
const (
	StepAssign        = "assign"
	StepWait          = "wait"
	StepBranch        = "branch"
	StepAsk           = "ask"
	StepComment       = "comment"
	StepSendMessage   = "send_message"
	StepUpdateContact = "update_contact"
	StepEscalate      = "escalate"
	StepClose         = "close"
	StepGoto          = "goto"
	// StepHandoff hands a conversation in its bot phase to people (a no-op
	// for one already with people).
	StepHandoff = "handoff"
)

// StepTypes lists every step type, in documentation order.
var StepTypes = []string{
	StepAssign, StepWait, StepBranch, StepAsk, StepComment, StepSendMessage,
	StepUpdateContact, StepEscalate, StepClose, StepGoto, StepHandoff,
}

// Condition operators.
const (
	OpEquals      = "equals"
	OpNotEquals   = "not_equals"
	OpContains    = "contains"
	OpGreaterThan = "greater_than"
	OpLessThan    = "less_than"
	OpExists      = "exists"
	OpNotExists   = "not_exists"
)

// Operators lists every condition operator.
var Operators = []string{OpEquals, OpNotEquals, OpContains, OpGreaterThan, OpLessThan, OpExists, OpNotExists}

// Match modes of a condition list.
const (
	MatchAll = "all"
	MatchAny = "any"
)

// Form field types of a shortcut form.
const (
	FieldSelect = "select"
	FieldText   = "text"
)

// Defaults applied when a field is left out.
const (
	DefaultMaxAttempts   = 3
	DefaultMaxIterations = 10
)

// Definition is a workflow as written by its author.
type Definition struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Trigger     Trigger `json:"trigger"`
	Steps       []Step  `json:"steps"`
}

// Trigger says which event starts a run. Fields other than Type apply to
// some trigger types only (see docs/workflows.md); Validate rejects the rest.
type Trigger struct {
	Type string `json:"type"`
	// Conditions on the event (not for shortcut), combined by Match.
	Match      string      `json:"match,omitempty"`
	Conditions []Condition `json:"conditions,omitempty"`
	// FirstAssignmentOnly (conversation_opened): run only for a newly opened
	// conversation that has never been assigned; reopenings do not match.
	FirstAssignmentOnly bool `json:"firstAssignmentOnly,omitempty"`
	// Shortcut: the button agents see and the form they fill in.
	Name        string      `json:"name,omitempty"`
	Description string      `json:"description,omitempty"`
	Form        []FormField `json:"form,omitempty"`
	// Field (contact_field_changed): the contact field that must change.
	Field string `json:"field,omitempty"`
}

// FormField is one input of a shortcut form.
type FormField struct {
	ID       string   `json:"id"`
	Label    string   `json:"label"`
	Type     string   `json:"type"`
	Required bool     `json:"required,omitempty"`
	Options  []Option `json:"options,omitempty"`
}

// Option is a choice of a select form field or of a question.
type Option struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Condition compares a subject with a value.
type Condition struct {
	Subject  string `json:"subject"`
	Operator string `json:"operator"`
	Value    *Value `json:"value,omitempty"`
}

// Branch is one outcome of a branch step.
type Branch struct {
	Name       string      `json:"name,omitempty"`
	Match      string      `json:"match,omitempty"`
	Conditions []Condition `json:"conditions"`
	Next       string      `json:"next"`
}

// Step is one step of a workflow. The fields after Next belong to one step
// type each; Validate rejects fields that do not belong to the step's type.
type Step struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
	Next string `json:"next,omitempty"`

	// assign
	Agent      string `json:"agent,omitempty"`
	Team       string `json:"team,omitempty"`
	OnlineOnly bool   `json:"onlineOnly,omitempty"`
	// wait
	Duration Duration `json:"duration,omitempty"`
	// branch
	Branches []Branch `json:"branches,omitempty"`
	Else     string   `json:"else,omitempty"`
	// ask
	Question    string   `json:"question,omitempty"`
	Options     []Option `json:"options,omitempty"`
	Variable    string   `json:"variable,omitempty"`
	MaxAttempts int      `json:"maxAttempts,omitempty"`
	Timeout     Duration `json:"timeout,omitempty"`
	OnTimeout   string   `json:"onTimeout,omitempty"`
	OnInvalid   string   `json:"onInvalid,omitempty"`
	// comment, send_message
	Text string `json:"text,omitempty"`
	// update_contact
	Field string `json:"field,omitempty"`
	Value string `json:"value,omitempty"`
	// escalate (and handoff: escalationType, summary, team)
	EscalationType string `json:"escalationType,omitempty"`
	Summary        string `json:"summary,omitempty"`
	// handoff
	Reason string `json:"reason,omitempty"`
	// goto
	Target        string `json:"target,omitempty"`
	MaxIterations int    `json:"maxIterations,omitempty"`
}

// Duration is a length of time as written: "15m", "2h", "1h30m", "1d", or a
// whole number of seconds (a JSON number or a string of digits).
type Duration string

// UnmarshalJSON accepts a string or a whole number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = Duration(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("a duration is a string like \"15m\" or a number of seconds")
	}
	*d = Duration(n.String())
	return nil
}

// MarshalJSON writes a number of seconds as a number and anything else as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	if isDigits(string(d)) {
		if n, err := strconv.ParseInt(string(d), 10, 64); err == nil {
			return []byte(strconv.FormatInt(n, 10)), nil
		}
	}
	return json.Marshal(string(d))
}

// Seconds parses the duration.
func (d Duration) Seconds() (int64, error) { return ParseDuration(string(d)) }

// maxDurationSeconds is one year: the longest a Standard execution lives.
const maxDurationSeconds = 365 * 24 * 3600

// ParseDuration parses "90" (seconds), "15m", "2h", "1h30m", "1d12h" or "45s"
// into whole seconds. Units are d, h, m and s, largest first, each at most
// once; the result must be between 1 second and 365 days.
func ParseDuration(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total int64
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		total = n
	} else {
		units := "dhms"
		mult := map[byte]int64{'d': 86400, 'h': 3600, 'm': 60, 's': 1}
		rest := s
		last := -1
		for rest != "" {
			i := 0
			for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
				i++
			}
			if i == 0 || i == len(rest) {
				return 0, fmt.Errorf("invalid duration %q: use a number of seconds or forms like 15m, 2h, 1h30m, 1d", s)
			}
			if i > 9 {
				return 0, fmt.Errorf("duration %q is too long", s)
			}
			n, _ := strconv.ParseInt(rest[:i], 10, 64)
			u := strings.IndexByte(units, rest[i])
			if u < 0 || u <= last {
				return 0, fmt.Errorf("invalid duration %q: use a number of seconds or forms like 15m, 2h, 1h30m, 1d", s)
			}
			last = u
			total += n * mult[rest[i]]
			rest = rest[i+1:]
		}
	}
	if total < 1 {
		return 0, fmt.Errorf("duration %q must be at least 1 second", s)
	}
	if total > maxDurationSeconds {
		return 0, fmt.Errorf("duration %q exceeds 365 days", s)
	}
	return total, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Value is a condition's value as text. JSON and YAML may write it as a
// string, a number or a boolean; it is stored as a string.
type Value string

// V returns a pointer to a Value, for building conditions in code.
func V(s string) *Value { v := Value(s); return &v }

// UnmarshalJSON accepts a string, a number or a boolean.
func (v *Value) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = Value(s)
	case string(b) == "true" || string(b) == "false":
		*v = Value(b)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("a condition value is a string, a number or a boolean")
		}
		*v = Value(n.String())
	}
	return nil
}

// String returns the value's text ("" for nil).
func (v *Value) String() string {
	if v == nil {
		return ""
	}
	return string(*v)
}

// MarshalCanonical returns the definition as compact JSON with a fixed key
// order, the form stored by the engine. Parsing it gives back an equal
// definition.
func (d *Definition) MarshalCanonical() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// StepByID returns the step with the given id.
func (d *Definition) StepByID(id string) (*Step, bool) {
	for i := range d.Steps {
		if d.Steps[i].ID == id {
			return &d.Steps[i], true
		}
	}
	return nil, false
}

// following returns where step i continues when it has no explicit next.
func (d *Definition) following(i int) string {
	if d.Steps[i].Next != "" {
		return d.Steps[i].Next
	}
	if i+1 < len(d.Steps) {
		return d.Steps[i+1].ID
	}
	return End
}

// maxAttempts returns the ask's attempts, defaulted.
func (s *Step) maxAttempts() int {
	if s.MaxAttempts == 0 {
		return DefaultMaxAttempts
	}
	return s.MaxAttempts
}

// maxIterations returns the goto's loop guard, defaulted.
func (s *Step) maxIterations() int {
	if s.MaxIterations == 0 {
		return DefaultMaxIterations
	}
	return s.MaxIterations
}

// onInvalid returns where an ask continues after too many invalid answers.
func (s *Step) onInvalid() string {
	if s.OnInvalid != "" {
		return s.OnInvalid
	}
	return s.OnTimeout
}
