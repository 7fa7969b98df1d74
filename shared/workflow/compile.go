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
	ActionHandoff       = "handoff"
	ActionRecordFailure = "record_failure"
)

// ActionNames lists every task action.
var ActionNames = []string{
	ActionSnapshot, ActionAssign, ActionComment, ActionSendMessage, ActionAsk,
	ActionUpdateContact, ActionEscalate, ActionClose, ActionHandoff, ActionRecordFailure,
}

// Retry policy of every task of a Standard machine: about two minutes of
// backoff before the failure is recorded.
var retryErrors = []any{ErrorTransient, "Lambda.ServiceException", "Lambda.AWSLambdaException",
	"Lambda.SdkClientException", "Lambda.TooManyRequestsException"}

const (
	retryInterval    = 2
	retryMaxAttempts = 6
	retryBackoff     = 2
	retryMaxDelay    = 60
)

// Retry policy and task timeout of an Express machine, whose executions AWS
// cuts at 5 minutes: every attempt is bounded by expressTaskTimeout and the
// back-off adds at most 1 + 2 seconds, so one task costs at most
// (1+expressMaxAttempts)×expressTaskTimeout + 3 = 33 seconds.
const (
	expressTaskTimeout  = 10
	expressInterval     = 1
	expressMaxAttempts  = 2
	expressBackoff      = 2
	expressMaxDelay     = 2
	expressTaskWorstSec = (1+expressMaxAttempts)*expressTaskTimeout + expressInterval + expressInterval*expressBackoff
)

// ExpressMaxSeconds bounds the worst-case duration of an Express machine:
// every task on its longest path (and the RecordFailure after it) using its
// whole retry budget. A workflow above it deploys as Standard, well inside
// AWS's 5-minute cap on Express executions (ExpressHardLimitSeconds).
const (
	ExpressMaxSeconds       = 120
	ExpressHardLimitSeconds = 300
)

// MaxDefinitionSize is Step Functions' limit on a state machine definition
// (1,048,576 characters). Compile and Validate measure the deployed size:
// every TaskFunctionPlaceholder counted as taskARNAllowance characters, the
// longest task function ARN a deployment may substitute.
const (
	MaxDefinitionSize = 1 << 20
	taskARNAllowance  = 170
)

// ExpressEligible reports whether the workflow runs as an Express state
// machine: it never waits (no wait step, no question), so it never loops
// either (Validate requires a wait or an ask in every loop), and its
// worst-case duration, every task on its longest path using its whole retry
// budget, is at most ExpressMaxSeconds. Express executions last at most 5
// minutes and cannot wait for task tokens.
func ExpressEligible(def *Definition) bool {
	secs, ok := ExpressWorstCase(def)
	return ok && secs <= ExpressMaxSeconds
}

// ExpressWorstCase is the worst-case duration in seconds of def compiled as
// Express; ok is false when def waits or loops (it cannot be Express).
func ExpressWorstCase(def *Definition) (seconds int, ok bool) {
	if def == nil || len(def.Steps) == 0 {
		return 0, false
	}
	for _, s := range def.Steps {
		if isWaiting(&s) {
			return 0, false
		}
	}
	c := &compiler{def: def}
	c.planSnapshots()
	idx := map[string]int{}
	for i, s := range def.Steps {
		if _, dup := idx[s.ID]; !dup {
			idx[s.ID] = i
		}
	}
	// Longest path, counted in tasks, over the step graph (acyclic when
	// valid; a cycle makes the workflow ineligible).
	const (
		unseen = iota
		active
		done
	)
	mark := make([]int, len(def.Steps))
	longest := make([]int, len(def.Steps))
	cyclic := false
	var visit func(i int) int
	visit = func(i int) int {
		switch mark[i] {
		case active:
			cyclic = true
			return 0
		case done:
			return longest[i]
		}
		mark[i] = active
		s := &def.Steps[i]
		own := 1
		if s.Type == StepGoto || s.Type == StepBranch && !c.snapshot[i] {
			own = 0
		}
		best := 0
		for _, e := range def.edges(i) {
			if j, ok := idx[e.to]; ok {
				best = max(best, visit(j))
			}
		}
		mark[i] = done
		longest[i] = own + best
		return longest[i]
	}
	n := visit(0)
	if cyclic {
		return 0, false
	}
	return (n + 1) * expressTaskWorstSec, true // + RecordFailure after the last task
}

// Compile validates the definition and translates it to Amazon States
// Language (JSONPath), indented, deterministic byte for byte. The error is
// a *ValidationError when the definition is invalid, including a machine
// that would exceed MaxDefinitionSize (naming the step that crosses it).
func Compile(def *Definition) ([]byte, error) {
	return CompileWith(def, Options{})
}

// Options choose how a definition compiles.
type Options struct {
	// PerStep compiles every step to states of its own (a Task per action,
	// a snapshot Task and a Choice per branch): the compile before
	// stretches, kept so that the cost report can measure both.
	PerStep bool
}

// CompileWith is Compile with options. By default each stretch of steps
// that do not wait becomes one Task (see stretch.go), and a workflow whose
// leading stretch leads to a single wait, ask or goto starts there: the
// starter runs that stretch (PreludeOf).
func CompileWith(def *Definition, opts Options) ([]byte, error) {
	if errs := validate(def, nil); len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	c := compileOpts(def, opts)
	if errs := c.sizeErrors(); len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	return c.bytes(), nil
}

// compileChecked compiles a definition that passed validate.
func compileChecked(def *Definition) *compiler { return compileOpts(def, Options{}) }

func compileOpts(def *Definition, opts Options) *compiler {
	c := &compiler{def: def, states: object{}, express: ExpressEligible(def), startAt: def.Steps[0].ID}
	c.planSnapshots()
	c.planLoops()
	if opts.PerStep {
		for i := range def.Steps {
			c.step(i)
		}
	} else {
		entry := def.stretchEntries()
		if exit, ok := def.preludeExit(); ok && exit != "" && !def.reenters(0) {
			// the starter runs the leading stretch (PreludeOf)
			entry[0] = false
			c.startAt = exit
		}
		for i := range def.Steps {
			switch {
			case boundary(&def.Steps[i]):
				c.step(i)
			case entry[i]:
				c.stretchState(i)
			}
		}
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
	return c
}

func (c *compiler) machine() object {
	return obj(
		"Comment", fmt.Sprintf("Switchboard workflow %s: %s", c.def.ID, c.def.Name),
		"StartAt", c.startAt,
		"States", c.states,
	)
}

func (c *compiler) bytes() []byte {
	var b bytes.Buffer
	writeJSON(&b, c.machine(), 0)
	b.WriteByte('\n')
	return b.Bytes()
}

// deployedSize is the size of b once deployed: each placeholder replaced by
// an ARN of up to taskARNAllowance characters.
func deployedSize(b []byte) int {
	n := bytes.Count(b, []byte(TaskFunctionPlaceholder))
	return len(b) + n*(taskARNAllowance-len(TaskFunctionPlaceholder))
}

// sizeErrors refuses a machine larger than MaxDefinitionSize, naming the
// step whose states cross the limit.
func (c *compiler) sizeErrors() []FieldError {
	total := deployedSize(c.bytes())
	if total <= MaxDefinitionSize {
		return nil
	}
	// The states are written in step order: add them up until the limit.
	sum := deployedSize(c.bytes()) - c.statesSize()
	step := c.def.Steps[len(c.def.Steps)-1].ID
	for _, f := range c.states {
		var b bytes.Buffer
		writeJSON(&b, object{f}, 1)
		sum += deployedSize(b.Bytes())
		if sum > MaxDefinitionSize {
			if id, _, _ := strings.Cut(f.k, "."); c.isStep(id) {
				step = id
			}
			break
		}
	}
	return []FieldError{{Step: step, Field: "", Message: fmt.Sprintf(
		"the workflow compiles to a state machine of about %d characters, more than Step Functions' limit of %d; this step crosses it: make texts shorter or split the workflow",
		total, MaxDefinitionSize)}}
}

// statesSize is the deployed size of the states written one by one.
func (c *compiler) statesSize() int {
	n := 0
	for _, f := range c.states {
		var b bytes.Buffer
		writeJSON(&b, object{f}, 1)
		n += deployedSize(b.Bytes())
	}
	return n
}

func (c *compiler) isStep(id string) bool {
	for _, s := range c.def.Steps {
		if s.ID == id {
			return true
		}
	}
	return false
}

type compiler struct {
	def         *Definition
	express     bool // compiled for an Express machine: bounded task timeouts and retries
	startAt     string
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
	case StepHandoff:
		c.add(s.ID, c.taskState(s.ID, ActionHandoff, handoffParams(s), next, true, s))
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
	payload = c.stepKeyFields(payload.with("params", params).with("state.$", "$"))
	o := obj("Type", "Task")
	if s != nil {
		o = o.comment(s.Name)
	}
	o = o.with("Resource", ResourceInvoke).
		with("Parameters", obj("FunctionName", TaskFunctionPlaceholder, "Payload", payload))
	if c.express {
		o = o.with("TimeoutSeconds", expressTaskTimeout)
	}
	o = o.with("ResultPath", nil).
		with("Retry", c.retryPolicy()).
		with("Catch", c.catchAll())
	if next == "" {
		return o
	}
	if !endable && next == End {
		next = c.ref(next)
	}
	return c.withNext(o, next)
}

// stepKeyFields adds what identifies the step run to a task payload: the
// execution name, the state name and the time the state was entered (the
// same for every Retry attempt of one entry). Express machines say so:
// their executions may run twice, each entering at its own time (see
// Task.StepKey).
func (c *compiler) stepKeyFields(payload object) object {
	payload = payload.with("execution.$", "$$.Execution.Name").
		with("stateName.$", "$$.State.Name").
		with("enteredTime.$", "$$.State.EnteredTime")
	if c.express {
		payload = payload.with("express", true)
	}
	return payload
}

func (c *compiler) retryPolicy() []any {
	if c.express {
		return []any{obj(
			"ErrorEquals", append(append([]any{}, retryErrors...), "States.Timeout"),
			"IntervalSeconds", expressInterval,
			"MaxAttempts", expressMaxAttempts,
			"BackoffRate", expressBackoff,
			"MaxDelaySeconds", expressMaxDelay,
			"JitterStrategy", "FULL",
		)}
	}
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
	payload := c.stepKeyFields(obj("action", ActionAsk, "step", s.ID, "params", params, "state.$", "$")).with("TaskToken.$", "$$.Task.Token")
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
		with("Retry", c.retryPolicy()).
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

// handoffParams are the params of a handoff step's task.
func handoffParams(s *Step) object {
	return obj("reason", s.Reason, "teamId", s.Team, "summary", s.Summary, "escalationType", s.EscalationType)
}
