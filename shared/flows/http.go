package flows

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/httpapi"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

// Register adds the workflow routes to the HTTP API (httpapi.Workflows).
func (s *Service) Register(handle func(pattern string, min routing.Role, h httpapi.AuthedHandler)) {
	handle("POST /v1/workflows", routing.RoleAdmin, s.httpSave)
	handle("GET /v1/workflows", routing.RoleAdmin, s.httpList)
	handle("GET /v1/workflows/{id}", routing.RoleAdmin, s.httpGet)
	handle("POST /v1/workflows/{id}/publish", routing.RoleAdmin, s.httpPublish)
	handle("GET /v1/workflows/{id}/asl", routing.RoleAdmin, s.httpASL)
	handle("GET /v1/workflows/{id}/graph", routing.RoleAdmin, s.httpGraph)
	s.registerControl(handle)
	handle("GET /v1/shortcuts", routing.RoleAgent, s.httpShortcuts)
	handle("POST /v1/conversations/{id}/shortcuts/{workflowId}", routing.RoleAgent, s.httpRunShortcut)
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

func view(w routing.Workflow) workflowView {
	return workflowView{ID: w.ID, Name: w.Name, Trigger: w.Trigger, PublishedVersion: w.PublishedVersion, UpdatedAt: w.UpdatedAt.Format("2006-01-02T15:04:05Z07:00"), Version: w.Version, Disabled: w.Disabled, Priority: w.Priority, Exclusive: w.Exclusive, Definition: w.Definition}
}

func versionParam(r *http.Request) (int64, error) { return httpapi.VersionQuery(r) }

// httpSave takes the definition itself as the body, JSON or YAML.
func (s *Service) httpSave(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, httpapi.MaxBody))
	if err != nil {
		return &routing.Error{Code: routing.CodeInvalid, Reason: "too_large", Field: "body", Message: "the definition is larger than 1 MiB"}
	}
	expect, err := versionParam(r)
	if err != nil {
		return err
	}
	wf, _, err := s.SaveDraft(r.Context(), body, engine.Person(p.Subject, p.Role), expect)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if wf.Version == 1 {
		status = http.StatusCreated
	}
	httpapi.WriteJSON(w, status, view(wf))
	return nil
}

func (s *Service) httpList(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	page, err := s.st.ListWorkflows(r.Context(), store.PageRequest{Limit: store.MaxLimit, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return err
	}
	items := make([]workflowView, len(page.Items))
	for i, wf := range page.Items {
		items[i] = view(wf)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": items, "next": nullable(page.Next)})
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Service) httpGet(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	wf, err := s.st.GetWorkflow(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, view(wf))
	return nil
}

func (s *Service) httpPublish(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	expect, err := versionParam(r)
	if err != nil {
		return err
	}
	v, err := s.Publish(r.Context(), r.PathValue("id"), expect)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"workflowId": v.WorkflowID, "version": v.Number, "trigger": v.Trigger, "publishedAt": v.PublishedAt, "aslBytes": len(v.ASL)})
	return nil
}

// publishedVersion reads ?version=N or the live version.
func (s *Service) publishedVersion(r *http.Request) (*published, error) {
	id := r.PathValue("id")
	n, err := versionParam(r)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		wf, err := s.st.GetWorkflow(r.Context(), id)
		if err != nil {
			return nil, err
		}
		if wf.PublishedVersion == 0 {
			return nil, routing.Errorf(routing.CodeNotFound, "workflow %s has no published version", id)
		}
		n = int64(wf.PublishedVersion)
	}
	return s.version(r.Context(), id, int(n))
}

func (s *Service) httpASL(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	v, err := s.publishedVersion(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Workflow-Version", strconv.Itoa(v.v.Number))
	_, err = w.Write(v.v.ASL)
	return err
}

func (s *Service) httpGraph(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	v, err := s.publishedVersion(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err = io.WriteString(w, workflow.Graph(v.def))
	return err
}

func (s *Service) httpShortcuts(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	list, err := s.Shortcuts(r.Context())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": list, "next": nil})
	return nil
}

func (s *Service) httpRunShortcut(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Form map[string]string `json:"form"`
	}
	if err := httpapi.Decode(w, r, &body); err != nil {
		return err
	}
	name, err := s.RunShortcut(r.Context(), r.PathValue("id"), r.PathValue("workflowId"), body.Form, engine.Person(p.Subject, p.Role), r.Header.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{"status": "started", "execution": name})
	return nil
}
