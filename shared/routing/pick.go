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
	AgentID    string      `json:"agentId,omitempty"` // "" when nobody is eligible
	Strategy   Strategy    `json:"strategy"`
	Why        string      `json:"why"`
	Candidates []Candidate `json:"candidates"`
}

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
func Pick(team Team, agents []Agent, onlineOnly bool, exclude map[string]bool) Decision {
	allowed := AllowedStatuses(onlineOnly || team.OnlineOnly)
	sorted := make([]Agent, len(agents))
	copy(sorted, agents)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })

	d := Decision{Strategy: team.Strategy, Candidates: make([]Candidate, 0, len(sorted))}
	var eligible []Agent
	for _, a := range sorted {
		c := Candidate{AgentID: a.ID, Open: a.OpenCount, Max: a.MaxConcurrent, Status: string(a.Status)}
		switch {
		case exclude[a.ID]:
			c.Skip = "excluded"
		case !statusAllowed(a.Status, allowed):
			c.Skip = "status " + string(a.Status)
		case a.FreeSlots() == 0:
			c.Skip = "at capacity"
		default:
			eligible = append(eligible, a)
		}
		d.Candidates = append(d.Candidates, c)
	}
	if len(eligible) == 0 {
		d.Why = fmt.Sprintf("no eligible agent among %d (allowed statuses: %s)", len(sorted), joinStatuses(allowed))
		return d
	}
	var win Agent
	switch team.Strategy {
	case LeastOpen:
		win = eligible[0]
		for _, a := range eligible[1:] {
			if a.OpenCount < win.OpenCount ||
				(a.OpenCount == win.OpenCount && a.LastAssignedAt.Before(win.LastAssignedAt)) {
				win = a
			}
		}
		d.Why = fmt.Sprintf("least open conversations (%d of %d), least recently assigned among equals", win.OpenCount, win.MaxConcurrent)
	default: // round robin: the first eligible agent after the cursor, by id, wrapping around
		win = eligible[0]
		for _, a := range eligible {
			if a.ID > team.Cursor {
				win = a
				break
			}
		}
		d.Why = fmt.Sprintf("round robin: next eligible after %q", team.Cursor)
	}
	d.AgentID = win.ID
	return d
}

func joinStatuses(s []AgentStatus) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = string(x)
	}
	return strings.Join(parts, ", ")
}
