// Package sweeper is the sweeper function's composition root: run every
// minute by a schedule, it warns and disconnects agents whose session ends,
// hands bot conversations off by their rules, routes stranded conversations
// and drains every automatic team's queue. It sends no message to contacts,
// so it links no provider, no workflow service and no Step Functions.
package sweeper

import (
	"context"
	"log/slog"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/enginehost"
	"github.com/switchboard-oss/switchboard/shared/engine"
)

// Function is the sweeper function.
type Function struct {
	Engine *engine.Engine
	Log    *slog.Logger
}

// Handle is the Lambda handler: one scheduled event, one engine.Sweep.
func (f *Function) Handle(ctx context.Context, _ lambdaevents.CloudWatchEvent) (engine.SweepResult, error) {
	res, err := f.Engine.Sweep(ctx)
	if err != nil {
		f.Log.ErrorContext(ctx, "sweep failed", "err", err)
		return res, err
	}
	f.Log.InfoContext(ctx, "swept", "result", res)
	return res, nil
}

// Build is the function's core.Builder.
func Build(_ context.Context, env core.Env, cfg aws.Config) (any, error) {
	o := core.Options{}.WithDefaults(env)
	st := enginehost.View(env, enginehost.NewStore(env, dynamodb.NewFromConfig(cfg), o), o)
	f := &Function{Engine: enginehost.New(env, st, o, nil, nil), Log: o.Log}
	return f.Handle, nil
}
