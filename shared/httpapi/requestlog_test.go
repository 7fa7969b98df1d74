package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

type headerAuth struct{}

func (headerAuth) Authenticate(r *http.Request) (auth.Principal, error) {
	if who := r.Header.Get("Authorization"); who != "" {
		return auth.Principal{Subject: who, Role: routing.RoleAgent}, nil
	}
	return auth.Principal{}, routing.Errorf(routing.CodeUnauthenticated, "no token")
}

// Every request is one structured line (JSON here): its id (also in the
// X-Request-Id header), method, route pattern, status, duration and actor;
// errors with their code, and internal ones with their cause.
func TestRequestLog(t *testing.T) {
	var buf bytes.Buffer
	a := &API{cfg: Config{Auth: headerAuth{}, Log: slog.New(slog.NewJSONHandler(&buf, nil))}, mux: http.NewServeMux()}
	a.handle("GET /v1/things/{id}", routing.RoleAgent, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		switch r.PathValue("id") {
		case "broken":
			return errors.New("disk on fire")
		case "missing":
			return routing.NotFound("thing", "missing")
		}
		WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
		return nil
	})
	a.handle("GET /v1/admin", routing.RoleAdmin, func(http.ResponseWriter, *http.Request, auth.Principal) error { return nil })
	do := func(path, who string) (*httptest.ResponseRecorder, map[string]any) {
		t.Helper()
		buf.Reset()
		r := httptest.NewRequest("GET", path, nil)
		if who != "" {
			r.Header.Set("Authorization", who)
		}
		w := httptest.NewRecorder()
		a.ServeHTTP(w, r)
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 1 {
			t.Fatalf("%s: %d log lines: %s", path, len(lines), buf.String())
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
			t.Fatalf("not JSON: %s", lines[0])
		}
		if id := w.Header().Get(RequestIDHeader); id == "" || line["requestId"] != id {
			t.Errorf("%s: request id header %q, log %v", path, id, line["requestId"])
		}
		if _, ok := line["ms"].(float64); !ok || line["method"] != "GET" {
			t.Errorf("%s: %v", path, line)
		}
		return w, line
	}

	w, line := do("/v1/things/t1", "ana")
	if w.Code != 200 || line["route"] != "GET /v1/things/{id}" || line["status"] != 200.0 || line["actor"] != "ana (agent)" || line["level"] != "INFO" {
		t.Errorf("ok: %v", line)
	}
	_, line = do("/v1/things/missing", "ana")
	if line["status"] != 404.0 || line["code"] != "not_found" || line["level"] != "INFO" {
		t.Errorf("not found: %v", line)
	}
	w, line = do("/v1/things/broken", "ana")
	if w.Code != 500 || strings.Contains(w.Body.String(), "disk") || line["cause"] != "disk on fire" || line["level"] != "ERROR" {
		t.Errorf("internal: %d %s %v", w.Code, w.Body, line)
	}
	_, line = do("/v1/admin", "ana")
	if line["status"] != 403.0 || line["actor"] != "ana (agent)" || line["route"] != "GET /v1/admin" {
		t.Errorf("forbidden: %v", line)
	}
	_, line = do("/v1/things/t1", "")
	if line["status"] != 401.0 || line["actor"] != nil {
		t.Errorf("unauthenticated: %v", line)
	}
	first := w.Header().Get(RequestIDHeader)
	if w2, _ := do("/v1/things/t1", "ana"); w2.Header().Get(RequestIDHeader) == first {
		t.Error("request ids repeat")
	}
}
