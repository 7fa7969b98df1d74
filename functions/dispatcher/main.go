// Command dispatcher is the dispatcher Lambda function (provided.al2023, built with
// -tags lambda.norpc by `make build`). It handles the Switchboard bus's EventBridge events: workflow
// triggers, default routing, answers to questions and queue drains.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost"
)

func main() {
	env, err := lambdahost.LoadEnv(deployenv.Dispatcher, nil)
	if err != nil {
		lambdahost.InitFailed(err)
	}
	h, err := lambdahost.Build(context.Background(), env) // clients are built once, at init
	if err != nil {
		lambdahost.InitFailed(err)
	}
	lambda.Start(h.HandleEvent)
}
