package workflow

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Directory answers whether the teams and agents a workflow names exist.
// The engine implements it; a nil Directory skips these checks.
type Directory interface {
	TeamExists(id string) bool
	AgentExists(id string) bool
}

// Limits checked by Validate.
const (
	MaxSteps         = 500
	MaxTextLength    = 4096
	MaxNameLength    = 200
	MaxLabelLength   = 100
	MaxOptions       = 10
	MaxFormFields    = 20
	MaxAttemptsLimit = 10
	MaxIterLimit     = 100
)

// stepFields lists the type-specific fields each step type accepts
// (besides id, type and name).
var stepFields = map[string][]string{
	StepAssign:        {"agent", "team", "onlineOnly", "next"},
	StepWait:          {"duration", "next"},
	StepBranch:        {"branches", "else"},
	StepAsk:           {"question", "options", "variable", "maxAttempts", "timeout", "onTimeout", "onInvalid", "next"},
	StepComment:       {"text", "next"},
	StepSendMessage:   {"text", "next"},
	StepUpdateContact: {"field", "value", "next"},
	StepEscalate:      {"escalationType", "summary", "next"},
	StepClose:         {"next"},
	StepGoto:          {"target", "maxIterations", "next"},
	StepHandoff:       {"reason", "team", "summary", "escalationType", "next"},
}

// Validate checks a definition and returns every problem found, each naming
// the step and the field; nil means the workflow can be compiled. dir may be
// nil to skip checking that teams and agents exist.
//
// Rules worth knowing (docs/workflows.md has them all): a branch must name
// its else target (use "end" to stop); every step must be reachable from
// the first; every loop must contain a wait or ask step; vars.x may be read
// only where every path from the start has passed an ask that sets x.
//
// A definition that passes these rules is also compiled to check its size
// against MaxDefinitionSize, the limit Step Functions puts on a state
// machine: the error names the step that crosses it.
func Validate(def *Definition, dir Directory) []FieldError {
	if errs := validate(def, dir); len(errs) > 0 {
		return errs
	}
	return compileChecked(def).sizeErrors()
}

func validate(def *Definition, dir Directory) []FieldError {
	if def == nil {
		return []FieldError{{Message: "definition is missing"}}
	}
	v := &validator{def: def, dir: dir, index: map[string]int{}}
	v.run()
	return v.errs
}

type validator struct {
	def   *Definition
	dir   Directory
	errs  []FieldError
	index map[string]int // step id -> position of its first occurrence
	// varOptions maps a variable to the option ids of the asks that set it.
	varOptions map[string][]string
	// uses records the vars.x each step reads, for the flow analysis.
	uses map[int][]varUse
}

type varUse struct {
	name string
	l    loc
}

func (v *validator) fail(l loc, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Step: l.step, Field: l.field, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) run() {
	d := v.def
	top := loc{}
	switch {
	case d.ID == "":
		v.fail(top.key("id"), "required")
	case !workflowIDRe.MatchString(d.ID):
		v.fail(top.key("id"), "invalid id %q: 1-64 letters, digits, - and _, starting with a letter or digit", d.ID)
	}
	if strings.TrimSpace(d.Name) == "" {
		v.fail(top.key("name"), "required")
	} else {
		v.checkLen(top.key("name"), d.Name, MaxNameLength)
	}
	v.checkLen(top.key("description"), d.Description, MaxTextLength)

	// Index step ids first: the trigger and steps refer to them.
	v.varOptions = map[string][]string{}
	v.uses = map[int][]varUse{}
	for i, s := range d.Steps {
		if s.ID != "" {
			if _, dup := v.index[s.ID]; !dup {
				v.index[s.ID] = i
			}
		}
		if s.Type == StepAsk && identRe.MatchString(s.Variable) {
			if _, ok := v.varOptions[s.Variable]; !ok {
				v.varOptions[s.Variable] = []string{}
			}
			for _, o := range s.Options {
				if !contains(v.varOptions[s.Variable], o.ID) {
					v.varOptions[s.Variable] = append(v.varOptions[s.Variable], o.ID)
				}
			}
		}
	}
	v.checkTrigger()
	switch {
	case len(d.Steps) == 0:
		v.fail(top.key("steps"), "a workflow needs at least one step")
		return
	case len(d.Steps) > MaxSteps:
		v.fail(top.key("steps"), "at most %d steps", MaxSteps)
		return
	}
	for i := range d.Steps {
		v.checkStep(i)
	}
	v.checkFlow()
}

func (v *validator) checkLen(l loc, s string, max int) {
	if n := utf8.RuneCountInString(s); n > max {
		v.fail(l, "at most %d characters (got %d)", max, n)
	}
}

// ---- trigger ----

func (v *validator) checkTrigger() {
	t := v.def.Trigger
	l := loc{field: "trigger"}
	if t.Type == "" {
		v.fail(l.key("type"), "required: one of %s", strings.Join(TriggerTypes, ", "))
		return
	}
	if !contains(TriggerTypes, t.Type) {
		v.fail(l.key("type"), "unknown trigger type %q: use one of %s", t.Type, strings.Join(TriggerTypes, ", "))
		return
	}
	if t.Match != "" && t.Match != MatchAll && t.Match != MatchAny {
		v.fail(l.key("match"), "must be all or any")
	}
	if t.Type == TriggerShortcut {
		if len(t.Conditions) > 0 {
			v.fail(l.key("conditions"), "a shortcut trigger has no conditions: agents start it by hand")
		}
		if t.Match != "" {
			v.fail(l.key("match"), "a shortcut trigger has no conditions")
		}
	} else {
		for i, c := range t.Conditions {
			cl := l.key("conditions").index(i)
			sub, err := triggerSubject(t.Type, c.Subject)
			if err != nil {
				v.fail(cl.key("subject"), "%v", err)
				continue
			}
			v.checkOperator(cl, sub, c)
			if c.Subject == "source" && (c.Operator == OpEquals || c.Operator == OpNotEquals) &&
				c.Value != nil && *c.Value != "contact" && *c.Value != "agent" {
				v.fail(cl.key("value"), "source is contact or agent, not %q", string(*c.Value))
			}
		}
	}
	if t.FirstAssignmentOnly && t.Type != TriggerConversationOpened {
		v.fail(l.key("firstAssignmentOnly"), "only for the conversation_opened trigger")
	}
	if t.Type == TriggerContactFieldChanged {
		switch {
		case t.Field == "":
			v.fail(l.key("field"), "required: the contact field to watch")
		case !identRe.MatchString(t.Field):
			v.fail(l.key("field"), "invalid field name %q: use letters, digits and _", t.Field)
		}
	} else if t.Field != "" {
		v.fail(l.key("field"), "only for the contact_field_changed trigger")
	}
	if t.Type != TriggerShortcut {
		for _, f := range []struct{ name, val string }{{"name", t.Name}, {"description", t.Description}} {
			if f.val != "" {
				v.fail(l.key(f.name), "only for the shortcut trigger")
			}
		}
		if len(t.Form) > 0 {
			v.fail(l.key("form"), "only for the shortcut trigger")
		}
		return
	}
	if strings.TrimSpace(t.Name) == "" {
		v.fail(l.key("name"), "required: the shortcut's name shown to agents")
	}
	v.checkLen(l.key("name"), t.Name, MaxNameLength)
	v.checkLen(l.key("description"), t.Description, MaxTextLength)
	if len(t.Form) > MaxFormFields {
		v.fail(l.key("form"), "at most %d fields", MaxFormFields)
	}
	seen := map[string]bool{}
	for i, f := range t.Form {
		fl := l.key("form").index(i)
		switch {
		case f.ID == "":
			v.fail(fl.key("id"), "required")
		case !identRe.MatchString(f.ID):
			v.fail(fl.key("id"), "invalid id %q: letters, digits and _, not starting with a digit", f.ID)
		case seen[f.ID]:
			v.fail(fl.key("id"), "duplicate form field id %q", f.ID)
		}
		seen[f.ID] = true
		if strings.TrimSpace(f.Label) == "" {
			v.fail(fl.key("label"), "required")
		}
		v.checkLen(fl.key("label"), f.Label, MaxNameLength)
		switch f.Type {
		case FieldSelect:
			if len(f.Options) == 0 {
				v.fail(fl.key("options"), "a select field needs options")
			}
			v.checkOptions(fl.key("options"), f.Options)
		case FieldText:
			if len(f.Options) > 0 {
				v.fail(fl.key("options"), "only select fields have options")
			}
		case "":
			v.fail(fl.key("type"), "required: select or text")
		default:
			v.fail(fl.key("type"), "unknown field type %q: use select or text", f.Type)
		}
	}
}

func (v *validator) checkOptions(l loc, opts []Option) {
	if len(opts) > MaxOptions {
		v.fail(l, "at most %d options", MaxOptions)
	}
	seen := map[string]bool{}
	for i, o := range opts {
		ol := l.index(i)
		switch {
		case o.ID == "":
			v.fail(ol.key("id"), "required")
		case !optionIDRe.MatchString(o.ID):
			v.fail(ol.key("id"), "invalid option id %q: 1-64 letters, digits, - and _", o.ID)
		case seen[o.ID]:
			v.fail(ol.key("id"), "duplicate option id %q", o.ID)
		}
		seen[o.ID] = true
		if strings.TrimSpace(o.Label) == "" {
			v.fail(ol.key("label"), "required")
		}
		v.checkLen(ol.key("label"), o.Label, MaxLabelLength)
	}
}

// checkOperator checks the operator and value of a condition.
func (v *validator) checkOperator(l loc, sub subject, c Condition) {
	if c.Operator == "" {
		v.fail(l.key("operator"), "required: one of %s", strings.Join(Operators, ", "))
		return
	}
	if !contains(Operators, c.Operator) {
		v.fail(l.key("operator"), "unknown operator %q: use one of %s", c.Operator, strings.Join(Operators, ", "))
		return
	}
	if !contains(kindOps[sub.kind], c.Operator) {
		v.fail(l.key("operator"), "%s cannot be used with %s: use one of %s", c.Operator, c.Subject, strings.Join(kindOps[sub.kind], ", "))
		return
	}
	val, err := checkValue(sub, c.Operator, c.Value)
	if err != nil {
		v.fail(l.key("value"), "%v", err)
		return
	}
	if v.dir != nil && (c.Operator == OpEquals || c.Operator == OpNotEquals) {
		switch {
		case sub.ref == "agent" && !v.dir.AgentExists(val):
			v.fail(l.key("value"), "unknown agent %q", val)
		case sub.ref == "team" && !v.dir.TeamExists(val):
			v.fail(l.key("value"), "unknown team %q", val)
		}
	}
}

// ---- steps ----

func (v *validator) checkStep(i int) {
	s := &v.def.Steps[i]
	l := loc{step: s.ID}
	if s.ID == "" || !stepIDRe.MatchString(s.ID) {
		l = loc{field: fmt.Sprintf("steps[%d]", i)}
	}
	switch {
	case s.ID == "":
		v.fail(l.key("id"), "required")
	case !stepIDRe.MatchString(s.ID):
		v.fail(l.key("id"), "invalid step id %q: 1-64 letters, digits, - and _, starting with a letter", s.ID)
	case reservedStepIDs[s.ID]:
		v.fail(l.key("id"), "%q is reserved", s.ID)
	case v.index[s.ID] != i:
		v.fail(l.key("id"), "duplicate step id %q (also step %d)", s.ID, v.index[s.ID]+1)
	}
	v.checkLen(l.key("name"), s.Name, MaxNameLength)
	allowed, known := stepFields[s.Type]
	if !known {
		if s.Type == "" {
			v.fail(l.key("type"), "required: one of %s", strings.Join(StepTypes, ", "))
		} else {
			v.fail(l.key("type"), "unknown step type %q: use one of %s", s.Type, strings.Join(StepTypes, ", "))
		}
		return
	}
	for _, f := range setFields(s) {
		if !contains(allowed, f) {
			v.fail(l.key(f), "not a field of a %s step", s.Type)
		}
	}
	if s.Next != "" && contains(allowed, "next") {
		v.checkTarget(l.key("next"), s.Next)
	}
	switch s.Type {
	case StepAssign:
		v.checkAssign(l, s)
	case StepWait:
		v.checkDuration(l.key("duration"), s.Duration)
	case StepBranch:
		v.checkBranch(i, l, s)
	case StepAsk:
		v.checkAsk(i, l, s)
	case StepComment, StepSendMessage:
		if strings.TrimSpace(s.Text) == "" {
			v.fail(l.key("text"), "required")
		}
		v.checkTemplate(i, l.key("text"), s.Text)
	case StepUpdateContact:
		switch {
		case s.Field == "":
			v.fail(l.key("field"), "required: the contact field to set")
		case !identRe.MatchString(s.Field):
			v.fail(l.key("field"), "invalid field name %q: use letters, digits and _", s.Field)
		case s.Field == "phone":
			v.fail(l.key("field"), "the phone number identifies the contact and cannot be changed by a workflow")
		}
		if strings.TrimSpace(s.Value) == "" {
			v.fail(l.key("value"), "required")
		}
		v.checkTemplate(i, l.key("value"), s.Value)
	case StepEscalate:
		switch {
		case s.EscalationType == "":
			v.fail(l.key("escalationType"), "required: one of %s", escalationList())
		case !routing.EscalationType(s.EscalationType).Valid():
			v.fail(l.key("escalationType"), "unknown escalation type %q: use one of %s", s.EscalationType, escalationList())
		}
		v.checkTemplate(i, l.key("summary"), s.Summary)
	case StepHandoff:
		switch r := strings.TrimSpace(s.Reason); {
		case r == "":
			v.fail(l.key("reason"), "required: why the conversation goes to people")
		case len(r) > 200:
			v.fail(l.key("reason"), "longer than 200 characters")
		}
		if s.EscalationType != "" && !routing.EscalationType(s.EscalationType).Valid() {
			v.fail(l.key("escalationType"), "unknown escalation type %q: use one of %s", s.EscalationType, escalationList())
		}
		if s.Team != "" && v.dir != nil && !v.dir.TeamExists(s.Team) {
			v.fail(l.key("team"), "unknown team %q", s.Team)
		}
		v.checkTemplate(i, l.key("summary"), s.Summary)
	case StepGoto:
		switch {
		case s.Target == "":
			v.fail(l.key("target"), "required: the step to go to")
		case s.Target == End:
			v.fail(l.key("target"), "a goto needs a step id; use next: end to stop")
		default:
			v.checkTarget(l.key("target"), s.Target)
		}
		if s.MaxIterations < 0 || s.MaxIterations > MaxIterLimit {
			v.fail(l.key("maxIterations"), "must be between 1 and %d (default %d)", MaxIterLimit, DefaultMaxIterations)
		}
	}
}

// stepFieldIndex maps the json names of Step's type-specific fields to
// their index, computed once.
var stepFieldIndex = func() []struct {
	name  string
	index int
} {
	var out []struct {
		name  string
		index int
	}
	rt := reflect.TypeOf(Step{})
	for i := 0; i < rt.NumField(); i++ {
		name := strings.Split(rt.Field(i).Tag.Get("json"), ",")[0]
		switch name {
		case "id", "type", "name":
			continue
		}
		out = append(out, struct {
			name  string
			index int
		}{name, i})
	}
	return out
}()

// setFields lists the json names of the step's type-specific fields that are set.
func setFields(s *Step) []string {
	var out []string
	rv := reflect.ValueOf(s).Elem()
	for _, f := range stepFieldIndex {
		if !rv.Field(f.index).IsZero() {
			out = append(out, f.name)
		}
	}
	return out
}

func (v *validator) checkTarget(l loc, target string) {
	if target == End {
		return
	}
	if _, ok := v.index[target]; !ok {
		v.fail(l, "unknown step %q", target)
	}
}

func (v *validator) checkDuration(l loc, d Duration) {
	if d == "" {
		v.fail(l, "required: a duration like 15m, 2h, 1h30m or a number of seconds")
		return
	}
	if _, err := d.Seconds(); err != nil {
		v.fail(l, "%v", err)
	}
}

func (v *validator) checkAssign(l loc, s *Step) {
	switch {
	case s.Agent == "" && s.Team == "":
		v.fail(l.key("team"), "an assign step needs an agent or a team")
	case s.Agent != "" && s.Team != "":
		v.fail(l.key("team"), "set either agent or team, not both")
	case s.Agent != "":
		if s.OnlineOnly {
			v.fail(l.key("onlineOnly"), "only for assignment to a team")
		}
		if v.dir != nil && !v.dir.AgentExists(s.Agent) {
			v.fail(l.key("agent"), "unknown agent %q", s.Agent)
		}
	default:
		if v.dir != nil && !v.dir.TeamExists(s.Team) {
			v.fail(l.key("team"), "unknown team %q", s.Team)
		}
	}
}

func (v *validator) checkBranch(i int, l loc, s *Step) {
	if len(s.Branches) == 0 {
		v.fail(l.key("branches"), "a branch step needs at least one branch")
	}
	for bi, b := range s.Branches {
		bl := l.key("branches").index(bi)
		v.checkLen(bl.key("name"), b.Name, MaxNameLength)
		if b.Match != "" && b.Match != MatchAll && b.Match != MatchAny {
			v.fail(bl.key("match"), "must be all or any")
		}
		if len(b.Conditions) == 0 {
			v.fail(bl.key("conditions"), "a branch needs at least one condition")
		}
		for ci, c := range b.Conditions {
			v.checkBranchCondition(i, bl.key("conditions").index(ci), c)
		}
		if b.Next == "" {
			v.fail(bl.key("next"), "required: the step this branch goes to (or end)")
		} else {
			v.checkTarget(bl.key("next"), b.Next)
		}
	}
	if s.Else == "" {
		v.fail(l.key("else"), "required: the step taken when no branch matches (or end)")
	} else {
		v.checkTarget(l.key("else"), s.Else)
	}
}

func (v *validator) checkBranchCondition(i int, l loc, c Condition) {
	sub, err := branchSubject(c.Subject)
	if err != nil {
		if c.Subject == "" {
			v.fail(l.key("subject"), "required")
		} else {
			v.fail(l.key("subject"), "%v", err)
		}
		return
	}
	switch sub.ns {
	case "form":
		if !v.checkFormRef(l.key("subject"), sub.name) {
			return
		}
	case "vars":
		if _, set := v.varOptions[sub.name]; !set {
			v.fail(l.key("subject"), "undefined variable vars.%s: no ask step sets it", sub.name)
			return
		}
		v.uses[i] = append(v.uses[i], varUse{sub.name, l.key("subject")})
	}
	v.checkOperator(l, sub, c)
	if c.Value == nil || (c.Operator != OpEquals && c.Operator != OpNotEquals) {
		return
	}
	// A value that no answer can take is a typo.
	val := string(*c.Value)
	switch sub.ns {
	case "form":
		if f := v.formField(sub.name); f != nil && f.Type == FieldSelect {
			ids := optionIDs(f.Options)
			if !contains(ids, val) {
				v.fail(l.key("value"), "%q is not an option of form field %s (options: %s)", val, sub.name, strings.Join(ids, ", "))
			}
		}
	case "vars":
		if ids := v.varOptions[sub.name]; !contains(ids, val) {
			v.fail(l.key("value"), "%q is not an option of the question that sets vars.%s (options: %s)", val, sub.name, strings.Join(ids, ", "))
		}
	}
}

func optionIDs(opts []Option) []string {
	ids := make([]string, len(opts))
	for i, o := range opts {
		ids[i] = o.ID
	}
	return ids
}

func (v *validator) formField(id string) *FormField {
	for i := range v.def.Trigger.Form {
		if v.def.Trigger.Form[i].ID == id {
			return &v.def.Trigger.Form[i]
		}
	}
	return nil
}

// checkFormRef reports a reference to form.x outside a shortcut or to a
// field the form lacks.
func (v *validator) checkFormRef(l loc, name string) bool {
	if v.def.Trigger.Type != TriggerShortcut {
		v.fail(l, "form.%s: only shortcut workflows have a form", name)
		return false
	}
	if v.formField(name) == nil {
		v.fail(l, "form.%s: the shortcut form has no field %q", name, name)
		return false
	}
	return true
}

func (v *validator) checkTemplate(i int, l loc, text string) {
	v.checkLen(l, text, MaxTextLength)
	refs, err := templateRefs(text)
	if err != nil {
		v.fail(l, "%v", err)
	}
	for _, r := range refs {
		switch r.ns {
		case "form":
			v.checkFormRef(l, r.name)
		case "vars":
			if _, set := v.varOptions[r.name]; !set {
				v.fail(l, "undefined variable vars.%s: no ask step sets it", r.name)
				continue
			}
			v.uses[i] = append(v.uses[i], varUse{r.name, l})
		}
	}
}

func (v *validator) checkAsk(i int, l loc, s *Step) {
	if strings.TrimSpace(s.Question) == "" {
		v.fail(l.key("question"), "required")
	}
	v.checkTemplate(i, l.key("question"), s.Question)
	if len(s.Options) < 2 {
		v.fail(l.key("options"), "a question needs at least 2 options")
	}
	v.checkOptions(l.key("options"), s.Options)
	switch {
	case s.Variable == "":
		v.fail(l.key("variable"), "required: the variable that stores the answer")
	case !identRe.MatchString(s.Variable):
		v.fail(l.key("variable"), "invalid variable name %q: letters, digits and _, not starting with a digit", s.Variable)
	}
	if s.MaxAttempts < 0 || s.MaxAttempts > MaxAttemptsLimit {
		v.fail(l.key("maxAttempts"), "must be between 1 and %d (default %d)", MaxAttemptsLimit, DefaultMaxAttempts)
	}
	if s.Timeout == "" {
		v.fail(l.key("timeout"), "required: how long to wait for an answer, like 30m")
	} else {
		v.checkDuration(l.key("timeout"), s.Timeout)
	}
	if s.OnTimeout == "" {
		v.fail(l.key("onTimeout"), "required: the step taken when there is no answer in time (or end)")
	} else {
		v.checkTarget(l.key("onTimeout"), s.OnTimeout)
	}
	if s.OnInvalid != "" {
		v.checkTarget(l.key("onInvalid"), s.OnInvalid)
	}
}

// ---- flow ----

// edge is a possible transition out of a step.
type edge struct {
	to      string // step id or End
	field   string // the field that names the target ("" for the implicit next)
	label   string // for graphs: branch name, else, timeout, invalid, loop
	defines string // the variable set when taking this edge (ask answers)
}

// edges lists the transitions out of step i.
func (d *Definition) edges(i int) []edge {
	s := &d.Steps[i]
	nextField := "next"
	if s.Next == "" {
		nextField = ""
	}
	switch s.Type {
	case StepBranch:
		var out []edge
		for bi, b := range s.Branches {
			label := b.Name
			if label == "" {
				label = fmt.Sprintf("branch %d", bi+1)
			}
			out = append(out, edge{to: b.Next, field: fmt.Sprintf("branches[%d].next", bi), label: label})
		}
		return append(out, edge{to: s.Else, field: "else", label: "else"})
	case StepAsk:
		out := []edge{{to: d.following(i), field: nextField, label: "answer", defines: s.Variable}}
		out = append(out, edge{to: s.OnTimeout, field: "onTimeout", label: "timeout"})
		if s.OnInvalid != "" && s.OnInvalid != s.OnTimeout {
			out = append(out, edge{to: s.OnInvalid, field: "onInvalid", label: "invalid"})
		} else if s.OnInvalid == "" {
			out[1].label = "timeout or invalid"
		}
		return out
	case StepGoto:
		return []edge{
			{to: s.Target, field: "target", label: "loop"},
			{to: d.following(i), field: nextField, label: fmt.Sprintf("after %d", s.maxIterations())},
		}
	}
	return []edge{{to: d.following(i), field: nextField}}
}

func isWaiting(s *Step) bool { return s.Type == StepWait || s.Type == StepAsk }

// checkFlow finds unreachable steps, loops that never wait and variables
// read before they are set.
func (v *validator) checkFlow() {
	d := v.def
	n := len(d.Steps)
	// Graph over step positions; edges to unknown steps were reported already.
	succ := make([][]int, n)
	edgesOf := make([][]edge, n)
	for i := range d.Steps {
		edgesOf[i] = d.edges(i) // a step of unknown type is assumed to continue
		for _, e := range edgesOf[i] {
			if j, ok := v.index[e.to]; ok {
				succ[i] = append(succ[i], j)
			}
		}
	}
	reach := make([]bool, n)
	stack := []int{0}
	reach[0] = true
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, w := range succ[u] {
			if !reach[w] {
				reach[w] = true
				stack = append(stack, w)
			}
		}
	}
	for i, s := range d.Steps {
		if !reach[i] && s.ID != "" && v.index[s.ID] == i {
			v.fail(loc{step: s.ID, field: "id"}, "unreachable: no path from the first step leads here")
		}
	}

	// Loops: a cycle among reachable steps that never waits spins forever.
	for _, scc := range sccs(n, func(u int) []int {
		if !reach[u] || isWaiting(&d.Steps[u]) {
			return nil
		}
		var out []int
		for _, w := range succ[u] {
			if reach[w] && !isWaiting(&d.Steps[w]) {
				out = append(out, w)
			}
		}
		return out
	}) {
		if len(scc) == 1 && !slices.Contains(succ[scc[0]], scc[0]) {
			continue
		}
		if !reach[scc[0]] || isWaiting(&d.Steps[scc[0]]) {
			continue
		}
		in := map[int]bool{}
		for _, u := range scc {
			in[u] = true
		}
		// Report the back edge: from the latest step to one at or before it.
		slices.Sort(scc)
		reported := false
		for k := len(scc) - 1; k >= 0 && !reported; k-- {
			u := scc[k]
			for _, e := range edgesOf[u] {
				if j, ok := v.index[e.to]; ok && in[j] && j <= u {
					field := e.field
					if field == "" {
						field = "next"
					}
					v.fail(loc{step: d.Steps[u].ID, field: field}, "this loop back to %q has no wait or ask step: it would run without pause until its limit", e.to)
					reported = true
					break
				}
			}
		}
	}

	// Variables: must-be-set analysis. in[i] is the set of variables set on
	// every path from the start to step i (nil = not yet visited).
	ins := make([]map[string]bool, n)
	ins[0] = map[string]bool{}
	work := []int{0}
	for len(work) > 0 {
		u := work[0]
		work = work[1:]
		for _, e := range edgesOf[u] {
			j, ok := v.index[e.to]
			if !ok {
				continue
			}
			out := map[string]bool{}
			for k := range ins[u] {
				out[k] = true
			}
			if e.defines != "" {
				out[e.defines] = true
			}
			if ins[j] == nil {
				ins[j] = out
				work = append(work, j)
				continue
			}
			changed := false
			for k := range ins[j] {
				if !out[k] {
					delete(ins[j], k)
					changed = true
				}
			}
			if changed {
				work = append(work, j)
			}
		}
	}
	for i := range d.Steps {
		if !reach[i] {
			continue
		}
		for _, u := range v.uses[i] {
			if !ins[i][u.name] {
				v.fail(u.l, "vars.%s may be unset here: not every path from the start passes an ask step that sets it (a timeout or invalid answer leaves it unset)", u.name)
			}
		}
	}
}

// sccs returns the strongly connected components of a graph of n nodes
// (Tarjan's algorithm, iterative over an explicit stack).
func sccs(n int, succ func(int) []int) [][]int {
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack, out = []int{}, [][]int{}
	next := 0
	type frame struct {
		u    int
		ws   []int
		next int
	}
	for root := 0; root < n; root++ {
		if index[root] >= 0 {
			continue
		}
		call := []frame{{u: root, ws: succ(root)}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.next < len(f.ws) {
				w := f.ws[f.next]
				f.next++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{u: w, ws: succ(w)})
				} else if onStack[w] && index[w] < low[f.u] {
					low[f.u] = index[w]
				}
				continue
			}
			u := f.u
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].u
				if low[u] < low[p] {
					low[p] = low[u]
				}
			}
			if low[u] == index[u] {
				var comp []int
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == u {
						break
					}
				}
				out = append(out, comp)
			}
		}
	}
	return out
}
