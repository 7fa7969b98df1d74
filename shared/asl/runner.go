package asl

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Runner runs executions of ASL state machines and keeps them in a RunStore.
//
// Every operation on one execution is serialized; operations on different
// executions run concurrently. No lock is held while a task is invoked, and
// the context given to the Invoker marks the executions the call chain is
// working on, so an Invoker may call Start, SendTaskSuccess, SendTaskFailure,
// SendTaskHeartbeat, Stop and Describe for any execution, including its own
// (signals for its own execution are applied as soon as the current step
// suspends, before the outer call returns).
type Runner struct {
	store RunStore
	clk   clock.Clock
	inv   Invoker
	ids   ids.Generator

	mu       sync.Mutex
	faults   Faults
	slots    map[string]*slot
	machines map[[32]byte]*Machine
	onEnd    func(context.Context, Execution) // see OnEnd

	wake chan struct{}
}

// slot serializes the work on one execution.
type slot struct {
	busy    bool
	waiters int
	cond    *sync.Cond
	inbox   []signal
}

// signal is a request queued for an execution that is busy in the caller's
// own call chain.
type signal struct {
	kind   string // "success", "failure", "heartbeat", "stop"
	token  string
	output any
	err    string
	cause  string
}

// NewRunner returns a Runner. It resumes nothing by itself: call RunDue (or
// Run) to continue executions whose timers are due, including executions
// left suspended by a previous process using the same store.
func NewRunner(store RunStore, clk clock.Clock, inv Invoker, gen ids.Generator) *Runner {
	return &Runner{
		store:    store,
		clk:      clk,
		inv:      inv,
		ids:      gen,
		slots:    map[string]*slot{},
		machines: map[[32]byte]*Machine{},
		wake:     make(chan struct{}, 1),
	}
}

// StartInput describes an execution to start.
type StartInput struct {
	// Name identifies the execution: 1 to 80 letters, digits, '-' or '_'.
	Name string
	// MachineID identifies the state machine (a name or a state machine ARN).
	MachineID  string
	Definition []byte
	// Input is the execution input; empty means {}.
	Input json.RawMessage
	// Express runs the execution as Express: a start is never deduplicated
	// by name (each Start runs a new execution; the first of a name is
	// stored under it, later ones under "<name>:<id>", which Start returns
	// as Execution.Name), the execution is cut after ExpressMaxDuration,
	// and task tokens are refused.
	Express bool
}

// SetFaults sets the faults injected from now on (zero: none).
func (r *Runner) SetFaults(f Faults) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = f
}

func (r *Runner) currentFaults() Faults {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.faults
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

type heldKey struct{}

// held is the list of executions the current call chain owns.
type held struct {
	name   string
	parent *held
}

func withHeld(ctx context.Context, name string) context.Context {
	parent, _ := ctx.Value(heldKey{}).(*held)
	return context.WithValue(ctx, heldKey{}, &held{name: name, parent: parent})
}

func holds(ctx context.Context, name string) bool {
	for h, _ := ctx.Value(heldKey{}).(*held); h != nil; h = h.parent {
		if h.name == name {
			return true
		}
	}
	return false
}

// acquire waits until the caller owns the execution's slot.
func (r *Runner) acquire(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.slots[name]
	if s == nil {
		s = &slot{cond: sync.NewCond(&r.mu)}
		r.slots[name] = s
	}
	for s.busy {
		s.waiters++
		s.cond.Wait()
		s.waiters--
	}
	s.busy = true
}

// tryAcquire takes the slot if it is free.
func (r *Runner) tryAcquire(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.slots[name]
	if s == nil {
		s = &slot{cond: sync.NewCond(&r.mu)}
		r.slots[name] = s
	}
	if s.busy {
		return false
	}
	s.busy = true
	return true
}

// enqueue queues sig for an execution owned by the caller's own call chain;
// it reports false when the execution is not busy (the caller then takes it
// normally). It refuses a second signal for the same token.
func (r *Runner) enqueue(name string, sig signal) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.slots[name]
	if s == nil || !s.busy {
		return false, nil
	}
	if sig.token != "" && sig.kind != "heartbeat" {
		for _, q := range s.inbox {
			if q.token == sig.token && q.kind != "heartbeat" {
				return true, routing.NotFound("task token", sig.token)
			}
		}
	}
	s.inbox = append(s.inbox, sig)
	return true, nil
}

// releaseOrNext hands the owner the next queued signal, or frees the slot.
func (r *Runner) releaseOrNext(name string) (signal, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.slots[name]
	if len(s.inbox) > 0 {
		sig := s.inbox[0]
		s.inbox = s.inbox[1:]
		return sig, true
	}
	s.busy = false
	if s.waiters > 0 {
		s.cond.Signal()
	} else {
		delete(r.slots, name)
	}
	return signal{}, false
}

// withExecution runs fn as the owner of the execution, then applies signals
// queued meanwhile by re-entrant calls, then frees the execution.
func (r *Runner) withExecution(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	r.acquire(name)
	return r.owned(ctx, name, fn)
}

func (r *Runner) owned(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	hctx := withHeld(ctx, name)
	err := fn(hctx)
	for {
		sig, ok := r.releaseOrNext(name)
		if !ok {
			break
		}
		// A queued signal's caller already returned; a failure here leaves
		// the execution as last saved (its task timeout still applies).
		_ = r.applySignal(hctx, name, sig)
	}
	r.notify()
	return err
}

func (r *Runner) notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// machine parses a definition, caching by content.
func (r *Runner) machine(def []byte) (*Machine, error) {
	key := sha256.Sum256(def)
	r.mu.Lock()
	m, ok := r.machines[key]
	r.mu.Unlock()
	if ok {
		return m, nil
	}
	m, err := Parse(def)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if len(r.machines) > 1024 {
		clear(r.machines)
	}
	r.machines[key] = m
	r.mu.Unlock()
	return m, nil
}

// load reads a record and its machine and prepares a stepper at now.
func (r *Runner) load(ctx context.Context, name string) (*stepper, error) {
	rec, err := r.store.Load(ctx, name)
	if err != nil {
		return nil, err
	}
	m, err := r.machine(rec.Definition)
	if err != nil {
		return nil, err
	}
	return newStepper(ctx, r, m, rec)
}

// Start starts an execution and runs it until it ends or suspends (a Wait
// that is not due, a retry back-off, a task token). Start is idempotent by
// name: the same name and input return the existing execution; the same name
// with a different input is a conflict (routing.ReasonExists).
func (r *Runner) Start(ctx context.Context, in StartInput) (Execution, error) {
	if !namePattern.MatchString(in.Name) {
		return Execution{}, routing.Invalid("name", "execution names are 1 to 80 letters, digits, '-' or '_'")
	}
	input := in.Input
	if len(input) == 0 {
		input = json.RawMessage(`{}`)
	}
	if len(input) > MaxPayloadSize {
		return Execution{}, routing.Invalid("input", "the execution input is %d bytes, more than Step Functions' limit of %d", len(input), MaxPayloadSize)
	}
	inputVal, err := decodeValue(input)
	if err != nil {
		return Execution{}, routing.Invalid("input", "input is not valid JSON")
	}
	m, err := r.machine(in.Definition)
	if err != nil {
		return Execution{}, err
	}
	machineID := in.MachineID
	if machineID == "" {
		machineID = "local"
	}
	key, execName := in.Name, ""
	if in.Express {
		if m.waitsForToken() {
			return Execution{}, routing.Invalid("definition", "an Express machine cannot wait for a task token")
		}
		execName = in.Name
	}
	existing := func(rec *Record) (Execution, error) {
		if !EqualJSON(rec.Input, input) || rec.MachineID != machineID {
			return Execution{}, routing.Conflict(routing.ReasonExists, "execution %q already exists with a different input", in.Name)
		}
		return r.Describe(ctx, in.Name)
	}
	if holds(ctx, key) {
		rec, err := r.store.Load(ctx, key)
		if err != nil {
			return Execution{}, err
		}
		return existing(rec)
	}
	var found *Record
again:
	err = r.withExecution(ctx, key, func(ctx context.Context) error {
		rec, err := r.store.Load(ctx, key)
		if err == nil {
			found = rec
			return nil
		}
		if !routing.IsNotFound(err) {
			return err
		}
		now := r.clk.Now()
		rec = &Record{
			Name:          key,
			ID:            ExecutionARN(machineID, key),
			MachineID:     machineID,
			Definition:    append(json.RawMessage(nil), in.Definition...),
			Input:         mustEncode(inputVal),
			Status:        StatusRunning,
			StartTime:     now,
			Express:       in.Express,
			ExecutionName: execName,
		}
		if m.timeoutSeconds > 0 {
			rec.Deadline = now.Add(time.Duration(m.timeoutSeconds) * time.Second)
		}
		if in.Express {
			cut := now.Add(ExpressMaxDuration * time.Second)
			if rec.Deadline.IsZero() || cut.Before(rec.Deadline) {
				rec.Deadline = cut
			}
		}
		s, err := newStepper(ctx, r, m, rec)
		if err != nil {
			return err
		}
		s.now = now
		s.start()
		if err := s.steps(); err != nil {
			return err
		}
		return s.save()
	})
	if err != nil {
		return Execution{}, err
	}
	if found != nil && in.Express {
		// Not deduplicated: a known name starts an execution of its own,
		// stored under "<name>:<id>" (the first keeps the plain name).
		key, found = in.Name+":"+r.ids.New("x"), nil
		goto again
	}
	if found != nil {
		return existing(found)
	}
	return r.Describe(ctx, key)
}

// Describe returns the named execution with its history, or a NotFound error.
func (r *Runner) Describe(ctx context.Context, name string) (Execution, error) {
	rec, err := r.store.Load(ctx, name)
	if err != nil {
		return Execution{}, err
	}
	hist, err := r.store.History(ctx, name)
	if err != nil {
		return Execution{}, err
	}
	return Execution{
		ID:          rec.ID,
		Name:        rec.Name,
		MachineID:   rec.MachineID,
		Status:      rec.Status,
		Input:       rec.Input,
		Output:      rec.Output,
		Error:       rec.Error,
		Cause:       rec.Cause,
		StartTime:   rec.StartTime,
		StopTime:    rec.StopTime,
		History:     hist,
		transitions: rec.Transitions,
	}, nil
}

// RunDue resumes, in time order, every execution whose timer is due at the
// clock's current time, until none is due; it returns how many resumptions
// it made. Executions busy in another goroutine are left to that goroutine.
// An execution that cannot be resumed (a storage error) is skipped and its
// error returned after the others have run.
func (r *Runner) RunDue(ctx context.Context) (int, error) {
	advanced := 0
	skip := map[string]bool{}
	var errs []error
	for {
		if err := ctx.Err(); err != nil {
			return advanced, err
		}
		now := r.clk.Now()
		limit := len(skip) + 8
		timers, err := r.store.Due(ctx, now, limit)
		if err != nil {
			return advanced, err
		}
		picked := ""
		for _, t := range timers {
			if skip[t.Name] {
				continue
			}
			if !r.tryAcquire(t.Name) {
				skip[t.Name] = true // busy: its owner carries on
				continue
			}
			picked = t.Name
			break
		}
		if picked == "" {
			if len(timers) < limit {
				return advanced, errors.Join(errs...)
			}
			continue // everything returned was skipped; look further
		}
		progressed := false
		err = r.owned(ctx, picked, func(ctx context.Context) error {
			s, err := r.load(ctx, picked)
			if err != nil {
				return err
			}
			rec := s.rec
			if rec.Status != StatusRunning || rec.WakeAt.IsZero() || rec.WakeAt.After(now) {
				return nil
			}
			s.now = maxTime(rec.WakeAt, rec.Now)
			before := s.eventCount()
			if err := s.steps(); err != nil {
				return err
			}
			if s.eventCount() == before {
				return nil // nothing happened: leave it rather than spin
			}
			if err := s.save(); err != nil {
				return err
			}
			progressed = true
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				return advanced, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("asl: resume %s: %w", picked, err))
		}
		if progressed {
			advanced++
		} else {
			skip[picked] = true
		}
	}
}

// NextWake returns the earliest time an execution must be resumed.
func (r *Runner) NextWake() (time.Time, bool) {
	t, ok, err := r.store.NextWake(context.Background())
	if err != nil {
		return time.Time{}, false
	}
	return t, ok
}

// maxIdle bounds how long Run sleeps, so it notices clock jumps.
const maxIdle = 30 * time.Second

// errorBackoff is the least Run waits after RunDue reported an error.
const errorBackoff = time.Second

// Run resumes due executions until ctx ends: it sleeps until NextWake (or
// until Start or a task signal schedules something) and calls RunDue. It is
// meant for the real clock; with a virtual clock call RunDue after moving it.
// Errors of single executions are retried on later rounds. Run returns nil
// when ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	for {
		_, err := r.RunDue(ctx)
		if ctx.Err() != nil {
			return nil
		}
		d := maxIdle
		if t, ok := r.NextWake(); ok {
			d = min(max(t.Sub(r.clk.Now()), time.Millisecond), maxIdle)
		}
		if err != nil {
			d = max(d, errorBackoff) // a failing execution must not make the loop spin
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-r.wake:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// SendTaskSuccess completes the task waiting for token with output (the
// exact result of the Task state) and continues the execution. An unknown,
// used or timed-out token is a NotFound error.
func (r *Runner) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	v, err := decodeValue(output)
	if err != nil {
		return routing.Invalid("output", "output is not valid JSON")
	}
	if len(output) > MaxPayloadSize {
		return routing.Invalid("output", "the task output is %d bytes, more than Step Functions' limit of %d", len(output), MaxPayloadSize)
	}
	return r.signalToken(ctx, signal{kind: "success", token: token, output: v})
}

// SendTaskFailure fails the task waiting for token with the error name and
// cause, which Retry and Catch match; then continues the execution.
func (r *Runner) SendTaskFailure(ctx context.Context, token, errName, cause string) error {
	return r.signalToken(ctx, signal{kind: "failure", token: token, err: errName, cause: cause})
}

// SendTaskHeartbeat resets the HeartbeatSeconds clock of the task waiting
// for token.
func (r *Runner) SendTaskHeartbeat(ctx context.Context, token string) error {
	return r.signalToken(ctx, signal{kind: "heartbeat", token: token})
}

func (r *Runner) signalToken(ctx context.Context, sig signal) error {
	if sig.token == "" {
		return routing.Invalid("token", "task token is required")
	}
	name, err := r.store.TokenOwner(ctx, sig.token)
	if err != nil {
		return err
	}
	if holds(ctx, name) {
		if queued, err := r.enqueue(name, sig); queued {
			return err
		}
	}
	var sigErr error
	err = r.withExecution(ctx, name, func(ctx context.Context) error {
		sigErr = r.applySignal(ctx, name, sig)
		return nil
	})
	if err != nil {
		return err
	}
	return sigErr
}

// Stop aborts a running execution with an error name and cause. Stopping an
// execution that has already ended does nothing.
func (r *Runner) Stop(ctx context.Context, name, errName, cause string) error {
	sig := signal{kind: "stop", err: errName, cause: cause}
	if holds(ctx, name) {
		if queued, err := r.enqueue(name, sig); queued {
			return err
		}
	}
	if _, err := r.store.Load(ctx, name); err != nil {
		return err
	}
	var sigErr error
	err := r.withExecution(ctx, name, func(ctx context.Context) error {
		sigErr = r.applySignal(ctx, name, sig)
		return nil
	})
	if err != nil {
		return err
	}
	return sigErr
}

// applySignal applies a signal as the execution's owner: it first catches
// up with timers due by now (a token may have timed out meanwhile).
func (r *Runner) applySignal(ctx context.Context, name string, sig signal) error {
	s, err := r.load(ctx, name)
	if err != nil {
		return err
	}
	rec := s.rec
	if rec.Status != StatusRunning {
		if sig.kind == "stop" {
			return nil
		}
		return routing.NotFound("task token", sig.token)
	}
	now := r.clk.Now()
	s.now = rec.Now
	if sig.kind == "stop" {
		s.now = maxTime(s.now, now)
		s.finish(StatusAborted, EventExecutionAborted, sig.err, sig.cause, nil)
		return s.save()
	}
	// Catch up first: the token may have timed out before the signal came.
	if err := s.runUntil(now); err != nil {
		return err
	}
	s.now = maxTime(s.now, now)
	if rec.Status != StatusRunning || rec.Token != sig.token || rec.Cursor == nil || rec.Cursor.Phase != phaseToken {
		if len(s.events) > 0 { // keep what catching up did
			if err := s.save(); err != nil {
				return err
			}
		}
		return routing.NotFound("task token", sig.token)
	}
	switch sig.kind {
	case "success":
		s.tokenSucceeded(sig.output)
	case "failure":
		s.tokenFailed(sig.err, sig.cause)
	case "heartbeat":
		s.heartbeat()
	}
	if err := s.steps(); err != nil {
		return err
	}
	return s.save()
}
