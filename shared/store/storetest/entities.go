package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// kind describes one versioned entity so the create/update/conflict checks
// run the same way for each.
type kind[T any] struct {
	name string
	// make builds an item; variant changes its content (not its id).
	make func(id string, variant int) T
	// write wraps v in a Tx with the given ExpectVersion.
	write func(v T, expect int64) store.Tx
	get   func(ctx context.Context, s store.Store, id string) (T, error)
	// stored is what the store must hold after writing v at version.
	stored func(v T, version int64) T
	// list pages through all items; nil when the contract has no list.
	list func(ctx context.Context, s store.Store, p store.PageRequest) (store.Page[T], error)
	id   func(T) string
}

func (k kind[T]) run(t *testing.T, h harness) {
	h.run(t, "Create", func(t *testing.T, s store.Store) {
		v := k.make("x_1", 0)
		commit(t, s, k.write(v, 0))
		got, err := k.get(t.Context(), s, "x_1")
		if err != nil {
			t.Fatalf("get after create: %v", err)
		}
		sameJSON(t, k.name+" after create (Version 1)", got, k.stored(v, 1))
	})
	h.run(t, "CreateIgnoresValueVersion", func(t *testing.T, s store.Store) {
		v := k.stored(k.make("x_1", 0), 7) // Value.Version says 7
		commit(t, s, k.write(v, 0))
		got, err := k.get(t.Context(), s, "x_1")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, k.name+" stored version", got, k.stored(v, 1))
	})
	h.run(t, "CreateExisting", func(t *testing.T, s store.Store) {
		first := k.make("x_1", 0)
		commit(t, s, k.write(first, 0))
		err := s.Commit(t.Context(), k.write(k.make("x_1", 1), 0))
		wantConflict(t, err, routing.ReasonExists)
		got, err := k.get(t.Context(), s, "x_1")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, k.name+" unchanged by failed create", got, k.stored(first, 1))
	})
	h.run(t, "Update", func(t *testing.T, s store.Store) {
		commit(t, s, k.write(k.make("x_1", 0), 0))
		v2 := k.make("x_1", 1)
		commit(t, s, k.write(v2, 1))
		got, err := k.get(t.Context(), s, "x_1")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, k.name+" after update (Version 2)", got, k.stored(v2, 2))
		v3 := k.make("x_1", 2)
		commit(t, s, k.write(v3, 2))
		got, err = k.get(t.Context(), s, "x_1")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, k.name+" after second update (Version 3)", got, k.stored(v3, 3))
	})
	h.run(t, "StaleVersion", func(t *testing.T, s store.Store) {
		commit(t, s, k.write(k.make("x_1", 0), 0))
		v2 := k.make("x_1", 1)
		commit(t, s, k.write(v2, 1))
		err := s.Commit(t.Context(), k.write(k.make("x_1", 2), 1))
		wantConflict(t, err, routing.ReasonVersion)
		got, err := k.get(t.Context(), s, "x_1")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, k.name+" unchanged by stale write", got, k.stored(v2, 2))
	})
	h.run(t, "FutureVersion", func(t *testing.T, s store.Store) {
		v := k.make("x_1", 0)
		commit(t, s, k.write(v, 0))
		err := s.Commit(t.Context(), k.write(k.make("x_1", 1), 5))
		wantConflict(t, err, routing.ReasonVersion)
		got, err := k.get(t.Context(), s, "x_1")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, k.name+" unchanged", got, k.stored(v, 1))
	})
	h.run(t, "UpdateMissing", func(t *testing.T, s store.Store) {
		err := s.Commit(t.Context(), k.write(k.make("x_1", 0), 1))
		wantNotFound(t, err)
		_, err = k.get(t.Context(), s, "x_1")
		wantNotFound(t, err)
	})
	h.run(t, "GetMissing", func(t *testing.T, s store.Store) {
		commit(t, s, k.write(k.make("x_1", 0), 0))
		_, err := k.get(t.Context(), s, "x_2")
		wantNotFound(t, err)
		_, err = k.get(t.Context(), s, "")
		wantNotFound(t, err)
	})
	h.run(t, "EmptyID", func(t *testing.T, s store.Store) {
		err := s.Commit(t.Context(), k.write(k.make("", 0), 0))
		wantCode(t, err, routing.CodeInvalid)
	})
	h.run(t, "WriteTwiceInOneTx", func(t *testing.T, s store.Store) {
		a, b := k.write(k.make("x_1", 0), 0), k.write(k.make("x_1", 1), 0)
		err := s.Commit(t.Context(), mergeTx(a, b))
		wantCode(t, err, routing.CodeInvalid)
		_, err = k.get(t.Context(), s, "x_1")
		wantNotFound(t, err)
	})
	if k.list == nil {
		return
	}
	h.run(t, "ListEmpty", func(t *testing.T, s store.Store) {
		p, err := k.list(t.Context(), s, store.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 0 || p.Next != "" {
			t.Fatalf("empty store: got %d items, Next %q", len(p.Items), p.Next)
		}
	})
	h.run(t, "ListPages", func(t *testing.T, s store.Store) {
		var want []string
		for i := range 11 {
			id := fmt.Sprintf("x_%02d", i)
			want = append(want, id)
			commit(t, s, k.write(k.make(id, i), 0))
		}
		// One updated item must still be listed once, with its new content.
		updated := k.make("x_03", 99)
		commit(t, s, k.write(updated, 1))
		items := collect(t, 4, func(c string) (store.Page[T], error) {
			return k.list(t.Context(), s, store.PageRequest{Cursor: c, Limit: 4})
		})
		var got []string
		for _, it := range items {
			got = append(got, k.id(it))
			if k.id(it) == "x_03" {
				sameJSON(t, "listed updated item", it, k.stored(updated, 2))
			}
		}
		slices.Sort(got)
		wantIDs(t, "listed ids (any order, each once)", got, want)
		all, err := k.list(t.Context(), s, store.PageRequest{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(all.Items) != 11 || all.Next != "" {
			t.Fatalf("one page of 100: got %d items, Next %q; want 11 and \"\"", len(all.Items), all.Next)
		}
	})
	h.run(t, "ListBadCursor", func(t *testing.T, s store.Store) {
		commit(t, s, k.write(k.make("x_1", 0), 0))
		_, err := k.list(t.Context(), s, store.PageRequest{Cursor: "not a cursor!"})
		wantCode(t, err, routing.CodeInvalid)
	})
}

func mergeTx(txs ...store.Tx) store.Tx {
	var out store.Tx
	for _, tx := range txs {
		out.Conversations = append(out.Conversations, tx.Conversations...)
		out.Contacts = append(out.Contacts, tx.Contacts...)
		out.Agents = append(out.Agents, tx.Agents...)
		out.Teams = append(out.Teams, tx.Teams...)
		out.Channels = append(out.Channels, tx.Channels...)
		out.Workflows = append(out.Workflows, tx.Workflows...)
		out.Versions = append(out.Versions, tx.Versions...)
		out.Loads = append(out.Loads, tx.Loads...)
		out.Cursors = append(out.Cursors, tx.Cursors...)
		out.Claims = append(out.Claims, tx.Claims...)
		out.Events = append(out.Events, tx.Events...)
		out.Notifications = append(out.Notifications, tx.Notifications...)
		out.Outbox = append(out.Outbox, tx.Outbox...)
		out.Deletes = append(out.Deletes, tx.Deletes...)
	}
	return out
}

var conversationKind = kind[routing.Conversation]{
	name: "conversation",
	make: func(id string, variant int) routing.Conversation {
		c := newConversation(id)
		c.ContactID = fmt.Sprintf("ct_%d", variant)
		if variant%2 == 1 {
			c = openConversation(id, fmt.Sprintf("ag_%d", variant), at(1000))
		}
		c.OpenedAt = at(0)
		return c
	},
	write: func(v routing.Conversation, e int64) store.Tx {
		return store.Tx{Conversations: []store.ConversationWrite{{Value: v, ExpectVersion: e}}}
	},
	get: func(ctx context.Context, s store.Store, id string) (routing.Conversation, error) {
		return s.GetConversation(ctx, id)
	},
	stored: func(v routing.Conversation, n int64) routing.Conversation { v.Version = n; return v },
	id:     func(v routing.Conversation) string { return v.ID },
}

var contactKind = kind[routing.Contact]{
	name: "contact",
	make: func(id string, variant int) routing.Contact {
		c := newContact(id, "ch_1", "ext_"+id)
		c.Name = fmt.Sprintf("Name %d", variant)
		c.Fields = map[string]string{"plan": fmt.Sprintf("p%d", variant)}
		return c
	},
	write: func(v routing.Contact, e int64) store.Tx {
		return store.Tx{Contacts: []store.ContactWrite{{Value: v, ExpectVersion: e}}}
	},
	get: func(ctx context.Context, s store.Store, id string) (routing.Contact, error) {
		return s.GetContact(ctx, id)
	},
	stored: func(v routing.Contact, n int64) routing.Contact { v.Version = n; return v },
	id:     func(v routing.Contact) string { return v.ID },
}

var agentKind = kind[routing.Agent]{
	name: "agent",
	make: func(id string, variant int) routing.Agent {
		a := newAgent(id, 2+variant, routing.StatusOnline)
		a.Name = fmt.Sprintf("Name %d", variant)
		if variant%2 == 1 {
			a.Status = routing.StatusPaused
		}
		return a
	},
	write: func(v routing.Agent, e int64) store.Tx {
		return store.Tx{Agents: []store.AgentWrite{{Value: v, ExpectVersion: e}}}
	},
	get: func(ctx context.Context, s store.Store, id string) (routing.Agent, error) {
		return s.GetAgent(ctx, id)
	},
	stored: func(v routing.Agent, n int64) routing.Agent { v.Version = n; return v },
	list: func(ctx context.Context, s store.Store, p store.PageRequest) (store.Page[routing.Agent], error) {
		return s.ListAgents(ctx, p)
	},
	id: func(v routing.Agent) string { return v.ID },
}

var teamKind = kind[routing.Team]{
	name: "team",
	make: func(id string, variant int) routing.Team {
		tm := newTeam(id)
		tm.Name = fmt.Sprintf("Name %d", variant)
		if variant%2 == 1 {
			tm.Strategy = routing.LeastOpen
			tm.Members = []string{"ag_9"}
		}
		return tm
	},
	write: func(v routing.Team, e int64) store.Tx {
		return store.Tx{Teams: []store.TeamWrite{{Value: v, ExpectVersion: e}}}
	},
	get: func(ctx context.Context, s store.Store, id string) (routing.Team, error) {
		return s.GetTeam(ctx, id)
	},
	stored: func(v routing.Team, n int64) routing.Team { v.Version = n; return v },
	list: func(ctx context.Context, s store.Store, p store.PageRequest) (store.Page[routing.Team], error) {
		return s.ListTeams(ctx, p)
	},
	id: func(v routing.Team) string { return v.ID },
}

var channelKind = kind[routing.Channel]{
	name: "channel",
	make: func(id string, variant int) routing.Channel {
		c := newChannel(id)
		c.Name = fmt.Sprintf("Name %d", variant)
		return c
	},
	write: func(v routing.Channel, e int64) store.Tx {
		return store.Tx{Channels: []store.ChannelWrite{{Value: v, ExpectVersion: e}}}
	},
	get: func(ctx context.Context, s store.Store, id string) (routing.Channel, error) {
		return s.GetChannel(ctx, id)
	},
	stored: func(v routing.Channel, n int64) routing.Channel { v.Version = n; return v },
	list: func(ctx context.Context, s store.Store, p store.PageRequest) (store.Page[routing.Channel], error) {
		return s.ListChannels(ctx, p)
	},
	id: func(v routing.Channel) string { return v.ID },
}

var workflowKind = kind[routing.Workflow]{
	name: "workflow",
	make: func(id string, variant int) routing.Workflow {
		w := newWorkflow(id)
		w.Definition = []byte(fmt.Sprintf(`{"variant":%d}`, variant))
		w.PublishedVersion = variant
		return w
	},
	write: func(v routing.Workflow, e int64) store.Tx {
		return store.Tx{Workflows: []store.WorkflowWrite{{Value: v, ExpectVersion: e}}}
	},
	get: func(ctx context.Context, s store.Store, id string) (routing.Workflow, error) {
		return s.GetWorkflow(ctx, id)
	},
	stored: func(v routing.Workflow, n int64) routing.Workflow { v.Version = n; return v },
	list: func(ctx context.Context, s store.Store, p store.PageRequest) (store.Page[routing.Workflow], error) {
		return s.ListWorkflows(ctx, p)
	},
	id: func(v routing.Workflow) string { return v.ID },
}
