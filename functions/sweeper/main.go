// Command sweeper is the sweeper Lambda function (provided.al2023, built with
// -tags lambda.norpc by `make build`). It runs every minute: agent session warnings and expiry, and a
// drain of every automatic team's queue.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost"
)

func main() {
	env, err := lambdahost.LoadEnv(deployenv.Sweeper, nil)
	if err != nil {
		lambdahost.InitFailed(err)
	}
	h, err := lambdahost.Build(context.Background(), env) // clients are built once, at init
	if err != nil {
		lambdahost.InitFailed(err)
	}
	lambda.Start(h.HandleSweep)
}
