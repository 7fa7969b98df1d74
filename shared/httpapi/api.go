package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/buildinfo"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

// AuthedHandler serves a request of an authenticated principal.
type AuthedHandler func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// Config wires the API.
type Config struct {
	Engine    *engine.Engine
	Auth      auth.Authenticator
	Webhooks  http.Handler // serves /v1/webhooks/{provider}; nil: not mounted
	Workflows Workflows    // nil: workflow routes absent
	// Dev routes (the local server's virtual clock); nil: absent.
	AdvanceClock func(ctx context.Context, d time.Duration) (time.Time, error)
	Version      string
	// Secrets resolves channel secret references: a channel is created only
	// with a reference that resolves (nil: not checked).
	Secrets providers.Secrets
	// SecretWriter stores secrets written with PUT /v1/channels/{id}/secret
	// (nil: that route answers 404).
	SecretWriter providers.SecretWriter
	// Log receives one line per request (nil: slog.Default()).
	Log *slog.Logger
}

// API is the HTTP API.
type API struct {
	cfg Config
	eng *engine.Engine
	mux *http.ServeMux

	patterns []Route
}

// New builds the handler.
func New(cfg Config) *API {
	a := &API{cfg: cfg, eng: cfg.Engine, mux: http.NewServeMux()}
	a.routes()
	return a
}

// ServeHTTP implements http.Handler: every request gets an id (the
// X-Request-Id response header) and one structured log line.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	info := &requestInfo{id: newRequestID()}
	w.Header().Set(RequestIDHeader, info.id)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	rec := &statusRecorder{ResponseWriter: w}
	r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
	a.mux.ServeHTTP(rec, r)
	a.logRequest(r, rec.status, time.Since(start), info)
}

// guard authenticates, checks the minimum role and maps errors.
func (a *API) guard(min routing.Role, bots bool, h AuthedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.cfg.Auth.Authenticate(r)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		noteActor(r, p)
		if !allowed(p.Role, min, bots) {
			WriteError(w, r, routing.Errorf(routing.CodeForbidden, "this route needs the %s role", min))
			return
		}
		if err := h(w, r, p); err != nil {
			WriteError(w, r, err)
		}
	})
}

func actor(p auth.Principal) engine.Actor { return engine.Person(p.Subject, p.Role) }

func (a *API) handle(pattern string, min routing.Role, h AuthedHandler) {
	a.patterns = append(a.patterns, Route{Pattern: pattern, MinRole: min})
	a.mux.Handle(pattern, a.guard(min, false, h))
}

// handleBot registers a route open to people from min up and to bots (the
// engine then lets a bot act only on conversations in their bot phase).
func (a *API) handleBot(pattern string, min routing.Role, h AuthedHandler) {
	a.patterns = append(a.patterns, Route{Pattern: pattern, MinRole: min, Bot: true})
	a.mux.Handle(pattern, a.guard(min, true, h))
}

// allowed reports whether role may use a route for min (and bots, if it is open to them).
func allowed(role, min routing.Role, bots bool) bool {
	if role == routing.RoleBot {
		return bots
	}
	return role.Rank() >= min.Rank()
}

// Route is one authenticated route, the least role it needs and whether bots may use it.
type Route struct {
	Pattern string
	MinRole routing.Role
	Bot     bool
}

// Routes lists the authenticated routes (for the OpenAPI and role tests).
func (a *API) Routes() []Route { return append([]Route(nil), a.patterns...) }

func (a *API) routes() {
	a.mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": buildinfo.Version(a.cfg.Version)})
	})
	if a.cfg.Webhooks != nil {
		a.mux.Handle("/v1/webhooks/{provider}", a.cfg.Webhooks)
	}
	agent, supervisor, admin := routing.RoleAgent, routing.RoleSupervisor, routing.RoleAdmin

	a.handle("GET /v1/me", agent, a.me)
	a.handle("GET /v1/me/notifications", agent, a.notifications)

	a.handle("GET /v1/conversations", agent, a.listConversations)
	a.handleBot("GET /v1/conversations/{id}", agent, a.getConversation)
	a.handleBot("GET /v1/conversations/{id}/events", agent, a.conversationEvents)
	a.handle("POST /v1/conversations/{id}/assign", agent, a.assign)
	a.handle("POST /v1/conversations/{id}/take", agent, a.take)
	a.handle("POST /v1/conversations/{id}/escalate", agent, a.escalate)
	a.handleBot("POST /v1/conversations/{id}/messages", agent, a.sendMessage)
	a.handle("POST /v1/conversations/{id}/comments", agent, a.comment)
	a.handleBot("POST /v1/conversations/{id}/close", agent, a.close) // a bot may finish what it holds
	a.handleBot("POST /v1/conversations/{id}/handoff", agent, a.handoff)
	a.deleteRoutes()
	a.handle("GET /v1/escalations", supervisor, a.escalations)

	a.handle("GET /v1/contacts/{id}", agent, a.getContact)
	a.handle("PATCH /v1/contacts/{id}", agent, a.patchContact)

	a.handle("GET /v1/teams", admin, a.listTeams)
	a.handle("POST /v1/teams", admin, a.createTeam)
	a.handle("GET /v1/teams/{id}", admin, a.getTeam)
	a.handle("PATCH /v1/teams/{id}", admin, a.patchTeam)
	a.handle("PUT /v1/teams/{id}/members/{agentId}", admin, a.putMember)
	a.handle("DELETE /v1/teams/{id}/members/{agentId}", admin, a.deleteMember)

	a.handle("GET /v1/agents", admin, a.listAgents)
	a.handle("POST /v1/agents", admin, a.createAgent)
	a.handle("GET /v1/agents/{id}", agent, a.getAgent)
	a.handle("PATCH /v1/agents/{id}", admin, a.patchAgent)
	a.handle("PUT /v1/agents/{id}/status", agent, a.putStatus)
	a.handle("POST /v1/agents/{id}/session/extend", agent, a.extendSession)

	a.handle("GET /v1/channels", admin, a.listChannels)
	a.handle("POST /v1/channels", admin, a.createChannel)
	a.handle("PUT /v1/channels/{id}/secret", admin, a.putChannelSecret)

	a.handle("GET /v1/stats/queues", supervisor, a.queueStats)
	a.handle("GET /v1/stats/bot", supervisor, a.botStats)

	if a.cfg.Workflows != nil {
		a.workflowRoutes()
	}
	if a.cfg.AdvanceClock != nil {
		a.handle("POST /v1/dev/clock/advance", admin, a.advanceClock)
	}
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, routing.Errorf(routing.CodeNotFound, "no route %s %s", r.Method, r.URL.Path))
	})
}

func (a *API) advanceClock(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Duration string `json:"duration"`
	}
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	d, err := time.ParseDuration(body.Duration)
	if err != nil { // the workflows' durations: 1d, 1d12h, 90 (seconds)
		var secs int64
		secs, err = workflow.ParseDuration(body.Duration)
		d = time.Duration(secs) * time.Second
	}
	if err != nil || d <= 0 {
		return routing.Invalid("duration", "duration must be positive, such as 15m, 12h or 1d")
	}
	now, err := a.cfg.AdvanceClock(r.Context(), d)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"now": now})
	return nil
}
