// Command task is the task Lambda function (provided.al2023, built with
// -tags lambda.norpc by `make build`). It runs the task states of the workflow state machines.
package main

import (
	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/task"
)

// Its wiring is shared/aws/lambdahost/task: only what this function calls
// is linked.
func main() { core.Start(deployenv.Task, task.Build) }
