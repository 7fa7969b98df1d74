package httpapi

import (
	"net/http"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/engine"
)

// handoff hands a conversation from its bot phase to people (bot, agent+).
func (a *API) handoff(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body engine.HandoffRequest
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	c, err := a.eng.Handoff(r.Context(), r.PathValue("id"), body, actor(p))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewConversation(c))
	return nil
}

// botStats reports, per channel and per team, conversations with a bot phase,
// containment and handoffs by reason (supervisor+).
func (a *API) botStats(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	channels, teams, err := a.eng.BotStats(r.Context(), actor(p))
	if err != nil {
		return err
	}
	if channels == nil {
		channels = []engine.BotStat{}
	}
	if teams == nil {
		teams = []engine.BotStat{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"channels": channels, "teams": teams})
	return nil
}
