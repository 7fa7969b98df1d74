package asl

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// State types.
const (
	TypeTask    = "Task"
	TypePass    = "Pass"
	TypeWait    = "Wait"
	TypeChoice  = "Choice"
	TypeSucceed = "Succeed"
	TypeFail    = "Fail"
)

// Machine is a parsed and validated state machine definition.
type Machine struct {
	startAt        string
	states         map[string]*state
	timeoutSeconds int64
}

// StartAt returns the name of the first state.
func (m *Machine) StartAt() string { return m.startAt }

// StateNames returns the names of all states, sorted.
func (m *Machine) StateNames() []string {
	names := make([]string, 0, len(m.states))
	for n := range m.states {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// StateType returns the Type of the named state, or "" if there is none.
func (m *Machine) StateType(name string) string {
	if s, ok := m.states[name]; ok {
		return s.typ
	}
	return ""
}

// Resource returns the Resource of the named Task state, or "".
func (m *Machine) Resource(name string) string {
	if s, ok := m.states[name]; ok {
		return s.resource
	}
	return ""
}

// optPath is an InputPath, OutputPath or ResultPath: absent means "$",
// null discards (InputPath/OutputPath give {}, ResultPath keeps the input).
type optPath struct {
	null bool
	path *jpath // nil with !null means "$"
}

// valueExpr is a field that is either a reference path or an intrinsic call
// (ErrorPath, CausePath).
type valueExpr struct {
	path *jpath
	call *intrinsic
}

type retrier struct {
	errorEquals     []string
	intervalSeconds int64
	maxAttempts     int64
	backoffRate     float64
	maxDelaySeconds int64
	fullJitter      bool
}

type catcher struct {
	errorEquals []string
	next        string
	resultPath  optPath
}

type state struct {
	name string
	typ  string
	next string
	end  bool

	inputPath, outputPath, resultPath optPath
	parameters, resultSelector        *payloadTemplate

	// Task
	resource         string
	waitForToken     bool
	lambdaInvoke     bool
	timeoutSeconds   int64
	timeoutPath      *jpath
	heartbeatSeconds int64
	heartbeatPath    *jpath
	retry            []retrier
	catch            []catcher

	// Pass
	result    any
	hasResult bool

	// Wait
	seconds       int64
	hasSeconds    bool
	secondsPath   *jpath
	timestamp     time.Time
	hasTimestamp  bool
	timestampPath *jpath

	// Choice
	choices     []*choiceRule
	defaultNext string

	// Fail
	errorName, cause     string
	errorExpr, causeExpr *valueExpr
}

// Resources with special behaviour.
const (
	ResourceLambdaInvoke          = "arn:aws:states:::lambda:invoke"
	ResourceLambdaInvokeWaitToken = "arn:aws:states:::lambda:invoke.waitForTaskToken"
	waitForTaskTokenSuffix        = ".waitForTaskToken"
)

var allowedFields = map[string][]string{
	TypeTask: {"Resource", "Parameters", "ResultSelector", "ResultPath", "InputPath", "OutputPath", "Retry", "Catch",
		"TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials", "Next", "End"},
	TypePass:    {"Result", "Parameters", "ResultPath", "InputPath", "OutputPath", "Next", "End"},
	TypeWait:    {"Seconds", "SecondsPath", "Timestamp", "TimestampPath", "InputPath", "OutputPath", "Next", "End"},
	TypeChoice:  {"Choices", "Default", "InputPath", "OutputPath"},
	TypeSucceed: {"InputPath", "OutputPath"},
	TypeFail:    {"Error", "ErrorPath", "Cause", "CausePath"},
}

// maxStateNameLen is the longest state name Step Functions accepts.
const maxStateNameLen = 80

// Parse validates an ASL definition (JSONPath query language) and compiles
// it. Errors are *routing.Error values with CodeInvalid whose Field names the
// offending place, e.g. "States.Ask.Next", and whose message names the state.
func Parse(def []byte) (*Machine, error) {
	doc, err := decodeValue(def)
	if err != nil {
		return nil, routing.Invalid("definition", "definition is not valid JSON: %v", err)
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, routing.Invalid("definition", "definition must be a JSON object")
	}
	m := &Machine{states: map[string]*state{}}
	for _, k := range sortedKeys(root) {
		switch k {
		case "StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage":
		default:
			return nil, routing.Invalid(k, "unknown top-level field %q", k)
		}
	}
	if ql, ok := root["QueryLanguage"]; ok && ql != "JSONPath" {
		return nil, routing.Invalid("QueryLanguage", "only the JSONPath query language is supported, not %v", ql)
	}
	if m.startAt, ok = root["StartAt"].(string); !ok || m.startAt == "" {
		return nil, routing.Invalid("StartAt", "StartAt must name the first state")
	}
	if v, ok := root["TimeoutSeconds"]; ok {
		n, ok := toInt(v)
		if !ok || n <= 0 {
			return nil, routing.Invalid("TimeoutSeconds", "TimeoutSeconds must be a positive integer")
		}
		m.timeoutSeconds = n
	}
	states, ok := root["States"].(map[string]any)
	if !ok || len(states) == 0 {
		return nil, routing.Invalid("States", "States must be a non-empty object")
	}
	for _, name := range sortedKeys(states) {
		s, err := parseState(name, states[name])
		if err != nil {
			return nil, err
		}
		m.states[name] = s
	}
	if err := m.checkTransitions(); err != nil {
		return nil, err
	}
	return m, nil
}

// stateErr builds the error for field of state name.
func stateErr(name, field, format string, args ...any) error {
	f := "States." + name
	if field != "" {
		f += "." + field
	}
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		return routing.Invalid(f, "state %q: %s: %s", name, field, msg)
	}
	return routing.Invalid(f, "state %q: %s", name, msg)
}

func parseState(name string, raw any) (*state, error) {
	if len(name) > maxStateNameLen {
		return nil, stateErr(name, "", "state names are at most %d characters", maxStateNameLen)
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, stateErr(name, "", "a state must be an object")
	}
	typ, _ := obj["Type"].(string)
	s := &state{name: name, typ: typ}
	switch typ {
	case "Parallel", "Map":
		return nil, stateErr(name, "Type", "%s states are not supported by the embedded runner", typ)
	case "":
		return nil, stateErr(name, "Type", "missing Type")
	}
	allowed, ok := allowedFields[typ]
	if !ok {
		return nil, stateErr(name, "Type", "unknown state type %q", typ)
	}
	for _, k := range sortedKeys(obj) {
		if k == "Type" || k == "Comment" {
			continue
		}
		if k == "QueryLanguage" {
			if obj[k] != "JSONPath" {
				return nil, stateErr(name, k, "only JSONPath is supported")
			}
			continue
		}
		known := false
		for _, a := range allowed {
			known = known || a == k
		}
		if !known {
			return nil, stateErr(name, k, "field is not supported in a %s state", typ)
		}
	}
	p := &stateParser{s: s, obj: obj}
	p.transition()
	p.ioPaths()
	switch typ {
	case TypeTask:
		p.task()
	case TypePass:
		if v, ok := obj["Result"]; ok {
			s.result, s.hasResult = v, true
		}
		s.parameters = p.template("Parameters")
	case TypeWait:
		p.wait()
	case TypeChoice:
		p.choice()
	case TypeFail:
		p.failState()
	}
	if p.err != nil {
		return nil, p.err
	}
	return s, nil
}

// stateParser accumulates the first error while reading one state.
type stateParser struct {
	s   *state
	obj map[string]any
	err error
}

func (p *stateParser) fail(field, format string, args ...any) {
	if p.err == nil {
		p.err = stateErr(p.s.name, field, format, args...)
	}
}

func (p *stateParser) str(field string) (string, bool) {
	v, ok := p.obj[field]
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		p.fail(field, "must be a string")
		return "", false
	}
	return s, true
}

func (p *stateParser) posInt(field string, allowZero bool) (int64, bool) {
	v, ok := p.obj[field]
	if !ok {
		return 0, false
	}
	n, ok := toInt(v)
	if !ok || n < 0 || (n == 0 && !allowZero) {
		p.fail(field, "must be a positive integer")
		return 0, false
	}
	return n, true
}

func (p *stateParser) refPath(field string) *jpath {
	s, ok := p.str(field)
	if !ok {
		return nil
	}
	jp, err := parsePath(s, false)
	if err != nil {
		p.fail(field, "%v", err)
		return nil
	}
	if !jp.definite {
		p.fail(field, "must be a reference path")
		return nil
	}
	return jp
}

func (p *stateParser) transition() {
	s := p.s
	next, hasNext := p.str("Next")
	end, hasEnd := p.obj["End"]
	switch s.typ {
	case TypeChoice, TypeSucceed, TypeFail:
		return // field sets already exclude Next and End
	}
	if hasEnd && end != true {
		p.fail("End", "must be true when present")
		return
	}
	switch {
	case hasNext && hasEnd:
		p.fail("Next", "a state cannot have both Next and End")
	case !hasNext && !hasEnd:
		p.fail("Next", "missing Next or \"End\": true")
	case hasNext:
		if next == "" {
			p.fail("Next", "must name a state")
		}
		s.next = next
	default:
		s.end = true
	}
}

func (p *stateParser) optPath(field string, reference bool) optPath {
	v, ok := p.obj[field]
	if !ok {
		return optPath{}
	}
	if v == nil {
		return optPath{null: true}
	}
	s, ok := v.(string)
	if !ok {
		p.fail(field, "must be a path or null")
		return optPath{}
	}
	jp, err := parsePath(s, reference)
	if err != nil {
		p.fail(field, "%v", err)
		return optPath{}
	}
	return optPath{path: jp}
}

func (p *stateParser) ioPaths() {
	s := p.s
	if s.typ == TypeFail {
		return
	}
	s.inputPath = p.optPath("InputPath", false)
	s.outputPath = p.optPath("OutputPath", false)
	if s.typ == TypeTask || s.typ == TypePass {
		s.resultPath = p.optPath("ResultPath", true)
	}
}

func (p *stateParser) template(field string) *payloadTemplate {
	v, ok := p.obj[field]
	if !ok {
		return nil
	}
	t, err := compileTemplate(v)
	if err != nil {
		p.fail(field, "%v", err)
		return nil
	}
	return t
}

func (p *stateParser) task() {
	s := p.s
	res, ok := p.str("Resource")
	if !ok || res == "" {
		p.fail("Resource", "missing Resource")
		return
	}
	s.resource = res
	s.waitForToken = strings.HasSuffix(res, waitForTaskTokenSuffix)
	s.lambdaInvoke = res == ResourceLambdaInvoke
	s.parameters = p.template("Parameters")
	s.resultSelector = p.template("ResultSelector")
	if n, ok := p.posInt("TimeoutSeconds", false); ok {
		s.timeoutSeconds = n
	}
	if n, ok := p.posInt("HeartbeatSeconds", false); ok {
		s.heartbeatSeconds = n
	}
	s.timeoutPath = p.refPath("TimeoutSecondsPath")
	s.heartbeatPath = p.refPath("HeartbeatSecondsPath")
	if s.timeoutSeconds > 0 && s.timeoutPath != nil {
		p.fail("TimeoutSecondsPath", "cannot be used with TimeoutSeconds")
	}
	if s.heartbeatSeconds > 0 && s.heartbeatPath != nil {
		p.fail("HeartbeatSecondsPath", "cannot be used with HeartbeatSeconds")
	}
	if s.heartbeatSeconds > 0 && s.timeoutSeconds > 0 && s.heartbeatSeconds >= s.timeoutSeconds {
		p.fail("HeartbeatSeconds", "must be smaller than TimeoutSeconds")
	}
	if raw, ok := p.obj["Retry"]; ok {
		list, ok := raw.([]any)
		if !ok {
			p.fail("Retry", "must be an array")
			return
		}
		for i, r := range list {
			p.retrier(i, r, i == len(list)-1)
		}
	}
	if raw, ok := p.obj["Catch"]; ok {
		list, ok := raw.([]any)
		if !ok {
			p.fail("Catch", "must be an array")
			return
		}
		for i, c := range list {
			p.catcher(i, c, i == len(list)-1)
		}
	}
}

func (p *stateParser) errorEquals(field string, obj map[string]any, last bool) []string {
	raw, ok := obj["ErrorEquals"].([]any)
	if !ok || len(raw) == 0 {
		p.fail(field+".ErrorEquals", "must be a non-empty array of error names")
		return nil
	}
	out := make([]string, 0, len(raw))
	for _, e := range raw {
		s, ok := e.(string)
		if !ok || s == "" {
			p.fail(field+".ErrorEquals", "error names must be non-empty strings")
			return nil
		}
		if s == ErrAll && (len(raw) != 1 || !last) {
			p.fail(field+".ErrorEquals", "States.ALL must appear alone and in the last entry")
			return nil
		}
		out = append(out, s)
	}
	return out
}

func (p *stateParser) retrier(i int, raw any, last bool) {
	field := fmt.Sprintf("Retry[%d]", i)
	obj, ok := raw.(map[string]any)
	if !ok {
		p.fail(field, "must be an object")
		return
	}
	r := retrier{intervalSeconds: 1, maxAttempts: 3, backoffRate: 2}
	for _, k := range sortedKeys(obj) {
		switch k {
		case "ErrorEquals":
		case "IntervalSeconds":
			n, ok := toInt(obj[k])
			if !ok || n < 1 {
				p.fail(field+"."+k, "must be a positive integer")
			}
			r.intervalSeconds = n
		case "MaxAttempts":
			n, ok := toInt(obj[k])
			if !ok || n < 0 {
				p.fail(field+"."+k, "must be a non-negative integer")
			}
			r.maxAttempts = n
		case "BackoffRate":
			f, ok := toFloat(obj[k])
			if !ok || f < 1 {
				p.fail(field+"."+k, "must be a number not less than 1.0")
			}
			r.backoffRate = f
		case "MaxDelaySeconds":
			n, ok := toInt(obj[k])
			if !ok || n < 1 {
				p.fail(field+"."+k, "must be a positive integer")
			}
			r.maxDelaySeconds = n
		case "JitterStrategy":
			switch obj[k] {
			case "FULL":
				r.fullJitter = true
			case "NONE":
			default:
				p.fail(field+"."+k, "must be FULL or NONE")
			}
		case "Comment":
		default:
			p.fail(field+"."+k, "unknown field")
		}
	}
	r.errorEquals = p.errorEquals(field, obj, last)
	p.s.retry = append(p.s.retry, r)
}

func (p *stateParser) catcher(i int, raw any, last bool) {
	field := fmt.Sprintf("Catch[%d]", i)
	obj, ok := raw.(map[string]any)
	if !ok {
		p.fail(field, "must be an object")
		return
	}
	c := catcher{}
	for _, k := range sortedKeys(obj) {
		switch k {
		case "ErrorEquals", "Comment":
		case "Next":
			s, ok := obj[k].(string)
			if !ok || s == "" {
				p.fail(field+".Next", "must name a state")
			}
			c.next = s
		case "ResultPath":
			if obj[k] == nil {
				c.resultPath = optPath{null: true}
				continue
			}
			s, ok := obj[k].(string)
			jp, err := parsePath(s, true)
			if !ok || err != nil {
				p.fail(field+".ResultPath", "must be a reference path or null")
				continue
			}
			c.resultPath = optPath{path: jp}
		default:
			p.fail(field+"."+k, "unknown field")
		}
	}
	if c.next == "" {
		p.fail(field+".Next", "missing Next")
	}
	c.errorEquals = p.errorEquals(field, obj, last)
	p.s.catch = append(p.s.catch, c)
}

func (p *stateParser) wait() {
	s := p.s
	count := 0
	if n, ok := p.posInt("Seconds", true); ok {
		s.seconds, s.hasSeconds = n, true
		count++
	}
	if ts, ok := p.str("Timestamp"); ok {
		t, ok := parseTimestamp(ts)
		if !ok {
			p.fail("Timestamp", "must be an RFC 3339 timestamp such as 2026-03-14T01:59:00Z")
		}
		s.timestamp, s.hasTimestamp = t, true
		count++
	}
	if jp := p.refPath("SecondsPath"); jp != nil {
		s.secondsPath = jp
		count++
	}
	if jp := p.refPath("TimestampPath"); jp != nil {
		s.timestampPath = jp
		count++
	}
	if count != 1 && p.err == nil {
		p.fail("Seconds", "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp or TimestampPath")
	}
}

func (p *stateParser) choice() {
	s := p.s
	raw, ok := p.obj["Choices"].([]any)
	if !ok || len(raw) == 0 {
		p.fail("Choices", "must be a non-empty array of rules")
		return
	}
	for i, r := range raw {
		field := fmt.Sprintf("Choices[%d]", i)
		rule, err := parseChoiceRule(r, true, field)
		if err != nil {
			p.fail(field, "%v", err)
			return
		}
		s.choices = append(s.choices, rule)
	}
	if d, ok := p.str("Default"); ok {
		if d == "" {
			p.fail("Default", "must name a state")
		}
		s.defaultNext = d
	}
}

func (p *stateParser) failState() {
	s := p.s
	s.errorName, _ = p.str("Error")
	s.cause, _ = p.str("Cause")
	s.errorExpr = p.valueExpr("ErrorPath")
	s.causeExpr = p.valueExpr("CausePath")
	if _, ok := p.obj["Error"]; ok && s.errorExpr != nil {
		p.fail("ErrorPath", "cannot be used with Error")
	}
	if _, ok := p.obj["Cause"]; ok && s.causeExpr != nil {
		p.fail("CausePath", "cannot be used with Cause")
	}
}

func (p *stateParser) valueExpr(field string) *valueExpr {
	v, ok := p.str(field)
	if !ok {
		return nil
	}
	if isIntrinsic(v) {
		c, err := parseIntrinsic(v)
		if err != nil {
			p.fail(field, "%v", err)
			return nil
		}
		return &valueExpr{call: c}
	}
	jp, err := parsePath(v, false)
	if err != nil || !jp.definite {
		p.fail(field, "must be a reference path or an intrinsic function")
		return nil
	}
	return &valueExpr{path: jp}
}

// checkTransitions verifies that every transition names a state and that
// every state can be reached from StartAt.
func (m *Machine) checkTransitions() error {
	if _, ok := m.states[m.startAt]; !ok {
		return routing.Invalid("StartAt", "StartAt names %q, which is not a state", m.startAt)
	}
	check := func(from, field, to string) error {
		if _, ok := m.states[to]; !ok {
			return stateErr(from, field, "names %q, which is not a state", to)
		}
		return nil
	}
	for _, name := range m.StateNames() {
		s := m.states[name]
		if s.next != "" {
			if err := check(name, "Next", s.next); err != nil {
				return err
			}
		}
		if s.defaultNext != "" {
			if err := check(name, "Default", s.defaultNext); err != nil {
				return err
			}
		}
		for i, c := range s.choices {
			if err := check(name, fmt.Sprintf("Choices[%d].Next", i), c.next); err != nil {
				return err
			}
		}
		for i, c := range s.catch {
			if err := check(name, fmt.Sprintf("Catch[%d].Next", i), c.next); err != nil {
				return err
			}
		}
	}
	seen := map[string]bool{m.startAt: true}
	queue := []string{m.startAt}
	for len(queue) > 0 {
		s := m.states[queue[0]]
		queue = queue[1:]
		targets := []string{s.next, s.defaultNext}
		for _, c := range s.choices {
			targets = append(targets, c.next)
		}
		for _, c := range s.catch {
			targets = append(targets, c.next)
		}
		for _, t := range targets {
			if t != "" && !seen[t] {
				seen[t] = true
				queue = append(queue, t)
			}
		}
	}
	for _, name := range m.StateNames() {
		if !seen[name] {
			return stateErr(name, "", "state is not reachable from StartAt")
		}
	}
	return nil
}

// waitsForToken reports whether a Task state waits for a task token.
func (m *Machine) waitsForToken() bool {
	for _, st := range m.states {
		if st.waitForToken {
			return true
		}
	}
	return false
}
