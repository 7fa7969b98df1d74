// Package catalog builds the Registry of every built-in provider: whatsapp,
// messenger, telegram, twilio and generic.
package catalog

import (
	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/providers/generic"
	"github.com/switchboard-oss/switchboard/shared/providers/messenger"
	"github.com/switchboard-oss/switchboard/shared/providers/telegram"
	"github.com/switchboard-oss/switchboard/shared/providers/twilio"
	"github.com/switchboard-oss/switchboard/shared/providers/whatsapp"
)

// Config configures the built-in providers.
type Config struct {
	// Client sends outbound messages (timeouts, retries, sleep); nil: defaults.
	Client *providers.Client
	// PublicBaseURL is the public origin the webhooks are reached at, used to
	// check Twilio signatures behind a proxy; "" takes it from each request.
	PublicBaseURL string
}

// New returns a registry with every built-in provider.
func New(cfg Config) *providers.Registry {
	c := cfg.Client
	if c == nil {
		c = &providers.Client{}
	}
	return providers.NewRegistry(
		whatsapp.New(c),
		messenger.New(c),
		telegram.New(c),
		twilio.New(c, cfg.PublicBaseURL),
		generic.New(c),
	)
}
