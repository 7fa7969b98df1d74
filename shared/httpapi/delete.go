package httpapi

import (
	"net/http"
	"strconv"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// The DELETE routes of teams, agents and channels: 204 when removed, 409
// (reason in_use) while something still refers to the item (see
// engine.DeleteTeam, DeleteAgent, DeleteChannel), 409 stale_version when
// ?version=N is not the stored version.
func (a *API) deleteRoutes() {
	a.handle("DELETE /v1/teams/{id}", routing.RoleAdmin, a.deleteTeam)
	a.handle("DELETE /v1/agents/{id}", routing.RoleAdmin, a.deleteAgent)
	a.handle("DELETE /v1/channels/{id}", routing.RoleAdmin, a.deleteChannel)
}

// VersionQuery reads an optional ?version=N (0 when absent): the version a
// change or removal expects.
func VersionQuery(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("version")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, routing.Invalid("version", "version must be a positive whole number")
	}
	return n, nil
}

func (a *API) deleted(w http.ResponseWriter, r *http.Request, remove func(id string, expect int64) error) error {
	expect, err := VersionQuery(r)
	if err != nil {
		return err
	}
	if err := remove(r.PathValue("id"), expect); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteTeam(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return a.deleted(w, r, func(id string, expect int64) error { return a.eng.DeleteTeam(r.Context(), id, actor(p), expect) })
}

func (a *API) deleteAgent(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return a.deleted(w, r, func(id string, expect int64) error { return a.eng.DeleteAgent(r.Context(), id, actor(p), expect) })
}

func (a *API) deleteChannel(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return a.deleted(w, r, func(id string, expect int64) error { return a.eng.DeleteChannel(r.Context(), id, actor(p), expect) })
}
