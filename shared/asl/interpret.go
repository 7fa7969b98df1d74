package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"time"
)

// stepper advances one execution. It is used by one goroutine at a time, the
// owner of the execution's slot in the Runner; it holds no lock while it
// invokes a task.
type stepper struct {
	r   *Runner
	ctx context.Context
	m   *Machine
	rec *Record

	input     any // decoded Cursor.Input
	execInput any // decoded Record.Input
	events    []HistoryEvent
	now       time.Time // logical time of the execution
	capHit    bool
	ended     bool // finish ran: report the end once it is saved (OnEnd)
}

func newStepper(ctx context.Context, r *Runner, m *Machine, rec *Record) (*stepper, error) {
	s := &stepper{r: r, ctx: ctx, m: m, rec: rec}
	var err error
	if s.execInput, err = decodeValue(rec.Input); err != nil {
		return nil, fmt.Errorf("asl: stored input of %q: %w", rec.Name, err)
	}
	if rec.Cursor != nil && len(rec.Cursor.Input) > 0 {
		if s.input, err = decodeValue(rec.Cursor.Input); err != nil {
			return nil, fmt.Errorf("asl: stored state input of %q: %w", rec.Name, err)
		}
	}
	return s, nil
}

// emit appends a history event at the current logical time. Once the
// execution would exceed MaxHistoryEvents it records capHit instead, leaving
// room for the final ExecutionFailed.
func (s *stepper) emit(ev HistoryEvent) int64 {
	count := s.eventCount()
	terminal := strings.HasPrefix(ev.Type, "Execution") && ev.Type != EventExecutionStarted
	if count >= MaxHistoryEvents || (count >= MaxHistoryEvents-1 && !terminal) {
		s.capHit = true
		return 0
	}
	ev.ID = count + 1
	ev.PreviousEventID = count
	ev.Timestamp = s.now
	s.events = append(s.events, ev)
	return ev.ID
}

// start records ExecutionStarted and positions the cursor on StartAt.
func (s *stepper) start() {
	s.emit(HistoryEvent{Type: EventExecutionStarted, Input: s.rec.Input})
	s.goTo(s.m.startAt, s.execInput)
}

// steps runs the execution at the current logical time until it ends or must
// wait (a timer in the future or a task token).
func (s *stepper) steps() error {
	for s.rec.Status == StatusRunning {
		if s.capHit {
			s.finish(StatusFailed, EventExecutionFailed, ErrRuntime,
				fmt.Sprintf("The execution reached the maximum number of history events (%d).", MaxHistoryEvents), nil)
			break
		}
		if !s.rec.Deadline.IsZero() && !s.now.Before(s.rec.Deadline) {
			s.now = maxTime(s.rec.Deadline, s.now)
			s.finish(StatusTimedOut, EventExecutionTimedOut, ErrTimeout, "The execution timed out (TimeoutSeconds).", nil)
			break
		}
		cur := s.rec.Cursor
		due := !cur.WakeAt.IsZero() && !cur.WakeAt.After(s.now)
		switch cur.Phase {
		case phaseEnter:
			s.enter()
		case phaseWait:
			if !due {
				return nil
			}
			s.finishWait()
		case phaseInvoke:
			if !due {
				return nil
			}
			if err := s.invoke(); err != nil {
				return err
			}
		case phaseToken:
			if !due {
				return nil
			}
			s.tokenTimedOut()
		default:
			return fmt.Errorf("asl: execution %q has an unknown phase %q", s.rec.Name, cur.Phase)
		}
	}
	return nil
}

// runUntil runs the execution through every timer due at or before limit,
// in order, each at its own logical time.
func (s *stepper) runUntil(limit time.Time) error {
	for {
		before := s.eventCount()
		if err := s.steps(); err != nil {
			return err
		}
		s.schedule()
		if s.rec.Status != StatusRunning || s.rec.WakeAt.IsZero() || s.rec.WakeAt.After(limit) {
			return nil
		}
		if s.eventCount() == before && !s.rec.WakeAt.After(s.now) {
			return nil // nothing moved: do not spin
		}
		s.now = maxTime(s.now, s.rec.WakeAt)
	}
}

// eventCount is the number of history events, saved or pending.
func (s *stepper) eventCount() int64 { return s.rec.Events + int64(len(s.events)) }

// schedule computes Record.WakeAt from the cursor and the execution deadline.
func (s *stepper) schedule() {
	rec := s.rec
	if rec.Status != StatusRunning || rec.Cursor == nil {
		rec.WakeAt = time.Time{}
		return
	}
	w := rec.Cursor.WakeAt
	if rec.Cursor.Phase == phaseEnter {
		w = s.now
	}
	if !rec.Deadline.IsZero() && (w.IsZero() || rec.Deadline.Before(w)) {
		w = rec.Deadline
	}
	rec.WakeAt = w
}

// save persists the record and the pending events.
func (s *stepper) save() error {
	s.schedule()
	if s.rec.Cursor != nil {
		s.rec.Cursor.Input = mustEncode(s.input)
	}
	s.rec.Now = s.now
	s.rec.Version++
	s.rec.Events += int64(len(s.events))
	if err := s.r.store.Save(s.ctx, s.rec, s.events); err != nil {
		s.rec.Version--
		s.rec.Events -= int64(len(s.events))
		return err
	}
	s.events = nil
	if s.ended {
		s.ended = false
		s.r.ended(s.ctx, s.rec)
	}
	return nil
}

func (s *stepper) goTo(name string, input any) {
	s.rec.Cursor = &Cursor{State: name, Phase: phaseEnter}
	s.input = input
}

func (s *stepper) finish(status Status, eventType, errName, cause string, output any) {
	ev := HistoryEvent{Type: eventType, Error: errName, Cause: cause}
	if status == StatusSucceeded {
		ev.Output = mustEncode(output)
		s.rec.Output = ev.Output
	}
	s.emit(ev)
	s.ended = true
	s.rec.Status = status
	s.rec.Error, s.rec.Cause = errName, cause
	s.rec.StopTime = s.now
	s.rec.Cursor = nil
	s.rec.Token = ""
	s.input = nil
}

func (s *stepper) fail(errName, cause string) {
	s.finish(StatusFailed, EventExecutionFailed, errName, cause, nil)
}

func (s *stepper) state() *state { return s.m.states[s.rec.Cursor.State] }

// contextObject builds the $$ document for the current state.
func (s *stepper) contextObject() map[string]any {
	cur := s.rec.Cursor
	machine := MachineARN(s.rec.MachineID)
	obj := map[string]any{
		"Execution": map[string]any{
			"Id":        s.rec.ID,
			"Name":      s.rec.execName(),
			"Input":     s.execInput,
			"StartTime": formatTime(s.rec.StartTime),
		},
		"StateMachine": map[string]any{"Id": machine, "Name": machineName(machine)},
		"State": map[string]any{
			"Name":        cur.State,
			"EnteredTime": formatTime(cur.EnteredAt),
			"RetryCount":  number(int64(cur.Retries)),
		},
	}
	if s.rec.Token != "" {
		obj["Task"] = map[string]any{"Token": s.rec.Token}
	}
	return obj
}

func (s *stepper) env() *evalEnv {
	return &evalEnv{newUUID: func() string { return uuidFromID(s.r.ids.New("uuid")) }}
}

// formatTime renders times like Step Functions: UTC, milliseconds, "Z".
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// failWith ends the execution for err, a *stateError or an internal error.
func (s *stepper) failWith(err error) {
	var se *stateError
	if errors.As(err, &se) {
		s.fail(se.name, se.cause)
		return
	}
	s.fail(ErrRuntime, err.Error())
}

func applyInputPath(p optPath, input, ctxObj any, field string) (any, error) {
	if p.null {
		return map[string]any{}, nil
	}
	if p.path == nil {
		return input, nil
	}
	v, ok := p.path.get(input, ctxObj)
	if !ok {
		return nil, runtimeErrorf("Invalid path '%s' for %s: No results for path in the input '%s'", p.path.raw, field, jsonText(input))
	}
	return v, nil
}

func applyResultPath(p optPath, input, result any) (any, error) {
	if p.null {
		return input, nil
	}
	if p.path == nil || len(p.path.segs) == 0 {
		return result, nil
	}
	out, err := p.path.set(input, result)
	if err != nil {
		return nil, &stateError{name: ErrResultPathMatchFailure,
			cause: fmt.Sprintf("Unable to apply ResultPath '%s' to input '%s': %v", p.path.raw, jsonText(input), err)}
	}
	return out, nil
}

// enter records the entry into the cursor's state and runs it as far as it
// goes without waiting.
func (s *stepper) enter() {
	st := s.state()
	cur := s.rec.Cursor
	// A later entry of a state gets a later EnteredTime, to the millisecond
	// Step Functions shows, even on a virtual clock that did not move.
	if prev, ok := s.rec.Entered[st.name]; ok {
		if next := prev.Truncate(time.Millisecond).Add(time.Millisecond); s.now.Before(next) {
			s.now = next
		}
	}
	if s.rec.Entered == nil {
		s.rec.Entered = map[string]time.Time{}
	}
	s.rec.Entered[st.name] = s.now
	cur.EnteredAt = s.now
	s.rec.Transitions++
	cur.EnteredEvent = s.emit(HistoryEvent{Type: st.typ + "StateEntered", StateName: st.name, Input: mustEncode(s.input)})
	if s.capHit {
		return
	}
	switch st.typ {
	case TypePass:
		s.runPass(st)
	case TypeChoice:
		s.runChoice(st)
	case TypeWait:
		s.startWait(st)
	case TypeSucceed:
		eff, err := applyInputPath(st.inputPath, s.input, nil, "InputPath")
		if err == nil {
			eff, err = applyInputPath(st.outputPath, eff, nil, "OutputPath")
		}
		if err != nil {
			s.failWith(err)
			return
		}
		s.emit(HistoryEvent{Type: "SucceedStateExited", StateName: st.name, Output: mustEncode(eff)})
		s.finish(StatusSucceeded, EventExecutionSucceeded, "", "", eff)
	case TypeFail:
		s.runFail(st)
	case TypeTask:
		cur.Phase = phaseInvoke
		cur.WakeAt = s.now
		cur.Attempts = make([]int64, len(st.retry))
	}
}

// tooLarge fails the execution with States.DataLimitExceeded, which no
// Retry or Catch sees, when b (a state's input after Parameters, a task
// result or a state output) is larger than MaxPayloadSize.
func (s *stepper) tooLarge(b []byte, st *state, what string) bool {
	if len(b) <= MaxPayloadSize {
		return false
	}
	s.fail(ErrDataLimitExceeded, fmt.Sprintf("The %s of state '%s' is %d bytes, more than the maximum of %d bytes.", what, st.name, len(b), MaxPayloadSize))
	return true
}

func (s *stepper) exit(st *state, out any) {
	enc := mustEncode(out)
	if s.tooLarge(enc, st, "output") {
		return
	}
	s.emit(HistoryEvent{Type: st.typ + "StateExited", StateName: st.name, Output: enc})
	if st.end {
		s.finish(StatusSucceeded, EventExecutionSucceeded, "", "", out)
		return
	}
	s.goTo(st.next, out)
}

func (s *stepper) runPass(st *state) {
	ctxObj := s.contextObject()
	eff, err := applyInputPath(st.inputPath, s.input, ctxObj, "InputPath")
	if err == nil && st.parameters != nil {
		eff, err = st.parameters.eval(eff, ctxObj, s.env())
	}
	if err != nil {
		s.failWith(err)
		return
	}
	result := eff
	if st.hasResult {
		result = st.result
	}
	out, err := applyResultPath(st.resultPath, s.input, result)
	if err == nil {
		out, err = applyInputPath(st.outputPath, out, ctxObj, "OutputPath")
	}
	if err != nil {
		s.failWith(err)
		return
	}
	s.exit(st, out)
}

func (s *stepper) runChoice(st *state) {
	ctxObj := s.contextObject()
	eff, err := applyInputPath(st.inputPath, s.input, ctxObj, "InputPath")
	if err != nil {
		s.failWith(err)
		return
	}
	next := ""
	for _, rule := range st.choices {
		ok, err := rule.eval(eff, ctxObj)
		if err != nil {
			s.failWith(err)
			return
		}
		if ok {
			next = rule.next
			break
		}
	}
	if next == "" {
		next = st.defaultNext
	}
	if next == "" {
		s.fail(ErrNoChoiceMatched, fmt.Sprintf("No Matches! (state '%s' has no Default)", st.name))
		return
	}
	out, err := applyInputPath(st.outputPath, eff, ctxObj, "OutputPath")
	if err != nil {
		s.failWith(err)
		return
	}
	enc := mustEncode(out)
	if s.tooLarge(enc, st, "output") {
		return
	}
	s.emit(HistoryEvent{Type: "ChoiceStateExited", StateName: st.name, Output: enc})
	s.goTo(next, out)
}

func (s *stepper) startWait(st *state) {
	cur := s.rec.Cursor
	eff, err := applyInputPath(st.inputPath, s.input, nil, "InputPath")
	if err != nil {
		s.failWith(err)
		return
	}
	var until time.Time
	switch {
	case st.hasSeconds:
		until = s.now.Add(time.Duration(st.seconds) * time.Second)
	case st.hasTimestamp:
		until = st.timestamp
	case st.secondsPath != nil:
		v, ok := st.secondsPath.get(eff, nil)
		n, isInt := toInt(v)
		if !ok || !isInt || n < 0 {
			s.fail(ErrRuntime, fmt.Sprintf("Invalid path '%s' for SecondsPath: the value must be a non-negative integer, got %s", st.secondsPath.raw, jsonText(v)))
			return
		}
		until = s.now.Add(time.Duration(n) * time.Second)
	case st.timestampPath != nil:
		v, ok := st.timestampPath.get(eff, nil)
		str, _ := v.(string)
		t, isTS := parseTimestamp(str)
		if !ok || !isTS {
			s.fail(ErrRuntime, fmt.Sprintf("Invalid path '%s' for TimestampPath: the value must be an RFC 3339 timestamp, got %s", st.timestampPath.raw, jsonText(v)))
			return
		}
		until = t
	}
	cur.Phase = phaseWait
	cur.WakeAt = maxTime(until, s.now)
}

func (s *stepper) finishWait() {
	st := s.state()
	eff, err := applyInputPath(st.inputPath, s.input, nil, "InputPath")
	if err == nil {
		eff, err = applyInputPath(st.outputPath, eff, nil, "OutputPath")
	}
	if err != nil {
		s.failWith(err)
		return
	}
	s.exit(st, eff)
}

func (s *stepper) runFail(st *state) {
	errName, cause := st.errorName, st.cause
	ctxObj := s.contextObject()
	eval := func(e *valueExpr, field string) (string, bool) {
		var v any
		var err error
		if e.call != nil {
			v, err = e.call.eval(s.input, ctxObj, s.env())
		} else if got, ok := e.path.get(s.input, ctxObj); ok {
			v = got
		} else {
			err = fmt.Errorf("the path %s selects nothing", e.path.raw)
		}
		str, isStr := v.(string)
		if err == nil && !isStr {
			err = fmt.Errorf("the value must be a string, got %s", jsonText(v))
		}
		if err != nil {
			s.fail(ErrRuntime, fmt.Sprintf("Invalid %s in state '%s': %v", field, st.name, err))
			return "", false
		}
		return str, true
	}
	var ok bool
	if st.errorExpr != nil {
		if errName, ok = eval(st.errorExpr, "ErrorPath"); !ok {
			return
		}
	}
	if st.causeExpr != nil {
		if cause, ok = eval(st.causeExpr, "CausePath"); !ok {
			return
		}
	}
	s.fail(errName, cause)
}

// taskSeconds resolves TimeoutSeconds(Path) or HeartbeatSeconds(Path).
func taskSeconds(fixed int64, path *jpath, eff any, field string) (int64, error) {
	if path == nil {
		return fixed, nil
	}
	v, ok := path.get(eff, nil)
	n, isInt := toInt(v)
	if !ok || !isInt || n <= 0 {
		return 0, runtimeErrorf("Invalid path '%s' for %s: the value must be a positive integer, got %s", path.raw, field, jsonText(v))
	}
	return n, nil
}

// invoke runs one attempt of the cursor's Task state. It returns only
// storage errors and cancellation of s.ctx; task failures go through
// Retry and Catch.
func (s *stepper) invoke() error {
	st := s.state()
	cur := s.rec.Cursor
	if st.waitForToken && s.rec.Token == "" {
		s.rec.Token = s.r.ids.New("tok")
	}
	ctxObj := s.contextObject()
	eff, err := applyInputPath(st.inputPath, s.input, ctxObj, "InputPath")
	var timeout, heartbeat int64
	if err == nil {
		timeout, err = taskSeconds(st.timeoutSeconds, st.timeoutPath, eff, "TimeoutSecondsPath")
	}
	if err == nil {
		heartbeat, err = taskSeconds(st.heartbeatSeconds, st.heartbeatPath, eff, "HeartbeatSecondsPath")
	}
	params := eff
	if err == nil && st.parameters != nil {
		params, err = st.parameters.eval(eff, ctxObj, s.env())
	}
	if err != nil {
		s.failWith(err)
		return nil
	}
	if s.rec.Invocations == nil {
		s.rec.Invocations = map[string]int{}
	}
	s.rec.Invocations[st.name]++
	n := s.rec.Invocations[st.name]
	paramsJSON := mustEncode(params)
	if s.tooLarge(paramsJSON, st, "input after Parameters") {
		return nil
	}
	cur.ScheduledAt = s.now
	s.emit(HistoryEvent{Type: EventTaskScheduled, StateName: st.name, Resource: st.resource, Input: paramsJSON})
	s.emit(HistoryEvent{Type: EventTaskStarted, StateName: st.name, Resource: st.resource})
	if s.capHit {
		return nil
	}
	// Checkpoint: if the process stops during the call, the attempt is due
	// again (at-least-once, like Lambda retries).
	cur.WakeAt = s.now
	if err := s.save(); err != nil {
		return err
	}

	ictx := s.ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ictx, cancel = context.WithTimeout(s.ctx, time.Duration(timeout)*time.Second)
		defer cancel()
	}
	before := s.r.clk.Now()
	call := Invocation{
		Resource:      st.resource,
		Parameters:    paramsJSON,
		TaskToken:     s.rec.Token,
		ExecutionName: s.rec.execName(),
		ExecutionID:   s.rec.ID,
		MachineID:     s.rec.MachineID,
		StateName:     st.name,
		Attempt:       cur.Retries,
	}
	faults := s.r.currentFaults()
	out, ierr := s.r.inv.Invoke(ictx, call)
	if faults.DuplicateDelivery != nil && s.ctx.Err() == nil && faults.DuplicateDelivery(call) {
		out, ierr = s.r.inv.Invoke(ictx, call)
	}
	if ierr == nil && faults.FailAfterEffect != nil && faults.FailAfterEffect(call) {
		out, ierr = nil, &TaskError{Name: ErrLambdaService, Cause: "the task's response was lost (injected after its effect)"}
	}
	if err := s.ctx.Err(); err != nil {
		return err // the caller gave up: the checkpoint redoes the attempt later
	}
	if elapsed := s.r.clk.Now().Sub(before); elapsed > 0 {
		s.now = s.now.Add(elapsed)
	}
	deadline := time.Time{}
	if timeout > 0 {
		deadline = cur.ScheduledAt.Add(time.Duration(timeout) * time.Second)
	}
	timedOut := (ierr != nil && errors.Is(ictx.Err(), context.DeadlineExceeded)) ||
		(!deadline.IsZero() && !s.now.Before(deadline))
	switch {
	case timedOut:
		s.emit(HistoryEvent{Type: EventTaskTimedOut, StateName: st.name, Resource: st.resource, Error: ErrTimeout})
		s.rec.Token = ""
		s.handleError(st, ErrTimeout, "")
	case ierr != nil:
		name, cause := ErrTaskFailed, ierr.Error()
		var te *TaskError
		if errors.As(ierr, &te) {
			name, cause = te.Name, te.Cause
		}
		s.emit(HistoryEvent{Type: EventTaskFailed, StateName: st.name, Resource: st.resource, Error: name, Cause: cause})
		s.rec.Token = ""
		s.handleError(st, name, cause)
	case st.waitForToken:
		ev := HistoryEvent{Type: EventTaskSubmitted, StateName: st.name, Resource: st.resource}
		if json.Valid(out) {
			ev.Output = out
		}
		s.emit(ev)
		cur.Phase = phaseToken
		cur.TaskDeadline = deadline
		cur.HeartbeatSeconds = heartbeat
		cur.HeartbeatDeadline = time.Time{}
		if heartbeat > 0 {
			cur.HeartbeatDeadline = s.now.Add(time.Duration(heartbeat) * time.Second)
		}
		s.setTokenWake()
	default:
		var result any
		if len(out) > 0 {
			if result, err = decodeValue(out); err != nil {
				s.emit(HistoryEvent{Type: EventTaskFailed, StateName: st.name, Resource: st.resource,
					Error: ErrRuntime, Cause: "the task result is not valid JSON"})
				s.fail(ErrRuntime, fmt.Sprintf("The result of state '%s' is not valid JSON: %v", st.name, err))
				return nil
			}
		}
		if st.lambdaInvoke {
			result = LambdaEnvelope(result, LambdaRequestID(s.rec.Name, st.name, n))
		}
		enc := mustEncode(result)
		if s.tooLarge(enc, st, "task result") {
			return nil
		}
		s.emit(HistoryEvent{Type: EventTaskSucceeded, StateName: st.name, Resource: st.resource, Output: enc})
		s.completeTask(st, result)
	}
	return nil
}

func (s *stepper) setTokenWake() {
	cur := s.rec.Cursor
	w := cur.TaskDeadline
	if !cur.HeartbeatDeadline.IsZero() && (w.IsZero() || cur.HeartbeatDeadline.Before(w)) {
		w = cur.HeartbeatDeadline
	}
	cur.WakeAt = w
}

// completeTask applies ResultSelector, ResultPath and OutputPath to a task
// result and leaves the state.
func (s *stepper) completeTask(st *state, result any) {
	ctxObj := s.contextObject()
	var err error
	if st.resultSelector != nil {
		if result, err = st.resultSelector.eval(result, ctxObj, s.env()); err != nil {
			s.failWith(err)
			return
		}
	}
	out, err := applyResultPath(st.resultPath, s.input, result)
	if err != nil {
		se := err.(*stateError)
		s.handleError(st, se.name, se.cause)
		return
	}
	if out, err = applyInputPath(st.outputPath, out, ctxObj, "OutputPath"); err != nil {
		s.failWith(err)
		return
	}
	s.exit(st, out)
}

// errorMatches applies the ErrorEquals rules of Step Functions.
func errorMatches(list []string, name string) bool {
	if name == ErrRuntime || name == ErrDataLimitExceeded {
		return false
	}
	for _, e := range list {
		switch {
		case e == name, e == ErrAll:
			return true
		case e == ErrTaskFailed && name != ErrTimeout && name != ErrHeartbeatTimeout:
			return true
		case e == ErrTimeout && name == ErrHeartbeatTimeout:
			return true
		}
	}
	return false
}

// handleError retries, catches or fails for a task error.
func (s *stepper) handleError(st *state, name, cause string) {
	cur := s.rec.Cursor
	for i, r := range st.retry {
		if !errorMatches(r.errorEquals, name) {
			continue
		}
		if cur.Attempts[i] >= r.maxAttempts {
			break
		}
		delay := float64(r.intervalSeconds) * math.Pow(r.backoffRate, float64(cur.Attempts[i]))
		if r.maxDelaySeconds > 0 {
			delay = math.Min(delay, float64(r.maxDelaySeconds))
		}
		if r.fullJitter {
			delay *= s.jitter()
		}
		cur.Attempts[i]++
		cur.Retries++
		s.rec.Transitions++
		cur.Phase = phaseInvoke
		cur.WakeAt = s.now.Add(time.Duration(delay * float64(time.Second)))
		s.rec.Token = ""
		return
	}
	for _, c := range st.catch {
		if !errorMatches(c.errorEquals, name) {
			continue
		}
		errOut := map[string]any{"Error": name, "Cause": cause}
		out, err := applyResultPath(c.resultPath, s.input, errOut)
		if err != nil {
			s.failWith(err)
			return
		}
		s.rec.Token = ""
		s.goTo(c.next, out)
		return
	}
	s.fail(name, cause)
}

// jitter returns a deterministic factor in [0, 1) for JitterStrategy FULL.
func (s *stepper) jitter() float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s/%d", s.rec.Name, s.rec.Cursor.State, s.rec.Transitions)
	return float64(h.Sum64()%1_000_000) / 1_000_000
}

// tokenTimedOut handles a task token wait whose deadline passed.
func (s *stepper) tokenTimedOut() {
	st := s.state()
	cur := s.rec.Cursor
	name := ErrTimeout
	if !cur.HeartbeatDeadline.IsZero() && !cur.HeartbeatDeadline.After(s.now) &&
		(cur.TaskDeadline.IsZero() || cur.HeartbeatDeadline.Before(cur.TaskDeadline)) {
		name = ErrHeartbeatTimeout
	}
	s.emit(HistoryEvent{Type: EventTaskTimedOut, StateName: st.name, Resource: st.resource, Error: name})
	s.rec.Token = ""
	s.handleError(st, name, "")
}

// tokenSucceeded completes a task token wait with output.
func (s *stepper) tokenSucceeded(output any) {
	st := s.state()
	s.emit(HistoryEvent{Type: EventTaskSucceeded, StateName: st.name, Resource: st.resource, Output: mustEncode(output)})
	s.rec.Token = ""
	s.completeTask(st, output)
}

// tokenFailed fails a task token wait.
func (s *stepper) tokenFailed(name, cause string) {
	st := s.state()
	s.emit(HistoryEvent{Type: EventTaskFailed, StateName: st.name, Resource: st.resource, Error: name, Cause: cause})
	s.rec.Token = ""
	s.handleError(st, name, cause)
}

// heartbeat pushes the heartbeat deadline of a task token wait.
func (s *stepper) heartbeat() {
	cur := s.rec.Cursor
	if cur.HeartbeatSeconds > 0 {
		cur.HeartbeatDeadline = s.now.Add(time.Duration(cur.HeartbeatSeconds) * time.Second)
		s.setTokenWake()
	}
}
