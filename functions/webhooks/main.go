// Command webhooks is the webhooks Lambda function (provided.al2023, built with
// -tags lambda.norpc by `make build`). It serves the provider webhooks (GET and POST /v1/webhooks/{provider}):
// verify, dedupe, store, publish.
package main

import (
	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/webhooks"
)

// Its wiring is shared/aws/lambdahost/webhooks: only what this function calls
// is linked.
func main() { core.Start(deployenv.Webhooks, webhooks.Build) }
