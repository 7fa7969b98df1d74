package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// Inbound is one message from a contact, already verified and parsed.
type Inbound struct {
	MessageID string // the provider's id: dedupe key
	From      string // the contact's id at the provider
	Name      string // profile name, if the provider sends one
	Phone     string
	Locale    string
	Text      string
	Answer    string // id of a chosen button/option, if any
	At        time.Time
}

// IngestResult says what an inbound message did.
type IngestResult struct {
	ConversationID string
	ContactID      string
	EventID        string
	Duplicate      bool // already received: nothing changed
	Opened         bool // a conversation opened (or reopened)
}

// Ingest records an inbound message: dedupes it by provider message id, finds
// or creates the contact, opens (or reopens) a conversation if the contact has
// none open, appends the message to the timeline and publishes
// message.received (and conversation.opened). Routing happens afterwards, on
// those events.
func (e *Engine) Ingest(ctx context.Context, ch routing.Channel, in Inbound) (IngestResult, error) {
	if err := nonEmpty("messageId", in.MessageID); err != nil {
		return IngestResult{}, err
	}
	if err := nonEmpty("from", in.From); err != nil {
		return IngestResult{}, err
	}
	if err := maxLen("text", in.Text, 64<<10); err != nil {
		return IngestResult{}, err
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		res, err := e.ingestOnce(ctx, ch, in)
		switch {
		case routing.IsConflict(err, routing.ReasonDuplicate):
			return IngestResult{Duplicate: true}, nil
		case retryable(err):
			continue
		case err != nil:
			return IngestResult{}, err
		}
		return res, nil
	}
	return IngestResult{}, routing.Errorf(routing.CodeUnavailable, "too much contention on contact %q, retry", in.From)
}

// ingestOnce is one attempt: the claim, the contact, the conversation, the
// timeline and the bus events (conversation.opened, message.received) in one Tx.
func (e *Engine) ingestOnce(ctx context.Context, ch routing.Channel, in Inbound) (IngestResult, error) {
	now := e.clock.Now()
	var tx store.Tx
	tx.Claims = []store.Claim{{Key: "msg#" + ch.ID + "#" + in.MessageID, At: now, ExpiresAt: now.Add(e.cfg.DedupeTTL)}}

	contact, err := e.store.ContactByExternalID(ctx, ch.ID, in.From)
	contactVersion := contact.Version
	switch {
	case routing.IsNotFound(err):
		contact = routing.Contact{ID: e.ids.New("ct"), ChannelID: ch.ID, ExternalID: in.From, Name: in.Name, Phone: in.Phone, CreatedAt: now}
		contactVersion = 0
		if e.enrich != nil {
			e.enrich(&contact, in.Locale)
		}
	case err != nil:
		return IngestResult{}, err
	}
	contact.UpdatedAt = now

	rules, err := parseBotRules(ch.Config)
	if err != nil {
		rules = botRules{on: ch.Config[CfgBot] == "true"} // saved before rules were checked: the phase, without rules
	}
	var conv routing.Conversation
	var convVersion int64
	opened, reopened := false, false
	if contact.OpenConversationID != "" {
		conv, err = e.store.GetConversation(ctx, contact.OpenConversationID)
		if err != nil {
			return IngestResult{}, err
		}
		convVersion = conv.Version
	} else if contact.LastConversationID != "" {
		last, err := e.store.GetConversation(ctx, contact.LastConversationID)
		if err != nil && !routing.IsNotFound(err) {
			return IngestResult{}, err
		}
		if err == nil && last.ClosedAt != nil && now.Sub(*last.ClosedAt) <= e.cfg.ReopenWindow {
			conv, convVersion, reopened = last, last.Version, true
			conv.Status, conv.ClosedAt, conv.AssigneeID, conv.PendingSince = routing.ConvPending, nil, "", now
			if rules.on {
				enterBot(&conv, now)
			}
		}
	}
	if conv.ID == "" {
		opened = true
		conv = routing.Conversation{
			ID: e.ids.New("conv"), ContactID: contact.ID, ChannelID: ch.ID, Status: routing.ConvPending,
			Source: "contact", OpenedAt: now, PendingSince: now,
		}
		if rules.on { // a channel fronted by a chatbot: the bot holds it until a handoff
			enterBot(&conv, now)
		}
	}
	var handoff store.Tx // the contact asked for a person: written after the message that asked
	if conv.Status == routing.ConvBot && rules.asksForPerson(in.Text, contact.Language) {
		e.handoff(&handoff, &conv, routing.Handoff{Reason: routing.HandoffContactAsked, TeamID: rules.team}, System, "")
	}
	conv.LastIncomingAt = ptr(now)
	conv.Inbound++
	tx.Conversations = []store.ConversationWrite{{Value: conv, ExpectVersion: convVersion}}
	if opened || reopened || contact.OpenConversationID != conv.ID || contactVersion == 0 {
		contact.OpenConversationID, contact.LastConversationID = conv.ID, conv.ID
		tx.Contacts = []store.ContactWrite{{Value: contact, ExpectVersion: contactVersion}}
	}
	contactActor := Actor{Kind: KindContact, ID: contact.ID}
	switch {
	case opened:
		tx.Events = append(tx.Events, e.event(conv.ID, routing.EvOpened, contactActor, "", map[string]any{"channelId": ch.ID, "source": "contact"}))
	case reopened:
		tx.Events = append(tx.Events, e.event(conv.ID, routing.EvReopened, contactActor, "", nil))
	}
	if (opened || reopened) && conv.Bot != nil {
		tx.Events = append(tx.Events, e.event(conv.ID, routing.EvBotStarted, System, "", map[string]any{"channelId": ch.ID}))
	}
	msg := e.event(conv.ID, routing.EvMessageIn, contactActor, "", map[string]any{"messageId": in.MessageID, "text": in.Text})
	if in.Answer != "" {
		msg.Data["answer"] = in.Answer
	}
	tx.Events = append(tx.Events, msg)
	if opened || reopened {
		tx.Outbox = append(tx.Outbox, e.busEvent(conv.ID, events.ConversationOpened, events.ConversationOpenedDetail{
			ConversationID: conv.ID, ContactID: contact.ID, ChannelID: ch.ID, Source: "contact", Reopened: reopened, Text: in.Text,
			Bot: conv.Bot != nil}))
	}
	tx.Outbox = append(tx.Outbox, e.busEvent(conv.ID, events.MessageReceived, events.MessageReceivedDetail{
		ConversationID: conv.ID, ContactID: contact.ID, MessageID: in.MessageID, Text: in.Text, Answer: in.Answer, Seq: conv.Inbound,
		NoQuestion: conv.Question == nil}))
	tx.Events = append(tx.Events, handoff.Events...)
	tx.Outbox = append(tx.Outbox, handoff.Outbox...)
	if err := e.store.Commit(ctx, tx); err != nil {
		return IngestResult{}, err
	}
	return IngestResult{ConversationID: conv.ID, ContactID: contact.ID, EventID: msg.ID, Opened: opened || reopened}, nil
}

// assignMode says who decided an assignment.
type assignMode int

const (
	explicit  assignMode = iota // a person or a workflow step: may reassign an open conversation
	drain                       // a queue drain: the conversation must still be pending on the team
	autoRoute                   // the default route: the conversation must still be pending
)

// Target says where a conversation goes: a specific agent, or a team whose
// strategy picks the agent.
type Target struct {
	AgentID    string `json:"agentId,omitempty"`
	TeamID     string `json:"teamId,omitempty"`
	OnlineOnly bool   `json:"onlineOnly,omitempty"`
}

// Outcome of an assignment.
const (
	Assigned = "assigned"
	Queued   = "pending"
)

// AssignResult says where the conversation went.
type AssignResult struct {
	Status   string            `json:"status"` // assigned or pending
	AgentID  string            `json:"agentId,omitempty"`
	TeamID   string            `json:"teamId,omitempty"`
	Decision *routing.Decision `json:"decision,omitempty"`
	Version  int64             `json:"version"`
}

// Assign hands a conversation to an agent or a team. A person who reassigns an
// assigned conversation must leave a note. A specific agent without a free slot
// is refused (conflict) for people; for workflows the conversation waits on the
// queue of the team it belongs to.
func (e *Engine) Assign(ctx context.Context, convID string, t Target, actor Actor, note string, expectVersion int64) (AssignResult, error) {
	if (t.AgentID == "") == (t.TeamID == "") {
		return AssignResult{}, routing.Invalid("agentId", "give exactly one of agentId and teamId")
	}
	if err := maxLen("note", note, 4096); err != nil {
		return AssignResult{}, err
	}
	return e.assign(ctx, convID, t, actor, trimmed(note), expectVersion, explicit)
}

// assign moves a conversation to t. draining is true when the pending queue's
// drain calls it for the queue head; otherwise a conversation sent to a team
// whose queue is not empty waits behind it (oldest and most urgent first)
// and the queue is drained.
// how says whether the assignment is explicit (a person's or a workflow
// step's decision, which may move an open conversation) or automatic (a
// drain or the default route, which only ever hand out a pending one).
func (e *Engine) assign(ctx context.Context, convID string, t Target, actor Actor, note string, expectVersion int64, how assignMode) (AssignResult, error) {
	return e.assignRead(ctx, convID, nil, t, actor, note, expectVersion, how)
}

// assignRead is assign with the conversation already read, strongly
// consistent, by the caller (read: nil reads it): the first attempt decides
// on it, and every retry reads again. The commit is conditional on the
// version it decided on either way.
func (e *Engine) assignRead(ctx context.Context, convID string, read *routing.Conversation, t Target, actor Actor, note string, expectVersion int64, how assignMode) (AssignResult, error) {
	var released string
	defer func() {
		if released != "" {
			e.afterRelease(ctx, released)
		}
	}()
	for attempt := 0; attempt < maxAttempts; attempt++ {
		var conv routing.Conversation
		var err error
		if attempt == 0 && read != nil {
			conv = *read
		} else if conv, err = e.store.GetConversation(ctx, convID); err != nil {
			return AssignResult{}, err
		}
		if attempt == 0 && expectVersion > 0 && conv.Version != expectVersion {
			return AssignResult{}, routing.Conflict(routing.ReasonVersion, "conversation %s is at version %d, not %d", convID, conv.Version, expectVersion)
		}
		if conv.Status == routing.ConvClosed {
			return AssignResult{}, routing.Conflict("closed", "conversation %s is closed", convID)
		}
		if err := inBotPhase(conv); err != nil {
			return AssignResult{}, err
		}
		// An automatic assignment decided on a read that may lag (a queue
		// index, an event): it acts only on a conversation still pending
		// (on the drained team), read strongly consistent on every attempt,
		// and the commit is conditional on the version read.
		if how != explicit && (conv.Status != routing.ConvPending || conv.AssigneeID != "" || (how == drain && conv.TeamID != t.TeamID)) {
			return AssignResult{}, routing.Conflict(reasonNotPending, "conversation %s is %s (team %q, agent %q): an automatic assignment only hands out pending conversations", convID, conv.Status, conv.TeamID, conv.AssigneeID)
		}
		if how != explicit && conv.OnlineOnly {
			t.OnlineOnly = true // the step that queued it allowed online agents only
		}
		if err := e.authorize(ctx, actor, conv); err != nil {
			return AssignResult{}, err
		}
		if actor.IsPerson() && conv.AssigneeID != "" && note == "" {
			return AssignResult{}, routing.Invalid("note", "an internal note is required to reassign a conversation")
		}
		var res AssignResult
		if t.AgentID != "" {
			res, err = e.assignToAgent(ctx, conv, t, actor, note)
		} else {
			res, err = e.assignToTeam(ctx, conv, t, actor, note, how == drain)
		}
		var final *refusal
		if errors.As(err, &final) {
			return AssignResult{}, final.err
		}
		if retryable(err) {
			continue
		}
		if err != nil {
			return AssignResult{}, err
		}
		if conv.AssigneeID != "" && conv.AssigneeID != res.AgentID {
			released = conv.AssigneeID
		}
		return res, nil
	}
	return AssignResult{}, routing.Errorf(routing.CodeUnavailable, "conversation %s is changing too fast, retry", convID)
}

func (e *Engine) assignToAgent(ctx context.Context, conv routing.Conversation, t Target, actor Actor, note string) (AssignResult, error) {
	agent, err := e.store.GetAgent(ctx, t.AgentID)
	if routing.IsNotFound(err) {
		return AssignResult{}, routing.Invalid("agentId", "agent %q does not exist", t.AgentID)
	}
	if err != nil {
		return AssignResult{}, err
	}
	if conv.AssigneeID == agent.ID {
		return AssignResult{Status: Assigned, AgentID: agent.ID, TeamID: conv.TeamID, Version: conv.Version}, nil
	}
	var statuses []routing.AgentStatus
	if t.OnlineOnly {
		statuses = []routing.AgentStatus{routing.StatusOnline}
	}
	team := conv.TeamID
	if team == "" && len(agent.Teams) > 0 {
		team = agent.Teams[0]
	}
	if (t.OnlineOnly && agent.Status != routing.StatusOnline) || agent.FreeSlots() == 0 {
		return e.agentUnavailable(ctx, conv, agent, team, t, actor, note)
	}
	tx := e.assignTx(conv, agent, team, "", actor, note, nil, statuses)
	if err := e.commit(ctx, tx); err != nil {
		if routing.IsConflict(err, routing.ReasonCapacity) {
			return e.agentUnavailable(ctx, conv, agent, team, t, actor, note)
		}
		return AssignResult{}, err
	}
	return AssignResult{Status: Assigned, AgentID: agent.ID, TeamID: team, Version: conv.Version + 1}, nil
}

// refusal is a conflict that reading again cannot solve (the agent a person
// chose has no free slot): assign returns it instead of retrying.
type refusal struct{ err *routing.Error }

func (r *refusal) Error() string { return r.err.Error() }

// agentUnavailable: people are told; workflows queue the conversation on the agent's team.
func (e *Engine) agentUnavailable(ctx context.Context, conv routing.Conversation, agent routing.Agent, team string, t Target, actor Actor, note string) (AssignResult, error) {
	why := fmt.Sprintf("%s has no free slot (%d of %d open)", describeAgent(agent), agent.OpenCount, agent.MaxConcurrent)
	if t.OnlineOnly && agent.Status != routing.StatusOnline {
		why = fmt.Sprintf("%s is %s", describeAgent(agent), agent.Status)
	}
	if actor.IsPerson() {
		return AssignResult{}, &refusal{&routing.Error{Code: routing.CodeConflict, Reason: routing.ReasonCapacity, Field: "agentId", Message: "cannot assign: " + why}}
	}
	if team == "" {
		return AssignResult{}, routing.Errorf(routing.CodeConflict, "cannot assign: %s and the agent is in no team to queue on", why)
	}
	d := &routing.Decision{Why: why}
	return e.queue(ctx, conv, team, t.OnlineOnly, actor, note, d)
}

func (e *Engine) assignToTeam(ctx context.Context, conv routing.Conversation, t Target, actor Actor, note string, draining bool) (AssignResult, error) {
	team, err := e.store.GetTeam(ctx, t.TeamID)
	if routing.IsNotFound(err) {
		return AssignResult{}, routing.Invalid("teamId", "team %q does not exist", t.TeamID)
	}
	if err != nil {
		return AssignResult{}, err
	}
	if team.Mode == routing.ModeManual {
		d := &routing.Decision{Strategy: team.Strategy, Why: "team is in manual mode: agents take pending conversations"}
		return e.queue(ctx, conv, team.ID, t.OnlineOnly, actor, note, d)
	}
	if !draining && !(conv.Status == routing.ConvPending && conv.TeamID == team.ID) {
		if q, err := e.store.PendingQueue(ctx, team.ID, 1); err == nil && len(q) > 0 {
			res, err := e.queue(ctx, conv, team.ID, t.OnlineOnly, actor, note, &routing.Decision{Strategy: team.Strategy, Why: "others are waiting: queued behind them"})
			if err == nil {
				e.DrainTeam(ctx, team.ID)
				if c, err := e.store.GetConversation(ctx, conv.ID); err == nil && c.Status == routing.ConvOpen {
					return AssignResult{Status: Assigned, AgentID: c.AssigneeID, TeamID: c.TeamID, Version: c.Version}, nil
				}
			}
			return res, err
		}
	}
	agents, done, err := e.teamAgents(ctx, team.Members)
	defer done()
	if err != nil {
		return AssignResult{}, err
	}
	exclude := map[string]bool{}
	if conv.AssigneeID != "" {
		exclude[conv.AssigneeID] = true
	}
	// Pick counts this engine's other assignments in flight (see inflight.go).
	d, release := e.inflight().pick(team, agents, t.OnlineOnly, exclude, e.clock.Now())
	defer release()
	if d.AgentID == "" {
		return e.queue(ctx, conv, team.ID, t.OnlineOnly, actor, note, &d)
	}
	var agent routing.Agent
	for i := range agents { // by index: an Agent is too big to copy a thousand times
		if agents[i].ID == d.AgentID {
			agent = agents[i]
		}
	}
	tx := e.assignTx(conv, agent, team.ID, team.Strategy, actor, note, &d, routing.AllowedStatuses(t.OnlineOnly || team.OnlineOnly))
	if err := e.commit(ctx, tx); err != nil {
		return AssignResult{}, err // capacity/version conflicts are retried by the caller with fresh reads
	}
	return AssignResult{Status: Assigned, AgentID: agent.ID, TeamID: team.ID, Decision: &d, Version: conv.Version + 1}, nil
}

// assignTx is the one transaction of an assignment: the conversation's
// conditional update, the new agent's conditional +1, the previous agent's -1,
// the round-robin cursor, the timeline event and the notification.
func (e *Engine) assignTx(conv routing.Conversation, agent routing.Agent, team string, strategy routing.Strategy, actor Actor, note string, d *routing.Decision, statuses []routing.AgentStatus) store.Tx {
	now := e.clock.Now()
	prev := conv.AssigneeID
	next := conv
	next.Status, next.AssigneeID, next.TeamID = routing.ConvOpen, agent.ID, team
	next.PendingSince, next.AssignedAt, next.BotActive, next.OnlineOnly = time.Time{}, ptr(now), false, false
	next.Assignments++
	tx := store.Tx{
		Conversations: []store.ConversationWrite{{Value: next, ExpectVersion: conv.Version}},
		Loads:         []store.LoadChange{{AgentID: agent.ID, Delta: 1, RequireStatus: statuses, At: now}},
	}
	if prev != "" {
		tx.Loads = append(tx.Loads, store.LoadChange{AgentID: prev, Delta: -1, At: now})
		tx.Outbox = append(tx.Outbox, e.released(prev, "reassigned"))
	}
	if strategy == routing.RoundRobin {
		tx.Cursors = []store.CursorSet{{TeamID: team, AgentID: agent.ID}}
	}
	data := map[string]any{"to": agent.ID, "team": team}
	typ := routing.EvAssigned
	if prev != "" {
		typ = routing.EvReassigned
		data["from"] = prev
	}
	if d != nil {
		data["strategy"] = string(d.Strategy)
		data["why"] = d.Why
		cands := make([]any, len(d.Candidates))
		for i, c := range d.Candidates {
			m := map[string]any{"agentId": c.AgentID, "open": c.Open, "max": c.Max, "status": c.Status}
			if c.Skip != "" {
				m["skip"] = c.Skip
			}
			cands[i] = m
		}
		data["candidates"] = cands
		data["considered"], data["eligible"] = d.Considered, d.Eligible
	}
	tx.Events = []routing.Event{e.event(conv.ID, typ, actor, note, data)}
	if conv.BotActive {
		tx.Events = append(tx.Events, e.event(conv.ID, routing.EvBotChanged, actor, "", map[string]any{"botActive": false}))
	}
	text := fmt.Sprintf("Conversation %s was assigned to you", conv.ID)
	if note != "" {
		text += ": " + note
	}
	if prev == "" {
		text += handoffNote(conv) // the first people to see it learn why the bot let it go
	}
	tx.Notifications = []routing.Notification{e.notify(agent.ID, routing.NoteAssignment, conv.ID, text)}
	return tx
}

// queue puts the conversation on a team's pending queue, releasing its current agent.
// onlineOnly is kept on the pending conversation, so the drain that hands it
// out later applies the same constraint as the step that queued it.
func (e *Engine) queue(ctx context.Context, conv routing.Conversation, team string, onlineOnly bool, actor Actor, note string, d *routing.Decision) (AssignResult, error) {
	now := e.clock.Now()
	next := conv
	if conv.Status == routing.ConvPending && conv.TeamID == team && (conv.OnlineOnly || !onlineOnly) {
		return AssignResult{Status: Queued, TeamID: team, Decision: d, Version: conv.Version}, nil
	}
	next.Status, next.AssigneeID, next.TeamID = routing.ConvPending, "", team
	next.OnlineOnly = next.OnlineOnly || onlineOnly
	if conv.Status != routing.ConvPending || next.PendingSince.IsZero() {
		next.PendingSince = now
	}
	tx := store.Tx{Conversations: []store.ConversationWrite{{Value: next, ExpectVersion: conv.Version}}}
	if conv.AssigneeID != "" {
		tx.Loads = []store.LoadChange{{AgentID: conv.AssigneeID, Delta: -1, At: now}}
		tx.Outbox = []store.OutboxEvent{e.released(conv.AssigneeID, "reassigned")}
	}
	data := map[string]any{"team": team}
	if conv.AssigneeID != "" {
		data["from"] = conv.AssigneeID
	}
	if d != nil {
		data["why"] = d.Why
	}
	tx.Events = []routing.Event{e.event(conv.ID, routing.EvQueued, actor, note, data)}
	if err := e.commit(ctx, tx); err != nil {
		return AssignResult{}, err
	}
	return AssignResult{Status: Queued, TeamID: team, Decision: d, Version: conv.Version + 1}, nil
}

// Take lets an agent take a pending conversation of one of their teams, within capacity.
func (e *Engine) Take(ctx context.Context, convID string, actor Actor) (AssignResult, error) {
	if !actor.IsPerson() {
		return AssignResult{}, forbidden("only agents take conversations")
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		conv, err := e.store.GetConversation(ctx, convID)
		if err != nil {
			return AssignResult{}, err
		}
		if err := inBotPhase(conv); err != nil {
			return AssignResult{}, err
		}
		if conv.Status != routing.ConvPending {
			return AssignResult{}, routing.Conflict("not_pending", "conversation %s is %s, not pending", convID, conv.Status)
		}
		agent, err := e.store.GetAgent(ctx, actor.ID)
		if err != nil {
			return AssignResult{}, forbidden("you are not an agent")
		}
		if conv.TeamID != "" && !agent.InTeam(conv.TeamID) && !actor.atLeast(routing.RoleSupervisor) {
			return AssignResult{}, forbidden("conversation %s is pending for team %s, which you are not in", convID, conv.TeamID)
		}
		if agent.FreeSlots() == 0 {
			return AssignResult{}, &routing.Error{Code: routing.CodeConflict, Reason: routing.ReasonCapacity,
				Message: fmt.Sprintf("you already have %d open conversations, your maximum is %d", agent.OpenCount, agent.MaxConcurrent)}
		}
		tx := e.assignTx(conv, agent, conv.TeamID, "", actor, "taken from the pending queue", nil, nil)
		err = e.commit(ctx, tx)
		if routing.IsConflict(err, routing.ReasonVersion) || routing.IsConflict(err, routing.ReasonCapacity) {
			continue // re-read: someone else may have taken it, or the count moved
		}
		if err != nil {
			return AssignResult{}, err
		}
		return AssignResult{Status: Assigned, AgentID: agent.ID, TeamID: conv.TeamID, Version: conv.Version + 1}, nil
	}
	return AssignResult{}, routing.Errorf(routing.CodeUnavailable, "conversation %s is changing too fast, retry", convID)
}

// Close closes a conversation and frees its agent's slot, then drains the
// queues that slot can serve.
func (e *Engine) Close(ctx context.Context, convID string, actor Actor, note string) (routing.Conversation, error) {
	if err := maxLen("note", note, 4096); err != nil {
		return routing.Conversation{}, err
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		conv, err := e.store.GetConversation(ctx, convID)
		if err != nil {
			return routing.Conversation{}, err
		}
		if conv.Status == routing.ConvClosed {
			return conv, nil
		}
		if err := e.authorize(ctx, actor, conv); err != nil {
			return routing.Conversation{}, err
		}
		contact, err := e.store.GetContact(ctx, conv.ContactID)
		if err != nil {
			return routing.Conversation{}, err
		}
		now := e.clock.Now()
		next := conv
		next.Status, next.ClosedAt, next.PendingSince, next.BotActive = routing.ConvClosed, ptr(now), time.Time{}, false
		tx := store.Tx{Conversations: []store.ConversationWrite{{Value: next, ExpectVersion: conv.Version}}}
		if conv.AssigneeID != "" {
			tx.Loads = []store.LoadChange{{AgentID: conv.AssigneeID, Delta: -1, At: now}}
		}
		if contact.OpenConversationID == conv.ID {
			c := contact
			c.OpenConversationID, c.LastConversationID, c.UpdatedAt = "", conv.ID, now
			tx.Contacts = []store.ContactWrite{{Value: c, ExpectVersion: contact.Version}}
		}
		tx.Events = []routing.Event{e.event(conv.ID, routing.EvClosed, actor, trimmed(note), map[string]any{"agentId": conv.AssigneeID})}
		tx.Outbox = []store.OutboxEvent{e.busEvent(conv.ID, events.ConversationClosed, events.ConversationClosedDetail{ConversationID: conv.ID, AgentID: conv.AssigneeID, By: actor.String()})}
		if conv.AssigneeID != "" {
			tx.Outbox = append(tx.Outbox, e.released(conv.AssigneeID, "closed"))
		}
		err = e.commit(ctx, tx)
		if retryable(err) {
			continue
		}
		if err != nil {
			return routing.Conversation{}, err
		}
		next.Version = conv.Version + 1
		if conv.AssigneeID != "" {
			e.afterRelease(ctx, conv.AssigneeID)
		}
		return next, nil
	}
	return routing.Conversation{}, routing.Errorf(routing.CodeUnavailable, "conversation %s is changing too fast, retry", convID)
}

// Escalate marks a conversation for staff attention with a type and a summary,
// notifies supervisors and the assignee, and optionally hands it to a team.
func (e *Engine) Escalate(ctx context.Context, convID string, typ routing.EscalationType, summary, teamID string, actor Actor) (routing.Conversation, error) {
	if !typ.Valid() {
		return routing.Conversation{}, routing.Invalid("type", "type must be one of emergency, complaint, appointment, purchase, billing, general")
	}
	if err := nonEmpty("summary", summary); err != nil {
		return routing.Conversation{}, err
	}
	if err := maxLen("summary", summary, 4096); err != nil {
		return routing.Conversation{}, err
	}
	summary = trimmed(summary)
	if teamID != "" {
		if _, err := e.store.GetTeam(ctx, teamID); routing.IsNotFound(err) {
			return routing.Conversation{}, routing.Invalid("teamId", "team %q does not exist", teamID)
		}
	}
	staff, err := e.staff(ctx)
	if err != nil {
		return routing.Conversation{}, err
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		conv, err := e.store.GetConversation(ctx, convID)
		if err != nil {
			return routing.Conversation{}, err
		}
		if conv.Status == routing.ConvClosed {
			return routing.Conversation{}, routing.Conflict("closed", "conversation %s is closed", convID)
		}
		if err := e.authorize(ctx, actor, conv); err != nil {
			return routing.Conversation{}, err
		}
		now := e.clock.Now()
		next := conv
		next.Escalation = &routing.Escalation{Type: typ, Summary: summary, By: actor.String(), At: now}
		tx := store.Tx{Conversations: []store.ConversationWrite{{Value: next, ExpectVersion: conv.Version}}}
		tx.Events = []routing.Event{e.event(conv.ID, routing.EvEscalated, actor, summary, map[string]any{"type": string(typ), "rank": typ.Rank(), "teamId": teamID})}
		text := fmt.Sprintf("Escalation (%s) on conversation %s: %s", typ, conv.ID, summary)
		notified := map[string]bool{}
		for _, id := range append(staff, conv.AssigneeID) {
			if id != "" && !notified[id] && id != actor.ID {
				notified[id] = true
				tx.Notifications = append(tx.Notifications, e.notify(id, routing.NoteEscalation, conv.ID, text))
			}
		}
		err = e.commit(ctx, tx)
		if retryable(err) {
			continue
		}
		if err != nil {
			return routing.Conversation{}, err
		}
		next.Version = conv.Version + 1
		if teamID != "" {
			if _, err := e.assign(ctx, convID, Target{TeamID: teamID}, System, "escalated ("+string(typ)+"): "+summary, 0, explicit); err != nil {
				return next, err
			}
			return e.store.GetConversation(ctx, convID)
		}
		if next.Status == routing.ConvPending && next.TeamID != "" {
			e.DrainTeam(ctx, next.TeamID) // a new rank may put it first
		}
		return next, nil
	}
	return routing.Conversation{}, routing.Errorf(routing.CodeUnavailable, "conversation %s is changing too fast, retry", convID)
}

// staff lists supervisors and admins (who receive escalations).
func (e *Engine) staff(ctx context.Context) ([]string, error) {
	var out []string
	err := store.ForEach(ctx, e.store.ListAgents, func(a routing.Agent) error {
		if a.Role.Rank() >= routing.RoleSupervisor.Rank() {
			out = append(out, a.ID)
		}
		return nil
	})
	return out, err
}

var mention = regexp.MustCompile(`@([A-Za-z0-9_.\-]+)`)

// Comment adds an internal note to a conversation. The assignee and every
// mentioned agent (@id) are notified.
func (e *Engine) Comment(ctx context.Context, convID, text string, actor Actor) (routing.Event, error) {
	if err := nonEmpty("text", text); err != nil {
		return routing.Event{}, err
	}
	if err := maxLen("text", text, 8192); err != nil {
		return routing.Event{}, err
	}
	conv, err := e.store.GetConversation(ctx, convID)
	if err != nil {
		return routing.Event{}, err
	}
	if err := e.authorize(ctx, actor, conv); err != nil {
		return routing.Event{}, err
	}
	text = trimmed(text)
	ev := e.event(conv.ID, routing.EvComment, actor, text, nil)
	tx := store.Tx{Events: []routing.Event{ev}}
	notified := map[string]bool{actor.ID: true}
	targets := []string{conv.AssigneeID}
	for _, m := range mention.FindAllStringSubmatch(text, -1) {
		targets = append(targets, m[1])
	}
	var mentioned []string
	for i, id := range targets {
		if id == "" || notified[id] {
			continue
		}
		if i > 0 { // mentions must name real agents
			if _, err := e.store.GetAgent(ctx, id); err != nil {
				continue
			}
			mentioned = append(mentioned, id)
		}
		notified[id] = true
		tx.Notifications = append(tx.Notifications, e.notify(id, routing.NoteComment, conv.ID, fmt.Sprintf("Comment on conversation %s: %s", conv.ID, text)))
	}
	if len(mentioned) > 0 {
		ev.Data = map[string]any{"mentions": mentioned}
		tx.Events[0] = ev
	}
	if err := e.commit(ctx, tx); err != nil {
		return routing.Event{}, err
	}
	return ev, nil
}

// SendMessage replies to the contact through the conversation's channel and
// records the outcome on the timeline. A delivery failure is recorded
// (message.failed) and returned as unavailable; it never blocks a workflow.
func (e *Engine) SendMessage(ctx context.Context, convID string, msg Outbound, actor Actor) (routing.Event, error) {
	if err := nonEmpty("text", msg.Text); err != nil {
		return routing.Event{}, err
	}
	if err := maxLen("text", msg.Text, 4096); err != nil {
		return routing.Event{}, err
	}
	conv, err := e.store.GetConversation(ctx, convID)
	if err != nil {
		return routing.Event{}, err
	}
	if err := e.authorize(ctx, actor, conv); err != nil {
		return routing.Event{}, err
	}
	if msg.Fallback && !actor.IsBot() {
		return routing.Event{}, routing.Invalid("fallback", "only a bot reports a fallback")
	}
	contact, err := e.store.GetContact(ctx, conv.ContactID)
	if err != nil {
		return routing.Event{}, err
	}
	if msg.Key == "" {
		msg.Key = e.ids.New("out")
	}
	data := map[string]any{"text": msg.Text, "key": msg.Key}
	if len(msg.Options) > 0 {
		opts := make([]any, len(msg.Options))
		for i, o := range msg.Options {
			opts[i] = map[string]any{"id": o.ID, "label": o.Label}
		}
		data["options"] = opts
	}
	typ := routing.EvMessageOut
	var sendErr error
	if e.outbox != nil {
		ch, err := e.store.GetChannel(ctx, conv.ChannelID)
		if err != nil {
			sendErr = err
		} else {
			var pid string
			pid, sendErr = e.outbox.Deliver(ctx, ch, contact, msg)
			if pid != "" {
				data["providerMessageId"] = pid
			}
		}
	}
	if sendErr != nil {
		typ = routing.EvMessageFailed
		data["error"] = string(routing.ErrorCode(sendErr))
		if re, ok := sendErr.(*routing.Error); ok {
			data["error"] = re.Message
		}
	}
	ev := e.event(conv.ID, typ, actor, "", data)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		tx := store.Tx{Events: []routing.Event{ev}}
		if sendErr == nil {
			next := conv
			next.LastOutgoingAt = ptr(e.clock.Now())
			if actor.IsPerson() && !actor.IsBot() && next.BotActive {
				next.BotActive = false
			}
			if actor.IsBot() && next.Bot != nil {
				e.botReplied(ctx, &tx, &next, msg.Fallback)
			}
			tx.Conversations = []store.ConversationWrite{{Value: next, ExpectVersion: conv.Version}}
		}
		commit := e.commit
		if sendErr != nil {
			commit = e.store.Commit // a failure record is not the step's effect: a retry sends again
		}
		err := commit(ctx, tx)
		if routing.IsConflict(err, routing.ReasonVersion) {
			if conv, err = e.store.GetConversation(ctx, convID); err != nil {
				return routing.Event{}, err
			}
			continue
		}
		if err != nil {
			return routing.Event{}, err
		}
		if sendErr != nil {
			return ev, routing.Errorf(routing.CodeUnavailable, "the message could not be delivered; it is recorded on the timeline")
		}
		return ev, nil
	}
	return routing.Event{}, routing.Errorf(routing.CodeUnavailable, "conversation %s is changing too fast, retry", convID)
}

// SetBotActive records whether an automated assistant is replying.
func (e *Engine) SetBotActive(ctx context.Context, convID string, active bool, actor Actor) error {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		conv, err := e.store.GetConversation(ctx, convID)
		if err != nil {
			return err
		}
		if conv.BotActive == active {
			return nil
		}
		next := conv
		next.BotActive = active
		err = e.store.Commit(ctx, store.Tx{
			Conversations: []store.ConversationWrite{{Value: next, ExpectVersion: conv.Version}},
			Events:        []routing.Event{e.event(conv.ID, routing.EvBotChanged, actor, "", map[string]any{"botActive": active})},
		})
		if routing.IsConflict(err, routing.ReasonVersion) {
			continue
		}
		return err
	}
	return routing.Errorf(routing.CodeUnavailable, "conversation %s is changing too fast, retry", convID)
}

// ContactPatch changes a contact; nil fields stay as they are. A custom field
// set to "" is removed.
type ContactPatch struct {
	Name     *string           `json:"name,omitempty"`
	Language *string           `json:"language,omitempty"`
	Country  *string           `json:"country,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
}

var (
	languageRe = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
	countryRe  = regexp.MustCompile(`^[A-Z]{2}$`)
	fieldRe    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
)

// UpdateContact edits a contact and records it on its open conversation's
// timeline; each changed field is published (contact.field_changed).
func (e *Engine) UpdateContact(ctx context.Context, contactID string, p ContactPatch, actor Actor, expectVersion int64) (routing.Contact, error) {
	if p.Name != nil {
		if err := maxLen("name", *p.Name, 200); err != nil {
			return routing.Contact{}, err
		}
	}
	if p.Language != nil && *p.Language != "" && !languageRe.MatchString(*p.Language) {
		return routing.Contact{}, routing.Invalid("language", "language must be an ISO 639 code such as es or pt-BR")
	}
	if p.Country != nil && *p.Country != "" && !countryRe.MatchString(*p.Country) {
		return routing.Contact{}, routing.Invalid("country", "country must be an ISO 3166 alpha-2 code such as ES")
	}
	for k, v := range p.Fields {
		if !fieldRe.MatchString(k) {
			return routing.Contact{}, routing.Invalid("fields."+k, "field names are lowercase letters, digits and _")
		}
		if k == "name" || k == "phone" || k == "language" || k == "country" {
			return routing.Contact{}, routing.Invalid("fields."+k, "%s is a built-in field; set it directly", k)
		}
		if err := maxLen("fields."+k, v, 1024); err != nil {
			return routing.Contact{}, err
		}
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		c, err := e.store.GetContact(ctx, contactID)
		if err != nil {
			return routing.Contact{}, err
		}
		if attempt == 0 && expectVersion > 0 && c.Version != expectVersion {
			return routing.Contact{}, routing.Conflict(routing.ReasonVersion, "contact %s is at version %d, not %d", contactID, c.Version, expectVersion)
		}
		if actor.IsPerson() && !actor.atLeast(routing.RoleSupervisor) {
			if c.OpenConversationID == "" {
				return routing.Contact{}, forbidden("contact %s has no open conversation of yours", contactID)
			}
			conv, err := e.store.GetConversation(ctx, c.OpenConversationID)
			if err != nil {
				return routing.Contact{}, err
			}
			if err := e.authorize(ctx, actor, conv); err != nil {
				return routing.Contact{}, err
			}
		}
		next := c
		var changes []events.ContactFieldChangedDetail
		set := func(field string, dst *string, v *string) {
			if v != nil && *dst != trimmed(*v) {
				changes = append(changes, events.ContactFieldChangedDetail{ContactID: c.ID, ConversationID: c.OpenConversationID, Field: field, Old: *dst, New: trimmed(*v)})
				*dst = trimmed(*v)
			}
		}
		set("name", &next.Name, p.Name)
		set("language", &next.Language, p.Language)
		set("country", &next.Country, p.Country)
		if len(p.Fields) > 0 {
			next.Fields = map[string]string{}
			for k, v := range c.Fields {
				next.Fields[k] = v
			}
			for k, v := range p.Fields {
				if next.Fields[k] != v {
					changes = append(changes, events.ContactFieldChangedDetail{ContactID: c.ID, ConversationID: c.OpenConversationID, Field: k, Old: next.Fields[k], New: v})
				}
				if v == "" {
					delete(next.Fields, k)
				} else {
					next.Fields[k] = v
				}
			}
		}
		if len(changes) == 0 {
			return c, nil
		}
		next.UpdatedAt = e.clock.Now()
		tx := store.Tx{Contacts: []store.ContactWrite{{Value: next, ExpectVersion: c.Version}}}
		if c.OpenConversationID != "" {
			data := map[string]any{}
			for _, ch := range changes {
				data[ch.Field] = map[string]any{"old": ch.Old, "new": ch.New}
			}
			tx.Events = []routing.Event{e.event(c.OpenConversationID, routing.EvContactUpdated, actor, "", data)}
		}
		key := c.ID
		if c.OpenConversationID != "" {
			key = c.OpenConversationID // ordered with the conversation's other events
		}
		for _, ch := range changes {
			tx.Outbox = append(tx.Outbox, e.busEvent(key, events.ContactFieldChanged, ch))
		}
		err = e.commit(ctx, tx)
		if routing.IsConflict(err, routing.ReasonVersion) {
			continue
		}
		if err != nil {
			return routing.Contact{}, err
		}
		next.Version = c.Version + 1
		return next, nil
	}
	return routing.Contact{}, routing.Errorf(routing.CodeUnavailable, "contact %s is changing too fast, retry", contactID)
}

// authorize checks that actor may act on conv: supervisors and admins on all,
// agents on conversations assigned to them or pending in one of their teams.
func (e *Engine) authorize(ctx context.Context, actor Actor, conv routing.Conversation) error {
	if actor.IsBot() {
		if conv.Status == routing.ConvBot {
			return nil
		}
		return forbidden("conversation %s is not in the bot phase: a bot acts only on those", conv.ID)
	}
	if conv.Status == routing.ConvBot && actor.IsPerson() {
		return nil // any person may look at, or hand off, what the bot holds
	}
	if actor.atLeast(routing.RoleSupervisor) {
		return nil
	}
	if conv.AssigneeID == actor.ID {
		return nil
	}
	if conv.Status == routing.ConvPending {
		agent, err := e.store.GetAgent(ctx, actor.ID)
		if err == nil && (conv.TeamID == "" || agent.InTeam(conv.TeamID)) {
			return nil
		}
	}
	return forbidden("conversation %s is not assigned to you", conv.ID)
}

// CanView reports whether actor may see conv (the same rule as acting on it).
func (e *Engine) CanView(ctx context.Context, actor Actor, conv routing.Conversation) error {
	return e.authorize(ctx, actor, conv)
}
