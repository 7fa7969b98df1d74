package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The compiled machine calls one task function for every action (see
// /docs/workflows.md, "Compilation").
const (
	// TaskFunctionPlaceholder is substituted with the task function's ARN at
	// deploy time; the embedded runner ignores FunctionName.
	TaskFunctionPlaceholder = "${TaskFunctionArn}"
	ResourceInvoke          = "arn:aws:states:::lambda:invoke"
	ResourceInvokeWait      = "arn:aws:states:::lambda:invoke.waitForTaskToken"

	// ErrorTransient is the error name of a retryable task failure.
	ErrorTransient = "TransientError"
	// ErrorInvalidAnswer is sent with SendTaskFailure when a contact gave
	// too many answers that are not options.
	ErrorInvalidAnswer = "InvalidAnswer"
	// ErrorWorkflowFailed is the error of the Fail state ending a run whose
	// step failed.
	ErrorWorkflowFailed = "WorkflowFailed"
)

// Names of the states the compiler adds besides the steps' own; they are
// reserved as step ids. Auxiliary per-step states are named "<step>.<role>"
// ('.' cannot occur in step ids).
const (
	stateRecordFailure = "RecordFailure"
	stateFailed        = "Failed"
	stateDone          = "Done"
)

// Action names: the "action" of a task payload.
const (
	ActionSnapshot      = "snapshot"
	ActionAssign        = "assign"
	ActionComment       = "comment"
	ActionSendMessage   = "send_message"
	ActionAsk           = "ask"
	ActionUpdateContact = "update_contact"
	ActionEscalate      = "escalate"
	ActionClose         = "close"
	ActionRecordFailure = "record_failure"
)

// ActionNames lists every task action.
var ActionNames = []string{
	ActionSnapshot, ActionAssign, ActionComment, ActionSendMessage, ActionAsk,
	ActionUpdateContact, ActionEscalate, ActionClose, ActionRecordFailure,
}

// Retry policy of every task: about two minutes of backoff before the
// failure is recorded.
var retryErrors = []any{ErrorTransient, "Lambda.ServiceException", "Lambda.AWSLambdaException",
	"Lambda.SdkClientException", "Lambda.TooManyRequestsException"}

const (
	retryInterval    = 2
	retryMaxAttempts = 6
	retryBackoff     = 2
	retryMaxDelay    = 60
)

// ExpressEligible reports whether the workflow may run as an Express state
// machine: it never waits (no wait step, no question). Express executions
// last at most 5 minutes and cannot wait for task tokens.
func ExpressEligible(def *Definition) bool {
	for _, s := range def.Steps {
		if isWaiting(&s) {
			return false
		}
	}
	return true
}

// Compile validates the definition and translates it to Amazon States
// Language (JSONPath), indented, deterministic byte for byte. The error is
// a *ValidationError when the definition is invalid.
func Compile(def *Definition) ([]byte, error) {
	if errs := Validate(def, nil); len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	c := &compiler{def: def, states: object{}}
	c.planSnapshots()
	c.planLoops()
	for i := range def.Steps {
		c.step(i)
	}
	if c.usesFailure {
		c.add(stateRecordFailure, c.taskState("", ActionRecordFailure, object{}, "", false, nil).
			without("Catch").with("Catch", []any{obj("ErrorEquals", []any{"States.ALL"}, "ResultPath", "$.error", "Next", stateFailed)}).
			with("Next", stateFailed))
		c.add(stateFailed, obj("Type", "Fail", "Error", ErrorWorkflowFailed, "Cause", "A workflow step failed; the failure is on the conversation timeline."))
	}
	if c.usesDone {
		c.add(stateDone, obj("Type", "Succeed"))
	}
	machine := obj(
		"Comment", fmt.Sprintf("Switchboard workflow %s: %s", def.ID, def.Name),
		"StartAt", def.Steps[0].ID,
		"States", c.states,
	)
	var b bytes.Buffer
	writeJSON(&b, machine, 0)
	b.WriteByte('\n')
	return b.Bytes(), nil
}

type compiler struct {
	def         *Definition
	states      object
	snapshot    []bool            // step i is a branch that takes a snapshot first
	loopKey     map[string]string // goto step id -> key under $.loops
	usesFailure bool
	usesDone    bool
}

func (c *compiler) add(name string, state object) { c.states = append(c.states, field{name, state}) }

// ref returns the state a Choice, Catch or Pass goes to for a target.
func (c *compiler) ref(target string) string {
	if target == End {
		c.usesDone = true
		return stateDone
	}
	return target
}

// withNext ends a Task, Wait or Pass state with Next or End.
func (c *compiler) withNext(o object, target string) object {
	if target == End {
		return o.with("End", true)
	}
	return o.with("Next", target)
}

// planSnapshots decides which branch steps take a snapshot. A branch whose
// conditions read live data (contact, conversation, time) needs a fresh
// snapshot, unless every step leading to it is a branch that already had
// one: choices change nothing, so their snapshot is still current.
func (c *compiler) planSnapshots() {
	d := c.def
	n := len(d.Steps)
	live := make([]bool, n)
	preds := make([][]int, n)
	idx := map[string]int{}
	for i, s := range d.Steps {
		idx[s.ID] = i
	}
	for i, s := range d.Steps {
		if s.Type == StepBranch {
			for _, b := range s.Branches {
				for _, cond := range b.Conditions {
					if sub, err := branchSubject(cond.Subject); err == nil && sub.live {
						live[i] = true
					}
				}
			}
		}
		for _, e := range d.edges(i) {
			if j, ok := idx[e.to]; ok {
				preds[j] = append(preds[j], i)
			}
		}
	}
	fresh := make([]bool, n)
	inherited := func(i int) bool {
		if i == 0 || len(preds[i]) == 0 || d.Steps[i].Type != StepBranch {
			return false
		}
		for _, p := range preds[i] {
			if d.Steps[p].Type != StepBranch || !fresh[p] {
				return false
			}
		}
		return true
	}
	for changed := true; changed; {
		changed = false
		for i := range d.Steps {
			f := live[i] || inherited(i)
			if f && !fresh[i] {
				fresh[i] = true
				changed = true
			}
		}
	}
	c.snapshot = make([]bool, n)
	for i := range d.Steps {
		c.snapshot[i] = live[i] && !inherited(i)
	}
}

// planLoops names each goto's counter under $.loops.
func (c *compiler) planLoops() {
	c.loopKey = map[string]string{}
	used := map[string]bool{}
	for i, s := range c.def.Steps {
		if s.Type != StepGoto {
			continue
		}
		k := strings.ReplaceAll(s.ID, "-", "_")
		if used[k] {
			k = fmt.Sprintf("%s_%d", k, i)
		}
		used[k] = true
		c.loopKey[s.ID] = k
	}
}

func (c *compiler) step(i int) {
	s := &c.def.Steps[i]
	next := c.def.following(i)
	switch s.Type {
	case StepAssign:
		p := obj("agentId", s.Agent)
		if s.Agent == "" {
			p = obj("teamId", s.Team, "onlineOnly", s.OnlineOnly)
		}
		c.add(s.ID, c.taskState(s.ID, ActionAssign, p, next, true, s))
	case StepWait:
		secs, _ := s.Duration.Seconds()
		c.add(s.ID, c.withNext(obj("Type", "Wait").comment(s.Name).with("Seconds", secs), next))
	case StepBranch:
		choice := s.ID
		if c.snapshot[i] {
			choice = s.ID + ".choice"
			t := c.taskState(s.ID, ActionSnapshot, object{}, choice, false, s)
			t = t.insertAfter("Parameters", "ResultSelector", obj("data.$", "$.Payload")).
				set("ResultPath", "$.ctx")
			c.add(s.ID, t)
		}
		rules := make([]any, 0, len(s.Branches))
		for _, b := range s.Branches {
			rules = append(rules, branchRule(b).with("Next", c.ref(b.Next)))
		}
		c.add(choice, obj("Type", "Choice").comment(s.Name).with("Choices", rules).with("Default", c.ref(s.Else)))
	case StepAsk:
		c.add(s.ID, c.askState(s, next))
	case StepComment:
		c.add(s.ID, c.taskState(s.ID, ActionComment, obj("text", s.Text), next, true, s))
	case StepSendMessage:
		c.add(s.ID, c.taskState(s.ID, ActionSendMessage, obj("text", s.Text), next, true, s))
	case StepUpdateContact:
		c.add(s.ID, c.taskState(s.ID, ActionUpdateContact, obj("field", s.Field, "value", s.Value), next, true, s))
	case StepEscalate:
		c.add(s.ID, c.taskState(s.ID, ActionEscalate, obj("type", s.EscalationType, "summary", s.Summary), next, true, s))
	case StepClose:
		c.add(s.ID, c.taskState(s.ID, ActionClose, object{}, next, true, s))
	case StepGoto:
		c.gotoStates(s, next)
	}
}

// taskState builds a Task calling the task function with an action.
func (c *compiler) taskState(stepID, action string, params object, next string, endable bool, s *Step) object {
	payload := obj("action", action)
	if stepID != "" {
		payload = payload.with("step", stepID)
	}
	payload = payload.with("params", params).with("state.$", "$")
	o := obj("Type", "Task")
	if s != nil {
		o = o.comment(s.Name)
	}
	o = o.with("Resource", ResourceInvoke).
		with("Parameters", obj("FunctionName", TaskFunctionPlaceholder, "Payload", payload)).
		with("ResultPath", nil).
		with("Retry", retryPolicy()).
		with("Catch", c.catchAll())
	if next == "" {
		return o
	}
	if !endable && next == End {
		next = c.ref(next)
	}
	return c.withNext(o, next)
}

func retryPolicy() []any {
	return []any{obj(
		"ErrorEquals", retryErrors,
		"IntervalSeconds", retryInterval,
		"MaxAttempts", retryMaxAttempts,
		"BackoffRate", retryBackoff,
		"MaxDelaySeconds", retryMaxDelay,
		"JitterStrategy", "FULL",
	)}
}

// catchAll sends every other error to the shared RecordFailure state.
func (c *compiler) catchAll() []any {
	c.usesFailure = true
	return []any{obj("ErrorEquals", []any{"States.ALL"}, "ResultPath", "$.error", "Next", stateRecordFailure)}
}

func (c *compiler) askState(s *Step, next string) object {
	secs, _ := s.Timeout.Seconds()
	opts := make([]any, len(s.Options))
	for i, o := range s.Options {
		opts[i] = obj("id", o.ID, "label", o.Label)
	}
	params := obj("text", s.Question, "options", opts, "maxAttempts", s.maxAttempts())
	payload := obj("action", ActionAsk, "step", s.ID, "params", params, "state.$", "$", "TaskToken.$", "$$.Task.Token")
	var catches []any
	onTimeout, onInvalid := c.ref(s.OnTimeout), c.ref(s.onInvalid())
	if onTimeout == onInvalid {
		catches = append(catches, obj("ErrorEquals", []any{"States.Timeout", ErrorInvalidAnswer}, "ResultPath", "$.error", "Next", onTimeout))
	} else {
		catches = append(catches,
			obj("ErrorEquals", []any{"States.Timeout"}, "ResultPath", "$.error", "Next", onTimeout),
			obj("ErrorEquals", []any{ErrorInvalidAnswer}, "ResultPath", "$.error", "Next", onInvalid))
	}
	catches = append(catches, c.catchAll()...)
	o := obj("Type", "Task").comment(s.Name).
		with("Resource", ResourceInvokeWait).
		with("Parameters", obj("FunctionName", TaskFunctionPlaceholder, "Payload", payload)).
		with("TimeoutSeconds", secs).
		with("ResultPath", "$.vars."+s.Variable).
		with("Retry", retryPolicy()).
		with("Catch", catches)
	return c.withNext(o, next)
}

// gotoStates compiles a goto to a Choice on its counter and two Pass states
// that set or increment it before jumping: 2 transitions per jump.
func (c *compiler) gotoStates(s *Step, next string) {
	key := c.loopKey[s.ID]
	counter := "$.loops." + key + ".count"
	c.add(s.ID, obj("Type", "Choice").comment(s.Name).
		with("Choices", []any{
			absent(counter).with("Next", s.ID+".init"),
			obj("And", []any{
				obj("Variable", counter, "IsPresent", true),
				obj("Variable", counter, "NumericLessThan", s.maxIterations()),
			}, "Next", s.ID+".incr"),
		}).
		with("Default", c.ref(next)))
	c.add(s.ID+".init", obj("Type", "Pass", "Result", obj("count", 1), "ResultPath", "$.loops."+key, "Next", s.Target))
	c.add(s.ID+".incr", obj("Type", "Pass",
		"Parameters", obj("count.$", "States.MathAdd("+counter+", 1)"),
		"ResultPath", "$.loops."+key, "Next", s.Target))
}

// branchRule compiles a branch's conditions (without Next).
func branchRule(b Branch) object {
	op := "And"
	if b.Match == MatchAny {
		op = "Or"
	}
	var parts []any
	for _, cond := range b.Conditions {
		r := conditionRule(cond)
		if len(r) == 1 && r[0].k == op { // flatten And in And, Or in Or
			parts = append(parts, r[0].v.([]any)...)
			continue
		}
		parts = append(parts, r)
	}
	if len(parts) == 1 {
		return parts[0].(object)
	}
	return obj(op, parts)
}

// conditionRule compiles one condition. Comparisons are guarded with
// IsPresent because Step Functions fails on a comparison of a missing path:
// an absent value satisfies only not_equals and not_exists.
func conditionRule(cond Condition) object {
	sub, _ := branchSubject(cond.Subject)
	val, _ := checkValue(sub, cond.Operator, cond.Value)
	p := sub.path
	switch cond.Operator {
	case OpExists:
		return obj("Variable", p, "IsPresent", true)
	case OpNotExists:
		return absent(p)
	}
	var cmp object
	switch sub.kind {
	case kindNumber, kindSeconds:
		op := map[string]string{OpEquals: "NumericEquals", OpNotEquals: "NumericEquals",
			OpGreaterThan: "NumericGreaterThan", OpLessThan: "NumericLessThan"}[cond.Operator]
		cmp = obj("Variable", p, op, json.Number(val))
	case kindBool:
		cmp = obj("Variable", p, "BooleanEquals", val == "true")
	default:
		if cond.Operator == OpContains {
			cmp = obj("Variable", p, "StringMatches", "*"+escapeMatch(val)+"*")
		} else {
			cmp = obj("Variable", p, "StringEquals", val)
		}
	}
	if cond.Operator == OpNotEquals {
		return obj("Or", []any{absent(p), obj("Not", cmp)})
	}
	return obj("And", []any{obj("Variable", p, "IsPresent", true), cmp})
}

// absent tests that a path is missing. It is written Not(IsPresent: true)
// rather than IsPresent: false, which means the same on AWS but which
// aws-local-stepfunctions 3.0.0 evaluates as always false.
func absent(p string) object {
	return obj("Not", obj("Variable", p, "IsPresent", true))
}

// escapeMatch escapes StringMatches' wildcard and escape characters.
func escapeMatch(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`).Replace(s)
}

// ---- ordered JSON ----

// object is a JSON object that keeps its keys in insertion order, so the
// generated ASL is readable and byte-for-byte deterministic.
type object []field

type field struct {
	k string
	v any
}

// obj builds an object from key, value pairs.
func obj(kv ...any) object {
	o := make(object, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		o = append(o, field{kv[i].(string), kv[i+1]})
	}
	return o
}

func (o object) with(k string, v any) object { return append(o, field{k, v}) }

// comment adds a Comment when text is not empty.
func (o object) comment(text string) object {
	if text == "" {
		return o
	}
	return o.with("Comment", text)
}

// set replaces the value of k, or appends it.
func (o object) set(k string, v any) object {
	for i := range o {
		if o[i].k == k {
			o[i].v = v
			return o
		}
	}
	return o.with(k, v)
}

func (o object) without(k string) object {
	out := make(object, 0, len(o))
	for _, f := range o {
		if f.k != k {
			out = append(out, f)
		}
	}
	return out
}

func (o object) insertAfter(after, k string, v any) object {
	out := make(object, 0, len(o)+1)
	for _, f := range o {
		out = append(out, f)
		if f.k == after {
			out = append(out, field{k, v})
		}
	}
	return out
}

// MarshalJSON makes objects usable with encoding/json (tests, tools).
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	writeJSON(&b, o, -1)
	return b.Bytes(), nil
}

// writeJSON writes v indented by two spaces per level; depth < 0 writes compact JSON.
func writeJSON(b *bytes.Buffer, v any, depth int) {
	nl := func(d int) {
		if depth < 0 {
			return
		}
		b.WriteByte('\n')
		b.WriteString(strings.Repeat("  ", d))
	}
	sep := ": "
	if depth < 0 {
		sep = ":"
	}
	child := depth + 1
	if depth < 0 {
		child = -1
	}
	switch x := v.(type) {
	case object:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteByte('{')
		for i, f := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			nl(depth + 1)
			writeString(b, f.k)
			b.WriteString(sep)
			writeJSON(b, f.v, child)
		}
		nl(depth)
		b.WriteByte('}')
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			nl(depth + 1)
			writeJSON(b, e, child)
		}
		nl(depth)
		b.WriteByte(']')
	case string:
		writeString(b, x)
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case json.Number:
		b.WriteString(x.String())
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case nil:
		b.WriteString("null")
	default:
		panic(fmt.Sprintf("workflow: writeJSON: unsupported type %T", v))
	}
}

// writeString writes s as a JSON string, escaping like encoding/json
// without HTML escaping.
func writeString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b.WriteString(s[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}
