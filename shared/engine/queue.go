package engine

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// afterRelease runs when an agent's slot frees: the queues of the agent's
// teams are drained at once in this process. The change that freed the slot
// also carried capacity.released in its outbox, so other hosts drain too.
func (e *Engine) afterRelease(ctx context.Context, agentID string) {
	e.DrainAgent(ctx, agentID)
}

// DrainAgent hands pending conversations of the agent's teams out while any
// team's strategy finds a free slot, most urgent and oldest head first.
func (e *Engine) DrainAgent(ctx context.Context, agentID string) int {
	agent, err := e.store.GetAgent(ctx, agentID)
	if err != nil {
		return 0
	}
	return e.drainTeams(ctx, agent.Teams)
}

// DrainTeam hands out a team's pending conversations while its strategy finds
// a free slot. Manual teams are never drained. It returns how many it assigned.
func (e *Engine) DrainTeam(ctx context.Context, teamID string) int {
	return e.drainTeams(ctx, []string{teamID})
}

// drainTeams drains the given teams. Within one process, drains of a team
// are coalesced: while one runs, others only ask it to look again, so a burst
// of freed slots does not become a herd of writers racing for the same queue
// head. (Across Lambda instances the conditional writes keep it correct.)
func (e *Engine) drainTeams(ctx context.Context, teamIDs []string) int {
	var mine []string
	for _, id := range teamIDs {
		if e.drains.enter(id) {
			mine = append(mine, id)
		}
	}
	assigned := 0
	for len(mine) > 0 {
		assigned += e.drainOnce(ctx, mine)
		mine = e.drains.leave(mine)
	}
	return assigned
}

// drainer coalesces drains per team.
type drainer struct {
	mu      sync.Mutex
	running map[string]bool
	again   map[string]bool
}

// enter reports whether the caller must drain team (no drain is running);
// otherwise it asks the running drain to look again.
func (d *drainer) enter(team string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running == nil {
		d.running, d.again = map[string]bool{}, map[string]bool{}
	}
	if d.running[team] {
		d.again[team] = true
		return false
	}
	d.running[team] = true
	return true
}

// leave ends a pass over teams and returns those that were asked to look again.
func (d *drainer) leave(teams []string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var again []string
	for _, t := range teams {
		if d.again[t] {
			delete(d.again, t)
			again = append(again, t)
		} else {
			delete(d.running, t)
		}
	}
	return again
}

// drainOnce hands out the teams' queues, best head first, until no team can
// take more. The queue is read from an index that may lag behind the items
// (a DynamoDB GSI is eventually consistent): a head is only a candidate. The
// assignment re-reads the conversation strongly consistently and commits only
// if it is still pending on that team, at the version read (see assign), so
// a stale head is skipped, never stolen from its agent.
func (e *Engine) drainOnce(ctx context.Context, teamIDs []string) int {
	active := map[string]bool{}
	for _, id := range teamIDs {
		t, err := e.store.GetTeam(ctx, id)
		if err == nil && t.Mode != routing.ModeManual {
			active[id] = true
		}
	}
	skip := map[string]bool{} // stale heads seen in this pass
	assigned := 0
	for guard := 0; len(active) > 0 && guard < 100000; guard++ {
		// the best head across the teams still able to take work
		var best routing.Conversation
		found := false
		for id := range active {
			head, ok, err := e.queueHead(ctx, id, skip)
			if err != nil || !ok {
				delete(active, id)
				continue
			}
			if !found || routing.QueueLess(head, best) {
				best, found = head, true
			}
		}
		if !found {
			break
		}
		res, err := e.assign(ctx, best.ID, Target{TeamID: best.TeamID, OnlineOnly: best.OnlineOnly}, System, "", 0, drain)
		switch {
		case routing.IsConflict(err, reasonNotPending) || routing.IsNotFound(err):
			skip[best.ID] = true // the index lags: it is not pending there any more
		case err != nil && routing.IsConflict(err, ""):
			continue // someone else moved it; look again
		case err != nil:
			e.log.Error("drain failed", "team", best.TeamID, "conversation", best.ID, "err", err)
			delete(active, best.TeamID)
		case res.Status != Assigned:
			delete(active, best.TeamID) // nobody free in that team
		default:
			assigned++
		}
	}
	return assigned
}

// queueHead is the first conversation of a team's queue not in skip.
func (e *Engine) queueHead(ctx context.Context, teamID string, skip map[string]bool) (routing.Conversation, bool, error) {
	for limit := 1; ; limit *= 4 {
		q, err := e.store.PendingQueue(ctx, teamID, limit)
		if err != nil {
			return routing.Conversation{}, false, err
		}
		for _, c := range q {
			if !skip[c.ID] {
				return c, true, nil
			}
		}
		if len(q) < limit || limit >= store.MaxLimit {
			return routing.Conversation{}, false, nil
		}
	}
}

// reasonNotPending: an automatic assignment found the conversation no longer
// pending on the team it was queued on.
const reasonNotPending = "not_pending"

// RouteDefault routes a conversation that no workflow routed: to the team its
// channel names (Config["team"]) or the engine's default team. Conversations
// already assigned are left alone.
func (e *Engine) RouteDefault(ctx context.Context, convID string) (AssignResult, error) {
	conv, err := e.store.GetConversation(ctx, convID)
	if err != nil {
		return AssignResult{}, err
	}
	if conv.Status != routing.ConvPending || conv.AssigneeID != "" {
		return AssignResult{Status: string(conv.Status), AgentID: conv.AssigneeID, TeamID: conv.TeamID, Version: conv.Version}, nil
	}
	team := conv.TeamID
	if team == "" && conv.Handoff != nil {
		team = conv.Handoff.TeamID // the team the bot or the rule asked for
	}
	if team == "" {
		if ch, err := e.store.GetChannel(ctx, conv.ChannelID); err == nil {
			team = ch.Config["team"]
		}
	}
	if team == "" {
		team = e.cfg.DefaultTeam
	}
	if team == "" {
		return AssignResult{Status: Queued}, nil
	}
	res, err := e.assignRead(ctx, convID, &conv, Target{TeamID: team}, System, "", 0, autoRoute)
	if routing.IsConflict(err, reasonNotPending) {
		// routed meanwhile (a redelivered event, another host): nothing to do
		if c, gerr := e.store.GetConversation(ctx, convID); gerr == nil {
			return AssignResult{Status: string(c.Status), AgentID: c.AssigneeID, TeamID: c.TeamID, Version: c.Version}, nil
		}
	}
	return res, err
}

// QueueStat describes one team's queue and capacity.
type QueueStat struct {
	TeamID       string     `json:"teamId"`
	Name         string     `json:"name"`
	Mode         string     `json:"mode"`
	Pending      int        `json:"pending"`
	OldestSince  *time.Time `json:"oldestPendingSince,omitempty"`
	OldestWaitS  int64      `json:"oldestWaitSeconds"`
	AgentsOnline int        `json:"agentsOnline"`
	SlotsUsed    int        `json:"slotsUsed"`
	SlotsFree    int        `json:"slotsFree"`
}

// QueueStats reports, per team: pending count, oldest wait, agents online and
// slots used and free among online agents.
func (e *Engine) QueueStats(ctx context.Context, actor Actor) ([]QueueStat, error) {
	if err := requireRole(actor, routing.RoleSupervisor); err != nil {
		return nil, err
	}
	now := e.clock.Now()
	var out []QueueStat
	err := store.ForEach(ctx, e.store.ListTeams, func(t routing.Team) error {
		st := QueueStat{TeamID: t.ID, Name: t.Name, Mode: string(t.Mode)}
		pending := store.Conversations(e.store, store.ConversationFilter{Status: routing.ConvPending, TeamID: t.ID})
		err := store.ForEach(ctx, pending, func(c routing.Conversation) error {
			st.Pending++
			if st.OldestSince == nil || c.PendingSince.Before(*st.OldestSince) {
				st.OldestSince = ptr(c.PendingSince)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if st.OldestSince != nil {
			st.OldestWaitS = int64(now.Sub(*st.OldestSince) / time.Second)
		}
		agents, err := e.store.GetAgents(ctx, t.Members)
		if err != nil {
			return err
		}
		for _, a := range agents {
			if a.Status == routing.StatusOnline {
				st.AgentsOnline++
				st.SlotsUsed += a.OpenCount
				st.SlotsFree += a.FreeSlots()
			}
		}
		out = append(out, st)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TeamID < out[j].TeamID })
	return out, nil
}

// EscalationQueue lists escalated conversations that are not closed, most
// urgent first, then oldest escalation: the staff queue.
func (e *Engine) EscalationQueue(ctx context.Context, actor Actor, limit int) ([]routing.Conversation, error) {
	if err := requireRole(actor, routing.RoleSupervisor); err != nil {
		return nil, err
	}
	var out []routing.Conversation
	for _, typ := range routing.EscalationOrder() {
		var batch []routing.Conversation
		err := store.ForEach(ctx, store.Conversations(e.store, store.ConversationFilter{EscalationType: typ}), func(c routing.Conversation) error {
			if c.Status != routing.ConvClosed {
				batch = append(batch, c)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Slice(batch, func(i, j int) bool {
			if !batch[i].Escalation.At.Equal(batch[j].Escalation.At) {
				return batch[i].Escalation.At.Before(batch[j].Escalation.At)
			}
			return batch[i].ID < batch[j].ID
		})
		out = append(out, batch...)
		if limit > 0 && len(out) >= limit {
			return out[:limit], nil
		}
	}
	return out, nil
}
