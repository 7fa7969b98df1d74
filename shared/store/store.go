// Package store defines the storage contract every backend implements: the
// embedded bbolt store for the local server and DynamoDB on AWS. The contract
// is tested by one conformance suite (package storetest) run against each.
//
// Writes go through Commit: one Tx is applied atomically or not at all, so the
// engine can change a conversation, an agent's open count, the timeline and the
// notifications together and a crash can neither leak nor double a slot.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Store is the storage contract. Errors are *routing.Error: CodeNotFound for a
// missing item (a Get with an empty id included), CodeConflict with a
// routing.Reason* for a failed condition, CodeInvalid for a malformed Tx or
// page cursor (Field "cursor"). Other failures (I/O, throttling) may be any
// error; routing.ErrorCode reports them as CodeInternal.
//
// Paging: a page holds at most PageRequest.EffectiveLimit items; a backend that
// filters may return a short (even empty) page with a non-empty Next. The end
// is Next == "". Cursors are opaque and valid only for the same query.
type Store interface {
	// Commit applies tx atomically. When a condition fails nothing is written
	// and the error is a conflict whose Reason says which condition failed.
	// A Tx must give every item its id (key), must not touch one item twice
	// (two writes of one conversation, a write and a load of one agent, two
	// loads of one agent, one Claim key twice, ...), and a Delta must be +1
	// or -1; otherwise Commit fails with CodeInvalid and writes nothing. An
	// empty Tx is a no-op. Keep a Tx small: DynamoDB allows 100 items per
	// transaction, and a backend may refuse a larger Tx with CodeInvalid.
	Commit(ctx context.Context, tx Tx) error

	GetConversation(ctx context.Context, id string) (routing.Conversation, error)
	// ListConversations pages through conversations matching f, newest opened
	// first (OpenedAt, then ID, both descending).
	ListConversations(ctx context.Context, f ConversationFilter) (Page[routing.Conversation], error)
	// PendingQueue returns up to limit pending conversations of a team in queue
	// order: escalation rank, then PendingSince, then ID (routing.QueueLess).
	// Only conversations whose stored Status is pending and TeamID is teamID
	// are queued. limit is bounded like PageRequest.Limit (0 = DefaultLimit).
	PendingQueue(ctx context.Context, teamID string, limit int) ([]routing.Conversation, error)

	GetContact(ctx context.Context, id string) (routing.Contact, error)
	// ContactByExternalID finds the contact of a channel by the provider's id.
	ContactByExternalID(ctx context.Context, channelID, externalID string) (routing.Contact, error)

	GetAgent(ctx context.Context, id string) (routing.Agent, error)
	// GetAgents returns the agents with the given ids that exist, in the order asked.
	GetAgents(ctx context.Context, ids []string) ([]routing.Agent, error)
	ListAgents(ctx context.Context, p PageRequest) (Page[routing.Agent], error)

	GetTeam(ctx context.Context, id string) (routing.Team, error)
	ListTeams(ctx context.Context, p PageRequest) (Page[routing.Team], error)

	GetChannel(ctx context.Context, id string) (routing.Channel, error)
	ListChannels(ctx context.Context, p PageRequest) (Page[routing.Channel], error)

	GetWorkflow(ctx context.Context, id string) (routing.Workflow, error)
	ListWorkflows(ctx context.Context, p PageRequest) (Page[routing.Workflow], error)
	GetWorkflowVersion(ctx context.Context, workflowID string, number int) (routing.WorkflowVersion, error)

	// GetClaim returns a stored idempotency claim with the Value recorded by
	// the Tx that took it (CodeNotFound if absent). It does not look at the
	// expiry: the caller compares ExpiresAt with its clock.
	GetClaim(ctx context.Context, key string) (Claim, error)

	// Events pages through a conversation's timeline, oldest first (by At, then ID).
	Events(ctx context.Context, conversationID string, p PageRequest) (Page[routing.Event], error)
	// Notifications pages through an agent's notifications, newest first (At,
	// then ID, both descending).
	Notifications(ctx context.Context, agentID string, p PageRequest) (Page[routing.Notification], error)

	Close() error
}

// Tx is one atomic change. Every write carries its condition.
type Tx struct {
	Conversations []ConversationWrite
	Contacts      []ContactWrite
	Agents        []AgentWrite
	Teams         []TeamWrite
	Channels      []ChannelWrite
	Workflows     []WorkflowWrite
	// Versions are created if absent; a published version never changes.
	Versions []routing.WorkflowVersion
	// Loads change agents' open counts under capacity conditions.
	Loads []LoadChange
	// Cursors set teams' round-robin cursors without a version check (a hint).
	Cursors []CursorSet
	// Claims are idempotency keys; an unexpired existing key fails the Tx with ReasonDuplicate.
	Claims []Claim
	// Events and Notifications are appended without condition (a put with the
	// same key, conversation or agent + At + ID, overwrites).
	Events        []routing.Event
	Notifications []routing.Notification
	// Outbox holds the bus events this change produces (the transactional
	// outbox): written in the same atomic commit as the state they describe,
	// then published from the store at least once, in commit order per Key
	// (see OutboxFeed). A crash after Commit loses none of them.
	Outbox []OutboxEvent
	// Deletes remove agents, teams, channels and workflow drafts (see Delete).
	Deletes []Delete
}

// Empty reports whether tx writes nothing.
func (tx Tx) Empty() bool {
	return len(tx.Conversations)+len(tx.Contacts)+len(tx.Agents)+len(tx.Teams)+len(tx.Channels)+
		len(tx.Workflows)+len(tx.Versions)+len(tx.Loads)+len(tx.Cursors)+len(tx.Claims)+
		len(tx.Events)+len(tx.Notifications)+len(tx.Outbox)+len(tx.Deletes) == 0
}

// Versioned writes: ExpectVersion 0 creates the item and fails with ReasonExists
// if it is there; otherwise the stored version must equal ExpectVersion
// (ReasonVersion; CodeNotFound if absent). The stored item gets Version
// ExpectVersion+1 whatever Value.Version says.

// ConversationWrite puts a conversation. Creating a conversation also indexes
// it for its contact, team queue and assignee as its fields say.
type ConversationWrite struct {
	Value         routing.Conversation
	ExpectVersion int64
}

// ContactWrite puts a contact. Creating one also reserves (ChannelID,
// ExternalID): a second contact with the same pair fails with ReasonExists.
type ContactWrite struct {
	Value         routing.Contact
	ExpectVersion int64
}

// AgentWrite puts an agent's profile. It never changes OpenCount (created at
// 0) or LastAssignedAt (created zero): those belong to LoadChange.
type AgentWrite struct {
	Value         routing.Agent
	ExpectVersion int64
}

// TeamWrite puts a team. It never changes Cursor (created empty; see CursorSet).
type TeamWrite struct {
	Value         routing.Team
	ExpectVersion int64
}

// ChannelWrite puts a channel.
type ChannelWrite struct {
	Value         routing.Channel
	ExpectVersion int64
}

// WorkflowWrite puts a workflow's draft record.
type WorkflowWrite struct {
	Value         routing.Workflow
	ExpectVersion int64
}

// LoadChange adds Delta (+1 or -1) to an agent's OpenCount.
//   - +1 requires OpenCount < MaxConcurrent and, when RequireStatus is not
//     empty, the agent's Status to be one of them; it sets LastAssignedAt = At.
//   - -1 requires OpenCount > 0 (ReasonNoLoad).
//
// A failed +1 is a conflict with ReasonCapacity, a failed -1 one with
// ReasonNoLoad; a missing agent is CodeNotFound. It does not change the
// agent's Version.
type LoadChange struct {
	AgentID       string
	Delta         int
	RequireStatus []routing.AgentStatus
	At            time.Time
}

// CursorSet moves a team's round-robin cursor. It does not change the team's
// Version. A missing team is CodeNotFound.
type CursorSet struct {
	TeamID  string
	AgentID string
}

// OutboxEvent is one event of a Tx's outbox. Key orders delivery: the events
// of one Key (a conversation id, an agent id) are published in commit order.
// Event.ID is unique: consumers deduplicate on it.
type OutboxEvent struct {
	Key   string
	Event events.Event
}

// OutboxEntry is an outbox event read back from the store. Seq identifies it
// for Ack and orders it after every entry committed before it.
type OutboxEntry struct {
	Seq string
	OutboxEvent
}

// OutboxFeed reads the outbox for a relay that publishes it. The embedded
// store implements it over its outbox bucket; on DynamoDB the table's stream
// is the feed (package dynamo's stream reader, or the stream-consumer Lambda).
type OutboxFeed interface {
	// Next returns up to limit entries not yet acknowledged, oldest commit
	// first. It may return an entry again until it is acknowledged (at least
	// once): a relay that dies between publishing and Ack republishes.
	Next(ctx context.Context, limit int) ([]OutboxEntry, error)
	// Ack removes published entries; unknown or already removed ones are ignored.
	Ack(ctx context.Context, entries []OutboxEntry) error
}

// Claim reserves an idempotency key until ExpiresAt. An expired key (the new
// claim's At is not before the stored ExpiresAt) counts as absent even if the
// backend has not deleted it yet; claiming it again replaces its expiry.
//
// Value is recorded with the claim (at most MaxClaimValue bytes): a step's
// result, so a replay of the step returns what the first run decided.
type Claim struct {
	Key       string
	At        time.Time // now, to compare with stored expiries
	ExpiresAt time.Time
	Value     string
}

// MaxClaimValue bounds Claim.Value.
const MaxClaimValue = 4096

// ConversationFilter selects conversations. Empty fields match everything.
type ConversationFilter struct {
	Status         routing.ConversationStatus
	TeamID         string
	AssigneeID     string
	ContactID      string
	EscalationType routing.EscalationType
	PageRequest
}

// PageRequest asks for one page. Cursor is the Next of the previous page.
type PageRequest struct {
	Cursor string
	Limit  int // 0 means DefaultLimit; larger than MaxLimit is cut to MaxLimit
}

const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// EffectiveLimit applies the defaults and bounds to p.Limit.
func (p PageRequest) EffectiveLimit() int {
	switch {
	case p.Limit <= 0:
		return DefaultLimit
	case p.Limit > MaxLimit:
		return MaxLimit
	}
	return p.Limit
}

// Page is one page of results; Next is "" on the last page.
type Page[T any] struct {
	Items []T
	Next  string
}

// ErrStop ends ForEach early without an error.
var ErrStop = errors.New("stop")

// ForEach pages through a listing (ListAgents, ListTeams, ...) with the
// largest pages and calls fn for every item. fn returning ErrStop ends the
// walk with a nil error; any other error ends it with that error.
func ForEach[T any](ctx context.Context, list func(context.Context, PageRequest) (Page[T], error), fn func(T) error) error {
	p := PageRequest{Limit: MaxLimit}
	for {
		page, err := list(ctx, p)
		if err != nil {
			return err
		}
		for _, item := range page.Items {
			if err := fn(item); err != nil {
				if errors.Is(err, ErrStop) {
					return nil
				}
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		p.Cursor = page.Next
	}
}

// Conversations adapts ListConversations with a fixed filter to ForEach.
func Conversations(s Store, f ConversationFilter) func(context.Context, PageRequest) (Page[routing.Conversation], error) {
	return func(ctx context.Context, p PageRequest) (Page[routing.Conversation], error) {
		f.PageRequest = p
		return s.ListConversations(ctx, f)
	}
}
