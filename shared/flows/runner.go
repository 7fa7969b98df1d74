// Package flows runs the routing workflows: it saves drafts, publishes
// versions (compiled to ASL and deployed to a Runner), dispatches events to
// the published workflows whose trigger matches (starting one execution per
// event, named deterministically), and executes the workflows' task states
// against the engine. The Runner is AWS Step Functions on AWS and the
// embedded ASL runner locally: the same ASL runs on both.
package flows

import (
	"context"
	"encoding/json"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// StartRequest starts one execution of a published workflow version.
type StartRequest struct {
	// Name is deterministic (same event, same name): at most 80 letters,
	// digits, '-' and '_'. Starting an existing name with the same input is a
	// no-op, so a redelivered event starts nothing new.
	Name       string
	WorkflowID string
	Version    int
	ASL        []byte
	Express    bool // the version runs as an Express machine (workflow.ExpressEligible)
	// RunnerRef is what Deploy returned for the version (on AWS its state
	// machine version ARN): executions start on exactly that version, never
	// on an alias, which Step Functions updates eventually. Empty for
	// versions published before it was recorded.
	RunnerRef string
	Input     json.RawMessage
}

// Runner executes ASL: AWS Step Functions or the embedded runner.
type Runner interface {
	// Deploy makes a published version runnable (on AWS: create or update
	// the workflow's state machine, publish a version, point the live alias
	// at it, delete old versions no execution runs on) and returns what
	// identifies it for Start (StartRequest.RunnerRef). Older executions
	// finish on the version they started with.
	Deploy(ctx context.Context, v routing.WorkflowVersion, express bool) (ref string, err error)
	// Start starts an execution. For Standard machines an existing Name is
	// not an error and starts nothing; Express starts are NOT deduplicated
	// by name (as on AWS): the caller claims them first (Service.start).
	Start(ctx context.Context, req StartRequest) error
	// SendTaskSuccess and SendTaskFailure complete a .waitForTaskToken task.
	SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error
	SendTaskFailure(ctx context.Context, token, errName, cause string) error
}
