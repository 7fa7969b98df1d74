// Package lambdahost is the composition root of Switchboard's Lambda
// functions, the AWS counterpart of shared/embedded: it wires the DynamoDB
// store, the engine (publishing to EventBridge, delivering through the
// providers with Secrets Manager credentials), the workflow service on Step
// Functions, the HTTP API and the webhook handler, and gives each function
// its Lambda handler. functions/<name>/main.go only calls Main.
//
// Clients are built once per execution environment (at init), never per
// invocation.
package lambdahost

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/aws/apigw"
	"github.com/switchboard-oss/switchboard/shared/aws/eventbus"
	"github.com/switchboard-oss/switchboard/shared/aws/secrets"
	"github.com/switchboard-oss/switchboard/shared/aws/sfn"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/flows"
	"github.com/switchboard-oss/switchboard/shared/httpapi"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/intake"
	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/providers/catalog"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
	"github.com/switchboard-oss/switchboard/shared/webhook"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

// Version is the build's version (-ldflags "-X .../lambdahost.Version=v1.2.3"),
// answered by GET /v1/health.
var Version = "dev"

// Clients are the AWS clients the host calls. Build makes the real ones;
// tests may pass fakes.
type Clients struct {
	DynamoDB       dynamo.API
	EventBridge    eventbus.API
	StepFunctions  sfn.API
	SecretsManager secrets.API
}

// NewClients builds the clients from an AWS configuration. Endpoints follow
// the standard variables (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_EVENTBRIDGE,
// AWS_ENDPOINT_URL_SFN, AWS_ENDPOINT_URL_SECRETS_MANAGER), which is how the
// functions run against local emulators.
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

// Host is one function's wiring. Every function builds all of it (the
// constructors make no calls); each uses the part its handler needs.
type Host struct {
	Env       Env
	Log       *slog.Logger
	Store     *dynamo.Store
	Publisher *eventbus.Publisher
	Secrets   providers.Secrets
	Providers *providers.Registry
	Runner    *sfn.Runner
	Engine    *engine.Engine
	Flows     *flows.Service
	// API is the HTTP API (every route but the webhooks), authenticated by
	// the JWT authorizer's claims.
	API http.Handler
	// Webhooks serves GET and POST /v1/webhooks/{provider}.
	Webhooks http.Handler

	api, hooks *apigw.Adapter
}

// Build loads the AWS configuration (config.LoadDefaultConfig: the
// function's role, region and endpoints) and wires the host.
func Build(ctx context.Context, env Env) (*Host, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return New(env, NewClients(cfg), Options{}), nil
}

// NewLogger is the functions' logger: JSON lines on stderr (the stack sets
// the functions' log format to JSON) at the level Lambda passes in
// AWS_LAMBDA_LOG_LEVEL.
func NewLogger(level string) *slog.Logger {
	var l slog.Level
	switch level {
	case "TRACE", "DEBUG":
		l = slog.LevelDebug
	case "WARN":
		l = slog.LevelWarn
	case "ERROR", "FATAL":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// New wires a host from clients.
func New(env Env, c Clients, o Options) *Host {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.IDs == nil {
		o.IDs = ids.Random{}
	}
	if o.Log == nil {
		o.Log = NewLogger(env.LogLevel)
	}
	log := o.Log.With("function", env.Function)
	h := &Host{Env: env, Log: log}
	h.Store = dynamo.New(c.DynamoDB, env.TableName, append([]dynamo.Option{dynamo.WithLogger(log)}, o.StoreOptions...)...)
	h.Publisher = eventbus.New(c.EventBridge, env.EventBusName, eventbus.WithLogger(log))
	// Only Secrets Manager references: "env:" would let a channel's secret
	// reference read the function's own environment.
	resolver := providers.Resolver{}
	var secretWriter providers.SecretWriter // PUT /v1/channels/{id}/secret
	if env.SecretsPrefix != "" && c.SecretsManager != nil {
		sm := secrets.New(c.SecretsManager, env.SecretsPrefix, secrets.WithLogger(log))
		resolver[secrets.Scheme], secretWriter = sm, sm
	}
	h.Secrets = resolver
	h.Providers = o.Providers
	if h.Providers == nil {
		h.Providers = catalog.New(catalog.Config{})
	}
	cfg := engine.DefaultConfig()
	if env.SessionHours > 0 {
		cfg.SessionLength = time.Duration(env.SessionHours) * time.Hour
	}
	if env.SessionWarningMinutes > 0 {
		cfg.SessionWarning = time.Duration(env.SessionWarningMinutes) * time.Minute
	}
	h.Engine = engine.New(engine.Deps{Store: h.Store, Clock: o.Clock, IDs: o.IDs, Log: log,
		Outbox: intake.Outbox{Providers: h.Providers, Secrets: h.Secrets}, Enrich: intake.Enrich}, cfg)
	h.Runner = sfn.New(c.StepFunctions, sfn.Config{
		Prefix: env.StateMachinePrefix, ARNPrefix: env.StateMachineARNPrefix, TaskFunctionARN: env.TaskFunctionARN,
		RoleARN: env.StateMachineRoleARN, LogGroupARN: env.StateMachineLogGroup,
	}, log)
	h.Flows = flows.New(flows.Deps{Engine: h.Engine, Store: h.Store, Runner: h.Runner, Clock: o.Clock, IDs: o.IDs, Log: log})
	h.API = httpapi.New(httpapi.Config{Engine: h.Engine, Auth: auth.GatewayClaims{SubjectClaim: env.AuthSubjectClaim},
		Workflows: h.Flows, Version: Version, Secrets: h.Secrets, SecretWriter: secretWriter})
	hooks := &webhook.Handler{Providers: h.Providers, Channels: intake.Channels{Store: h.Store}, Secrets: h.Secrets,
		Ingestor: intake.Ingestor{Engine: h.Engine}, Clock: o.Clock, Logger: log}
	mux := http.NewServeMux()
	hooks.Register(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, routing.Errorf(routing.CodeNotFound, "no route %s %s", r.Method, r.URL.Path))
	})
	h.Webhooks = mux
	h.api = apigw.New(h.API)
	h.hooks = apigw.New(h.Webhooks, apigw.WithoutClaims())
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

// HandleEvent is the dispatcher's handler: one EventBridge event of the
// Switchboard bus, given to the workflow service (trigger matching, default
// routing, answers to questions, queue drains on capacity.released). An
// error makes Lambda retry the event (then its DLQ); events of other sources
// are ignored.
func (h *Host) HandleEvent(ctx context.Context, ev lambdaevents.CloudWatchEvent) error {
	if ev.Source != events.Source {
		h.Log.WarnContext(ctx, "event of another source ignored", "source", ev.Source, "detailType", ev.DetailType, "id", ev.ID)
		return nil
	}
	e := eventbus.FromEventBridge(eventbus.Received{ID: ev.ID, DetailType: ev.DetailType, Source: ev.Source, Time: ev.Time, Detail: ev.Detail})
	if err := h.Flows.HandleEvent(ctx, e); err != nil {
		h.Log.ErrorContext(ctx, "event not handled", "detailType", e.DetailType, "event", e.ID, "err", err)
		return fmt.Errorf("%s %s: %w", e.DetailType, e.ID, err)
	}
	return nil
}

// HandleTask is the task function's handler: the Payload of a workflow's
// lambda:invoke task. An error is reported with the Step Functions error
// name of workflow.ErrorName as its errorType (TransientError is retried
// by the machine, anything else is caught and recorded).
func (h *Host) HandleTask(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
	out, err := h.Flows.HandleTask(ctx, payload)
	if err != nil {
		name := workflow.ErrorName(err)
		h.Log.WarnContext(ctx, "task failed", "errorType", name, "err", err)
		return nil, messages.InvokeResponse_Error{Type: name, Message: err.Error()}
	}
	return out, nil
}

// HandleSweep is the sweeper's handler, run by the schedule every minute.
func (h *Host) HandleSweep(ctx context.Context, ev lambdaevents.CloudWatchEvent) (engine.SweepResult, error) {
	res, err := h.Engine.Sweep(ctx)
	if err != nil {
		h.Log.ErrorContext(ctx, "sweep failed", "err", err)
		return res, err
	}
	h.Log.InfoContext(ctx, "swept", "result", res)
	return res, nil
}
