package engine

import (
	"sync"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Concurrent assignments to one team read the same agents and would all pick
// the same agent: the least loaded one, or the one after the round-robin
// cursor. The store's conditional +1 keeps capacity safe, but every loser of
// that race re-reads the team and tries again, and near full capacity a
// conversation can lose dozens of times in a row.
//
// So the engine remembers its own assignments between the pick and the
// commit ("in flight") and lets the next pick see them: an agent with k
// assignments in flight counts k more open conversations, assigned just now,
// and a round-robin team's cursor is the agent of the latest pick in flight.
// In flight assignments only steer the choice: when they leave nobody
// eligible, the agents are picked as read, so a conversation never queues
// while the store shows a free slot. With nothing in flight (one assignment
// at a time) the pick is exactly routing.Pick on what was read.

// inflight is one engine's assignments between pick and commit, per team.
// The zero value is ready to use.
type inflight struct {
	mu    sync.Mutex
	teams map[string]*teamInflight
}

type teamInflight struct {
	n      int            // assignments in flight
	agents map[string]int // assignments in flight per agent
	last   string         // the agent of the latest pick (a round-robin cursor)
}

func (e *Engine) inflight() *inflight { return &e.flight }

// pick runs routing.Pick for team on agents counting the assignments in
// flight, and reserves the chosen agent until release is called (after the
// commit, whatever its outcome). release is never nil. agents are changed
// during the pick and restored before it returns.
func (f *inflight) pick(team routing.Team, agents []routing.Agent, onlineOnly bool, exclude map[string]bool, now time.Time) (routing.Decision, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.teams[team.ID]
	if t == nil || t.n == 0 {
		d := routing.Pick(team, agents, onlineOnly, exclude)
		return d, f.reserve(team.ID, d.AgentID)
	}
	type saved struct {
		i    int
		open int
		last time.Time
	}
	var changed []saved
	for i := range agents {
		if k := t.agents[agents[i].ID]; k > 0 {
			changed = append(changed, saved{i, agents[i].OpenCount, agents[i].LastAssignedAt})
			agents[i].OpenCount += k
			agents[i].LastAssignedAt = now
		}
	}
	seen := team
	if team.Strategy != routing.LeastOpen { // round robin
		seen.Cursor = t.last
	}
	d := routing.Pick(seen, agents, onlineOnly, exclude)
	for _, c := range changed { // agents as read again
		agents[c.i].OpenCount, agents[c.i].LastAssignedAt = c.open, c.last
	}
	if d.AgentID == "" && len(changed) > 0 {
		d = routing.Pick(team, agents, onlineOnly, exclude)
	}
	return d, f.reserve(team.ID, d.AgentID)
}

// reserve counts an assignment to agent in flight; the caller holds f.mu.
func (f *inflight) reserve(team, agent string) func() {
	if agent == "" {
		return func() {}
	}
	if f.teams == nil {
		f.teams = map[string]*teamInflight{}
	}
	t := f.teams[team]
	if t == nil {
		t = &teamInflight{agents: map[string]int{}}
		f.teams[team] = t
	}
	t.n++
	t.agents[agent]++
	t.last = agent
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if t.agents[agent]--; t.agents[agent] == 0 {
				delete(t.agents, agent)
			}
			if t.n--; t.n == 0 && f.teams[team] == t {
				delete(f.teams, team)
			}
		})
	}
}
