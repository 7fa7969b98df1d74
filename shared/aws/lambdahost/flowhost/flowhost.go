// Package flowhost wires the workflow service on Step Functions for the
// functions that run workflows (api, dispatcher, task).
package flowhost

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/channelhost"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/aws/sfn"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/flows"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// New is the workflow service on eng and st, its machines on Step
// Functions as env names them.
func New(env core.Env, eng *engine.Engine, st store.Store, c sfn.API, o core.Options) *flows.Service {
	runner := sfn.New(c, sfn.Config{
		Prefix: env.StateMachinePrefix, ARNPrefix: env.StateMachineARNPrefix, TaskFunctionARN: env.TaskFunctionARN,
		RoleARN: env.StateMachineRoleARN, LogGroupARN: env.StateMachineLogGroup,
	}, o.Log)
	return flows.New(flows.Deps{Engine: eng, Store: st, Runner: runner, Clock: o.Clock, IDs: o.IDs, Log: o.Log})
}

// Build is the workflow service of a function that only runs workflows
// (dispatcher, task), from the AWS configuration, with the function's
// options.
func Build(env core.Env, cfg aws.Config) (*flows.Service, core.Options) {
	o := core.Options{}.WithDefaults(env)
	st, _, eng := channelhost.Wire(env, cfg, o)
	return New(env, eng, st, awssfn.NewFromConfig(cfg), o), o
}
