package routing

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"
)

// referencePick is Pick written the obvious way (sort every agent by id, sort
// the eligible ones by the strategy, record the first few), as it was before
// Pick became a single pass. Pick must agree with it on every input.
func referencePick(team Team, agents []Agent, onlineOnly bool, exclude map[string]bool) Decision {
	allowed := AllowedStatuses(onlineOnly || team.OnlineOnly)
	sorted := make([]Agent, len(agents))
	copy(sorted, agents)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
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
	var order []Agent
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
	default:
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

func TestPickMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	statuses := []AgentStatus{StatusOnline, StatusOnline, StatusOnline, StatusPaused, StatusOffline}
	for round := range 3000 {
		n := rng.IntN(40)
		if round%100 == 0 {
			n = 300 + rng.IntN(800)
		}
		ids := rng.IntN(2*n+1) + 1 // a small id space makes cursors land on and between ids
		agents := make([]Agent, n)
		exclude := map[string]bool{}
		for i := range agents {
			a := Agent{
				ID:            fmt.Sprintf("a%03d", rng.IntN(ids)),
				Status:        statuses[rng.IntN(len(statuses))],
				MaxConcurrent: rng.IntN(4),
				// few distinct times, so ties on count and time are common
				LastAssignedAt: base.Add(time.Duration(rng.IntN(3)) * time.Minute),
			}
			if rng.IntN(8) == 0 {
				a.LastAssignedAt = time.Time{}
			}
			a.OpenCount = rng.IntN(a.MaxConcurrent + 2)
			if rng.IntN(10) == 0 {
				exclude[a.ID] = true
			}
			agents[i] = a
		}
		if rng.IntN(2) == 0 { // sorted input takes Pick's no-sort path
			sort.SliceStable(agents, func(i, j int) bool { return agents[i].ID < agents[j].ID })
		}
		dedup := rng.IntN(3) != 0 // team members are unique; also try duplicates
		if dedup {
			seen := map[string]bool{}
			kept := agents[:0]
			for _, a := range agents {
				if !seen[a.ID] {
					seen[a.ID] = true
					kept = append(kept, a)
				}
			}
			agents = kept
		}
		team := Team{ID: "t", Strategy: []Strategy{RoundRobin, LeastOpen, ""}[rng.IntN(3)], OnlineOnly: rng.IntN(2) == 0}
		if rng.IntN(4) != 0 {
			team.Cursor = fmt.Sprintf("a%03d", rng.IntN(ids+1))
		}
		online := rng.IntN(3) == 0
		before := slices.Clone(agents)
		want := referencePick(team, agents, online, exclude)
		got := Pick(team, agents, online, exclude)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d (team %+v, onlineOnly %v, %d agents):\n got  %+v\n want %+v", round, team, online, len(agents), got, want)
		}
		if !reflect.DeepEqual(before, agents) {
			t.Fatalf("round %d: Pick changed its input", round)
		}
	}
}

func TestPickLeastOpen(t *testing.T) {
	base := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	agents := []Agent{
		{ID: "d", Status: StatusOnline, MaxConcurrent: 3, OpenCount: 1, LastAssignedAt: base},
		{ID: "c", Status: StatusOnline, MaxConcurrent: 3, OpenCount: 1, LastAssignedAt: base.Add(-time.Minute)},
		{ID: "b", Status: StatusOnline, MaxConcurrent: 3, OpenCount: 2},
		{ID: "a", Status: StatusPaused, MaxConcurrent: 3},
		{ID: "e", Status: StatusOnline, MaxConcurrent: 1, OpenCount: 1},
	}
	d := Pick(Team{Strategy: LeastOpen}, agents, false, nil)
	if d.AgentID != "c" || d.Considered != 5 || d.Eligible != 3 {
		t.Fatalf("got %+v, want c (fewest open, assigned longest ago) of 3 eligible", d)
	}
	var got []string
	for _, c := range d.Candidates {
		got = append(got, c.AgentID+":"+c.Skip)
	}
	want := []string{"c:", "d:", "b:", "a:status paused", "e:at capacity"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("candidates %v, want %v", got, want)
	}
}

func TestPickRoundRobinWrapsAndRecordsAtMostTen(t *testing.T) {
	var agents []Agent
	for i := 30; i > 0; i-- {
		agents = append(agents, Agent{ID: fmt.Sprintf("a%02d", i), Status: StatusOnline, MaxConcurrent: 1})
	}
	d := Pick(Team{Strategy: RoundRobin, Cursor: "a25"}, agents, true, map[string]bool{"a26": true})
	if d.AgentID != "a27" {
		t.Fatalf("picked %s, want a27 (a26 is excluded)", d.AgentID)
	}
	if len(d.Candidates) != MaxRecordedCandidates {
		t.Fatalf("%d candidates recorded, want %d", len(d.Candidates), MaxRecordedCandidates)
	}
	var got []string
	for _, c := range d.Candidates {
		got = append(got, c.AgentID)
	}
	want := []string{"a27", "a28", "a29", "a30", "a01", "a02", "a03", "a04", "a05", "a06"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	d = Pick(Team{Strategy: RoundRobin, Cursor: "a30"}, agents[:1], true, nil)
	if d.AgentID != "a30" {
		t.Fatalf("a lone agent after the cursor wraps to itself: got %q", d.AgentID)
	}
}

func TestPickNobodyEligible(t *testing.T) {
	d := Pick(Team{Strategy: LeastOpen, OnlineOnly: true}, []Agent{{ID: "a", Status: StatusOffline, MaxConcurrent: 2}}, false, nil)
	if d.AgentID != "" || d.Eligible != 0 || len(d.Candidates) != 1 || d.Candidates[0].Skip != "status offline" {
		t.Fatalf("got %+v", d)
	}
	if d.Why != "no eligible agent among 1 (allowed statuses: online)" {
		t.Fatalf("why %q", d.Why)
	}
}

func BenchmarkPick1000(b *testing.B) {
	base := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	agents := make([]Agent, 1000)
	for i := range agents {
		agents[i] = Agent{ID: fmt.Sprintf("a%04d", i), Name: "agent", Status: StatusOnline, MaxConcurrent: 100,
			OpenCount: i % 7, LastAssignedAt: base.Add(time.Duration(i%13) * time.Second), Teams: []string{"t"}}
	}
	for _, s := range []Strategy{LeastOpen, RoundRobin} {
		b.Run(string(s), func(b *testing.B) {
			team := Team{ID: "t", Strategy: s, OnlineOnly: true, Cursor: "a0500"}
			b.ReportAllocs()
			for b.Loop() {
				if d := Pick(team, agents, false, nil); d.AgentID == "" {
					b.Fatal("nobody picked")
				}
			}
		})
	}
}
