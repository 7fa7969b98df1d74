package main

import (
	"time"

	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/store"
)

func engineConfig(session, warning time.Duration) engine.Config {
	c := engine.DefaultConfig()
	c.SessionLength, c.SessionWarning = session, warning
	return c
}

func storePage() store.PageRequest { return store.PageRequest{Limit: store.MaxLimit} }
