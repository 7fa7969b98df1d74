// Package relay is the relay function's composition root: batches of the
// table's DynamoDB stream, whose outbox records it publishes to the
// EventBridge bus in stream order (the only function that publishes: every
// other one writes its events to the outbox in its commits). It links no
// engine, no provider and no workflow service.
package relay

import (
	"context"
	"log/slog"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/switchboard-oss/switchboard/shared/aws/eventbus"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/aws/streamrelay"
)

// Function is the relay function.
type Function struct {
	Publisher *eventbus.Publisher
	Log       *slog.Logger
}

// NewPublisher publishes to the bus env names.
func NewPublisher(env core.Env, c eventbus.API, o core.Options) *eventbus.Publisher {
	return eventbus.New(c, env.EventBusName, eventbus.WithLogger(o.Log))
}

// Handle is the Lambda handler. A record that could not be published is
// reported as the batch's first failure (ReportBatchItemFailures): the
// event source mapping retries from it.
func (f *Function) Handle(ctx context.Context, batch lambdaevents.DynamoDBEvent) (lambdaevents.DynamoDBEventResponse, error) {
	return streamrelay.New(f.Publisher, f.Log).Handle(ctx, batch)
}

// Build is the function's core.Builder.
func Build(_ context.Context, env core.Env, cfg aws.Config) (any, error) {
	o := core.Options{}.WithDefaults(env)
	f := &Function{Publisher: NewPublisher(env, eventbridge.NewFromConfig(cfg), o), Log: o.Log}
	return f.Handle, nil
}
