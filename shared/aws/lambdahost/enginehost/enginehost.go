// Package enginehost wires the routing engine on the DynamoDB store for the
// functions that call it (api, webhooks, dispatcher, task, sweeper). It
// links no provider and no workflow runner: those who deliver messages pass
// an engine.Outbox (shared/aws/lambdahost/channelhost).
package enginehost

import (
	"time"

	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
)

// NewStore is the function's store: the table env names, logging to o.Log.
func NewStore(env core.Env, c dynamo.API, o core.Options, opts ...dynamo.Option) *dynamo.Store {
	return dynamo.New(c, env.TableName, append([]dynamo.Option{dynamo.WithLogger(o.Log)}, opts...)...)
}

// Config is the engine's configuration with the session lengths env sets.
func Config(env core.Env) engine.Config {
	cfg := engine.DefaultConfig()
	if env.SessionHours > 0 {
		cfg.SessionLength = time.Duration(env.SessionHours) * time.Hour
	}
	if env.SessionWarningMinutes > 0 {
		cfg.SessionWarning = time.Duration(env.SessionWarningMinutes) * time.Minute
	}
	return cfg
}

// New is the engine on st. outbox delivers messages to contacts (nil: a
// function that sends none); enrich fills new contacts' derived fields
// (nil: a function that ingests none).
func New(env core.Env, st *dynamo.Store, o core.Options, outbox engine.Outbox, enrich engine.Enricher) *engine.Engine {
	return engine.New(engine.Deps{Store: st, Clock: o.Clock, IDs: o.IDs, Log: o.Log, Outbox: outbox, Enrich: enrich}, Config(env))
}
