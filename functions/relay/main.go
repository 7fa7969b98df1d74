// Command relay is the outbox relay Lambda function (provided.al2023, built
// with -tags lambda.norpc by `make build`). An event source mapping on the
// table's DynamoDB stream invokes it with batches of records; it publishes
// the outbox records' events to the EventBridge bus in stream order.
package main

import (
	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/relay"
)

// Its wiring is shared/aws/lambdahost/relay: only what this function calls
// is linked.
func main() { core.Start(deployenv.Relay, relay.Build) }
