package engine

import (
	"context"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// Removing teams, agents and channels. Each is refused with a conflict
// (routing.ReasonInUse) while something live still refers to it, so a
// removal never strands a conversation; history (closed conversations, the
// timeline, contacts) keeps the ids it recorded.

// inUse is the conflict a removal answers while the item is referenced.
func inUse(format string, args ...any) error {
	return routing.Conflict(routing.ReasonInUse, format, args...)
}

// checkExpected refuses a stale expectVersion (0: any version).
func checkExpected(kind, id string, stored, expect int64) error {
	if expect > 0 && stored != expect {
		return routing.Conflict(routing.ReasonVersion, "%s %s is at version %d, not %d", kind, id, stored, expect)
	}
	return nil
}

// DeleteAgent removes an agent: it is taken out of its teams and set
// offline, its open conversations go back to their teams' queues (and are
// drained to others at once), then it is deleted. The store re-checks the
// open count in the same commit as the delete, so an assignment racing the
// removal either lands first (and is requeued on the next pass) or fails
// (the agent is gone).
func (e *Engine) DeleteAgent(ctx context.Context, id string, actor Actor, expectVersion int64) error {
	if err := requireRole(actor, routing.RoleAdmin); err != nil {
		return err
	}
	if actor.ID == id {
		return inUse("you cannot remove yourself")
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		a, err := e.store.GetAgent(ctx, id)
		if err != nil {
			return err
		}
		if err := checkExpected("agent", id, a.Version, expectVersion); err != nil {
			return err
		}
		if a.OpenCount > 0 {
			// the agent's open conversations go back to their teams' queues first
			if err := e.requeueAgent(ctx, a); err != nil {
				return err
			}
			continue
		}
		tx := store.Tx{Deletes: []store.Delete{{Kind: store.DeleteAgent, ID: id, ExpectVersion: a.Version}}}
		for _, teamID := range a.Teams {
			t, err := e.store.GetTeam(ctx, teamID)
			if routing.IsNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			if !t.HasMember(id) {
				continue
			}
			nt := t
			nt.Members = without(t.Members, id)
			tx.Teams = append(tx.Teams, store.TeamWrite{Value: nt, ExpectVersion: t.Version})
		}
		err = e.store.Commit(ctx, tx)
		if routing.IsConflict(err, routing.ReasonVersion) && expectVersion == 0 {
			continue // the agent or one of its teams changed: look again
		}
		if routing.IsConflict(err, routing.ReasonInUse) {
			continue // a conversation was assigned meanwhile: requeue it too
		}
		return err
	}
	return routing.Errorf(routing.CodeUnavailable, "agent %s is changing too fast, retry", id)
}

// requeueAgent takes an agent being removed out of its teams (so no drain
// picks it), sets it offline, and puts each of its open conversations back on
// its team's queue (the channel's or the default team when it has none),
// releasing the slot; the queues are then drained. A conversation with no
// team to go to refuses the removal (in_use).
func (e *Engine) requeueAgent(ctx context.Context, a routing.Agent) error {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		cur, err := e.store.GetAgent(ctx, a.ID)
		if err != nil {
			return err
		}
		tx := store.Tx{}
		for _, teamID := range cur.Teams {
			t, err := e.store.GetTeam(ctx, teamID)
			if routing.IsNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			if t.HasMember(cur.ID) {
				nt := t
				nt.Members = without(t.Members, cur.ID)
				tx.Teams = append(tx.Teams, store.TeamWrite{Value: nt, ExpectVersion: t.Version})
			}
		}
		if cur.Status != routing.StatusOffline {
			next := cur
			next.Status = routing.StatusOffline
			tx.Agents = []store.AgentWrite{{Value: next, ExpectVersion: cur.Version}}
		}
		err = e.store.Commit(ctx, tx)
		if routing.IsConflict(err, routing.ReasonVersion) {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	open := store.Conversations(e.store, store.ConversationFilter{Status: routing.ConvOpen, AssigneeID: a.ID})
	var convs []routing.Conversation
	if err := store.ForEach(ctx, open, func(c routing.Conversation) error { convs = append(convs, c); return nil }); err != nil {
		return err
	}
	teams := map[string]bool{}
	for _, c := range convs {
		for attempt := 0; attempt < maxAttempts; attempt++ {
			cur, err := e.store.GetConversation(ctx, c.ID)
			if err != nil {
				return err
			}
			if cur.Status != routing.ConvOpen || cur.AssigneeID != a.ID {
				break // closed or moved meanwhile
			}
			team := cur.TeamID
			if team == "" {
				if ch, err := e.store.GetChannel(ctx, cur.ChannelID); err == nil {
					team = ch.Config["team"]
				}
			}
			if team == "" {
				team = e.cfg.DefaultTeam
			}
			if team == "" {
				return inUse("agent %s holds conversation %s, which has no team to go back to: reassign or close it first", a.ID, cur.ID)
			}
			_, err = e.queue(ctx, cur, team, cur.OnlineOnly, System, "agent removed", &routing.Decision{Why: "the agent was removed"})
			if routing.IsConflict(err, routing.ReasonVersion) {
				continue
			}
			if err != nil {
				return err
			}
			teams[team] = true
			break
		}
	}
	for t := range teams {
		e.DrainTeam(ctx, t)
	}
	return nil
}

// DeleteTeam removes a team. Refused (in_use) while it has members (remove
// them first: DELETE /v1/teams/{id}/members/{agentId}), conversations
// pending on its queue or open on it, a channel routing to it
// (config.team), or while it is the engine's default team.
func (e *Engine) DeleteTeam(ctx context.Context, id string, actor Actor, expectVersion int64) error {
	if err := requireRole(actor, routing.RoleAdmin); err != nil {
		return err
	}
	t, err := e.store.GetTeam(ctx, id)
	if err != nil {
		return err
	}
	if err := checkExpected("team", id, t.Version, expectVersion); err != nil {
		return err
	}
	if len(t.Members) > 0 {
		return inUse("team %s has %d members: remove them first", id, len(t.Members))
	}
	if id == e.cfg.DefaultTeam {
		return inUse("team %s is the default team", id)
	}
	for _, st := range []routing.ConversationStatus{routing.ConvPending, routing.ConvOpen} {
		page, err := e.store.ListConversations(ctx, store.ConversationFilter{TeamID: id, Status: st, PageRequest: store.PageRequest{Limit: 1}})
		if err != nil {
			return err
		}
		if len(page.Items) > 0 {
			return inUse("team %s has %s conversations (such as %s): reassign or close them first", id, st, page.Items[0].ID)
		}
	}
	var routed string
	err = store.ForEach(ctx, e.store.ListChannels, func(ch routing.Channel) error {
		if ch.Config["team"] == id {
			routed = ch.ID
			return store.ErrStop
		}
		return nil
	})
	if err != nil {
		return err
	}
	if routed != "" {
		return inUse("channel %s routes to team %s (config.team): change it first", routed, id)
	}
	err = e.store.Commit(ctx, store.Tx{Deletes: []store.Delete{{Kind: store.DeleteTeam, ID: id, ExpectVersion: t.Version}}})
	if routing.IsConflict(err, routing.ReasonVersion) {
		return routing.Conflict(routing.ReasonVersion, "team %s changed while it was being removed; try again", id)
	}
	return err
}

// DeleteChannel removes a channel. Refused (in_use) while conversations on
// it are pending or open: close them first. Its contacts and closed
// conversations stay; a channel created again with the same id finds them.
func (e *Engine) DeleteChannel(ctx context.Context, id string, actor Actor, expectVersion int64) error {
	if err := requireRole(actor, routing.RoleAdmin); err != nil {
		return err
	}
	ch, err := e.store.GetChannel(ctx, id)
	if err != nil {
		return err
	}
	if err := checkExpected("channel", id, ch.Version, expectVersion); err != nil {
		return err
	}
	for _, st := range []routing.ConversationStatus{routing.ConvPending, routing.ConvOpen} {
		var found string
		err := store.ForEach(ctx, store.Conversations(e.store, store.ConversationFilter{Status: st}), func(c routing.Conversation) error {
			if c.ChannelID == id {
				found = c.ID
				return store.ErrStop
			}
			return nil
		})
		if err != nil {
			return err
		}
		if found != "" {
			return inUse("channel %s has %s conversations (such as %s): close them first", id, st, found)
		}
	}
	err = e.store.Commit(ctx, store.Tx{Deletes: []store.Delete{{Kind: store.DeleteChannel, ID: id, ExpectVersion: ch.Version}}})
	if routing.IsConflict(err, routing.ReasonVersion) {
		return routing.Conflict(routing.ReasonVersion, "channel %s changed while it was being removed; try again", id)
	}
	return err
}
