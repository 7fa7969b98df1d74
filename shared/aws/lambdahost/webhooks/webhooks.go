// Package webhooks is the webhooks function's composition root: the
// providers' signed webhooks (GET and POST /v1/webhooks/{provider}): verify,
// dedupe, store (the events go to the outbox in the same commit). It links
// no workflow service, no Step Functions and no HTTP API.
package webhooks

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/switchboard-oss/switchboard/shared/aws/apigw"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/channelhost"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/httpapi/httperror"
	"github.com/switchboard-oss/switchboard/shared/intake"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/webhook"
)

// New serves the webhooks of ch's providers as API Gateway invokes them (its
// Invoke is the handler; no authorizer: the signatures authenticate):
// channels read from st, messages ingested by eng. Any other path is 404.
func New(eng *engine.Engine, st store.Store, ch channelhost.Channels, clk clock.Clock, log *slog.Logger) *apigw.Adapter {
	hooks := &webhook.Handler{Providers: ch.Providers, Channels: intake.Channels{Store: st}, Secrets: ch.Secrets,
		Ingestor: intake.Ingestor{Engine: eng}, Clock: clk, Logger: log}
	mux := http.NewServeMux()
	hooks.Register(mux)
	mux.HandleFunc("/", notFound)
	return apigw.New(mux, apigw.WithoutClaims())
}

// notFound answers what the HTTP API answers for a path it does not serve.
func notFound(w http.ResponseWriter, r *http.Request) {
	httperror.Write(w, routing.Errorf(routing.CodeNotFound, "no route %s %s", r.Method, r.URL.Path))
}

// Build is the function's core.Builder.
func Build(_ context.Context, env core.Env, cfg aws.Config) (any, error) {
	o := core.Options{}.WithDefaults(env)
	st, ch, eng := channelhost.Wire(env, cfg, o)
	return New(eng, st, ch, o.Clock, o.Log).Invoke, nil
}
