// Command webhooks is the webhooks Lambda function (provided.al2023, built with
// -tags lambda.norpc by `make build`). It serves the provider webhooks (GET and POST /v1/webhooks/{provider}):
// verify, dedupe, store, publish.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost"
)

func main() {
	env, err := lambdahost.LoadEnv(deployenv.Webhooks, nil)
	if err != nil {
		lambdahost.InitFailed(err)
	}
	h, err := lambdahost.Build(context.Background(), env) // clients are built once, at init
	if err != nil {
		lambdahost.InitFailed(err)
	}
	lambda.Start(h.HandleWebhook)
}
