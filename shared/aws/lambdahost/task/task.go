// Package task is the task function's composition root: the Task states of
// the workflow state machines (a lambda:invoke payload), run by the
// workflow service.
package task

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/flowhost"
	"github.com/switchboard-oss/switchboard/shared/flows"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

// Function is the task function.
type Function struct {
	Flows *flows.Service
	Log   *slog.Logger
}

// Handle is the Lambda handler: the Payload of a workflow's lambda:invoke
// task. An error is reported with the Step Functions error name of
// workflow.ErrorName as its errorType (TransientError is retried by the
// machine, anything else is caught and recorded).
func (f *Function) Handle(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
	out, err := f.Flows.HandleTask(ctx, payload)
	if err != nil {
		name := workflow.ErrorName(err)
		f.Log.WarnContext(ctx, "task failed", "errorType", name, "err", err)
		return nil, messages.InvokeResponse_Error{Type: name, Message: err.Error()}
	}
	return out, nil
}

// Build is the function's core.Builder.
func Build(_ context.Context, env core.Env, cfg aws.Config) (any, error) {
	wf, o := flowhost.Build(env, cfg)
	return (&Function{Flows: wf, Log: o.Log}).Handle, nil
}
