package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// Ask sends a workflow's multiple-choice question to the contact and records
// that the conversation waits for an answer on q.Token. The conversation shows
// the assistant as replying until a person takes over.
func (e *Engine) Ask(ctx context.Context, convID string, q routing.Question, key string, actor Actor) error {
	if len(q.Options) < 2 {
		return routing.Invalid("options", "a question needs at least two options")
	}
	opts := make([]Option, len(q.Options))
	for i, o := range q.Options {
		opts[i] = Option{ID: o.ID, Label: o.Label}
	}
	if _, err := e.SendMessage(ctx, convID, Outbound{Text: q.Text, Options: opts, Key: key}, actor); err != nil {
		return err
	}
	q.AskedAt = e.clock.Now()
	return e.updateConversation(ctx, convID, func(c *routing.Conversation) bool {
		q.AfterInbound = c.Inbound
		c.Question, c.BotActive = &q, true
		return true
	})
}

// AnswerOutcome says what an inbound message did to a waiting question.
type AnswerOutcome struct {
	Token    string // the question's token ("" when no question waited)
	OptionID string // the chosen option when Matched
	Matched  bool
	GaveUp   bool // too many answers that were no option: the workflow takes its fallback
	Reasked  bool
}

// Answer matches an inbound message against the conversation's waiting
// question. A match (or giving up after MaxAttempts answers) clears the
// question; a non-matching answer below the limit asks again. The caller
// completes the workflow's task with the outcome's token.
//
// seq is the message's number in the conversation (message.received's seq):
// a message that arrived before the question was asked (the one that opened
// the conversation, delivered after the workflow already asked) is not an
// answer. 0 means unknown (always considered).
func (e *Engine) Answer(ctx context.Context, convID, text, answer string, seq int) (AnswerOutcome, error) {
	var out AnswerOutcome
	err := e.updateConversationEvents(ctx, convID, func(c *routing.Conversation) ([]routing.Event, bool) {
		out = AnswerOutcome{}
		if c.Question == nil || (seq > 0 && seq <= c.Question.AfterInbound) {
			return nil, false
		}
		q := *c.Question
		out.Token = q.Token
		if o, ok := q.Match(text, answer); ok {
			out.Matched, out.OptionID = true, o.ID
			c.Question = nil
			return []routing.Event{e.askStep(c.ID, q, &o)}, true
		}
		q.Attempts++
		if q.MaxAttempts > 0 && q.Attempts >= q.MaxAttempts {
			out.GaveUp = true
			c.Question = nil
			return []routing.Event{e.askStep(c.ID, q, nil)}, true
		}
		out.Reasked = true
		c.Question = &q
		return nil, true
	})
	if err != nil || !out.Reasked {
		return out, err
	}
	conv, err := e.store.GetConversation(ctx, convID)
	if err != nil || conv.Question == nil {
		return out, err
	}
	q := conv.Question
	opts := make([]Option, len(q.Options))
	for i, o := range q.Options {
		opts[i] = Option{ID: o.ID, Label: o.Label}
	}
	text2 := fmt.Sprintf("Please choose one of the options. %s", q.Text)
	_, err = e.SendMessage(ctx, convID, Outbound{Text: text2, Options: opts, Key: fmt.Sprintf("%s-reask-%d", q.Token, q.Attempts)}, Workflow(q.WorkflowID))
	return out, err
}

// ClearQuestion forgets a waiting question whose workflow no longer waits (it
// timed out), so later messages are ordinary messages.
func (e *Engine) ClearQuestion(ctx context.Context, convID, token string) error {
	return e.updateConversation(ctx, convID, func(c *routing.Conversation) bool {
		if c.Question == nil || c.Question.Token != token {
			return false
		}
		c.Question = nil
		return true
	})
}

// RecordWorkflow puts a workflow's own event (started, failed, ended) on the
// conversation's timeline.
func (e *Engine) RecordWorkflow(ctx context.Context, convID string, typ routing.EventType, workflowID, note string, data map[string]any) error {
	return e.commit(ctx, store.Tx{Events: []routing.Event{e.event(convID, typ, Workflow(workflowID), note, data)}})
}

// RecordWorkflowOnce is RecordWorkflow dated at (now when zero) and written
// once per key: the event is committed with a claim of key (held for ttl),
// and a later call with the same key writes nothing and succeeds (a run
// started or ended twice, a redelivered report).
func (e *Engine) RecordWorkflowOnce(ctx context.Context, key string, ttl time.Duration, at time.Time, convID string, typ routing.EventType, workflowID, note string, data map[string]any) error {
	now := e.clock.Now()
	ev := e.event(convID, typ, Workflow(workflowID), note, data)
	if !at.IsZero() {
		ev.At = at
	}
	// Not e.commit: the claim is this record's own, never a step's.
	err := e.store.Commit(ctx, store.Tx{Claims: []store.Claim{{Key: key, At: now, ExpiresAt: now.Add(ttl)}}, Events: []routing.Event{ev}})
	if routing.IsConflict(err, routing.ReasonDuplicate) {
		return nil
	}
	return err
}

// updateConversation applies change to a fresh read until the versioned
// write wins; change returns false to write nothing.
func (e *Engine) updateConversation(ctx context.Context, convID string, change func(*routing.Conversation) bool) error {
	return e.updateConversationEvents(ctx, convID, func(c *routing.Conversation) ([]routing.Event, bool) { return nil, change(c) })
}

// updateConversationEvents is updateConversation whose change also returns
// timeline events, written in the same commit.
func (e *Engine) updateConversationEvents(ctx context.Context, convID string, change func(*routing.Conversation) ([]routing.Event, bool)) error {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		conv, err := e.store.GetConversation(ctx, convID)
		if err != nil {
			return err
		}
		next := conv
		evs, ok := change(&next)
		if !ok {
			return nil
		}
		err = e.commit(ctx, store.Tx{Conversations: []store.ConversationWrite{{Value: next, ExpectVersion: conv.Version}}, Events: evs})
		if routing.IsConflict(err, routing.ReasonVersion) {
			continue
		}
		return err
	}
	return routing.Errorf(routing.CodeUnavailable, "conversation %s is changing too fast, retry", convID)
}
