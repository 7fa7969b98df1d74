package main

import (
	"time"

	"github.com/switchboard-oss/switchboard/shared/engine"
)

func engineConfig(session, warning time.Duration) engine.Config {
	c := engine.DefaultConfig()
	c.SessionLength, c.SessionWarning = session, warning
	return c
}
