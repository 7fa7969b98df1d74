// Command dispatcher is the dispatcher Lambda function (provided.al2023, built with
// -tags lambda.norpc by `make build`). It handles the Switchboard bus's EventBridge events: workflow
// triggers, default routing, answers to questions and queue drains.
package main

import (
	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/dispatcher"
)

// Its wiring is shared/aws/lambdahost/dispatcher: only what this function calls
// is linked.
func main() { core.Start(deployenv.Dispatcher, dispatcher.Build) }
