// Command relay is the outbox relay Lambda function (provided.al2023, built
// with -tags lambda.norpc by `make build`). An event source mapping on the
// table's DynamoDB stream invokes it with batches of records; it publishes
// the outbox records' events to the EventBridge bus in stream order.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost"
)

func main() {
	env, err := lambdahost.LoadEnv(deployenv.Relay, nil)
	if err != nil {
		lambdahost.InitFailed(err)
	}
	h, err := lambdahost.Build(context.Background(), env) // clients are built once, at init
	if err != nil {
		lambdahost.InitFailed(err)
	}
	lambda.Start(h.HandleStream)
}
