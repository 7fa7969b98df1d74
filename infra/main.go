// Command infra is the AWS CDK app of Switchboard: `cdk synth` / `cdk deploy`
// run it (see infra/cdk.json and docs/deploy.md).
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/switchboard-oss/switchboard/infra/stack"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	if _, err := stack.Build(app); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard infra:", err)
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
}
