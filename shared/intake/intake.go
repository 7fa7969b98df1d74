// Package intake adapts the messaging providers to the engine, in both hosts:
// verified webhook events become engine.Ingest calls, the store answers the
// webhook's channel look-ups, contacts are enriched on creation, and the
// engine's outbox delivers through the providers' senders.
package intake

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/enrich"
	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Ingestor feeds verified webhook events to the engine (webhook.Ingestor).
type Ingestor struct {
	Engine *engine.Engine
}

// Ingest records each message; delivery statuses are accepted and dropped
// (outbound failures are recorded when the send fails).
func (i Ingestor) Ingest(ctx context.Context, ch routing.Channel, msgs []providers.Inbound) error {
	var errs []error
	for _, m := range msgs {
		if m.Kind != providers.KindMessage {
			continue
		}
		phone := m.Phone
		if phone == "" && e164.MatchString(m.From) {
			phone = m.From // SMS and generic senders are addressed by their number
		}
		_, err := i.Engine.Ingest(ctx, ch, engine.Inbound{
			MessageID: m.MessageID, From: m.From, Name: m.FromName, Phone: phone,
			Locale: m.Locale, Text: m.Text, Answer: m.Answer, At: m.At,
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Channels answers the webhook's channel look-ups from the store.
type Channels struct {
	Store store.Store
}

// GetChannel returns a channel by id.
func (c Channels) GetChannel(ctx context.Context, id string) (routing.Channel, error) {
	return c.Store.GetChannel(ctx, id)
}

// ChannelByExternalID finds the channel of a provider account. Channels are
// few (one per provider account), so a scan of the list is cheap.
func (c Channels) ChannelByExternalID(ctx context.Context, provider, externalID string) (routing.Channel, error) {
	var found *routing.Channel
	err := store.ForEach(ctx, c.Store.ListChannels, func(ch routing.Channel) error {
		if ch.Provider == provider && ch.ExternalID == externalID {
			found = &ch
			return store.ErrStop
		}
		return nil
	})
	switch {
	case err != nil:
		return routing.Channel{}, err
	case found == nil:
		return routing.Channel{}, routing.NotFound("channel", provider+":"+externalID)
	}
	return *found, nil
}

// ChannelsOf lists the channels of a provider.
func (c Channels) ChannelsOf(ctx context.Context, provider string) ([]routing.Channel, error) {
	var out []routing.Channel
	err := store.ForEach(ctx, c.Store.ListChannels, func(ch routing.Channel) error {
		if ch.Provider == provider {
			out = append(out, ch)
		}
		return nil
	})
	return out, err
}

// Enrich fills a new contact's country from its phone number and its
// language from the provider's locale (or the country).
func Enrich(c *routing.Contact, locale string) {
	enrich.Contact(c, providers.Inbound{Phone: c.Phone, Locale: locale})
}

// Outbox delivers the engine's messages through the providers.
type Outbox struct {
	Providers *providers.Registry
	Secrets   providers.Secrets
}

// CheckOutbound refuses replies that would reach nobody: a generic channel
// sends to its config.outboundUrl, and without one nothing is delivered. The
// other providers always have their API.
func CheckOutbound(ch routing.Channel) error {
	if ch.Provider == providers.Generic && strings.TrimSpace(ch.Config["outboundUrl"]) == "" {
		return &routing.Error{Code: routing.CodeConflict, Reason: "no_outbound", Field: "config.outboundUrl",
			Message: fmt.Sprintf("channel %s has no outboundUrl, so a reply would reach nobody: set config.outboundUrl", ch.ID)}
	}
	return nil
}

// Deliver sends msg to the contact through the channel's provider. A
// workflow's message on a generic channel without an outboundUrl stays on the
// timeline only (a web chat that reads the timeline needs no push); people's
// replies are refused before (CheckOutbound).
func (o Outbox) Deliver(ctx context.Context, ch routing.Channel, to routing.Contact, msg engine.Outbound) (string, error) {
	if CheckOutbound(ch) != nil {
		return "", nil
	}
	opts := make([]providers.Option, len(msg.Options))
	for i, op := range msg.Options {
		opts[i] = providers.Option{ID: op.ID, Title: op.Label}
	}
	return providers.Deliver(ctx, o.Providers, o.Secrets, ch, providers.Outbound{To: to.ExternalID, Text: msg.Text, Options: opts, IdempotencyKey: msg.Key})
}
