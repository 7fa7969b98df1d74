// Package enginehost wires the routing engine on the DynamoDB store for the
// functions that call it (api, webhooks, dispatcher, task, sweeper). It
// links no provider and no workflow runner: those who deliver messages pass
// an engine.Outbox (shared/aws/lambdahost/channelhost).
package enginehost

import (
	"time"

	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/cache"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
)

// NewStore is the function's store: the table env names, logging to o.Log.
func NewStore(env core.Env, c dynamo.API, o core.Options, opts ...dynamo.Option) *dynamo.Store {
	return dynamo.New(c, env.TableName, append([]dynamo.Option{dynamo.WithLogger(o.Log)}, opts...)...)
}

// View is the store as the function's engine and workflow service read it:
// st itself, or, when env sets a configuration cache (CONFIG_CACHE_SECONDS,
// which the stack sets on the functions driven by events, never on the
// api), st behind a cache of channels, published workflows and teams kept
// that long by this instance (package cache). Conversations, agents' loads
// and claims are always read from st.
func View(env core.Env, st store.Store, o core.Options) store.Store {
	return cache.New(st, o.Clock, time.Duration(env.ConfigCacheSeconds)*time.Second)
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
func New(env core.Env, st store.Store, o core.Options, outbox engine.Outbox, enrich engine.Enricher) *engine.Engine {
	return engine.New(engine.Deps{Store: st, Clock: o.Clock, IDs: o.IDs, Log: o.Log, Outbox: outbox, Enrich: enrich}, Config(env))
}
