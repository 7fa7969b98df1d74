package routing

import (
	"fmt"
	"sort"
	"strings"
)

// Candidate is one agent considered for an assignment and why it was or was not eligible.
type Candidate struct {
	AgentID string `json:"agentId"`
	Open    int    `json:"open"`
	Max     int    `json:"max"`
	Status  string `json:"status"`
	Skip    string `json:"skip,omitempty"` // why not eligible; "" when eligible
}

// Decision is the outcome of picking an agent of a team.
type Decision struct {
	AgentID  string   `json:"agentId,omitempty"` // "" when nobody is eligible
	Strategy Strategy `json:"strategy"`
	Why      string   `json:"why"`
	// Candidates are the agents considered, at most MaxRecordedCandidates of
	// them: the winner and the runners-up first, then the skipped ones.
	Candidates []Candidate `json:"candidates"`
	// Considered counts every member looked at; Eligible those that could
	// have received the conversation.
	Considered int `json:"considered"`
	Eligible   int `json:"eligible"`
}

// MaxRecordedCandidates bounds the candidates a Decision keeps for the
// timeline, so an assignment in a team of 1,000 agents stays a small event.
const MaxRecordedCandidates = 10

// AllowedStatuses is who may receive a new conversation automatically: paused
// agents never; offline agents only when the assignment is not online-only.
func AllowedStatuses(onlineOnly bool) []AgentStatus {
	if onlineOnly {
		return []AgentStatus{StatusOnline}
	}
	return []AgentStatus{StatusOnline, StatusOffline}
}

func statusAllowed(s AgentStatus, allowed []AgentStatus) bool {
	for _, a := range allowed {
		if a == s {
			return true
		}
	}
	return false
}

// Pick chooses an agent of team among agents (the team's members, any order)
// by the team's strategy, skipping agents not in an allowed status, without a
// free slot or listed in exclude. It is a pure function: the store's
// conditional write decides whether the slot is still free.
//
// Agents are considered in id order. least_open prefers fewer open
// conversations, then the least recently assigned, then the lower id;
// round_robin takes the first eligible agent whose id follows the team's
// cursor, wrapping around. Pick runs on every assignment, so it makes one
// pass over agents without copying them and keeps only the few candidates a
// Decision records.
func Pick(team Team, agents []Agent, onlineOnly bool, exclude map[string]bool) Decision {
	allowed := AllowedStatuses(onlineOnly || team.OnlineOnly)
	byID := idOrder(agents)
	d := Decision{Strategy: team.Strategy, Considered: len(agents)}
	var skipped []Candidate
	var best []*Agent              // least_open: the best eligible agents so far, best first
	var afterCursor, upTo []*Agent // round_robin: the first eligible agents with an id after / not after the cursor
	leastOpen := team.Strategy == LeastOpen
	for i := range agents {
		a := &agents[i]
		if byID != nil {
			a = &agents[byID[i]]
		}
		skip := ""
		switch {
		case exclude[a.ID]:
			skip = "excluded"
		case !statusAllowed(a.Status, allowed):
			skip = "status " + string(a.Status)
		case a.FreeSlots() == 0:
			skip = "at capacity"
		}
		if skip != "" {
			if len(skipped) < MaxRecordedCandidates {
				skipped = append(skipped, Candidate{AgentID: a.ID, Open: a.OpenCount, Max: a.MaxConcurrent, Status: string(a.Status), Skip: skip})
			}
			continue
		}
		d.Eligible++
		switch {
		case leastOpen:
			best = offerLeastOpen(best, a)
		case a.ID > team.Cursor:
			if len(afterCursor) < MaxRecordedCandidates {
				afterCursor = append(afterCursor, a)
			}
		case len(upTo) < MaxRecordedCandidates:
			upTo = append(upTo, a)
		}
	}
	if d.Eligible == 0 {
		d.Why = fmt.Sprintf("no eligible agent among %d (allowed statuses: %s)", len(agents), joinStatuses(allowed))
		d.Candidates = skipped
		return d
	}
	order := best // eligible agents, best first by the strategy (the first few)
	if leastOpen {
		d.Why = fmt.Sprintf("least open conversations (%d of %d), least recently assigned among equals", order[0].OpenCount, order[0].MaxConcurrent)
	} else { // round robin: the eligible agents after the cursor by id, wrapping around
		order = append(afterCursor, upTo...)
		d.Why = fmt.Sprintf("round robin: next eligible after %q", team.Cursor)
	}
	for _, a := range order {
		if len(d.Candidates) == MaxRecordedCandidates {
			break
		}
		d.Candidates = append(d.Candidates, Candidate{AgentID: a.ID, Open: a.OpenCount, Max: a.MaxConcurrent, Status: string(a.Status)})
	}
	for _, c := range skipped {
		if len(d.Candidates) == MaxRecordedCandidates {
			break
		}
		d.Candidates = append(d.Candidates, c)
	}
	d.AgentID = order[0].ID
	return d
}

// idOrder returns the indexes of agents in id order (equal ids keep their
// order), or nil when agents are already in id order.
func idOrder(agents []Agent) []int {
	sorted := true
	for i := 1; i < len(agents) && sorted; i++ {
		sorted = agents[i-1].ID <= agents[i].ID
	}
	if sorted {
		return nil
	}
	idx := make([]int, len(agents))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return agents[idx[i]].ID < agents[idx[j]].ID })
	return idx
}

// leastOpenBefore orders eligible agents for least_open: fewer open
// conversations, then assigned longer ago.
func leastOpenBefore(a, b *Agent) bool {
	if a.OpenCount != b.OpenCount {
		return a.OpenCount < b.OpenCount
	}
	return a.LastAssignedAt.Before(b.LastAssignedAt)
}

// offerLeastOpen inserts a into best (at most MaxRecordedCandidates agents,
// best first). Agents are offered in id order, so an agent goes after every
// equal one already there: the order of a stable sort of all eligible agents.
func offerLeastOpen(best []*Agent, a *Agent) []*Agent {
	n := len(best)
	if n == MaxRecordedCandidates && !leastOpenBefore(a, best[n-1]) {
		return best
	}
	at := n
	for at > 0 && leastOpenBefore(a, best[at-1]) {
		at--
	}
	if n < MaxRecordedCandidates {
		best = append(best, nil)
	}
	copy(best[at+1:], best[at:])
	best[at] = a
	return best
}

func joinStatuses(s []AgentStatus) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = string(x)
	}
	return strings.Join(parts, ", ")
}
