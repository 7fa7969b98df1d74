package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// RequestIDHeader carries each request's id in the response; the request log
// line has the same id.
const RequestIDHeader = "X-Request-Id"

// requestInfo is what the handlers learn about a request for its log line.
type requestInfo struct {
	id    string
	actor string // "subject (role)" once authenticated
	err   error  // the error answered, if any
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	i, _ := ctx.Value(infoKey{}).(*requestInfo)
	return i
}

// noteActor records the authenticated principal for the log line.
func noteActor(r *http.Request, p auth.Principal) {
	if i := infoFrom(r.Context()); i != nil {
		i.actor = p.Subject + " (" + string(p.Role) + ")"
	}
}

// statusRecorder remembers the status written.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// logRequest writes one structured line per request: id, method, route
// pattern, status, duration, actor, and the error answered with its cause
// (Error level for 5xx, Info otherwise).
func (a *API) logRequest(r *http.Request, status int, d time.Duration, info *requestInfo) {
	log := a.cfg.Log
	if log == nil {
		log = slog.Default()
	}
	if status == 0 {
		status = http.StatusOK
	}
	route := r.Pattern
	if route == "" || route == "/" {
		route = "(none)"
	}
	attrs := []slog.Attr{
		slog.String("requestId", info.id),
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Float64("ms", float64(d.Microseconds())/1000),
	}
	if info.actor != "" {
		attrs = append(attrs, slog.String("actor", info.actor))
	}
	level := slog.LevelInfo // a refused request is the client's: Info, with its code
	if status >= 500 {
		level = slog.LevelError
	}
	if info.err != nil {
		var e *routing.Error
		if errors.As(info.err, &e) {
			attrs = append(attrs, slog.String("code", string(e.Code)), slog.String("error", e.Message))
			if e.Field != "" {
				attrs = append(attrs, slog.String("field", e.Field))
			}
		}
		if e == nil || e.Code == routing.CodeInternal {
			attrs = append(attrs, slog.String("cause", info.err.Error()))
		}
	}
	log.LogAttrs(r.Context(), level, "request", attrs...)
}
