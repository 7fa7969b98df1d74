package engine

import (
	"context"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// DefaultOnlineOnly is a new team's onlineOnly when none is given: only
// online agents receive its conversations.
const DefaultOnlineOnly = true

// TeamSpec is a team to create, as a client asks for it: a nil OnlineOnly
// was not given and takes DefaultOnlineOnly; an explicit false lets offline
// agents receive work.
type TeamSpec struct {
	ID         string
	Name       string
	Strategy   routing.Strategy
	OnlineOnly *bool
	Mode       routing.Mode
}

// CreateTeamSpec creates the team spec describes, with the defaults for what
// it leaves out (see CreateTeam for the others).
func (e *Engine) CreateTeamSpec(ctx context.Context, spec TeamSpec, actor Actor) (routing.Team, error) {
	online := DefaultOnlineOnly
	if spec.OnlineOnly != nil {
		online = *spec.OnlineOnly
	}
	return e.CreateTeam(ctx, routing.Team{ID: spec.ID, Name: spec.Name, Strategy: spec.Strategy, OnlineOnly: online, Mode: spec.Mode}, actor)
}
