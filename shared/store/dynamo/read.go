package dynamo

import (
	"context"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// internal reports a stored item that does not decode: a bug or foreign data.
func (s *Store) internal(ctx context.Context, err error, what string) error {
	s.log.ErrorContext(ctx, "dynamo: corrupt item", "call", what, "table", *s.table, "error", err)
	return routing.Errorf(routing.CodeInternal, "storage failure")
}

// getDoc reads one item and decodes its doc; CodeNotFound when absent.
func getDoc[T any](ctx context.Context, s *Store, k key, kind, id string) (T, error) {
	var zero T
	it, err := s.getItem(ctx, k, "get "+kind)
	if err != nil {
		return zero, err
	}
	if it == nil {
		return zero, routing.NotFound(kind, id)
	}
	v, err := decodeDoc[T](it)
	if err != nil {
		return zero, s.internal(ctx, err, "get "+kind)
	}
	return v, nil
}

// GetConversation reads a conversation (strongly consistent).
func (s *Store) GetConversation(ctx context.Context, id string) (routing.Conversation, error) {
	return getDoc[routing.Conversation](ctx, s, convKey(id), "conversation", id)
}

// GetContact reads a contact (strongly consistent).
func (s *Store) GetContact(ctx context.Context, id string) (routing.Contact, error) {
	return getDoc[routing.Contact](ctx, s, contactKey(id), "contact", id)
}

// ContactByExternalID reads the (channel, external id) reservation, then the
// contact it names: two strongly consistent reads.
func (s *Store) ContactByExternalID(ctx context.Context, channelID, externalID string) (routing.Contact, error) {
	it, err := s.getItem(ctx, contactExtKey(channelID, externalID), "get contact by external id")
	if err != nil {
		return routing.Contact{}, err
	}
	id := str(it, attrContactID)
	if it == nil || id == "" {
		return routing.Contact{}, routing.NotFound("contact", channelID+"/"+externalID)
	}
	c, err := s.GetContact(ctx, id)
	if err != nil {
		return routing.Contact{}, err
	}
	if c.ChannelID != channelID || c.ExternalID != externalID {
		return routing.Contact{}, routing.NotFound("contact", channelID+"/"+externalID)
	}
	return c, nil
}

// GetChannel reads a channel (strongly consistent).
func (s *Store) GetChannel(ctx context.Context, id string) (routing.Channel, error) {
	return getDoc[routing.Channel](ctx, s, channelKey(id), "channel", id)
}

// GetWorkflow reads a workflow's draft record (strongly consistent).
func (s *Store) GetWorkflow(ctx context.Context, id string) (routing.Workflow, error) {
	return getDoc[routing.Workflow](ctx, s, workflowKey(id), "workflow", id)
}

// GetWorkflowVersion reads a published version (strongly consistent).
func (s *Store) GetWorkflowVersion(ctx context.Context, workflowID string, number int) (routing.WorkflowVersion, error) {
	v, err := getDoc[routing.WorkflowVersion](ctx, s, versionKey(workflowID, number), "workflow version", workflowID)
	if routing.IsNotFound(err) {
		return v, routing.Errorf(routing.CodeNotFound, "workflow %q has no version %d", workflowID, number)
	}
	return v, err
}

// GetAgent reads the agent's partition (profile and load items) in one
// strongly consistent Query.
func (s *Store) GetAgent(ctx context.Context, id string) (routing.Agent, error) {
	items, err := s.readPartition(ctx, prefixAgent+id, "get agent")
	if err != nil {
		return routing.Agent{}, err
	}
	var profile, load item
	for _, it := range items {
		switch str(it, AttrSK) {
		case skAgent:
			profile = it
		case skLoad:
			load = it
		}
	}
	if profile == nil {
		return routing.Agent{}, routing.NotFound("agent", id)
	}
	a, err := agentFrom(profile, load)
	if err != nil {
		return a, s.internal(ctx, err, "get agent")
	}
	return a, nil
}

// GetAgents reads the profile and load items of ids with BatchGetItem
// (100 keys a request) and returns the agents that exist, in the order asked.
func (s *Store) GetAgents(ctx context.Context, ids []string) ([]routing.Agent, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]key, 0, 2*len(ids))
	for _, id := range ids {
		keys = append(keys, agentKey(id), loadKey(id))
	}
	found, err := s.batchGet(ctx, keys, "get agents")
	if err != nil {
		return nil, err
	}
	out := make([]routing.Agent, 0, len(ids))
	for _, id := range ids {
		profile, ok := found[agentKey(id)]
		if !ok {
			continue
		}
		a, err := agentFrom(profile, found[loadKey(id)])
		if err != nil {
			return nil, s.internal(ctx, err, "get agents")
		}
		out = append(out, a)
	}
	return out, nil
}

// ListAgents pages through the AGENTS partition of gsi1 (by id), joined with
// the agents' load items (one BatchGetItem per page).
func (s *Store) ListAgents(ctx context.Context, p store.PageRequest) (store.Page[routing.Agent], error) {
	profiles, next, err := s.pageItems(ctx, partition{index: IndexGSI1, pk: listAgents}, false, p, "list agents")
	if err != nil {
		return store.Page[routing.Agent]{}, err
	}
	keys := make([]key, len(profiles))
	for i, it := range profiles {
		keys[i] = loadKey(str(it, AttrGSI1SK))
	}
	loads, err := s.batchGet(ctx, keys, "list agents")
	if err != nil {
		return store.Page[routing.Agent]{}, err
	}
	page := store.Page[routing.Agent]{Items: make([]routing.Agent, len(profiles)), Next: next}
	for i, it := range profiles {
		if page.Items[i], err = agentFrom(it, loads[keys[i]]); err != nil {
			return store.Page[routing.Agent]{}, s.internal(ctx, err, "list agents")
		}
	}
	return page, nil
}

// GetTeam reads the team's partition (profile and cursor items) in one
// strongly consistent Query.
func (s *Store) GetTeam(ctx context.Context, id string) (routing.Team, error) {
	items, err := s.readPartition(ctx, prefixTeam+id, "get team")
	if err != nil {
		return routing.Team{}, err
	}
	var profile, cursor item
	for _, it := range items {
		switch str(it, AttrSK) {
		case skTeam:
			profile = it
		case skCursor:
			cursor = it
		}
	}
	if profile == nil {
		return routing.Team{}, routing.NotFound("team", id)
	}
	t, err := teamFrom(profile, cursor)
	if err != nil {
		return t, s.internal(ctx, err, "get team")
	}
	return t, nil
}

// ListTeams pages through the TEAMS partition of gsi1 (by id), joined with
// the teams' cursor items (one BatchGetItem per page).
func (s *Store) ListTeams(ctx context.Context, p store.PageRequest) (store.Page[routing.Team], error) {
	profiles, next, err := s.pageItems(ctx, partition{index: IndexGSI1, pk: listTeams}, false, p, "list teams")
	if err != nil {
		return store.Page[routing.Team]{}, err
	}
	keys := make([]key, len(profiles))
	for i, it := range profiles {
		keys[i] = cursorKey(str(it, AttrGSI1SK))
	}
	cursors, err := s.batchGet(ctx, keys, "list teams")
	if err != nil {
		return store.Page[routing.Team]{}, err
	}
	page := store.Page[routing.Team]{Items: make([]routing.Team, len(profiles)), Next: next}
	for i, it := range profiles {
		if page.Items[i], err = teamFrom(it, cursors[keys[i]]); err != nil {
			return store.Page[routing.Team]{}, s.internal(ctx, err, "list teams")
		}
	}
	return page, nil
}

// ListChannels pages through the CHANNELS partition of gsi1 (by id).
func (s *Store) ListChannels(ctx context.Context, p store.PageRequest) (store.Page[routing.Channel], error) {
	return listDocs[routing.Channel](ctx, s, listChannels, p, "list channels")
}

// ListWorkflows pages through the WORKFLOWS partition of gsi1 (by id).
func (s *Store) ListWorkflows(ctx context.Context, p store.PageRequest) (store.Page[routing.Workflow], error) {
	return listDocs[routing.Workflow](ctx, s, listWorkflows, p, "list workflows")
}

// GetClaim reads an idempotency claim and its recorded value (strongly
// consistent), expired or not.
func (s *Store) GetClaim(ctx context.Context, k string) (store.Claim, error) {
	if k == "" {
		return store.Claim{}, routing.NotFound("claim", k)
	}
	it, err := s.getItem(ctx, claimKey(k), "get claim")
	if err != nil {
		return store.Claim{}, err
	}
	if it == nil {
		return store.Claim{}, routing.NotFound("claim", k)
	}
	c, err := claimFrom(k, it)
	if err != nil {
		return c, s.internal(ctx, err, "get claim")
	}
	return c, nil
}

// Events pages through the conversation's EV# items, oldest first (the sort
// key is the fixed-width time, then the id), strongly consistent.
func (s *Store) Events(ctx context.Context, conversationID string, p store.PageRequest) (store.Page[routing.Event], error) {
	return pageDocs[routing.Event](ctx, s, partition{pk: prefixConv + conversationID, prefix: prefixEvent}, false, p, "list events")
}

// Notifications pages through the agent's NOTIFY# partition, newest first,
// strongly consistent.
func (s *Store) Notifications(ctx context.Context, agentID string, p store.PageRequest) (store.Page[routing.Notification], error) {
	return pageDocs[routing.Notification](ctx, s, partition{pk: prefixNotify + agentID, prefix: prefixNote}, true, p, "list notifications")
}

// PendingQueue reads the head of the team's QUEUE# partition of gsi1, whose
// sort key is rank, PendingSince, ID: routing.QueueLess order, then the
// conversations themselves (strongly consistent). The index is eventually
// consistent: an entry the conversation has left is dropped, and one not yet
// indexed is missing until it is; the engine's versioned write on the
// conversation catches a change made after this read.
func (s *Store) PendingQueue(ctx context.Context, teamID string, limit int) ([]routing.Conversation, error) {
	limit = store.PageRequest{Limit: limit}.EffectiveLimit()
	st := s.newStream(partition{index: IndexGSI1, pk: queuePK(teamID)}, false, "", limit, "pending queue")
	items, _, _, err := collectPage(ctx, s, []*stream{st}, limit, 0, decodeDoc[routing.Conversation], func(c routing.Conversation) bool {
		return c.Status == routing.ConvPending && c.TeamID == teamID
	}, "pending queue")
	if err != nil {
		return nil, s.decodeErr(ctx, err, "pending queue")
	}
	return items, nil
}

// conversationStatuses are the partitions a listing without a status merges.
var conversationStatuses = []routing.ConversationStatus{routing.ConvPending, routing.ConvOpen, routing.ConvClosed}

// ListConversations picks the most selective index for f (contact, then
// assignee, then team, then status), reads its keys newest opened first,
// merging the status partitions when f has no status (and, on the status
// index, the shards of each status), reads the conversations themselves
// strongly consistent and applies the rest of f to them. Every index sorts
// by OpenedAt then ID, so the cursor (that sort key) is valid in each.
func (s *Store) ListConversations(ctx context.Context, f store.ConversationFilter) (store.Page[routing.Conversation], error) {
	after, err := decodeCursor(f.Cursor)
	if err != nil {
		return store.Page[routing.Conversation]{}, err
	}
	limit := f.EffectiveLimit()
	statuses := conversationStatuses
	if f.Status != "" {
		statuses = []routing.ConversationStatus{f.Status}
	}
	var parts []partition
	residual := f.EscalationType != "" // a filter the chosen index does not apply
	switch {
	case f.ContactID != "":
		parts = []partition{{index: IndexGSI3, pk: byContactPK(f.ContactID)}}
		residual = residual || f.Status != "" || f.TeamID != "" || f.AssigneeID != ""
	case f.AssigneeID != "":
		for _, st := range statuses {
			parts = append(parts, partition{index: IndexGSI2, pk: assigneePK(st, f.AssigneeID)})
		}
		residual = residual || f.TeamID != ""
	case f.TeamID != "":
		for _, st := range statuses {
			parts = append(parts, partition{index: IndexGSI4, pk: byTeamPK(st, f.TeamID)})
		}
	default:
		for _, st := range statuses {
			for shard := range convShards {
				parts = append(parts, partition{index: IndexGSI5, pk: convsPK(st, shard)})
			}
		}
	}
	batch, minBatch := limit+1, 0
	if residual { // many items read will be dropped: read in larger pages
		batch = max(batch, min(4*batch, 1000), 100)
		minBatch = min(batch, 100)
	}
	streams := make([]*stream, len(parts))
	for i, p := range parts {
		streams[i] = s.newStream(p, true, after, batch, "list conversations")
	}
	seen := map[string]bool{}
	items, positions, more, err := collectPage(ctx, s, streams, limit, minBatch, decodeDoc[routing.Conversation], func(c routing.Conversation) bool {
		if seen[c.ID] || !matches(c, f) {
			return false
		}
		seen[c.ID] = true
		return true
	}, "list conversations")
	if err != nil {
		return store.Page[routing.Conversation]{}, s.decodeErr(ctx, err, "list conversations")
	}
	page := store.Page[routing.Conversation]{Items: items}
	if more {
		page.Next = encodeCursor(positions[len(positions)-1])
	}
	return page, nil
}

func matches(c routing.Conversation, f store.ConversationFilter) bool {
	esc := routing.EscalationType("")
	if c.Escalation != nil {
		esc = c.Escalation.Type
	}
	return (f.Status == "" || c.Status == f.Status) &&
		(f.TeamID == "" || c.TeamID == f.TeamID) &&
		(f.AssigneeID == "" || c.AssigneeID == f.AssigneeID) &&
		(f.ContactID == "" || c.ContactID == f.ContactID) &&
		(f.EscalationType == "" || esc == f.EscalationType)
}

// readPartition reads a whole (small) base-table partition, strongly consistent.
func (s *Store) readPartition(ctx context.Context, pk, what string) ([]item, error) {
	st := s.newStream(partition{pk: pk}, false, "", 10, what)
	var out []item
	for {
		it, err := st.peek(ctx)
		if err != nil || it == nil {
			return out, err
		}
		st.pop()
		out = append(out, it)
	}
}

// listDocs pages through an entity-list partition of gsi1 (sort key = id).
func listDocs[T any](ctx context.Context, s *Store, list string, p store.PageRequest, what string) (store.Page[T], error) {
	return pageDocs[T](ctx, s, partition{index: IndexGSI1, pk: list}, false, p, what)
}

// pageDocs reads one page of a partition's docs.
func pageDocs[T any](ctx context.Context, s *Store, part partition, desc bool, p store.PageRequest, what string) (store.Page[T], error) {
	items, next, err := s.pageItems(ctx, part, desc, p, what)
	if err != nil {
		return store.Page[T]{}, err
	}
	page := store.Page[T]{Items: make([]T, len(items)), Next: next}
	for i, it := range items {
		if page.Items[i], err = decodeDoc[T](it); err != nil {
			return store.Page[T]{}, s.internal(ctx, err, what)
		}
	}
	return page, nil
}

// pageItems reads one page of a partition's items and the cursor of the next.
func (s *Store) pageItems(ctx context.Context, part partition, desc bool, p store.PageRequest, what string) ([]item, string, error) {
	after, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := p.EffectiveLimit()
	st := s.newStream(part, desc, after, limit+1, what)
	items, positions, more, err := collectPage(ctx, s, []*stream{st}, limit, 0, func(it item) (item, error) { return it, nil }, nil, what)
	if err != nil {
		return nil, "", err
	}
	if more {
		return items, encodeCursor(positions[len(positions)-1]), nil
	}
	return items, "", nil
}

// decodeErr passes *routing.Error through (already translated) and reports
// anything else (a doc that does not decode) as internal.
func (s *Store) decodeErr(ctx context.Context, err error, what string) error {
	if _, ok := err.(*routing.Error); ok {
		return err
	}
	return s.internal(ctx, err, what)
}
