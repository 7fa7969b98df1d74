package engine

import (
	"context"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// Queries: what an actor may read, with the same visibility rules as acting
// (authorize). Adapters read through these, never through the store.

// GetConversation returns a conversation the actor may see.
func (e *Engine) GetConversation(ctx context.Context, actor Actor, id string) (routing.Conversation, error) {
	c, err := e.store.GetConversation(ctx, id)
	if err != nil {
		return routing.Conversation{}, err
	}
	if err := e.authorize(ctx, actor, c); err != nil {
		return routing.Conversation{}, err
	}
	return c, nil
}

// ListConversations returns one page of the conversations matching f that
// the actor may see. The page is filled from the store's pages, filtering as
// it goes: only the last page is shorter than the limit.
func (e *Engine) ListConversations(ctx context.Context, actor Actor, f store.ConversationFilter) (store.Page[routing.Conversation], error) {
	limit := f.EffectiveLimit()
	var out []routing.Conversation
	for {
		f.Limit = limit
		pg, err := e.store.ListConversations(ctx, f)
		if err != nil {
			return store.Page[routing.Conversation]{}, err
		}
		visible, cut := e.visible(ctx, actor, pg.Items, limit-len(out))
		if cut < len(pg.Items) {
			// The page filled before the store page ended: ask again for the
			// store page that ends at the last item taken, for its cursor.
			f.Limit = cut
			if pg, err = e.store.ListConversations(ctx, f); err != nil {
				return store.Page[routing.Conversation]{}, err
			}
			visible, _ = e.visible(ctx, actor, pg.Items, limit-len(out))
		}
		out = append(out, visible...)
		if len(out) >= limit || pg.Next == "" {
			return store.Page[routing.Conversation]{Items: out, Next: pg.Next}, nil
		}
		f.Cursor = pg.Next
	}
}

// visible returns the first (at most want) items the actor may see, and how
// many items were read to find them.
func (e *Engine) visible(ctx context.Context, actor Actor, items []routing.Conversation, want int) ([]routing.Conversation, int) {
	var out []routing.Conversation
	for i, c := range items {
		if len(out) == want {
			return out, i
		}
		if e.authorize(ctx, actor, c) == nil {
			out = append(out, c)
		}
	}
	return out, len(items)
}

// Events returns a page of the timeline of a conversation the actor may see.
func (e *Engine) Events(ctx context.Context, actor Actor, convID string, p store.PageRequest) (store.Page[routing.Event], error) {
	if _, err := e.GetConversation(ctx, actor, convID); err != nil {
		return store.Page[routing.Event]{}, err
	}
	return e.store.Events(ctx, convID, p)
}

// ConversationContact returns the contact of a conversation the actor may see.
func (e *Engine) ConversationContact(ctx context.Context, actor Actor, conv routing.Conversation) (routing.Contact, error) {
	if err := e.authorize(ctx, actor, conv); err != nil {
		return routing.Contact{}, err
	}
	return e.store.GetContact(ctx, conv.ContactID)
}

// ConversationChannel returns the channel of a conversation the actor may see.
func (e *Engine) ConversationChannel(ctx context.Context, actor Actor, convID string) (routing.Channel, error) {
	c, err := e.GetConversation(ctx, actor, convID)
	if err != nil {
		return routing.Channel{}, err
	}
	return e.store.GetChannel(ctx, c.ChannelID)
}

// GetContact returns a contact: supervisors see every one, agents those whose
// open conversation they may see.
func (e *Engine) GetContact(ctx context.Context, actor Actor, id string) (routing.Contact, error) {
	c, err := e.store.GetContact(ctx, id)
	if err != nil {
		return routing.Contact{}, err
	}
	if !actor.atLeast(routing.RoleSupervisor) {
		conv, err := e.store.GetConversation(ctx, c.OpenConversationID)
		if err != nil {
			return routing.Contact{}, forbidden("contact %s has no open conversation of yours", c.ID)
		}
		if err := e.authorize(ctx, actor, conv); err != nil {
			return routing.Contact{}, err
		}
	}
	return c, nil
}

// ListTeams returns a page of teams (admins).
func (e *Engine) ListTeams(ctx context.Context, actor Actor, p store.PageRequest) (store.Page[routing.Team], error) {
	if err := requireRole(actor, routing.RoleAdmin); err != nil {
		return store.Page[routing.Team]{}, err
	}
	return e.store.ListTeams(ctx, p)
}

// GetTeam returns a team (admins).
func (e *Engine) GetTeam(ctx context.Context, actor Actor, id string) (routing.Team, error) {
	if err := requireRole(actor, routing.RoleAdmin); err != nil {
		return routing.Team{}, err
	}
	return e.store.GetTeam(ctx, id)
}

// ListAgents returns a page of agents (admins).
func (e *Engine) ListAgents(ctx context.Context, actor Actor, p store.PageRequest) (store.Page[routing.Agent], error) {
	if err := requireRole(actor, routing.RoleAdmin); err != nil {
		return store.Page[routing.Agent]{}, err
	}
	return e.store.ListAgents(ctx, p)
}

// GetAgent returns an agent: people read their own profile, supervisors any.
func (e *Engine) GetAgent(ctx context.Context, actor Actor, id string) (routing.Agent, error) {
	if actor.IsPerson() && id != actor.ID && !actor.atLeast(routing.RoleSupervisor) {
		return routing.Agent{}, forbidden("agents can read only their own profile")
	}
	return e.store.GetAgent(ctx, id)
}

// ListChannels returns a page of channels (admins).
func (e *Engine) ListChannels(ctx context.Context, actor Actor, p store.PageRequest) (store.Page[routing.Channel], error) {
	if err := requireRole(actor, routing.RoleAdmin); err != nil {
		return store.Page[routing.Channel]{}, err
	}
	return e.store.ListChannels(ctx, p)
}

// GetChannel returns a channel (admins).
func (e *Engine) GetChannel(ctx context.Context, actor Actor, id string) (routing.Channel, error) {
	if err := requireRole(actor, routing.RoleAdmin); err != nil {
		return routing.Channel{}, err
	}
	return e.store.GetChannel(ctx, id)
}

// Notifications returns a page of the actor's own notifications.
func (e *Engine) Notifications(ctx context.Context, actor Actor, p store.PageRequest) (store.Page[routing.Notification], error) {
	return e.store.Notifications(ctx, actor.ID, p)
}
