// Command sweeper is the sweeper Lambda function (provided.al2023, built with
// -tags lambda.norpc by `make build`). It runs every minute: agent session warnings and expiry, and a
// drain of every automatic team's queue.
package main

import (
	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/sweeper"
)

// Its wiring is shared/aws/lambdahost/sweeper: only what this function calls
// is linked.
func main() { core.Start(deployenv.Sweeper, sweeper.Build) }
