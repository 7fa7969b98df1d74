// Command api is the api Lambda function (provided.al2023, built with
// -tags lambda.norpc by `make build`). It serves the HTTP API (every route but the webhooks) behind
// API Gateway's JWT authorizer.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost"
)

func main() {
	env, err := lambdahost.LoadEnv(deployenv.API, nil)
	if err != nil {
		lambdahost.InitFailed(err)
	}
	h, err := lambdahost.Build(context.Background(), env) // clients are built once, at init
	if err != nil {
		lambdahost.InitFailed(err)
	}
	lambda.Start(h.HandleAPI)
}
