// Package core is what every Lambda function of Switchboard shares, and
// nothing more: its configuration (Env, read from the variables the stack
// sets, named in shared/aws/deployenv), its logger, how it reports an init
// failure, and Start, which runs a handler on the Lambda Runtime API.
//
// Each function has its own composition root beside this one
// (shared/aws/lambdahost/<function>), which links only what that function
// calls: the webhooks function no Step Functions, the sweeper no providers,
// the relay no engine. shared/aws/lambdahost composes all of them in one
// process for the tests.
package core

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/ids"
)

// Version is the build's version (-ldflags "-X .../lambdahost/core.Version=v1.2.3"),
// answered by GET /v1/health.
var Version = "dev"

// Options adjust a function (tests); zero values are the real ones.
type Options struct {
	Clock clock.Clock
	IDs   ids.Generator
	Log   *slog.Logger
}

// WithDefaults fills the options left out: the real clock, random ids and
// the function's logger (NewLogger at env.LogLevel), tagged with its name.
func (o Options) WithDefaults(env Env) Options {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.IDs == nil {
		o.IDs = ids.Random{}
	}
	if o.Log == nil {
		o.Log = NewLogger(env.LogLevel)
	}
	o.Log = o.Log.With("function", env.Function)
	return o
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

// Builder makes a function's handler from its configuration and the AWS
// configuration (the function's role, region and endpoints: the standard
// AWS_ENDPOINT_URL_<SERVICE> variables point it at local emulators). It
// builds its clients once, at init, never per invocation.
type Builder func(ctx context.Context, env Env, cfg aws.Config) (handler any, err error)

// Start is a function's main: it reads function's configuration, loads the
// AWS configuration, builds the handler and serves it on the Runtime API
// (lambda.Start). A failure before that is reported to the Runtime API as an
// init error (InitFailed) and the process exits.
func Start(function string, build Builder) {
	env, err := LoadEnv(function, nil)
	if err != nil {
		InitFailed(err)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		InitFailed(fmt.Errorf("load AWS configuration: %w", err))
	}
	h, err := build(ctx, env, cfg)
	if err != nil {
		InitFailed(err)
	}
	lambda.Start(h)
}
