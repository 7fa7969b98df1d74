package httpapi

import (
	"net/http"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/intake"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

func pageRequest(r *http.Request) (store.PageRequest, error) {
	limit, err := queryInt(r, "limit", store.DefaultLimit, 1, store.MaxLimit)
	if err != nil {
		return store.PageRequest{}, err
	}
	return store.PageRequest{Cursor: r.URL.Query().Get("cursor"), Limit: limit}, nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	out := meView{ID: p.Subject, Role: p.Role}
	if ag, err := a.eng.GetAgent(r.Context(), actor(p), p.Subject); err == nil {
		v := viewAgent(ag)
		out.Agent = &v
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) notifications(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	pg, err := a.eng.Notifications(r.Context(), actor(p), pr)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, newPage(views(pg.Items, viewNotification), pg.Next))
	return nil
}

func (a *API) listConversations(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	f := store.ConversationFilter{
		Status:         routing.ConversationStatus(q.Get("status")),
		TeamID:         q.Get("team"),
		AssigneeID:     q.Get("assignee"),
		ContactID:      q.Get("contact"),
		EscalationType: routing.EscalationType(q.Get("escalation")),
	}
	if f.Status != "" && !f.Status.Valid() {
		return routing.Invalid("status", "status must be pending, open or closed")
	}
	if f.EscalationType != "" && !f.EscalationType.Valid() {
		return routing.Invalid("escalation", "escalation must be one of emergency, complaint, appointment, purchase, billing, general")
	}
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	f.PageRequest = pr
	pg, err := a.eng.ListConversations(r.Context(), actor(p), f) // agents: their own and their teams' pending ones
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, newPage(views(pg.Items, viewConversation), pg.Next))
	return nil
}

func (a *API) getConversation(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	c, err := a.eng.GetConversation(r.Context(), actor(p), r.PathValue("id"))
	if err != nil {
		return err
	}
	v := viewConversation(c)
	if ct, err := a.eng.ConversationContact(r.Context(), actor(p), c); err == nil {
		cv := viewContact(ct)
		v.Contact = &cv
	}
	WriteJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) conversationEvents(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	pg, err := a.eng.Events(r.Context(), actor(p), r.PathValue("id"), pr)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, newPage(views(pg.Items, viewEvent), pg.Next))
	return nil
}

func (a *API) assign(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		AgentID    string `json:"agentId"`
		TeamID     string `json:"teamId"`
		OnlineOnly bool   `json:"onlineOnly"`
		Note       string `json:"note"`
		Version    int64  `json:"version"`
	}
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	res, err := a.eng.Assign(r.Context(), r.PathValue("id"), engine.Target{AgentID: body.AgentID, TeamID: body.TeamID, OnlineOnly: body.OnlineOnly}, actor(p), body.Note, body.Version)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, res)
	return nil
}

func (a *API) take(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	res, err := a.eng.Take(r.Context(), r.PathValue("id"), actor(p))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, res)
	return nil
}

func (a *API) escalate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Type    routing.EscalationType `json:"type"`
		Summary string                 `json:"summary"`
		TeamID  string                 `json:"teamId"`
	}
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	c, err := a.eng.Escalate(r.Context(), r.PathValue("id"), body.Type, body.Summary, body.TeamID, actor(p))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewConversation(c))
	return nil
}

func (a *API) sendMessage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Text     string `json:"text"`
		Fallback bool   `json:"fallback"` // a bot's "did not understand" (counted by the channel's handoff rule)
	}
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	if err := a.checkOutbound(r, p); err != nil {
		return err
	}
	ev, err := a.eng.SendMessage(r.Context(), r.PathValue("id"), engine.Outbound{Text: body.Text, Fallback: body.Fallback}, actor(p))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, viewEvent(ev))
	return nil
}

// checkOutbound refuses a reply on a channel that cannot deliver it (409
// naming the missing setting), once the conversation may be seen.
func (a *API) checkOutbound(r *http.Request, p auth.Principal) error {
	ch, err := a.eng.ConversationChannel(r.Context(), actor(p), r.PathValue("id"))
	if err != nil {
		return err
	}
	return intake.CheckOutbound(ch)
}

func (a *API) comment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Text string `json:"text"`
	}
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	ev, err := a.eng.Comment(r.Context(), r.PathValue("id"), body.Text, actor(p))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, viewEvent(ev))
	return nil
}

func (a *API) close(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Note string `json:"note"`
	}
	if r.ContentLength != 0 {
		if err := Decode(w, r, &body); err != nil {
			return err
		}
	}
	c, err := a.eng.Close(r.Context(), r.PathValue("id"), actor(p), body.Note)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewConversation(c))
	return nil
}

func (a *API) escalations(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	limit, err := queryInt(r, "limit", 100, 1, store.MaxLimit)
	if err != nil {
		return err
	}
	cs, err := a.eng.EscalationQueue(r.Context(), actor(p), limit)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, newPage(views(cs, viewConversation), ""))
	return nil
}

func (a *API) getContact(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	c, err := a.eng.GetContact(r.Context(), actor(p), r.PathValue("id"))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewContact(c))
	return nil
}

func (a *API) patchContact(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		engine.ContactPatch
		Version int64 `json:"version"`
	}
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	c, err := a.eng.UpdateContact(r.Context(), r.PathValue("id"), body.ContactPatch, actor(p), body.Version)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewContact(c))
	return nil
}

func (a *API) listTeams(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	pg, err := a.eng.ListTeams(r.Context(), actor(p), pr)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, newPage(views(pg.Items, viewTeam), pg.Next))
	return nil
}

func (a *API) getTeam(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	t, err := a.eng.GetTeam(r.Context(), actor(p), r.PathValue("id"))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewTeam(t))
	return nil
}

func (a *API) createTeam(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		ID         string           `json:"id"`
		Name       string           `json:"name"`
		Strategy   routing.Strategy `json:"strategy"`
		OnlineOnly *bool            `json:"onlineOnly"` // absent: online only (engine.DefaultOnlineOnly)
		Mode       routing.Mode     `json:"mode"`
	}
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	t, err := a.eng.CreateTeamSpec(r.Context(), engine.TeamSpec{ID: body.ID, Name: body.Name, Strategy: body.Strategy, OnlineOnly: body.OnlineOnly, Mode: body.Mode}, actor(p))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, viewTeam(t))
	return nil
}

func (a *API) patchTeam(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		engine.TeamPatch
		Version int64 `json:"version"`
	}
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	t, err := a.eng.UpdateTeam(r.Context(), r.PathValue("id"), body.TeamPatch, actor(p), body.Version)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewTeam(t))
	return nil
}

func (a *API) putMember(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	t, err := a.eng.SetMember(r.Context(), r.PathValue("id"), r.PathValue("agentId"), true, actor(p))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewTeam(t))
	return nil
}

func (a *API) deleteMember(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	t, err := a.eng.SetMember(r.Context(), r.PathValue("id"), r.PathValue("agentId"), false, actor(p))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewTeam(t))
	return nil
}

func (a *API) listAgents(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	pg, err := a.eng.ListAgents(r.Context(), actor(p), pr)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, newPage(views(pg.Items, viewAgent), pg.Next))
	return nil
}

func (a *API) getAgent(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ag, err := a.eng.GetAgent(r.Context(), actor(p), r.PathValue("id"))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewAgent(ag))
	return nil
}

func (a *API) createAgent(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		ID            string       `json:"id"`
		Name          string       `json:"name"`
		Email         string       `json:"email"`
		Role          routing.Role `json:"role"`
		MaxConcurrent *int         `json:"maxConcurrent"`
		Teams         []string     `json:"teams"`
	}
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	if body.MaxConcurrent == nil {
		return routing.Invalid("maxConcurrent", "maxConcurrent is required")
	}
	ag, err := a.eng.CreateAgent(r.Context(), routing.Agent{ID: body.ID, Name: body.Name, Email: body.Email, Role: body.Role, MaxConcurrent: *body.MaxConcurrent, Teams: body.Teams}, actor(p))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, viewAgent(ag))
	return nil
}

func (a *API) patchAgent(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		engine.AgentPatch
		Version int64 `json:"version"`
	}
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	ag, err := a.eng.UpdateAgent(r.Context(), r.PathValue("id"), body.AgentPatch, actor(p), body.Version)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewAgent(ag))
	return nil
}

func (a *API) putStatus(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Status routing.AgentStatus `json:"status"`
	}
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	ag, err := a.eng.SetStatus(r.Context(), r.PathValue("id"), body.Status, actor(p))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewAgent(ag))
	return nil
}

func (a *API) extendSession(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ag, err := a.eng.ExtendSession(r.Context(), r.PathValue("id"), actor(p))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewAgent(ag))
	return nil
}

func (a *API) listChannels(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	pg, err := a.eng.ListChannels(r.Context(), actor(p), pr)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, newPage(views(pg.Items, viewChannel), pg.Next))
	return nil
}

func (a *API) createChannel(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		ID         string            `json:"id"`
		Provider   string            `json:"provider"`
		ExternalID string            `json:"externalId"`
		Name       string            `json:"name"`
		SecretRef  string            `json:"secretRef"`
		Config     map[string]string `json:"config"`
	}
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	if err := a.checkSecretRef(r.Context(), body.SecretRef); err != nil {
		return err
	}
	ch, err := a.eng.CreateChannel(r.Context(), routing.Channel{ID: body.ID, Provider: body.Provider, ExternalID: body.ExternalID, Name: body.Name, SecretRef: body.SecretRef, Config: body.Config}, actor(p))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, viewChannel(ch))
	return nil
}

func (a *API) queueStats(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	st, err := a.eng.QueueStats(r.Context(), actor(p))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"teams": st})
	return nil
}
