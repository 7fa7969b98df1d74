package routing

import (
	"strconv"
	"strings"
	"time"
)

// Role is what a user may do.
type Role string

const (
	RoleAgent      Role = "agent"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
	// RoleBot is an automated assistant: it reads and answers the
	// conversations in their bot phase and hands them off to people. It is
	// below every person's role: no route for agents is open to it unless
	// it says so.
	RoleBot Role = "bot"
)

// Rank orders roles: agent < supervisor < admin.
func (r Role) Rank() int {
	switch r {
	case RoleAgent:
		return 1
	case RoleSupervisor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.Rank() > 0 || r == RoleBot }

// AgentStatus is an agent's presence. Only online agents receive new conversations.
type AgentStatus string

const (
	StatusOnline  AgentStatus = "online"
	StatusPaused  AgentStatus = "paused"
	StatusOffline AgentStatus = "offline"
)

// Valid reports whether s is a known status.
func (s AgentStatus) Valid() bool {
	return s == StatusOnline || s == StatusPaused || s == StatusOffline
}

// ConversationStatus is the lifecycle of a conversation: pending -> open -> closed,
// reopened (back to pending or open) by a new inbound message.
type ConversationStatus string

const (
	ConvPending ConversationStatus = "pending"
	ConvOpen    ConversationStatus = "open"
	ConvClosed  ConversationStatus = "closed"
	// ConvBot: the conversation is in its bot phase. A chatbot converses;
	// nobody is assigned and it is in no queue until it is handed off.
	ConvBot ConversationStatus = "bot"
)

// Valid reports whether s is a known conversation status.
func (s ConversationStatus) Valid() bool {
	return s == ConvPending || s == ConvOpen || s == ConvClosed || s == ConvBot
}

// Strategy picks an agent of a team.
type Strategy string

const (
	RoundRobin Strategy = "round_robin"
	LeastOpen  Strategy = "least_open"
)

// Valid reports whether s is a known strategy.
func (s Strategy) Valid() bool { return s == RoundRobin || s == LeastOpen }

// Mode says whether a team's pending conversations are handed out automatically
// or taken by agents.
type Mode string

const (
	ModeAutomatic Mode = "automatic"
	ModeManual    Mode = "manual"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == ModeAutomatic || m == ModeManual }

// EscalationType classifies an escalation; its rank orders the pending queue.
type EscalationType string

const (
	EscEmergency   EscalationType = "emergency"
	EscComplaint   EscalationType = "complaint"
	EscAppointment EscalationType = "appointment"
	EscPurchase    EscalationType = "purchase"
	EscBilling     EscalationType = "billing"
	EscGeneral     EscalationType = "general"
)

// EscalationTypes lists the types, in their default order (most urgent
// first); the order in force is EscalationOrder.
var EscalationTypes = DefaultEscalationOrder

// NoEscalationRank is the rank of a conversation that was never escalated:
// it queues behind every escalated one.
const NoEscalationRank = 9

// Rank is 1 for the most urgent type in the order in force
// (EscalationOrder); unknown types rank like no escalation.
func (t EscalationType) Rank() int {
	for i, e := range EscalationOrder() {
		if e == t {
			return i + 1
		}
	}
	return NoEscalationRank
}

// Valid reports whether t is a known escalation type.
func (t EscalationType) Valid() bool { return t.Rank() != NoEscalationRank }

// Contact is a customer reachable on one channel.
type Contact struct {
	ID         string            `json:"id"`
	ChannelID  string            `json:"channelId"`
	ExternalID string            `json:"externalId"` // the provider's id of the contact: phone, PSID, chat id
	Name       string            `json:"name,omitempty"`
	Phone      string            `json:"phone,omitempty"`
	Language   string            `json:"language,omitempty"`
	Country    string            `json:"country,omitempty"`
	Fields     map[string]string `json:"fields,omitempty"`
	// OpenConversationID is the contact's conversation that is not closed, if any.
	OpenConversationID string `json:"openConversationId,omitempty"`
	// LastConversationID is the contact's most recent conversation; a message
	// soon after it closed reopens it.
	LastConversationID string    `json:"lastConversationId,omitempty"`
	CreatedAt          time.Time `json:"createdAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
	Version            int64     `json:"version"`
}

// DisplayName is the name, or the phone number until a name is set.
func (c Contact) DisplayName() string {
	switch {
	case strings.TrimSpace(c.Name) != "":
		return c.Name
	case c.Phone != "":
		return c.Phone
	}
	return c.ExternalID
}

// Field returns a contact field by name: the built-in name, phone, language and
// country, or a custom field.
func (c Contact) Field(name string) (string, bool) {
	switch name {
	case "name":
		return c.Name, c.Name != ""
	case "phone":
		return c.Phone, c.Phone != ""
	case "language":
		return c.Language, c.Language != ""
	case "country":
		return c.Country, c.Country != ""
	}
	v, ok := c.Fields[name]
	return v, ok
}

// Escalation is a request for second-level or staff attention.
type Escalation struct {
	Type    EscalationType `json:"type"`
	Summary string         `json:"summary"`
	By      string         `json:"by"`
	At      time.Time      `json:"at"`
}

// Conversation is one thread with a contact.
type Conversation struct {
	ID         string             `json:"id"`
	ContactID  string             `json:"contactId"`
	ChannelID  string             `json:"channelId"`
	Status     ConversationStatus `json:"status"`
	TeamID     string             `json:"teamId,omitempty"`     // the team whose queue holds it, or that it was routed to
	AssigneeID string             `json:"assigneeId,omitempty"` // set when open
	Escalation *Escalation        `json:"escalation,omitempty"`
	BotActive  bool               `json:"botActive"` // an automated assistant is replying
	Source     string             `json:"source"`    // who opened it: contact or agent
	OpenedAt   time.Time          `json:"openedAt"`
	// PendingSince orders the pending queue (with the escalation rank); zero unless pending.
	PendingSince   time.Time  `json:"pendingSince,omitempty"`
	AssignedAt     *time.Time `json:"assignedAt,omitempty"`
	ClosedAt       *time.Time `json:"closedAt,omitempty"`
	LastIncomingAt *time.Time `json:"lastIncomingAt,omitempty"`
	LastOutgoingAt *time.Time `json:"lastOutgoingAt,omitempty"`
	// Assignments counts assignments so far; workflows use it for "first assignment only".
	Assignments int `json:"assignments"`
	// OnlineOnly travels with a pending conversation: the step that queued it
	// allowed online agents only, so its drain does too (whatever the team says).
	OnlineOnly bool `json:"onlineOnly,omitempty"`
	// Inbound counts the contact's messages in this conversation (message.received carries it as seq).
	Inbound int `json:"inbound,omitempty"`
	// Bot is the bot phase: set when the conversation opened in a bot's
	// hands, kept after the handoff (for the stats).
	Bot *BotPhase `json:"bot,omitempty"`
	// Handoff is how the conversation left the bot phase for people.
	Handoff *Handoff `json:"handoff,omitempty"`
	// Question is the workflow question waiting for the contact's answer, if any.
	Question *Question `json:"question,omitempty"`
	Version  int64     `json:"version"`
}

// BotPhase is a conversation's time in a bot's hands.
type BotPhase struct {
	Since     time.Time  `json:"since"`
	LastReply *time.Time `json:"lastReply,omitempty"` // the bot's last message
	Fallbacks int        `json:"fallbacks,omitempty"` // replies the bot flagged as "did not understand"
}

// Handoff reasons.
const (
	HandoffContactAsked = "contact_asked" // the contact asked for a person (a keyword)
	HandoffBotGaveUp    = "bot_gave_up"   // the bot reported its fallback too many times
	HandoffBotSilent    = "bot_silent"    // the bot did not answer a message in time
	HandoffMaxBotTime   = "max_bot_time"  // the bot phase lasted its maximum
)

// Handoff is a conversation's move from the bot to people.
type Handoff struct {
	At      time.Time `json:"at"`
	By      string    `json:"by"`                // "bot:<id>", "agent:<id>", "system" (a rule), "workflow:<id>"
	Reason  string    `json:"reason"`            // a rule's reason, or the caller's words
	Summary string    `json:"summary,omitempty"` // for the people who take it
	TeamID  string    `json:"teamId,omitempty"`  // asked for; else the channel's team
}

// Question is a multiple-choice question a workflow asked the contact; the
// workflow waits on Token until an answer matches an option.
type Question struct {
	Token       string         `json:"token"`
	WorkflowID  string         `json:"workflowId"`
	Text        string         `json:"text"`
	Options     []AnswerOption `json:"options"`
	Attempts    int            `json:"attempts"`    // answers received so far
	MaxAttempts int            `json:"maxAttempts"` // answers accepted before giving up
	AskedAt     time.Time      `json:"askedAt"`
	// AfterInbound is the conversation's Inbound count when it was asked:
	// only messages received after the question answer it.
	AfterInbound int `json:"afterInbound,omitempty"`
}

// AnswerOption is one choice of a Question.
type AnswerOption struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Match finds the option an answer picks: by option id (buttons), by its
// number in the list ("2", "2."), or by its label, ignoring case and spaces.
func (q Question) Match(text, answer string) (AnswerOption, bool) {
	norm := func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
	for _, cand := range []string{answer, text} {
		c := norm(cand)
		if c == "" {
			continue
		}
		for i, o := range q.Options {
			num := strconv.Itoa(i + 1)
			if c == norm(o.ID) || c == norm(o.Label) || c == num || c == num+"." || c == num+")" {
				return o, true
			}
		}
	}
	return AnswerOption{}, false
}

// Rank is the queue rank: the escalation rank, or NoEscalationRank.
func (c Conversation) Rank() int {
	if c.Escalation == nil {
		return NoEscalationRank
	}
	return c.Escalation.Type.Rank()
}

// QueueLess orders the pending queue: most urgent escalation first, then oldest,
// then by id so the order is total.
func QueueLess(a, b Conversation) bool {
	if ra, rb := a.Rank(), b.Rank(); ra != rb {
		return ra < rb
	}
	if !a.PendingSince.Equal(b.PendingSince) {
		return a.PendingSince.Before(b.PendingSince)
	}
	return a.ID < b.ID
}

// Agent is a user who answers conversations. OpenCount is changed only by
// store.LoadChange, atomically with the conversation it counts.
type Agent struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	Email         string      `json:"email,omitempty"`
	Role          Role        `json:"role"`
	Status        AgentStatus `json:"status"`
	StatusSince   time.Time   `json:"statusSince"`
	MaxConcurrent int         `json:"maxConcurrent"`
	OpenCount     int         `json:"openCount"`
	Teams         []string    `json:"teams"`
	// SessionExpiresAt is when an online or paused agent is disconnected; zero when offline.
	SessionExpiresAt time.Time `json:"sessionExpiresAt,omitempty"`
	SessionWarned    bool      `json:"sessionWarned,omitempty"`
	LastAssignedAt   time.Time `json:"lastAssignedAt,omitempty"`
	CreatedAt        time.Time `json:"createdAt"`
	Version          int64     `json:"version"`
}

// FreeSlots is how many more conversations the agent may hold.
func (a Agent) FreeSlots() int {
	if n := a.MaxConcurrent - a.OpenCount; n > 0 {
		return n
	}
	return 0
}

// InTeam reports whether the agent belongs to team.
func (a Agent) InTeam(team string) bool {
	for _, t := range a.Teams {
		if t == team {
			return true
		}
	}
	return false
}

// Team is a group of agents with an assignment strategy.
type Team struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Strategy   Strategy `json:"strategy"`
	OnlineOnly bool     `json:"onlineOnly"`
	Mode       Mode     `json:"mode"`
	Members    []string `json:"members"`
	// Cursor is the round-robin position: the agent who got the last conversation.
	Cursor    string    `json:"cursor,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	Version   int64     `json:"version"`
}

// HasMember reports whether agent belongs to the team.
func (t Team) HasMember(agent string) bool {
	for _, m := range t.Members {
		if m == agent {
			return true
		}
	}
	return false
}

// EventType names a timeline event.
type EventType string

const (
	EvOpened          EventType = "conversation.opened"
	EvReopened        EventType = "conversation.reopened"
	EvQueued          EventType = "conversation.queued" // pending on a team's queue
	EvAssigned        EventType = "conversation.assigned"
	EvReassigned      EventType = "conversation.reassigned"
	EvEscalated       EventType = "conversation.escalated"
	EvClosed          EventType = "conversation.closed"
	EvComment         EventType = "comment.added"
	EvMessageIn       EventType = "message.received"
	EvMessageOut      EventType = "message.sent"
	EvMessageFailed   EventType = "message.failed"
	EvContactUpdated  EventType = "contact.updated"
	EvBotChanged      EventType = "bot.changed"
	EvBotStarted      EventType = "bot.started" // the conversation opened (or reopened) in the bot's hands
	EvHandoff         EventType = "conversation.handoff"
	EvWorkflowStarted EventType = "workflow.started"
	EvWorkflowStep    EventType = "workflow.step"
	EvWorkflowEnded   EventType = "workflow.ended"
	EvWorkflowFailed  EventType = "workflow.failed"
)

// Event is one entry of a conversation's timeline: who did what, when and why.
type Event struct {
	ID             string         `json:"id"`
	ConversationID string         `json:"conversationId"`
	At             time.Time      `json:"at"`
	Type           EventType      `json:"type"`
	Actor          string         `json:"actor"` // "agent:ID", "workflow:ID", "contact", "system"
	Note           string         `json:"note,omitempty"`
	Data           map[string]any `json:"data,omitempty"`
}

// NotificationType names a notice for a user.
type NotificationType string

const (
	NoteAssignment     NotificationType = "assignment"
	NoteComment        NotificationType = "comment"
	NoteEscalation     NotificationType = "escalation"
	NoteSessionWarning NotificationType = "session_warning"
	NoteSessionEnded   NotificationType = "session_ended"
)

// Notification is a notice for one user.
type Notification struct {
	ID             string           `json:"id"`
	AgentID        string           `json:"agentId"`
	At             time.Time        `json:"at"`
	Type           NotificationType `json:"type"`
	ConversationID string           `json:"conversationId,omitempty"`
	Text           string           `json:"text"`
}

// Channel maps a provider account to Switchboard. Secrets are referenced, never stored.
type Channel struct {
	ID         string            `json:"id"`
	Provider   string            `json:"provider"`   // whatsapp, messenger, telegram, twilio, generic
	ExternalID string            `json:"externalId"` // phone number id, page id, bot id, account sid
	Name       string            `json:"name"`
	SecretRef  string            `json:"secretRef"` // resolved by a secrets provider
	Config     map[string]string `json:"config,omitempty"`
	CreatedAt  time.Time         `json:"createdAt"`
	Version    int64             `json:"version"`
}

// Workflow is a routing workflow's draft and its publication state.
type Workflow struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Trigger          string    `json:"trigger"`    // trigger type of the draft
	Definition       []byte    `json:"definition"` // the draft, canonical JSON
	PublishedVersion int       `json:"publishedVersion"`
	UpdatedAt        time.Time `json:"updatedAt"`
	Version          int64     `json:"version"` // optimistic concurrency of the draft
	// Publishing reserves version PublishedVersion+1 for the publish that
	// holds PublishingID since PublishingAt (see flows.Service.Publish).
	Publishing   int       `json:"publishing,omitempty"`
	PublishingID string    `json:"publishingId,omitempty"`
	PublishingAt time.Time `json:"publishingAt,omitzero"`
	// Disabled workflows start no new runs (running ones finish).
	Disabled bool `json:"disabled,omitempty"`
	// Priority orders the workflows of one trigger: higher first, then by id.
	Priority int `json:"priority,omitempty"`
	// Exclusive: when this workflow matches an event and starts, the
	// workflows after it (lower priority) do not start for that event.
	Exclusive bool `json:"exclusive,omitempty"`
}

// WorkflowVersion is an immutable published version.
type WorkflowVersion struct {
	WorkflowID  string    `json:"workflowId"`
	Number      int       `json:"number"`
	Trigger     string    `json:"trigger"`
	Definition  []byte    `json:"definition"`
	ASL         []byte    `json:"asl"`
	PublishedAt time.Time `json:"publishedAt"`
	// RunnerRef is what Runner.Deploy returned: on AWS the state machine
	// version ARN executions of this version start on.
	RunnerRef string `json:"runnerRef,omitempty"`
}
