package asl

import "fmt"

// Error names defined by the Amazon States Language and used by this runner.
const (
	// ErrAll in ErrorEquals matches every error except ErrRuntime.
	ErrAll = "States.ALL"
	// ErrTaskFailed in ErrorEquals matches every task error except timeouts.
	ErrTaskFailed = "States.TaskFailed"
	// ErrTimeout: a task ran longer than TimeoutSeconds. In ErrorEquals it
	// also matches ErrHeartbeatTimeout.
	ErrTimeout = "States.Timeout"
	// ErrHeartbeatTimeout: a task sent no heartbeat for HeartbeatSeconds.
	ErrHeartbeatTimeout = "States.HeartbeatTimeout"
	// ErrRuntime: the execution hit an error it cannot process (a path that
	// selects nothing, a bad intrinsic argument, too many history events).
	// It is never retried nor caught.
	ErrRuntime = "States.Runtime"
	// ErrDataLimitExceeded: a state's input after Parameters, a task's result
	// or a state's output is larger than MaxPayloadSize. Like ErrRuntime it
	// is terminal: neither States.ALL nor any Retry or Catch matches it.
	ErrDataLimitExceeded = "States.DataLimitExceeded"
	// ErrNoChoiceMatched: a Choice state matched no rule and has no Default.
	ErrNoChoiceMatched = "States.NoChoiceMatched"
	// ErrResultPathMatchFailure: ResultPath cannot be applied to the input.
	ErrResultPathMatchFailure = "States.ResultPathMatchFailure"
)

// Limits Step Functions enforces, enforced here the same way.
const (
	// MaxPayloadSize is the largest execution input, state input after
	// Parameters, task result and state output, in bytes of UTF-8 JSON
	// (256 KiB).
	MaxPayloadSize = 262144
	// ExpressMaxDuration is how long an Express execution may run: it then
	// ends TIMED_OUT with States.Timeout, which no Catch of the machine sees.
	ExpressMaxDuration = 5 * 60 // seconds
)

// TaskError is the error an Invoker returns to fail a task with a specific
// error name, matched by Retry and Catch ErrorEquals. Any other error fails
// the task as States.TaskFailed.
type TaskError struct {
	Name  string
	Cause string
}

func (e *TaskError) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

// stateError is an error raised while running a state: an error name and a
// cause, as Step Functions reports them.
type stateError struct {
	name  string
	cause string
}

func (e *stateError) Error() string { return e.name + ": " + e.cause }

func runtimeErrorf(format string, args ...any) *stateError {
	return &stateError{name: ErrRuntime, cause: fmt.Sprintf(format, args...)}
}
