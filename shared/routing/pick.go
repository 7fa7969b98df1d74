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
func Pick(team Team, agents []Agent, onlineOnly bool, exclude map[string]bool) Decision {
	allowed := AllowedStatuses(onlineOnly || team.OnlineOnly)
	sorted := make([]Agent, len(agents))
	copy(sorted, agents)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })

	d := Decision{Strategy: team.Strategy, Considered: len(sorted)}
	var eligible []Agent
	var skipped []Candidate
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
			continue
		}
		if len(skipped) < MaxRecordedCandidates {
			skipped = append(skipped, c)
		}
	}
	d.Eligible = len(eligible)
	if len(eligible) == 0 {
		d.Why = fmt.Sprintf("no eligible agent among %d (allowed statuses: %s)", len(sorted), joinStatuses(allowed))
		d.Candidates = skipped
		return d
	}
	var order []Agent // eligible agents, best first by the strategy
	switch team.Strategy {
	case LeastOpen:
		order = append(order, eligible...)
		sort.SliceStable(order, func(i, j int) bool {
			if order[i].OpenCount != order[j].OpenCount {
				return order[i].OpenCount < order[j].OpenCount
			}
			return order[i].LastAssignedAt.Before(order[j].LastAssignedAt)
		})
		d.Why = fmt.Sprintf("least open conversations (%d of %d), least recently assigned among equals", order[0].OpenCount, order[0].MaxConcurrent)
	default: // round robin: the eligible agents after the cursor by id, wrapping around
		cut := sort.Search(len(eligible), func(i int) bool { return eligible[i].ID > team.Cursor })
		order = append(append(order, eligible[cut:]...), eligible[:cut]...)
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

func joinStatuses(s []AgentStatus) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = string(x)
	}
	return strings.Join(parts, ", ")
}
