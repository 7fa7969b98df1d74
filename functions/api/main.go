// Command api is the api Lambda function (provided.al2023, built with
// -tags lambda.norpc by `make build`). It serves the HTTP API (every route but the webhooks) behind
// API Gateway's JWT authorizer.
package main

import (
	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/api"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
)

// Its wiring is shared/aws/lambdahost/api: only what this function calls
// is linked.
func main() { core.Start(deployenv.API, api.Build) }
