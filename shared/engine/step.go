package engine

import (
	"context"
	"encoding/json"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// Workflow steps run at least once: Step Functions retries a Task whose
// effect was already committed, and Express executions may run twice. A step
// is made exactly-once by its key (the execution, the state and when it was
// entered): WithStep puts the key on the context, the first commit of the
// use case that writes the step's conversation claims "step#<key>" in the
// same Tx as the effect, with the result recorded on the claim, and a replay
// finds the claim (StepResult) instead of acting again.

// stepClaimTTL is how long a step's claim is kept: longer than any execution
// (Standard executions last at most a year; our waits are minutes to days).
const stepClaimTTL = 90 * 24 * time.Hour

type stepCtxKey struct{}

// step is one workflow step's claim, taken by the first commit that writes
// its conversation.
type step struct {
	key   string
	conv  string
	taken bool
}

// WithStep returns a context whose use cases claim the step key in the
// commit of their effect on conversation convID. One step, one call: the
// context must not be shared by concurrent calls.
func WithStep(ctx context.Context, key, convID string) context.Context {
	if key == "" {
		return ctx
	}
	return context.WithValue(ctx, stepCtxKey{}, &step{key: key, conv: convID})
}

// StepClaimKey is the claim key of a step.
func StepClaimKey(key string) string { return "step#" + key }

// StepOutcome is what a step's first run recorded.
type StepOutcome struct {
	Status  string `json:"status,omitempty"` // the conversation's status after the step
	AgentID string `json:"agentId,omitempty"`
	TeamID  string `json:"teamId,omitempty"`
}

// StepResult reports whether the step already ran, and what it recorded.
func (e *Engine) StepResult(ctx context.Context, key string) (StepOutcome, bool, error) {
	c, err := e.store.GetClaim(ctx, StepClaimKey(key))
	if routing.IsNotFound(err) {
		return StepOutcome{}, false, nil
	}
	if err != nil {
		return StepOutcome{}, false, err
	}
	if !e.clock.Now().Before(c.ExpiresAt) {
		return StepOutcome{}, false, nil
	}
	var out StepOutcome
	if c.Value != "" {
		if err := json.Unmarshal([]byte(c.Value), &out); err != nil {
			return StepOutcome{}, false, routing.Errorf(routing.CodeInternal, "step %s: bad recorded result: %v", key, err)
		}
	}
	return out, true, nil
}

// commit commits tx; in a step's context, the first Tx that touches the
// step's conversation also takes the step's claim, recording the
// conversation's resulting status and assignee.
func (e *Engine) commit(ctx context.Context, tx store.Tx) error {
	s, _ := ctx.Value(stepCtxKey{}).(*step)
	if s == nil || s.taken || !touches(tx, s.conv) {
		return e.store.Commit(ctx, tx)
	}
	now := e.clock.Now()
	var out StepOutcome
	for _, w := range tx.Conversations {
		if w.Value.ID == s.conv {
			out = StepOutcome{Status: string(w.Value.Status), AgentID: w.Value.AssigneeID, TeamID: w.Value.TeamID}
		}
	}
	raw, _ := json.Marshal(out)
	tx.Claims = append(append([]store.Claim(nil), tx.Claims...), store.Claim{Key: StepClaimKey(s.key), At: now, ExpiresAt: now.Add(stepClaimTTL), Value: string(raw)})
	err := e.store.Commit(ctx, tx)
	if err == nil {
		s.taken = true
	}
	return err
}

// touches reports whether tx writes conversation conv or its timeline.
func touches(tx store.Tx, conv string) bool {
	for _, w := range tx.Conversations {
		if w.Value.ID == conv {
			return true
		}
	}
	for _, ev := range tx.Events {
		if ev.ConversationID == conv {
			return true
		}
	}
	return false
}
