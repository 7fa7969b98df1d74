// Package dispatcher is the dispatcher function's composition root: the
// Switchboard bus's EventBridge events (workflow triggers, default routing,
// answers to questions, queue drains), handed to the workflow service.
package dispatcher

import (
	"context"
	"fmt"
	"log/slog"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/aws/eventbus"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/flowhost"
	"github.com/switchboard-oss/switchboard/shared/flows"
)

// Function is the dispatcher function.
type Function struct {
	Flows *flows.Service
	Log   *slog.Logger
}

// Handle is the Lambda handler: one EventBridge event of the Switchboard
// bus, given to the workflow service, or a Step Functions "Execution Status
// Change" (the stack's rule on the default bus), which records the run's
// end. An error makes Lambda retry the event (then its DLQ); events of other
// sources are ignored.
func (f *Function) Handle(ctx context.Context, ev lambdaevents.CloudWatchEvent) error {
	if ev.Source == flows.StepFunctionsSource && ev.DetailType == flows.StepFunctionsStatusChange {
		// a Standard execution ended: workflow.ended on the timeline, once
		if err := f.Flows.HandleExecutionStatusChange(ctx, ev.Detail); err != nil {
			f.Log.ErrorContext(ctx, "execution status not recorded", "id", ev.ID, "err", err)
			return fmt.Errorf("%s %s: %w", ev.DetailType, ev.ID, err)
		}
		return nil
	}
	if ev.Source != events.Source {
		f.Log.WarnContext(ctx, "event of another source ignored", "source", ev.Source, "detailType", ev.DetailType, "id", ev.ID)
		return nil
	}
	e := eventbus.FromEventBridge(eventbus.Received{ID: ev.ID, DetailType: ev.DetailType, Source: ev.Source, Time: ev.Time, Detail: ev.Detail})
	if err := f.Flows.HandleEvent(ctx, e); err != nil {
		f.Log.ErrorContext(ctx, "event not handled", "detailType", e.DetailType, "event", e.ID, "err", err)
		return fmt.Errorf("%s %s: %w", e.DetailType, e.ID, err)
	}
	return nil
}

// Build is the function's core.Builder.
func Build(_ context.Context, env core.Env, cfg aws.Config) (any, error) {
	wf, o := flowhost.Build(env, cfg)
	return (&Function{Flows: wf, Log: o.Log}).Handle, nil
}
