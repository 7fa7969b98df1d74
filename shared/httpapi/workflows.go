package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/httpapi/httperror"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

// Workflows is the workflow feature (drafts, publishing, dispatch settings,
// shortcuts) that the routes under /v1/workflows and /v1/shortcuts call.
// flows.Service implements it.
type Workflows interface {
	SaveDraft(ctx context.Context, source []byte, actor engine.Actor, expectVersion int64) (routing.Workflow, []workflow.FieldError, error)
	ListWorkflows(ctx context.Context, p store.PageRequest) (store.Page[routing.Workflow], error)
	GetWorkflow(ctx context.Context, id string) (routing.Workflow, error)
	Publish(ctx context.Context, id string, expectVersion int64) (routing.WorkflowVersion, error)
	// PublishedVersion returns version n, or the live one when n is 0.
	PublishedVersion(ctx context.Context, id string, n int) (routing.WorkflowVersion, *workflow.Definition, error)
	SetEnabled(ctx context.Context, id string, enabled bool, expectVersion int64) (routing.Workflow, error)
	UpdateSettings(ctx context.Context, id string, priority *int, exclusive *bool, expectVersion int64) (routing.Workflow, error)
	Delete(ctx context.Context, id string, expectVersion int64) error
	Shortcuts(ctx context.Context) ([]workflow.Shortcut, error)
	RunShortcut(ctx context.Context, convID, workflowID string, form map[string]string, actor engine.Actor, requestID string) (string, error)
}

func (a *API) workflowRoutes() {
	admin := routing.RoleAdmin
	a.handle("POST /v1/workflows", admin, a.saveWorkflow)
	a.handle("GET /v1/workflows", admin, a.listWorkflows)
	a.handle("GET /v1/workflows/{id}", admin, a.getWorkflow)
	a.handle("POST /v1/workflows/{id}/publish", admin, a.publishWorkflow)
	a.handle("GET /v1/workflows/{id}/asl", admin, a.workflowASL)
	a.handle("GET /v1/workflows/{id}/graph", admin, a.workflowGraph)
	a.handle("PATCH /v1/workflows/{id}", admin, a.workflowSettings)
	a.handle("POST /v1/workflows/{id}/disable", admin, a.workflowEnabled(false))
	a.handle("POST /v1/workflows/{id}/enable", admin, a.workflowEnabled(true))
	a.handle("DELETE /v1/workflows/{id}", admin, a.deleteWorkflow)
	a.handle("GET /v1/shortcuts", routing.RoleAgent, a.shortcuts)
	a.handle("POST /v1/conversations/{id}/shortcuts/{workflowId}", routing.RoleAgent, a.runShortcut)
}

// workflowView is a workflow as the API shows it: the draft as JSON.
type workflowView struct {
	ID               string          `json:"id"`
	Name             string          `json:"name"`
	Trigger          string          `json:"trigger"`
	PublishedVersion int             `json:"publishedVersion"`
	UpdatedAt        string          `json:"updatedAt"`
	Version          int64           `json:"version"`
	Disabled         bool            `json:"disabled"`
	Priority         int             `json:"priority"`
	Exclusive        bool            `json:"exclusive"`
	Definition       json.RawMessage `json:"definition"`
}

func viewWorkflow(w routing.Workflow) workflowView {
	return workflowView{ID: w.ID, Name: w.Name, Trigger: w.Trigger, PublishedVersion: w.PublishedVersion, UpdatedAt: w.UpdatedAt.Format("2006-01-02T15:04:05Z07:00"), Version: w.Version, Disabled: w.Disabled, Priority: w.Priority, Exclusive: w.Exclusive, Definition: w.Definition}
}

// shortcutView is a published shortcut with its form, for agents.
type shortcutView struct {
	WorkflowID  string               `json:"workflowId"`
	Version     int                  `json:"version"`
	Name        string               `json:"name"`
	Description string               `json:"description,omitempty"`
	Form        []workflow.FormField `json:"form"`
}

func viewShortcut(s workflow.Shortcut) shortcutView {
	return shortcutView{WorkflowID: s.WorkflowID, Version: s.Version, Name: s.Name, Description: s.Description, Form: s.Form}
}

// saveWorkflow takes the definition itself as the body, JSON or YAML.
func (a *API) saveWorkflow(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		return &routing.Error{Code: routing.CodeInvalid, Reason: httperror.ReasonTooLarge, Field: "body", Message: "the definition is larger than 1 MiB"}
	}
	expect, err := VersionQuery(r)
	if err != nil {
		return err
	}
	wf, _, err := a.cfg.Workflows.SaveDraft(r.Context(), body, actor(p), expect)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if wf.Version == 1 {
		status = http.StatusCreated
	}
	WriteJSON(w, status, viewWorkflow(wf))
	return nil
}

func (a *API) listWorkflows(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pg, err := a.cfg.Workflows.ListWorkflows(r.Context(), store.PageRequest{Limit: store.MaxLimit, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, newPage(views(pg.Items, viewWorkflow), pg.Next))
	return nil
}

func (a *API) getWorkflow(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	wf, err := a.cfg.Workflows.GetWorkflow(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewWorkflow(wf))
	return nil
}

func (a *API) publishWorkflow(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	expect, err := VersionQuery(r)
	if err != nil {
		return err
	}
	v, err := a.cfg.Workflows.Publish(r.Context(), r.PathValue("id"), expect)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"workflowId": v.WorkflowID, "version": v.Number, "trigger": v.Trigger, "publishedAt": v.PublishedAt, "aslBytes": len(v.ASL)})
	return nil
}

// publishedVersion reads ?version=N or the live version.
func (a *API) publishedVersion(r *http.Request) (routing.WorkflowVersion, *workflow.Definition, error) {
	n, err := VersionQuery(r)
	if err != nil {
		return routing.WorkflowVersion{}, nil, err
	}
	return a.cfg.Workflows.PublishedVersion(r.Context(), r.PathValue("id"), int(n))
}

func (a *API) workflowASL(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	v, _, err := a.publishedVersion(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Workflow-Version", strconv.Itoa(v.Number))
	_, err = w.Write(v.ASL)
	return err
}

func (a *API) workflowGraph(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	_, def, err := a.publishedVersion(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err = io.WriteString(w, workflow.Graph(def))
	return err
}

func (a *API) workflowEnabled(enabled bool) AuthedHandler {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		expect, err := VersionQuery(r)
		if err != nil {
			return err
		}
		wf, err := a.cfg.Workflows.SetEnabled(r.Context(), r.PathValue("id"), enabled, expect)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, viewWorkflow(wf))
		return nil
	}
}

func (a *API) workflowSettings(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Priority  *int  `json:"priority"`
		Exclusive *bool `json:"exclusive"`
		Version   int64 `json:"version"`
	}
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	wf, err := a.cfg.Workflows.UpdateSettings(r.Context(), r.PathValue("id"), body.Priority, body.Exclusive, body.Version)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewWorkflow(wf))
	return nil
}

func (a *API) deleteWorkflow(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	expect, err := VersionQuery(r)
	if err != nil {
		return err
	}
	if err := a.cfg.Workflows.Delete(r.Context(), r.PathValue("id"), expect); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) shortcuts(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	list, err := a.cfg.Workflows.Shortcuts(r.Context())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, newPage(views(list, viewShortcut), ""))
	return nil
}

func (a *API) runShortcut(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Form map[string]string `json:"form"`
	}
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	name, err := a.cfg.Workflows.RunShortcut(r.Context(), r.PathValue("id"), r.PathValue("workflowId"), body.Form, actor(p), r.Header.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusAccepted, map[string]any{"status": "started", "execution": name})
	return nil
}
