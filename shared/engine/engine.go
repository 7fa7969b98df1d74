// Package engine holds Switchboard's use cases: opening conversations from
// inbound messages, assignment by strategy within each agent's capacity, the
// pending queue and its draining, reassignment, escalation, closing, comments,
// contact edits, agents' sessions and the per-conversation timeline.
//
// It knows nothing of AWS or HTTP: it talks to a store.Store, an
// events.Publisher and an Outbox, and reads time and ids from injected
// sources. Every change is one store.Tx, so it is written whole or not at all.
package engine

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// Config holds the engine's settings.
type Config struct {
	// SessionLength is how long an agent stays online or paused before being
	// disconnected automatically (12h).
	SessionLength time.Duration
	// SessionWarning is how long before the disconnection the agent is warned (30m).
	SessionWarning time.Duration
	// ReopenWindow: a message this soon after a conversation closed reopens it;
	// later, a new conversation opens (24h).
	ReopenWindow time.Duration
	// DedupeTTL is how long provider message ids are remembered (7 days: WhatsApp retries that long).
	DedupeTTL time.Duration
	// StrandedAfter: a pending conversation with no team, no workflow run and
	// no assignee this long after it was opened is stranded (its
	// conversation.opened was never handled): the sweep routes it and logs an
	// error (5m: longer than a relay backlog should last, so a slow relay is not mistaken for a lost event).
	StrandedAfter time.Duration
	// DefaultTeam routes conversations no workflow routes, unless the channel names one (Config["team"]).
	DefaultTeam string
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		SessionLength:  12 * time.Hour,
		SessionWarning: 30 * time.Minute,
		ReopenWindow:   24 * time.Hour,
		DedupeTTL:      7 * 24 * time.Hour,
		StrandedAfter:  5 * time.Minute,
	}
}

// Outbound is a message to a contact.
type Outbound struct {
	Text    string
	Options []Option
	// Key makes delivery idempotent: a retried send with the same key is one message.
	Key string
	// Fallback: the bot says this reply is its "did not understand" (counted by the handoff rule).
	Fallback bool
}

// Option is a choice offered with a question.
type Option struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Outbox delivers messages through the conversation's channel.
type Outbox interface {
	Deliver(ctx context.Context, ch routing.Channel, to routing.Contact, msg Outbound) (providerID string, err error)
}

// Enricher fills a new or changed contact's derived fields (country from the
// phone number, language from the locale) before routing.
type Enricher func(c *routing.Contact, locale string)

// Engine runs the use cases. It is safe for concurrent use.
//
// Events for the bus are not published by the engine: each use case writes
// them into the store.Tx of the change they describe (Tx.Outbox), and the host
// publishes them from the store (the relay locally, DynamoDB Streams on AWS).
type Engine struct {
	store  store.Store
	clock  clock.Clock
	ids    ids.Generator
	outbox Outbox
	enrich Enricher
	cfg    Config
	log    *slog.Logger
	drains drainer
	flight inflight // assignments between pick and commit (inflight.go)
}

// Deps are the engine's collaborators. Store, Clock and IDs are required.
type Deps struct {
	Store  store.Store
	Clock  clock.Clock
	IDs    ids.Generator
	Outbox Outbox // nil: messages are recorded on the timeline only
	Enrich Enricher
	Log    *slog.Logger
}

// New returns an engine.
func New(d Deps, cfg Config) *Engine {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	def := DefaultConfig()
	if cfg.SessionLength <= 0 {
		cfg.SessionLength = def.SessionLength
	}
	if cfg.SessionWarning <= 0 {
		cfg.SessionWarning = def.SessionWarning
	}
	if cfg.ReopenWindow <= 0 {
		cfg.ReopenWindow = def.ReopenWindow
	}
	if cfg.DedupeTTL <= 0 {
		cfg.DedupeTTL = def.DedupeTTL
	}
	if cfg.StrandedAfter <= 0 {
		cfg.StrandedAfter = def.StrandedAfter
	}
	return &Engine{store: d.Store, clock: d.Clock, ids: d.IDs, outbox: d.Outbox, enrich: d.Enrich, cfg: cfg, log: d.Log}
}

// Config returns the engine's settings.
func (e *Engine) Config() Config { return e.cfg }

// Now is the engine's clock reading.
func (e *Engine) Now() time.Time { return e.clock.Now() }

// ActorKind says who acts.
type ActorKind string

const (
	KindAgent    ActorKind = "agent"
	KindWorkflow ActorKind = "workflow"
	KindSystem   ActorKind = "system"
	KindContact  ActorKind = "contact"
)

// Actor is who asks for a change: a person with a role, a workflow, the system.
type Actor struct {
	Kind ActorKind
	ID   string
	Role routing.Role // for people
}

// Person returns an actor for a signed-in user.
func Person(id string, role routing.Role) Actor { return Actor{Kind: KindAgent, ID: id, Role: role} }

// System is the engine acting on its own (drains, session timers).
var System = Actor{Kind: KindSystem, ID: "system"}

// Workflow returns an actor for a workflow run.
func Workflow(id string) Actor { return Actor{Kind: KindWorkflow, ID: id} }

// String is the timeline form: "agent:ana", "bot:helper", "workflow:wf_1", "system".
func (a Actor) String() string {
	if a.Kind == KindSystem || a.ID == "" {
		return string(a.Kind)
	}
	if a.IsBot() {
		return "bot:" + a.ID
	}
	return string(a.Kind) + ":" + a.ID
}

// IsBot reports whether a chatbot (a token of role bot) acts.
func (a Actor) IsBot() bool { return a.Kind == KindAgent && a.Role == routing.RoleBot }

// IsPerson reports whether a person acts (a bot's token counts: it is checked like one, with the bot role).
func (a Actor) IsPerson() bool { return a.Kind == KindAgent }

// atLeast reports whether the actor is a person with at least role r, or the
// system/a workflow (which act with full rights on what they are given).
func (a Actor) atLeast(r routing.Role) bool {
	if !a.IsPerson() {
		return true
	}
	return a.Role.Rank() >= r.Rank()
}

func forbidden(format string, args ...any) error {
	return routing.Errorf(routing.CodeForbidden, format, args...)
}

// requireRole refuses people below role r.
func requireRole(a Actor, r routing.Role) error {
	if !a.atLeast(r) {
		return forbidden("this action needs the %s role", r)
	}
	return nil
}

// maxAttempts bounds optimistic-concurrency retries of one use case.
const maxAttempts = 50

// retryable reports whether a conflict can be solved by reading again.
func retryable(err error) bool {
	return routing.IsConflict(err, routing.ReasonVersion) || routing.IsConflict(err, routing.ReasonCapacity) ||
		routing.IsConflict(err, routing.ReasonExists) || routing.ErrorCode(err) == routing.CodeUnavailable
}

func (e *Engine) event(conv string, typ routing.EventType, actor Actor, note string, data map[string]any) routing.Event {
	return routing.Event{ID: e.ids.New("evt"), ConversationID: conv, At: e.clock.Now(), Type: typ, Actor: actor.String(), Note: note, Data: data}
}

func (e *Engine) notify(agent string, typ routing.NotificationType, conv, text string) routing.Notification {
	return routing.Notification{ID: e.ids.New("ntf"), AgentID: agent, At: e.clock.Now(), Type: typ, ConversationID: conv, Text: text}
}

// busEvent is the outbox entry of a bus event that a change produces; the
// caller puts it in the change's Tx so it is published if and only if the
// change is committed. key orders delivery (a conversation or agent id).
func (e *Engine) busEvent(key, detailType string, detail any) store.OutboxEvent {
	ev, err := events.New(e.ids.New("ev"), detailType, e.clock.Now(), detail)
	if err != nil { // the details are plain structs: marshalling cannot fail
		panic(fmt.Sprintf("engine: encode %s: %v", detailType, err))
	}
	return store.OutboxEvent{Key: key, Event: ev}
}

// released is the capacity.released event of a change that frees agent's slot.
func (e *Engine) released(agentID, reason string) store.OutboxEvent {
	return e.busEvent(agentID, events.CapacityReleased, events.CapacityReleasedDetail{AgentID: agentID, Reason: reason})
}

func ptr[T any](v T) *T { return &v }

func trimmed(s string) string { return strings.TrimSpace(s) }

func describeAgent(a routing.Agent) string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}

func nonEmpty(field, v string) error {
	if trimmed(v) == "" {
		return routing.Invalid(field, "%s is required", field)
	}
	return nil
}

func maxLen(field, v string, n int) error {
	if len(v) > n {
		return routing.Invalid(field, "%s is longer than %d bytes", field, n)
	}
	return nil
}
