package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// A stretch is a run of steps that do not wait: actions and branches
// reached from one entry step without passing a wait, an ask or a goto.
// Step Functions Standard bills every state entered, so the compiler makes
// each stretch ONE Task state (action "run") whose task function runs the
// stretch's actions and evaluates its branches in Go, with the semantics
// of the compiled Choice rules (see evalBranchCondition). Waits, asks and
// gotos stay states of their own: they are where time passes or a loop is
// counted. See /docs/workflows.md, "Stretches".

// ActionRun runs a stretch of non-waiting steps in one task.
const ActionRun = "run"

// RunParams are the params of a "run" task: the stretch's steps, each with
// its resolved successors, and the one to start at. A successor that is not
// one of Steps is an exit: a wait, ask or goto state, or "end".
type RunParams struct {
	Start string    `json:"start"`
	Steps []RunStep `json:"steps"`
}

// RunStep is one step of a stretch: an action (Action and Params, as the
// per-step compile passes them) or a branch (Branches and Else).
type RunStep struct {
	ID       string          `json:"id"`
	Action   string          `json:"action,omitempty"`
	Params   json.RawMessage `json:"params,omitempty"`
	Branches []RunBranch     `json:"branches,omitempty"`
	Else     string          `json:"else,omitempty"`
	Next     string          `json:"next,omitempty"`
}

// RunBranch is one outcome of a branch inside a stretch.
type RunBranch struct {
	Match      string      `json:"match,omitempty"`
	Conditions []Condition `json:"conditions"`
	Next       string      `json:"next"`
}

// RunResult is the result of a "run" task: the exit the stretch reached
// (a state name, or "end").
type RunResult struct {
	Next string `json:"next"`
}

// boundary reports whether step s is compiled as a state of its own in the
// stretch compile: waits and asks (time passes) and gotos (their counter
// lives in the execution state).
func boundary(s *Step) bool { return isWaiting(s) || s.Type == StepGoto }

// stretchOf collects the steps of the stretch entered at step e (indexes in
// step order) and its exits in the order first reached.
func (d *Definition) stretchOf(e int) (steps []int, exits []string) {
	idx := map[string]int{}
	for i, s := range d.Steps {
		idx[s.ID] = i
	}
	in := map[int]bool{e: true}
	seenExit := map[string]bool{}
	queue := []int{e}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, ed := range d.edges(i) {
			j, ok := idx[ed.to]
			if !ok || boundary(&d.Steps[j]) {
				if !seenExit[ed.to] {
					seenExit[ed.to] = true
					exits = append(exits, ed.to)
				}
				continue
			}
			if !in[j] {
				in[j] = true
				queue = append(queue, j)
			}
		}
	}
	for i := range d.Steps {
		if in[i] {
			steps = append(steps, i)
		}
	}
	return steps, exits
}

// stretchEntries marks the steps where a stretch starts: the first step,
// and every non-boundary step a wait, an ask or a goto leads to.
func (d *Definition) stretchEntries() []bool {
	idx := map[string]int{}
	for i, s := range d.Steps {
		idx[s.ID] = i
	}
	entry := make([]bool, len(d.Steps))
	if len(d.Steps) > 0 && !boundary(&d.Steps[0]) {
		entry[0] = true
	}
	for i := range d.Steps {
		if !boundary(&d.Steps[i]) {
			continue
		}
		for _, ed := range d.edges(i) {
			if j, ok := idx[ed.to]; ok && !boundary(&d.Steps[j]) {
				entry[j] = true
			}
		}
	}
	return entry
}

// reenters reports whether a wait, an ask or a goto leads back to step i.
func (d *Definition) reenters(i int) bool {
	for j := range d.Steps {
		if !boundary(&d.Steps[j]) {
			continue
		}
		for _, ed := range d.edges(j) {
			if ed.to == d.Steps[i].ID {
				return true
			}
		}
	}
	return false
}

// actionParams is what a step's action receives, as the per-step compile
// passes it.
func actionParams(s *Step) (string, object) {
	switch s.Type {
	case StepAssign:
		if s.Agent != "" {
			return ActionAssign, obj("agentId", s.Agent)
		}
		return ActionAssign, obj("teamId", s.Team, "onlineOnly", s.OnlineOnly)
	case StepComment:
		return ActionComment, obj("text", s.Text)
	case StepSendMessage:
		return ActionSendMessage, obj("text", s.Text)
	case StepUpdateContact:
		return ActionUpdateContact, obj("field", s.Field, "value", s.Value)
	case StepEscalate:
		return ActionEscalate, obj("type", s.EscalationType, "summary", s.Summary)
	case StepClose:
		return ActionClose, object{}
	case StepHandoff:
		return ActionHandoff, handoffParams(s)
	}
	return "", nil
}

// runParams builds the params of the stretch entered at step e.
func (d *Definition) runParams(e int) (object, []string) {
	steps, exits := d.stretchOf(e)
	list := make([]any, 0, len(steps))
	for _, i := range steps {
		s := &d.Steps[i]
		if s.Type == StepBranch {
			var bs []any
			for _, b := range s.Branches {
				var conds []any
				for _, c := range b.Conditions {
					co := obj("subject", c.Subject, "operator", c.Operator)
					if c.Value != nil {
						co = co.with("value", string(*c.Value))
					}
					conds = append(conds, co)
				}
				bo := object{}
				if b.Match == MatchAny {
					bo = bo.with("match", MatchAny)
				}
				bs = append(bs, bo.with("conditions", conds).with("next", b.Next))
			}
			list = append(list, obj("id", s.ID, "branches", bs, "else", s.Else))
			continue
		}
		action, p := actionParams(s)
		list = append(list, obj("id", s.ID, "action", action, "params", p, "next", d.following(i)))
	}
	return obj("start", d.Steps[e].ID, "steps", list), exits
}

// stretchState compiles the stretch entered at step e: one Task; when the
// stretch can leave to more than one place, a Choice "<entry>.next" on the
// exit the task returned follows it.
func (c *compiler) stretchState(e int) {
	s := &c.def.Steps[e]
	params, exits := c.def.runParams(e)
	if len(exits) == 1 {
		c.add(s.ID, c.taskState(s.ID, ActionRun, params, exits[0], true, s))
		return
	}
	choice := s.ID + ".next"
	t := c.taskState(s.ID, ActionRun, params, choice, false, s)
	t = t.insertAfter("Parameters", "ResultSelector", obj("next.$", "$.Payload.next")).set("ResultPath", "$.stretch")
	c.add(s.ID, t)
	rules := make([]any, 0, len(exits)-1)
	for _, x := range exits[:len(exits)-1] {
		rules = append(rules, obj("Variable", "$.stretch.next", "StringEquals", x, "Next", c.ref(x)))
	}
	c.add(choice, obj("Type", "Choice", "Choices", rules, "Default", c.ref(exits[len(exits)-1])))
}

// Prelude is the leading stretch of a workflow run by whoever starts it
// (the dispatcher, the shortcut API) instead of by the machine: the
// execution then starts at the first wait or ask. A workflow that never
// reaches one runs whole as its prelude and needs no execution at all.
type Prelude struct {
	Params RunParams
	// Entry is the first step's id, the name the stretch's task would have.
	Entry string
	// Whole is true when the prelude is the whole workflow: it never waits.
	Whole bool
	// StartAt is where the machine starts when the prelude does not end
	// the run (the single wait, ask or goto the prelude leads to).
	StartAt string
}

// leading returns the leading stretch's params and exits, ok false when
// the first step waits (there is no prelude).
func (d *Definition) leading() (object, []string, bool) {
	if len(d.Steps) == 0 || boundary(&d.Steps[0]) {
		return nil, nil, false
	}
	p, exits := d.runParams(0)
	return p, exits, true
}

// preludeExit is the one state the leading stretch leads to besides the
// end, "" when it only ends, and ok false when there is no prelude or it
// leads to several states (then the machine runs it).
func (d *Definition) preludeExit() (exit string, ok bool) {
	_, exits, ok := d.leading()
	if !ok || d.reenters(0) {
		return "", false
	}
	for _, x := range exits {
		if x == End {
			continue
		}
		if exit != "" {
			return "", false
		}
		exit = x
	}
	return exit, true
}

// PreludeOf says whether the starter of a run of def runs the leading
// stretch itself, for a version compiled to machine (its ASL): when the
// workflow never waits and was compiled with stretches (Whole: no
// execution), or when the machine was compiled to start at the state the
// leading stretch leads to. Versions compiled per step (before stretches,
// or with Options.PerStep) start at the first step and run everything.
func PreludeOf(def *Definition, machine []byte) (Prelude, bool) {
	exit, ok := def.preludeExit()
	if !ok {
		return Prelude{}, false
	}
	p, _, _ := def.leading()
	raw, err := p.MarshalJSON()
	if err != nil {
		return Prelude{}, false
	}
	var params RunParams
	if err := json.Unmarshal(raw, &params); err != nil {
		return Prelude{}, false
	}
	pre := Prelude{Params: params, Entry: def.Steps[0].ID, StartAt: exit, Whole: exit == ""}
	var m struct {
		StartAt string
		States  map[string]struct {
			Parameters struct {
				Payload struct {
					Action string `json:"action"`
				}
			}
		}
	}
	if json.Unmarshal(machine, &m) != nil {
		return Prelude{}, false
	}
	// Whole: compiled with stretches, the machine is the one stretch task
	if pre.Whole && m.StartAt == pre.Entry && m.States[m.StartAt].Parameters.Payload.Action == ActionRun ||
		!pre.Whole && m.StartAt == exit {
		return pre, true
	}
	return Prelude{}, false
}

// RunStretch runs a stretch: its actions through a (each with its own
// step key: the task's plus the action's step id, see Task.StepKey) and
// its branches evaluated in Go on the execution state and a snapshot taken
// before a branch that reads live data (once, until an action runs). It
// returns the exit reached. t is the task of the stretch (its state, step
// key fields); an action error is returned as is, for Retry and Catch.
func RunStretch(ctx context.Context, a Actions, t Task, p RunParams) (RunResult, error) {
	byID := make(map[string]*RunStep, len(p.Steps))
	for i := range p.Steps {
		byID[p.Steps[i].ID] = &p.Steps[i]
	}
	var state map[string]any
	if err := json.Unmarshal(t.State, &state); err != nil {
		return RunResult{}, &InvalidTask{Message: "state: " + err.Error()}
	}
	var snap map[string]any // nil: none current
	cur := p.Start
	for steps := 0; ; steps++ {
		s := byID[cur]
		if s == nil {
			return RunResult{Next: cur}, nil
		}
		if steps > len(p.Steps) {
			return RunResult{}, &InvalidTask{Message: "the stretch loops without waiting"}
		}
		st := t
		st.Step, st.Stretch = s.ID, true
		if s.Action == "" {
			if snap == nil && branchesLive(s.Branches) {
				st.Action = ActionSnapshot
				sn, err := a.Snapshot(ctx, st)
				if err != nil {
					return RunResult{}, err
				}
				b, _ := json.Marshal(sn)
				_ = json.Unmarshal(b, &snap)
			}
			next := s.Else
			for _, b := range s.Branches {
				ok, err := branchHolds(b, state, snap)
				if err != nil {
					return RunResult{}, &InvalidTask{Message: fmt.Sprintf("step %s: %v", s.ID, err)}
				}
				if ok {
					next = b.Next
					break
				}
			}
			cur = next
			continue
		}
		st.Action = s.Action
		if _, err := runAction(ctx, a, st, s.Params, nil); err != nil {
			return RunResult{}, err
		}
		snap = nil // the action may have changed what a snapshot saw
		cur = s.Next
	}
}

func branchesLive(bs []RunBranch) bool {
	for _, b := range bs {
		for _, c := range b.Conditions {
			if sub, err := branchSubject(c.Subject); err == nil && sub.live {
				return true
			}
		}
	}
	return false
}

// branchHolds evaluates a branch: all its conditions (any with match: any).
func branchHolds(b RunBranch, state, snap map[string]any) (bool, error) {
	anyOf := b.Match == MatchAny
	for _, c := range b.Conditions {
		ok, err := evalBranchCondition(c, state, snap)
		if err != nil {
			return false, err
		}
		if anyOf && ok {
			return true, nil
		}
		if !anyOf && !ok {
			return false, nil
		}
	}
	return !anyOf, nil
}

// evalBranchCondition evaluates a branch condition in Go exactly as its
// compiled Choice rule (conditionRule) does on Step Functions: the value
// is read at the subject's path (the snapshot for live subjects, form and
// vars from the state); an absent value satisfies only not_equals and
// not_exists; strings compare case-sensitively, contains is a substring
// test; numbers compare numerically and a value of the wrong JSON type
// matches no comparison (as Step Functions' typed rules).
func evalBranchCondition(c Condition, state, snap map[string]any) (bool, error) {
	sub, err := branchSubject(c.Subject)
	if err != nil {
		return false, err
	}
	want, err := checkValue(sub, c.Operator, c.Value)
	if err != nil {
		return false, err
	}
	root := state
	path := strings.TrimPrefix(sub.path, "$.")
	if rest, ok := strings.CutPrefix(sub.path, ctxPath+"."); ok {
		root, path = snap, rest
	}
	v, present := lookupPath(root, path)
	switch c.Operator {
	case OpExists:
		return present, nil
	case OpNotExists:
		return !present, nil
	}
	var eq bool
	switch sub.kind {
	case kindNumber, kindSeconds:
		n, isNum := v.(float64)
		w, _ := strconv.ParseFloat(want, 64)
		switch c.Operator {
		case OpGreaterThan:
			return present && isNum && n > w, nil
		case OpLessThan:
			return present && isNum && n < w, nil
		}
		eq = isNum && n == w
	case kindBool:
		bv, isBool := v.(bool)
		eq = isBool && bv == (want == "true")
	default:
		sv, isStr := v.(string)
		if c.Operator == OpContains {
			return present && isStr && strings.Contains(sv, want), nil
		}
		eq = isStr && sv == want
	}
	if c.Operator == OpNotEquals {
		return !present || !eq, nil
	}
	return present && eq, nil
}

// lookupPath reads a dotted path in decoded JSON; present is false when a
// part is missing (a JSON null is present, as IsPresent sees it).
func lookupPath(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, part := range strings.Split(path, ".") {
		o, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = o[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// isAsk reports whether the step with this id is an ask.
func (d *Definition) isAsk(id string) bool {
	for i := range d.Steps {
		if d.Steps[i].ID == id {
			return d.Steps[i].Type == StepAsk
		}
	}
	return false
}
