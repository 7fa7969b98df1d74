package engine

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

func inflightAgents(open ...int) []routing.Agent {
	base := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	out := make([]routing.Agent, len(open))
	for i, n := range open {
		out[i] = routing.Agent{ID: fmt.Sprintf("a%d", i+1), Status: routing.StatusOnline, MaxConcurrent: 3, OpenCount: n, LastAssignedAt: base}
	}
	return out
}

func TestInflightNothingInFlightIsPick(t *testing.T) {
	f := &inflight{teams: map[string]*teamInflight{}}
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	for _, s := range []routing.Strategy{routing.LeastOpen, routing.RoundRobin} {
		team := routing.Team{ID: "t", Strategy: s, Cursor: "a1"}
		agents := inflightAgents(2, 1, 1, 3)
		want := routing.Pick(team, slices.Clone(agents), false, nil)
		got, release := f.pick(team, agents, false, nil, now)
		release()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: got %+v, want routing.Pick's %+v", s, got, want)
		}
	}
	if len(f.teams) != 0 {
		t.Fatalf("released picks left %d teams in flight", len(f.teams))
	}
}

func TestInflightSpreadsConcurrentPicks(t *testing.T) {
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		strategy routing.Strategy
		open     []int
		want     []string
	}{
		// least open: equal agents are taken one each before anyone gets a second
		{routing.LeastOpen, []int{0, 0, 0}, []string{"a1", "a2", "a3", "a1"}},
		{routing.LeastOpen, []int{1, 0, 2}, []string{"a2", "a1", "a2", "a3"}},
		// round robin: each pick moves the cursor, as if the one before had committed
		{routing.RoundRobin, []int{0, 0, 0}, []string{"a2", "a3", "a1", "a2"}},
	} {
		f := &inflight{teams: map[string]*teamInflight{}}
		team := routing.Team{ID: "t", Strategy: tc.strategy, Cursor: "a1"}
		var got []string
		var releases []func()
		for range tc.want {
			agents := inflightAgents(tc.open...)
			d, release := f.pick(team, agents, false, nil, now)
			if !reflect.DeepEqual(agents, inflightAgents(tc.open...)) {
				t.Fatalf("%s: pick left the agents changed: %+v", tc.strategy, agents)
			}
			got = append(got, d.AgentID)
			releases = append(releases, release)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s %v: picks in flight went to %v, want %v", tc.strategy, tc.open, got, tc.want)
		}
		for _, r := range releases {
			r()
			r() // a second call changes nothing
		}
		if len(f.teams) != 0 {
			t.Fatalf("released picks left %d teams in flight", len(f.teams))
		}
		// all released: back to the stored state
		if d, _ := f.pick(team, inflightAgents(tc.open...), false, nil, now); d.AgentID != tc.want[0] {
			t.Errorf("%s: after release picked %s, want %s", tc.strategy, d.AgentID, tc.want[0])
		}
	}
}

// In-flight picks never make the last free slot look taken: the store's
// conditional write decides, and a conversation is not queued while the
// agents read show a free slot.
func TestInflightNeverHidesTheLastSlot(t *testing.T) {
	f := &inflight{teams: map[string]*teamInflight{}}
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	team := routing.Team{ID: "t", Strategy: routing.LeastOpen}
	first, _ := f.pick(team, inflightAgents(3, 2, 3), false, nil, now)
	second, _ := f.pick(team, inflightAgents(3, 2, 3), false, nil, now)
	if first.AgentID != "a2" || second.AgentID != "a2" {
		t.Fatalf("picks %q and %q, want a2 both times (its slot is free until a commit takes it)", first.AgentID, second.AgentID)
	}
	agents := inflightAgents(3, 2, 3)
	f.pick(team, agents, false, nil, now)
	if !reflect.DeepEqual(agents, inflightAgents(3, 2, 3)) {
		t.Fatalf("pick left the agents changed: %+v", agents)
	}
	if second.Candidates[0].Open != 2 {
		t.Fatalf("the fallback pick records open %d, want what was read (2)", second.Candidates[0].Open)
	}
	other := routing.Team{ID: "u", Strategy: routing.LeastOpen}
	if d, _ := f.pick(other, inflightAgents(1, 0), false, nil, now); d.AgentID != "a2" {
		t.Fatalf("another team's pick sees this team's flights: got %s", d.AgentID)
	}
}
