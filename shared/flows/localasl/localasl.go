// Package localasl runs published workflows on the embedded ASL runner
// (shared/asl): the flows.Runner of the local server. It lives apart from
// flows so the Lambda binaries, which run on Step Functions, do not carry
// the embedded runner and its database.
package localasl

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/switchboard-oss/switchboard/shared/asl"
	"github.com/switchboard-oss/switchboard/shared/flows"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

// TaskFunc executes a task payload (Service.HandleTask).
type TaskFunc func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error)

// LocalRunner is the embedded flows.Runner: the generated ASL executed in process
// by shared/asl on the host's clock, exactly as Step Functions would run it
// (the task function is called with the same Lambda payload and its result
// wrapped in the same Lambda envelope).
type LocalRunner struct {
	ASL  *asl.Runner
	task TaskFunc
}

// NewLocalRunner returns a runner over store. Set the task function with
// SetTask before the first Start (the service needs the runner, the runner
// needs the service).
func NewLocalRunner(newRunner func(asl.Invoker) *asl.Runner) *LocalRunner {
	l := &LocalRunner{}
	l.ASL = newRunner(asl.InvokerFunc(l.invoke))
	return l
}

// SetTask sets the task function.
func (l *LocalRunner) SetTask(f TaskFunc) { l.task = f }

func (l *LocalRunner) invoke(ctx context.Context, in asl.Invocation) (json.RawMessage, error) {
	var p struct {
		Payload json.RawMessage `json:"Payload"`
	}
	if err := json.Unmarshal(in.Parameters, &p); err != nil || len(p.Payload) == 0 {
		return nil, &asl.TaskError{Name: "InvalidTask", Cause: "the task parameters carry no Payload"}
	}
	out, err := l.task(ctx, p.Payload)
	if err != nil {
		return nil, &asl.TaskError{Name: workflow.ErrorName(err), Cause: err.Error()}
	}
	return out, nil
}

// Deploy checks the version's ASL (the embedded runner has no version
// quota: nothing to prune) and returns the machine id its executions run
// under; the ASL itself travels with each Start.
func (l *LocalRunner) Deploy(_ context.Context, v routing.WorkflowVersion, _ bool) (string, error) {
	if _, err := asl.Parse(v.ASL); err != nil {
		return "", err
	}
	return machineID(v.WorkflowID, v.Number), nil
}

func machineID(workflowID string, version int) string {
	return fmt.Sprintf("%s-v%d", workflowID, version)
}

// Start runs the execution until it ends or waits. Starting an existing
// Standard name again is a no-op; an Express start always runs (AWS does
// not deduplicate Express starts by name).
func (l *LocalRunner) Start(ctx context.Context, req flows.StartRequest) error {
	id := req.RunnerRef
	if id == "" {
		id = machineID(req.WorkflowID, req.Version)
	}
	_, err := l.ASL.Start(ctx, asl.StartInput{Name: req.Name, MachineID: id, Definition: req.ASL, Input: req.Input, Express: req.Express})
	if routing.IsConflict(err, routing.ReasonExists) {
		return nil
	}
	return err
}

// SendTaskSuccess completes an ask with the chosen option.
func (l *LocalRunner) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	return l.ASL.SendTaskSuccess(ctx, token, output)
}

// SendTaskFailure fails an ask (no valid answer).
func (l *LocalRunner) SendTaskFailure(ctx context.Context, token, errName, cause string) error {
	return l.ASL.SendTaskFailure(ctx, token, errName, cause)
}

// OnEnded reports every execution that ends to f (flows.New wires it to
// the service, which puts workflow.ended on the conversation's timeline).
func (l *LocalRunner) OnEnded(f func(ctx context.Context, e flows.ExecutionEnd)) {
	l.ASL.OnEnd(func(ctx context.Context, e asl.Execution) {
		f(ctx, flows.ExecutionEnd{Name: e.Name, Status: string(e.Status), Input: e.Input, Output: e.Output, Error: e.Error, Cause: e.Cause, At: e.StopTime})
	})
}
