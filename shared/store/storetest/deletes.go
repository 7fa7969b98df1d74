package storetest

import (
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// testDeletes checks store.Delete: a versioned removal of an agent, team,
// channel or workflow draft.
func (h harness) testDeletes(t *testing.T) {
	del := func(k store.DeleteKind, id string, v int64) store.Tx {
		return store.Tx{Deletes: []store.Delete{{Kind: k, ID: id, ExpectVersion: v}}}
	}
	h.run(t, "RemovesEachKind", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		commit(t, s, store.Tx{
			Agents:    []store.AgentWrite{{Value: newAgent("a_1", 2, routing.StatusOnline)}, {Value: newAgent("a_2", 2, routing.StatusOnline)}},
			Teams:     []store.TeamWrite{{Value: newTeam("t_1")}, {Value: newTeam("t_2")}},
			Channels:  []store.ChannelWrite{{Value: newChannel("c_1")}, {Value: newChannel("c_2")}},
			Workflows: []store.WorkflowWrite{{Value: newWorkflow("w_1")}, {Value: newWorkflow("w_2")}},
		})
		commit(t, s, store.Tx{Deletes: []store.Delete{
			{Kind: store.DeleteAgent, ID: "a_1", ExpectVersion: 1},
			{Kind: store.DeleteTeam, ID: "t_1", ExpectVersion: 1},
			{Kind: store.DeleteChannel, ID: "c_1", ExpectVersion: 1},
			{Kind: store.DeleteWorkflow, ID: "w_1", ExpectVersion: 1},
		}})
		_, err := s.GetAgent(ctx, "a_1")
		wantNotFound(t, err)
		_, err = s.GetTeam(ctx, "t_1")
		wantNotFound(t, err)
		_, err = s.GetChannel(ctx, "c_1")
		wantNotFound(t, err)
		_, err = s.GetWorkflow(ctx, "w_1")
		wantNotFound(t, err)
		agents, err := s.GetAgents(ctx, []string{"a_1", "a_2"})
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "GetAgents after delete", agentIDs(agents), []string{"a_2"})
		wantIDs(t, "ListAgents after delete", agentIDs(collect(t, 10, func(c string) (store.Page[routing.Agent], error) {
			return s.ListAgents(ctx, store.PageRequest{Cursor: c, Limit: 10})
		})), []string{"a_2"})
		teams := collect(t, 10, func(c string) (store.Page[routing.Team], error) {
			return s.ListTeams(ctx, store.PageRequest{Cursor: c, Limit: 10})
		})
		if len(teams) != 1 || teams[0].ID != "t_2" {
			t.Fatalf("ListTeams after delete = %+v, want t_2 only", teams)
		}
		chans := collect(t, 10, func(c string) (store.Page[routing.Channel], error) {
			return s.ListChannels(ctx, store.PageRequest{Cursor: c, Limit: 10})
		})
		if len(chans) != 1 || chans[0].ID != "c_2" {
			t.Fatalf("ListChannels after delete = %+v, want c_2 only", chans)
		}
		wfs := collect(t, 10, func(c string) (store.Page[routing.Workflow], error) {
			return s.ListWorkflows(ctx, store.PageRequest{Cursor: c, Limit: 10})
		})
		if len(wfs) != 1 || wfs[0].ID != "w_2" {
			t.Fatalf("ListWorkflows after delete = %+v, want w_2 only", wfs)
		}
	})
	h.run(t, "RecreateStartsAfresh", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		putAgent(t, s, newAgent("a_1", 2, routing.StatusOnline))
		commit(t, s, load("a_1", 1, at(time.Minute)))
		commit(t, s, load("a_1", -1, at(2*time.Minute))) // LastAssignedAt stays
		commit(t, s, store.Tx{Teams: []store.TeamWrite{{Value: newTeam("t_1")}}})
		commit(t, s, store.Tx{Cursors: []store.CursorSet{{TeamID: "t_1", AgentID: "a_1"}}})
		commit(t, s, store.Tx{Deletes: []store.Delete{{Kind: store.DeleteAgent, ID: "a_1", ExpectVersion: 1}, {Kind: store.DeleteTeam, ID: "t_1", ExpectVersion: 1}}})
		putAgent(t, s, newAgent("a_1", 2, routing.StatusOnline))
		wantLoad(t, s, "a_1", 0, time.Time{})
		commit(t, s, store.Tx{Teams: []store.TeamWrite{{Value: newTeam("t_1")}}})
		team, err := s.GetTeam(ctx, "t_1")
		if err != nil {
			t.Fatal(err)
		}
		if team.Cursor != "" || team.Version != 1 {
			t.Fatalf("re-created team = cursor %q version %d, want no cursor, version 1", team.Cursor, team.Version)
		}
	})
	h.run(t, "StaleVersion", func(t *testing.T, s store.Store) {
		commit(t, s, store.Tx{Channels: []store.ChannelWrite{{Value: newChannel("c_1")}}})
		commit(t, s, store.Tx{Channels: []store.ChannelWrite{{Value: newChannel("c_1"), ExpectVersion: 1}}})
		wantConflict(t, s.Commit(t.Context(), del(store.DeleteChannel, "c_1", 1)), routing.ReasonVersion)
		if _, err := s.GetChannel(t.Context(), "c_1"); err != nil {
			t.Fatalf("a refused delete removed the channel: %v", err)
		}
	})
	h.run(t, "AgentWithOpenConversations", func(t *testing.T, s store.Store) {
		putAgent(t, s, newAgent("a_1", 2, routing.StatusOnline))
		commit(t, s, load("a_1", 1, at(time.Minute)))
		wantConflict(t, s.Commit(t.Context(), del(store.DeleteAgent, "a_1", 1)), routing.ReasonInUse)
		wantLoad(t, s, "a_1", 1, at(time.Minute))
		commit(t, s, load("a_1", -1, at(2*time.Minute)))
		commit(t, s, del(store.DeleteAgent, "a_1", 1))
		_, err := s.GetAgent(t.Context(), "a_1")
		wantNotFound(t, err)
	})
	h.run(t, "Missing", func(t *testing.T, s store.Store) {
		for _, k := range []store.DeleteKind{store.DeleteAgent, store.DeleteTeam, store.DeleteChannel, store.DeleteWorkflow} {
			wantNotFound(t, s.Commit(t.Context(), del(k, "x_1", 1)))
		}
	})
	h.run(t, "Malformed", func(t *testing.T, s store.Store) {
		putAgent(t, s, newAgent("a_1", 2, routing.StatusOnline))
		for name, tx := range map[string]store.Tx{
			"no version":   del(store.DeleteAgent, "a_1", 0),
			"no id":        del(store.DeleteAgent, "", 1),
			"unknown kind": del("contact", "a_1", 1),
			"and a write": {Deletes: []store.Delete{{Kind: store.DeleteAgent, ID: "a_1", ExpectVersion: 1}},
				Agents: []store.AgentWrite{{Value: newAgent("a_1", 3, routing.StatusOnline), ExpectVersion: 1}}},
			"and a load": {Deletes: []store.Delete{{Kind: store.DeleteAgent, ID: "a_1", ExpectVersion: 1}},
				Loads: []store.LoadChange{{AgentID: "a_1", Delta: 1, At: at(0)}}},
		} {
			if err := s.Commit(t.Context(), tx); routing.ErrorCode(err) != routing.CodeInvalid {
				t.Errorf("%s: Commit = %v, want invalid_argument", name, err)
			}
		}
		if _, err := s.GetAgent(t.Context(), "a_1"); err != nil {
			t.Fatalf("a malformed delete removed the agent: %v", err)
		}
	})
	h.run(t, "Atomic", func(t *testing.T, s store.Store) {
		commit(t, s, store.Tx{Teams: []store.TeamWrite{{Value: newTeam("t_1")}}, Channels: []store.ChannelWrite{{Value: newChannel("c_1")}}})
		// the channel's delete is fine; the team's version is stale: nothing happens
		err := s.Commit(t.Context(), store.Tx{Deletes: []store.Delete{
			{Kind: store.DeleteChannel, ID: "c_1", ExpectVersion: 1},
			{Kind: store.DeleteTeam, ID: "t_1", ExpectVersion: 2},
		}})
		wantConflict(t, err, routing.ReasonVersion)
		if _, err := s.GetChannel(t.Context(), "c_1"); err != nil {
			t.Fatalf("a refused Tx deleted the channel: %v", err)
		}
	})
}
