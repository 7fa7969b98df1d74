package asl

import (
	"context"
	"encoding/json"
)

// Invocation is one call of a task's resource.
type Invocation struct {
	// Resource is the Task state's Resource.
	Resource string
	// Parameters is the effective input of the task (after InputPath and
	// Parameters), as JSON. For lambda:invoke it holds FunctionName and Payload.
	Parameters json.RawMessage
	// TaskToken is set for .waitForTaskToken resources: the execution waits
	// until SendTaskSuccess or SendTaskFailure is called with it.
	TaskToken     string
	ExecutionName string
	ExecutionID   string
	MachineID     string
	StateName     string
	// Attempt is 0 for the first try and counts retries.
	Attempt int
}

// Faults make the runner fail the way Step Functions may, for tests of
// idempotent tasks. Each function is asked about every task attempt.
type Faults struct {
	// DuplicateDelivery delivers the attempt twice: the Invoker is called
	// a second time with the same Invocation, and the second result counts
	// (asynchronous Express executions are at least once).
	DuplicateDelivery func(Invocation) bool
	// FailAfterEffect fails an attempt that succeeded, as if its response
	// were lost (Lambda.ServiceException): a Retry then re-delivers a task
	// whose effect was already committed.
	FailAfterEffect func(Invocation) bool
}

// ErrLambdaService is the error name FailAfterEffect fails attempts with.
const ErrLambdaService = "Lambda.ServiceException"

// Invoker runs tasks. For .waitForTaskToken resources its result is ignored
// (the task completes with SendTaskSuccess); an error fails the task. Return
// a *TaskError to fail with a specific error name. The context marks the
// execution as busy: calls back into the Runner for the same execution must
// use it (or a context derived from it); with an unrelated context they
// would wait for the very task that makes them.
type Invoker interface {
	Invoke(ctx context.Context, inv Invocation) (json.RawMessage, error)
}

// InvokerFunc adapts a function to Invoker.
type InvokerFunc func(ctx context.Context, inv Invocation) (json.RawMessage, error)

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, inv Invocation) (json.RawMessage, error) {
	return f(ctx, inv)
}
