// Package events is Switchboard's event contract: the EventBridge source, every
// detail-type and its detail struct. The engine publishes these after a
// commit; the dispatcher (a Lambda on AWS, an in-process bus locally) consumes
// them to start workflows.
package events

import (
	"context"
	"encoding/json"
	"time"
)

// Source is the EventBridge source of every Switchboard event.
const Source = "switchboard"

// Detail types.
const (
	ConversationOpened = "conversation.opened"
	ConversationClosed = "conversation.closed"
	ConversationRouted = "conversation.routed" // assigned or queued
	// HandoffRequested: a conversation left the bot phase for people; the
	// dispatcher runs the handoff_requested workflows, or routes it.
	HandoffRequested    = "conversation.handoff"
	MessageReceived     = "message.received"
	ContactFieldChanged = "contact.field_changed"
	ShortcutInvoked     = "shortcut.invoked"
	CapacityReleased    = "capacity.released"
)

// Event is one published event.
type Event struct {
	ID         string          `json:"id"` // unique; consumers dedupe on it
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Time       time.Time       `json:"time"`
	Detail     json.RawMessage `json:"detail"`
}

// New builds an event from a detail struct.
func New(id, detailType string, at time.Time, detail any) (Event, error) {
	b, err := json.Marshal(detail)
	if err != nil {
		return Event{}, err
	}
	return Event{ID: id, DetailType: detailType, Source: Source, Time: at.UTC(), Detail: b}, nil
}

// Publisher sends events to the bus (EventBridge on AWS, in-process locally).
type Publisher interface {
	Publish(ctx context.Context, evs ...Event) error
}

// ConversationOpenedDetail is published when a conversation opens or reopens.
type ConversationOpenedDetail struct {
	ConversationID string `json:"conversationId"`
	ContactID      string `json:"contactId"`
	ChannelID      string `json:"channelId"`
	Source         string `json:"source"` // contact or agent
	Reopened       bool   `json:"reopened"`
	Text           string `json:"text,omitempty"` // the first message
	// Bot: it opened in a bot's hands; it is routed when it is handed off, not now.
	Bot bool `json:"bot,omitempty"`
}

// HandoffDetail is published when a conversation is handed from the bot to people.
type HandoffDetail struct {
	ConversationID string `json:"conversationId"`
	ChannelID      string `json:"channelId"`
	Reason         string `json:"reason"`
	By             string `json:"by"`
	TeamID         string `json:"teamId,omitempty"`
}

// ConversationClosedDetail is published when a conversation closes.
type ConversationClosedDetail struct {
	ConversationID string `json:"conversationId"`
	AgentID        string `json:"agentId,omitempty"`
	By             string `json:"by"`
}

// MessageReceivedDetail is published for every new inbound message.
type MessageReceivedDetail struct {
	ConversationID string `json:"conversationId"`
	ContactID      string `json:"contactId"`
	MessageID      string `json:"messageId"`
	Text           string `json:"text,omitempty"`
	Answer         string `json:"answer,omitempty"`
	// Seq numbers the conversation's inbound messages (1, 2, ...): a question
	// asked after message n is answered only by messages after n.
	Seq int `json:"seq,omitempty"`
	// NoQuestion is true when no question was waiting on the conversation as
	// the message was stored. A question asked later is answered only by
	// later messages (see Seq), so this one answers none: a consumer need not
	// read the conversation to find out. Absent (an event from an older
	// version) means "look".
	NoQuestion bool `json:"noQuestion,omitempty"`
}

// ContactFieldChangedDetail is published when a contact field changes.
type ContactFieldChangedDetail struct {
	ContactID      string `json:"contactId"`
	ConversationID string `json:"conversationId,omitempty"`
	Field          string `json:"field"`
	Old            string `json:"old"`
	New            string `json:"new"`
}

// ShortcutInvokedDetail is published when an agent runs a shortcut workflow.
type ShortcutInvokedDetail struct {
	ConversationID string            `json:"conversationId"`
	WorkflowID     string            `json:"workflowId"`
	AgentID        string            `json:"agentId"`
	Form           map[string]string `json:"form"`
	RunName        string            `json:"runName"`
}

// CapacityReleasedDetail is published when an agent's slot frees, so the
// pending queues of the agent's teams are drained.
type CapacityReleasedDetail struct {
	AgentID string `json:"agentId"`
	Reason  string `json:"reason"` // closed, online, max_raised, reassigned
}
