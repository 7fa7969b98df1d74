// Package channelhost wires what the functions that talk to contacts share
// (api, webhooks, dispatcher, task): the providers, channel secrets from
// Secrets Manager, and the outbox that delivers through them.
package channelhost

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/enginehost"
	"github.com/switchboard-oss/switchboard/shared/aws/secrets"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/intake"
	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/providers/catalog"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// Channels are the providers and the channels' secrets.
type Channels struct {
	Providers *providers.Registry
	Secrets   providers.Secrets
	// SecretWriter stores a channel's secret (PUT /v1/channels/{id}/secret);
	// nil without Secrets Manager.
	SecretWriter providers.SecretWriter
}

// New resolves channel secrets only from Secrets Manager under
// env.SecretsPrefix ("env:" would let a channel's secret reference read the
// function's own environment). reg nil: every built-in provider.
func New(env core.Env, sm secrets.API, reg *providers.Registry, o core.Options) Channels {
	resolver := providers.Resolver{}
	c := Channels{Providers: reg, Secrets: resolver}
	if env.SecretsPrefix != "" && sm != nil {
		s := secrets.New(sm, env.SecretsPrefix, secrets.WithLogger(o.Log))
		resolver[secrets.Scheme], c.SecretWriter = s, s
	}
	if c.Providers == nil {
		c.Providers = catalog.New(catalog.Config{})
	}
	return c
}

// Outbox delivers the engine's messages through the channels' providers.
func (c Channels) Outbox() intake.Outbox {
	return intake.Outbox{Providers: c.Providers, Secrets: c.Secrets}
}

// Wire builds, from the AWS configuration, what the functions that talk to
// contacts share: the store as they read it (enginehost.View: with the
// configuration cache env sets), the channels and the engine that delivers
// through them (and enriches the contacts it ingests).
func Wire(env core.Env, cfg aws.Config, o core.Options) (store.Store, Channels, *engine.Engine) {
	st := enginehost.View(env, enginehost.NewStore(env, dynamodb.NewFromConfig(cfg), o), o)
	ch := New(env, secretsmanager.NewFromConfig(cfg), nil, o)
	return st, ch, enginehost.New(env, st, o, ch.Outbox(), intake.Enrich)
}
