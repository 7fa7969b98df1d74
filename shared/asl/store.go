package asl

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Record is the persisted state of one execution. Stores treat it as opaque
// apart from the fields they index: Name (primary key), Version (optimistic
// concurrency), WakeAt (timers) and Token (task tokens).
type Record struct {
	Name       string          `json:"name"`
	ID         string          `json:"id"`
	MachineID  string          `json:"machineId"`
	Definition json.RawMessage `json:"definition"`
	Input      json.RawMessage `json:"input"`
	Status     Status          `json:"status"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      string          `json:"error,omitempty"`
	Cause      string          `json:"cause,omitempty"`
	StartTime  time.Time       `json:"startTime"`
	StopTime   time.Time       `json:"stopTime,omitzero"`
	// Deadline is when the whole execution times out (top-level TimeoutSeconds).
	Deadline time.Time `json:"deadline,omitzero"`

	// Now is the logical time of the execution when it was saved: the time
	// of its last step. Timers resume it at their own due time, so a virtual
	// clock moved by hours settles a chain of Waits in one RunDue.
	Now time.Time `json:"now"`
	// Version increases by one with every Save; 1 is the first.
	Version int64 `json:"version"`
	// Events is the number of history events stored.
	Events      int64 `json:"events"`
	Transitions int   `json:"transitions"`
	// Invocations counts task invocations per state (for Lambda request ids).
	Invocations map[string]int `json:"invocations,omitempty"`

	// WakeAt is when the execution must be resumed (Wait end, retry, task
	// timeout, execution timeout, or a task invocation to redo after a
	// restart); zero when nothing is scheduled.
	WakeAt time.Time `json:"wakeAt,omitzero"`
	// Token is the task token the execution waits for, if any.
	Token string `json:"token,omitempty"`
	// Cursor is where a running execution stands.
	Cursor *Cursor `json:"cursor,omitempty"`

	// Express marks an Express execution. Express starts are not
	// deduplicated, so each is stored under a key of its own (Name) and
	// ExecutionName is the name it was started with ($$.Execution.Name).
	Express       bool   `json:"express,omitempty"`
	ExecutionName string `json:"executionName,omitempty"`
	// Entered is the last time each state was entered: a later entry of the
	// same state gets a strictly later $$.State.EnteredTime (to the
	// millisecond), as a step key needs, even on a clock that stands still.
	Entered map[string]time.Time `json:"entered,omitempty"`
}

// execName is the name the execution was started with.
func (rec *Record) execName() string {
	if rec.ExecutionName != "" {
		return rec.ExecutionName
	}
	return rec.Name
}

// Cursor phases.
const (
	phaseEnter  = "enter"  // about to enter State with Input
	phaseWait   = "wait"   // in a Wait state until WakeAt
	phaseInvoke = "invoke" // a task attempt is due at WakeAt (first try, retry, or redo after a crash)
	phaseToken  = "token"  // waiting for SendTaskSuccess/Failure
)

// Cursor is the position of a running execution.
type Cursor struct {
	State        string          `json:"state"`
	Input        json.RawMessage `json:"input"` // raw input of the state
	Phase        string          `json:"phase"`
	EnteredAt    time.Time       `json:"enteredAt"`
	EnteredEvent int64           `json:"enteredEvent"`
	// WakeAt is when the phase needs attention: the end of a Wait, a task
	// attempt's due time, or a task token's timeout (zero: none).
	WakeAt time.Time `json:"wakeAt,omitzero"`
	// Attempts counts retries per retrier of the current state.
	Attempts []int64 `json:"attempts,omitempty"`
	Retries  int     `json:"retries"`
	// ScheduledAt is when the current task attempt was scheduled.
	ScheduledAt       time.Time `json:"scheduledAt,omitzero"`
	TaskDeadline      time.Time `json:"taskDeadline,omitzero"`
	HeartbeatSeconds  int64     `json:"heartbeatSeconds,omitempty"`
	HeartbeatDeadline time.Time `json:"heartbeatDeadline,omitzero"`
}

// Timer is a scheduled wake-up of an execution.
type Timer struct {
	At   time.Time
	Name string
}

// RunStore persists executions for a Runner. Implementations must be safe
// for concurrent use.
type RunStore interface {
	// Load returns the named execution, or a routing NotFound error.
	Load(ctx context.Context, name string) (*Record, error)
	// Save stores rec and appends events to its history, atomically. The
	// stored version must be rec.Version-1 (none for Version 1), otherwise
	// Save returns a routing conflict: ReasonExists when creating,
	// ReasonVersion otherwise. It keeps the timer and token indexes in step
	// with rec.WakeAt and rec.Token.
	Save(ctx context.Context, rec *Record, events []HistoryEvent) error
	// History returns the events of the named execution in order.
	History(ctx context.Context, name string) ([]HistoryEvent, error)
	// TokenOwner returns the name of the execution waiting for token, or a
	// routing NotFound error.
	TokenOwner(ctx context.Context, token string) (string, error)
	// Due returns up to limit timers at or before now, earliest first.
	Due(ctx context.Context, now time.Time, limit int) ([]Timer, error)
	// NextWake returns the earliest timer.
	NextWake(ctx context.Context) (time.Time, bool, error)
}

// CheckVersion applies the optimistic concurrency rule of RunStore.Save:
// stored is what the store holds under name (nil for nothing; only its
// Version is read) and next the version being saved. Stores outside this
// package (shared/store/bolt/aslruns) use it so the rule is written once.
func CheckVersion(name string, stored *Record, next int64) error {
	switch {
	case stored == nil && next == 1:
		return nil
	case stored == nil:
		return routing.Conflict(routing.ReasonVersion, "execution %q was not found at version %d", name, next-1)
	case next == 1:
		return routing.Conflict(routing.ReasonExists, "execution %q already exists", name)
	case stored.Version != next-1:
		return routing.Conflict(routing.ReasonVersion, "execution %q is at version %d, not %d", name, stored.Version, next-1)
	}
	return nil
}

// MemoryRunStore keeps executions in memory. The zero value is not usable;
// call NewMemoryRunStore.
type MemoryRunStore struct {
	mu      sync.Mutex
	records map[string][]byte
	meta    map[string]recordMeta
	history map[string][]HistoryEvent
	tokens  map[string]string
	timers  []Timer // sorted by (At, Name)
}

// NewMemoryRunStore returns an empty in-memory store.
func NewMemoryRunStore() *MemoryRunStore {
	return &MemoryRunStore{
		records: map[string][]byte{},
		meta:    map[string]recordMeta{},
		history: map[string][]HistoryEvent{},
		tokens:  map[string]string{},
	}
}

// recordMeta is what Save needs to know about the stored version.
type recordMeta struct {
	version int64
	token   string
	wakeAt  time.Time
}

func timerLess(a, b Timer) bool {
	if !a.At.Equal(b.At) {
		return a.At.Before(b.At)
	}
	return a.Name < b.Name
}

// Load implements RunStore.
func (s *MemoryRunStore) Load(_ context.Context, name string) (*Record, error) {
	s.mu.Lock()
	b, ok := s.records[name]
	s.mu.Unlock()
	if !ok {
		return nil, routing.NotFound("execution", name)
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// Save implements RunStore.
func (s *MemoryRunStore) Save(_ context.Context, rec *Record, events []HistoryEvent) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var old *Record
	if m, ok := s.meta[rec.Name]; ok {
		old = &Record{Name: rec.Name, Version: m.version, Token: m.token, WakeAt: m.wakeAt}
	}
	if err := CheckVersion(rec.Name, old, rec.Version); err != nil {
		return err
	}
	if old != nil {
		if old.Token != "" {
			delete(s.tokens, old.Token)
		}
		if !old.WakeAt.IsZero() {
			s.removeTimer(Timer{At: old.WakeAt, Name: old.Name})
		}
	}
	s.records[rec.Name] = b
	s.meta[rec.Name] = recordMeta{version: rec.Version, token: rec.Token, wakeAt: rec.WakeAt}
	if len(events) > 0 {
		s.history[rec.Name] = append(s.history[rec.Name], events...)
	}
	if rec.Token != "" {
		s.tokens[rec.Token] = rec.Name
	}
	if !rec.WakeAt.IsZero() {
		t := Timer{At: rec.WakeAt, Name: rec.Name}
		i := sort.Search(len(s.timers), func(i int) bool { return !timerLess(s.timers[i], t) })
		s.timers = append(s.timers, Timer{})
		copy(s.timers[i+1:], s.timers[i:])
		s.timers[i] = t
	}
	return nil
}

func (s *MemoryRunStore) removeTimer(t Timer) {
	i := sort.Search(len(s.timers), func(i int) bool { return !timerLess(s.timers[i], t) })
	if i < len(s.timers) && s.timers[i].Name == t.Name && s.timers[i].At.Equal(t.At) {
		s.timers = append(s.timers[:i], s.timers[i+1:]...)
	}
}

// History implements RunStore.
func (s *MemoryRunStore) History(_ context.Context, name string) ([]HistoryEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[name]; !ok {
		return nil, routing.NotFound("execution", name)
	}
	return append([]HistoryEvent(nil), s.history[name]...), nil
}

// TokenOwner implements RunStore.
func (s *MemoryRunStore) TokenOwner(_ context.Context, token string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, ok := s.tokens[token]
	if !ok {
		return "", routing.NotFound("task token", token)
	}
	return name, nil
}

// Due implements RunStore.
func (s *MemoryRunStore) Due(_ context.Context, now time.Time, limit int) ([]Timer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Timer
	for _, t := range s.timers {
		if t.At.After(now) || len(out) == limit {
			break
		}
		out = append(out, t)
	}
	return out, nil
}

// NextWake implements RunStore.
func (s *MemoryRunStore) NextWake(context.Context) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.timers) == 0 {
		return time.Time{}, false, nil
	}
	return s.timers[0].At, true, nil
}
