package engine

import (
	"context"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// repairStranded is the sweep's safety net for the outbox: a conversation
// that is pending with no team and no assignee, pending for longer than
// Config.StrandedAfter, and that no workflow run has taken since it became
// pending, was never routed (its conversation.opened was lost or failed
// every delivery). It is routed now, as the dispatcher would have, and logged
// as an error: with the outbox this should not happen, so each one is a bug
// to look at.
func (e *Engine) repairStranded(ctx context.Context) (int, error) {
	now := e.clock.Now()
	var stranded []routing.Conversation
	pending := store.Conversations(e.store, store.ConversationFilter{Status: routing.ConvPending})
	err := store.ForEach(ctx, pending, func(c routing.Conversation) error {
		if c.TeamID == "" && c.AssigneeID == "" && !c.PendingSince.IsZero() && now.Sub(c.PendingSince) >= e.cfg.StrandedAfter {
			stranded = append(stranded, c)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	repaired := 0
	for _, c := range stranded {
		ran, err := e.runSince(ctx, c)
		if err != nil {
			return repaired, err
		}
		if ran {
			continue // a workflow has it (for example waiting for an answer before it routes)
		}
		res, err := e.RouteDefault(ctx, c.ID)
		if err != nil {
			e.log.Error("stranded conversation: routing failed", "conversation", c.ID, "pendingSince", c.PendingSince, "err", err)
			continue
		}
		if res.Status == Queued && res.TeamID == "" {
			e.log.Error("stranded conversation: no team to route it to (set the channel's team or a default team)", "conversation", c.ID, "channel", c.ChannelID)
			continue
		}
		repaired++
		e.log.Error("stranded conversation repaired: it was pending with no team and no workflow run", "conversation", c.ID,
			"pendingSince", c.PendingSince, "status", res.Status, "team", res.TeamID, "agent", res.AgentID)
	}
	return repaired, nil
}

// runSince reports whether a workflow run that started on c since it
// became pending is still going: started (workflow.started names it by
// "execution" or "run") and not yet ended (workflow.ended names it by
// "execution"). A run that failed or ended without routing the conversation
// no longer holds it.
func (e *Engine) runSince(ctx context.Context, c routing.Conversation) (bool, error) {
	running := map[string]bool{}
	err := store.ForEach(ctx, func(ctx context.Context, p store.PageRequest) (store.Page[routing.Event], error) {
		return e.store.Events(ctx, c.ID, p)
	}, func(ev routing.Event) error {
		if ev.At.Before(c.PendingSince) {
			return nil
		}
		switch ev.Type {
		case routing.EvWorkflowStarted:
			running[runName(ev)] = true
		case routing.EvWorkflowEnded:
			delete(running, runName(ev))
		}
		return nil
	})
	return len(running) > 0, err
}

// runName is the run a workflow.* timeline entry is about.
func runName(ev routing.Event) string {
	for _, k := range []string{"execution", "run"} {
		if v, ok := ev.Data[k].(string); ok && v != "" {
			return v
		}
	}
	return ev.ID // unnamed: counts on its own
}
