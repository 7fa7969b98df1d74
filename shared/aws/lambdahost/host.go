// Package lambdahost runs every Lambda function of Switchboard in one
// process on one store and engine: the tests' host (shared/aws/lambdahost
// tests, tests/cost), the AWS counterpart of shared/embedded.
//
// The functions themselves do not link it: each functions/<name>/main.go
// starts its own composition root, shared/aws/lambdahost/<name>, which
// links only what that function calls, on the shared core
// (shared/aws/lambdahost/core: configuration, logger, init errors). New
// builds those same roots, so what the tests run is what the functions run.
package lambdahost

import (
	"context"
	"encoding/json"
	"log/slog"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/switchboard-oss/switchboard/shared/aws/apigw"
	"github.com/switchboard-oss/switchboard/shared/aws/eventbus"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/api"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/channelhost"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/dispatcher"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/enginehost"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/flowhost"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/relay"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/sweeper"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/task"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/webhooks"
	"github.com/switchboard-oss/switchboard/shared/aws/secrets"
	"github.com/switchboard-oss/switchboard/shared/aws/sfn"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/flows"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/intake"
	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
)

// The configuration every function shares (shared/aws/lambdahost/core).
type Env = core.Env

// LoadEnv reads a function's configuration (core.LoadEnv).
func LoadEnv(function string, lookup func(string) (string, bool)) (Env, error) {
	return core.LoadEnv(function, lookup)
}

// Required returns the variables function needs, in order (core.Required).
func Required(function string) []string { return core.Required(function) }

// InitErrorType is the errorType of configuration failures at init.
const InitErrorType = core.InitErrorType

// Clients are the AWS clients the host calls. NewClients makes the real
// ones; tests pass clients pointed at emulators and fakes.
type Clients struct {
	DynamoDB       dynamo.API
	EventBridge    eventbus.API
	StepFunctions  sfn.API
	SecretsManager secrets.API
}

// NewClients builds the clients from an AWS configuration.
func NewClients(cfg aws.Config) Clients {
	return Clients{
		DynamoDB:       dynamodb.NewFromConfig(cfg),
		EventBridge:    eventbridge.NewFromConfig(cfg),
		StepFunctions:  awssfn.NewFromConfig(cfg),
		SecretsManager: secretsmanager.NewFromConfig(cfg),
	}
}

// Options adjust a host (tests).
type Options struct {
	Clock clock.Clock
	IDs   ids.Generator
	Log   *slog.Logger
	// StoreOptions are passed to dynamo.New (e.g. dynamo.WithConsumedCapacity()).
	StoreOptions []dynamo.Option
	// Providers replaces the built-in provider registry.
	Providers *providers.Registry
}

// Host is every function in one process, on one table. The api function's
// engine and workflow service read the store itself; the functions driven
// by events (webhooks, dispatcher, task, sweeper) read it through the
// configuration cache Env sets (enginehost.View), as they do on AWS.
type Host struct {
	Env       Env
	Log       *slog.Logger
	Store     *dynamo.Store
	Publisher *eventbus.Publisher
	Secrets   providers.Secrets
	Providers *providers.Registry
	Engine    *engine.Engine // the api function's
	Flows     *flows.Service // the api function's
	// EventStore, EventEngine and EventFlows are the webhooks, dispatcher,
	// task and sweeper functions' view of the store, engine and workflow
	// service.
	EventStore  store.Store
	EventEngine *engine.Engine
	EventFlows  *flows.Service

	api, hooks *apigw.Adapter
	dispatcher *dispatcher.Function
	task       *task.Function
	sweeper    *sweeper.Function
	relay      *relay.Function
}

// New wires every function's root from clients, sharing one store, engine
// and workflow service.
func New(env Env, c Clients, o Options) *Host {
	co := core.Options{Clock: o.Clock, IDs: o.IDs, Log: o.Log}.WithDefaults(env)
	h := &Host{Env: env, Log: co.Log}
	h.Store = enginehost.NewStore(env, c.DynamoDB, co, o.StoreOptions...)
	ch := channelhost.New(env, c.SecretsManager, o.Providers, co)
	h.Secrets, h.Providers = ch.Secrets, ch.Providers
	h.Engine = enginehost.New(env, h.Store, co, ch.Outbox(), intake.Enrich)
	h.Flows = flowhost.New(env, h.Engine, h.Store, c.StepFunctions, co)
	h.EventStore = enginehost.View(env, h.Store, co)
	h.EventEngine = enginehost.New(env, h.EventStore, co, ch.Outbox(), intake.Enrich)
	h.EventFlows = flowhost.New(env, h.EventEngine, h.EventStore, c.StepFunctions, co)
	h.Publisher = relay.NewPublisher(env, c.EventBridge, co)
	h.api = api.New(env, h.Engine, h.Flows, ch)
	h.hooks = webhooks.New(h.EventEngine, h.EventStore, ch, co.Clock, co.Log)
	h.dispatcher = &dispatcher.Function{Flows: h.EventFlows, Log: co.Log}
	h.task = &task.Function{Flows: h.EventFlows, Log: co.Log}
	h.sweeper = &sweeper.Function{Engine: h.EventEngine, Log: co.Log}
	h.relay = &relay.Function{Publisher: h.Publisher, Log: co.Log}
	return h
}

// HandleAPI is the api function's handler.
func (h *Host) HandleAPI(ctx context.Context, req lambdaevents.APIGatewayV2HTTPRequest) (lambdaevents.APIGatewayV2HTTPResponse, error) {
	return h.api.Invoke(ctx, req)
}

// HandleWebhook is the webhooks function's handler.
func (h *Host) HandleWebhook(ctx context.Context, req lambdaevents.APIGatewayV2HTTPRequest) (lambdaevents.APIGatewayV2HTTPResponse, error) {
	return h.hooks.Invoke(ctx, req)
}

// HandleEvent is the dispatcher's handler (dispatcher.Function.Handle).
func (h *Host) HandleEvent(ctx context.Context, ev lambdaevents.CloudWatchEvent) error {
	return h.dispatcher.Handle(ctx, ev)
}

// HandleTask is the task function's handler (task.Function.Handle).
func (h *Host) HandleTask(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
	return h.task.Handle(ctx, payload)
}

// HandleSweep is the sweeper's handler (sweeper.Function.Handle).
func (h *Host) HandleSweep(ctx context.Context, ev lambdaevents.CloudWatchEvent) (engine.SweepResult, error) {
	return h.sweeper.Handle(ctx, ev)
}

// HandleStream is the relay function's handler (relay.Function.Handle).
func (h *Host) HandleStream(ctx context.Context, batch lambdaevents.DynamoDBEvent) (lambdaevents.DynamoDBEventResponse, error) {
	return h.relay.Handle(ctx, batch)
}
