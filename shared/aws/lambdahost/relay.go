package lambdahost

import (
	"context"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-oss/switchboard/shared/aws/streamrelay"
)

// HandleStream is the relay function's handler: a batch of the table's
// DynamoDB stream, whose outbox records are published to the EventBridge bus
// through the host's Publisher (the only function that publishes: every
// other one writes its events to the outbox in its commits). A record that
// could not be published is reported as the batch's first failure
// (ReportBatchItemFailures): the event source mapping retries from it.
func (h *Host) HandleStream(ctx context.Context, batch lambdaevents.DynamoDBEvent) (lambdaevents.DynamoDBEventResponse, error) {
	return streamrelay.New(h.Publisher, h.Log).Handle(ctx, batch)
}
