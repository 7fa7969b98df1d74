// Package api is the api function's composition root: the HTTP API (every
// route but the webhooks) behind API Gateway's JWT authorizer, on the engine,
// the workflow service (publishing deploys state machines) and the channels
// (agents' messages are delivered through the providers).
package api

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/aws/apigw"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/channelhost"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/flowhost"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/flows"
	"github.com/switchboard-oss/switchboard/shared/httpapi"
)

// New is the HTTP API on eng and wf as API Gateway invokes it (its Invoke
// is the handler), authenticated by the JWT authorizer's claims: the agent
// id is the claim env.AuthSubjectClaim names.
func New(env core.Env, eng *engine.Engine, wf *flows.Service, ch channelhost.Channels) *apigw.Adapter {
	return apigw.New(httpapi.New(httpapi.Config{Engine: eng, Auth: auth.GatewayClaims{SubjectClaim: env.AuthSubjectClaim},
		Workflows: wf, Version: core.Version, Secrets: ch.Secrets, SecretWriter: ch.SecretWriter}))
}

// Build is the function's core.Builder.
func Build(_ context.Context, env core.Env, cfg aws.Config) (any, error) {
	o := core.Options{}.WithDefaults(env)
	st, ch, eng := channelhost.Wire(env, cfg, o)
	return New(env, eng, flowhost.New(env, eng, st, awssfn.NewFromConfig(cfg), o), ch).Invoke, nil
}
