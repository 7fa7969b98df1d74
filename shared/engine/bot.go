package engine

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// The bot phase (the Customer Service seed's "derivación"): a channel with
// config bot=true opens conversations in a chatbot's hands (status bot).
// They are in no queue and nobody is assigned; the contact's messages reach
// the bot as message.received events (and the timeline), the bot answers
// with a token of role bot, and the conversation is handed off to people
// (Handoff) by the bot, by a person, by a workflow step, or by the channel's
// rules. Then it is pending and routed like any other: by capacity on an
// automatic team, or taken by hand on a manual one.

// Channel config keys of the bot phase and its handoff rules.
const (
	CfgBot             = "bot"                   // "true": conversations open in the bot phase
	CfgHandoffKeywords = "handoffKeywords"       // comma-separated words or phrases; "handoffKeywords.<lang>" per contact language
	CfgHandoffFallback = "handoffAfterFallbacks" // hand off when the bot reported its fallback this many times
	CfgHandoffSilence  = "handoffAfterSilence"   // hand off when the bot has not answered a contact's message for this long
	CfgHandoffMaxTime  = "handoffMaxBotTime"     // hand off when the bot phase has lasted this long
	CfgHandoffTeam     = "handoffTeam"           // the team handoffs go to (else the channel's team)
)

// botRules are a channel's handoff rules.
type botRules struct {
	on        bool
	keywords  map[string][]string // language ("" = any) -> normalised keywords
	fallbacks int
	silence   time.Duration
	maxTime   time.Duration
	team      string
}

// parseBotRules reads a channel's rules; errors name the config key.
func parseBotRules(cfg map[string]string) (botRules, error) {
	r := botRules{on: cfg[CfgBot] == "true", keywords: map[string][]string{}, team: cfg[CfgHandoffTeam]}
	for k, v := range cfg {
		lang, ok := strings.CutPrefix(k, CfgHandoffKeywords)
		if !ok || (lang != "" && !strings.HasPrefix(lang, ".")) {
			continue
		}
		for _, w := range strings.Split(v, ",") {
			if w = normalise(w); w != "" {
				r.keywords[strings.TrimPrefix(lang, ".")] = append(r.keywords[strings.TrimPrefix(lang, ".")], w)
			}
		}
	}
	if v := cfg[CfgHandoffFallback]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return r, routing.Invalid("config."+CfgHandoffFallback, "%s must be a whole number of at least 1", CfgHandoffFallback)
		}
		r.fallbacks = n
	}
	for key, dst := range map[string]*time.Duration{CfgHandoffSilence: &r.silence, CfgHandoffMaxTime: &r.maxTime} {
		if v := cfg[key]; v != "" {
			d, err := parseDuration(v)
			if err != nil || d <= 0 {
				return r, routing.Invalid("config."+key, "%s must be a duration such as 90s, 5m, 2h or 1d", key)
			}
			*dst = d
		}
	}
	return r, nil
}

// parseDuration accepts Go durations and whole days ("1d").
func parseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil {
			return 0, err
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// normalise lower-cases s and turns punctuation into spaces, so keywords
// match whole words: "¡Quiero un agente!" holds "agente".
func normalise(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return ' '
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// asksForPerson reports whether text holds one of the keywords for the
// contact's language or for any language.
func (r botRules) asksForPerson(text, lang string) bool {
	t := " " + normalise(text) + " "
	for _, l := range []string{"", strings.ToLower(lang)} {
		for _, w := range r.keywords[l] {
			if strings.Contains(t, " "+w+" ") {
				return true
			}
		}
	}
	return false
}

func (e *Engine) channelRules(ctx context.Context, channelID string) botRules {
	ch, err := e.store.GetChannel(ctx, channelID)
	if err != nil {
		return botRules{}
	}
	r, _ := parseBotRules(ch.Config) // validated when the channel was saved
	return r
}

// enterBot puts a new or reopened conversation in the bot's hands.
func enterBot(c *routing.Conversation, now time.Time) {
	c.Status, c.AssigneeID, c.PendingSince, c.BotActive = routing.ConvBot, "", time.Time{}, true
	c.Bot, c.Handoff = &routing.BotPhase{Since: now}, nil
}

// handoff moves c (in the bot phase) to people within tx: pending, the
// handoff recorded, its escalation if any, a timeline entry and the
// conversation.handoff event that routes it.
func (e *Engine) handoff(tx *store.Tx, c *routing.Conversation, h routing.Handoff, actor Actor, esc routing.EscalationType) {
	now := e.clock.Now()
	h.At, h.By = now, actor.String()
	c.Status, c.PendingSince, c.BotActive, c.Handoff = routing.ConvPending, now, false, &h
	data := map[string]any{"reason": h.Reason}
	if h.Summary != "" {
		data["summary"] = h.Summary
	}
	if h.TeamID != "" {
		data["team"] = h.TeamID
	}
	if esc != "" {
		c.Escalation = &routing.Escalation{Type: esc, Summary: h.Summary, By: h.By, At: now}
		data["escalation"] = string(esc)
	}
	tx.Events = append(tx.Events, e.event(c.ID, routing.EvHandoff, actor, h.Summary, data))
	tx.Outbox = append(tx.Outbox, e.busEvent(c.ID, events.HandoffRequested, events.HandoffDetail{
		ConversationID: c.ID, ChannelID: c.ChannelID, Reason: h.Reason, By: h.By, TeamID: h.TeamID}))
}

// HandoffRequest is a request to hand a conversation to people.
type HandoffRequest struct {
	Reason         string                 `json:"reason"`
	TeamID         string                 `json:"teamId,omitempty"`
	Summary        string                 `json:"summary,omitempty"`
	EscalationType routing.EscalationType `json:"escalationType,omitempty"`
}

// Handoff hands a conversation in its bot phase to people: the bot, a
// person allowed on it, or a workflow step. A closed conversation is refused
// (409 closed), one not in the bot phase too (409 not_in_bot_phase).
func (e *Engine) Handoff(ctx context.Context, convID string, req HandoffRequest, actor Actor) (routing.Conversation, error) {
	req.Reason, req.Summary = trimmed(req.Reason), trimmed(req.Summary)
	if err := nonEmpty("reason", req.Reason); err != nil {
		return routing.Conversation{}, err
	}
	if err := maxLen("reason", req.Reason, 200); err != nil {
		return routing.Conversation{}, err
	}
	if err := maxLen("summary", req.Summary, 4096); err != nil {
		return routing.Conversation{}, err
	}
	if req.EscalationType != "" && !req.EscalationType.Valid() {
		return routing.Conversation{}, routing.Invalid("escalationType", "escalationType must be one of emergency, complaint, appointment, purchase, billing, general")
	}
	if req.TeamID != "" {
		if _, err := e.store.GetTeam(ctx, req.TeamID); routing.IsNotFound(err) {
			return routing.Conversation{}, routing.Invalid("teamId", "team %q does not exist", req.TeamID)
		}
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		conv, err := e.store.GetConversation(ctx, convID)
		if err != nil {
			return routing.Conversation{}, err
		}
		if err := e.authorize(ctx, actor, conv); err != nil {
			return routing.Conversation{}, err
		}
		switch conv.Status {
		case routing.ConvClosed:
			return routing.Conversation{}, routing.Conflict("closed", "conversation %s is closed: there is nothing to hand off", convID)
		case routing.ConvBot:
		default:
			return routing.Conversation{}, routing.Conflict("not_in_bot_phase", "conversation %s is %s, not in the bot phase: it is already with people", convID, conv.Status)
		}
		next := conv
		var tx store.Tx
		e.handoff(&tx, &next, routing.Handoff{Reason: req.Reason, Summary: req.Summary, TeamID: req.TeamID}, actor, req.EscalationType)
		tx.Conversations = []store.ConversationWrite{{Value: next, ExpectVersion: conv.Version}}
		err = e.commit(ctx, tx)
		if routing.IsConflict(err, routing.ReasonVersion) {
			continue
		}
		if err != nil {
			return routing.Conversation{}, err
		}
		next.Version = conv.Version + 1
		return next, nil
	}
	return routing.Conversation{}, routing.Errorf(routing.CodeUnavailable, "conversation %s is changing too fast, retry", convID)
}

// eachBotTimer calls fn with the earliest rule deadline of every
// conversation in its bot phase (reading each channel's rules once).
func (e *Engine) eachBotTimer(ctx context.Context, fn func(c routing.Conversation, reason string, at time.Time)) error {
	rules := map[string]botRules{}
	list := store.Conversations(e.store, store.ConversationFilter{Status: routing.ConvBot})
	return store.ForEach(ctx, list, func(c routing.Conversation) error {
		r, ok := rules[c.ChannelID]
		if !ok {
			r = e.channelRules(ctx, c.ChannelID)
			rules[c.ChannelID] = r
		}
		if reason, at, ok := r.nextTimer(c); ok {
			fn(c, reason, at)
		}
		return nil
	})
}

// botTimers hands off the bot-phase conversations whose silence or maximum
// time ran out; it returns how many. The sweep runs it.
func (e *Engine) botTimers(ctx context.Context) (int, error) {
	now := e.clock.Now()
	type timer struct{ conv, reason string }
	var due []timer // in listing order: the handoffs are written in a stable order
	err := e.eachBotTimer(ctx, func(c routing.Conversation, reason string, at time.Time) {
		if !now.Before(at) {
			due = append(due, timer{c.ID, reason})
		}
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range due {
		_, err := e.Handoff(ctx, d.conv, HandoffRequest{Reason: d.reason}, System)
		switch {
		case err == nil:
			n++
		case routing.IsConflict(err, ""):
			// handed off or closed meanwhile
		default:
			return n, err
		}
	}
	return n, nil
}

// nextTimer is the earliest rule deadline of a bot-phase conversation.
func (r botRules) nextTimer(c routing.Conversation) (reason string, at time.Time, ok bool) {
	if c.Status != routing.ConvBot || c.Bot == nil {
		return "", time.Time{}, false
	}
	consider := func(why string, t time.Time) {
		if !ok || t.Before(at) {
			reason, at, ok = why, t, true
		}
	}
	if r.maxTime > 0 {
		consider(routing.HandoffMaxBotTime, c.Bot.Since.Add(r.maxTime))
	}
	if r.silence > 0 && c.LastIncomingAt != nil && (c.Bot.LastReply == nil || c.Bot.LastReply.Before(*c.LastIncomingAt)) {
		consider(routing.HandoffBotSilent, c.LastIncomingAt.Add(r.silence))
	}
	return reason, at, ok
}

// NextBotDeadline is the earliest moment a bot rule fires, for hosts that
// schedule the sweep (the virtual clock).
func (e *Engine) NextBotDeadline(ctx context.Context) (time.Time, bool, error) {
	var best time.Time
	found := false
	err := e.eachBotTimer(ctx, func(_ routing.Conversation, _ string, at time.Time) {
		if !found || at.Before(best) {
			best, found = at, true
		}
	})
	return best, found, err
}

// BotStat is one channel's or team's bot figures.
type BotStat struct {
	ChannelID string `json:"channelId,omitempty"`
	TeamID    string `json:"teamId,omitempty"`
	// Conversations that had a bot phase; Contained: closed by then without people.
	Conversations int            `json:"conversations"`
	Contained     int            `json:"contained"`
	Containment   float64        `json:"containment"` // Contained / finished (contained + handed off)
	Handoffs      map[string]int `json:"handoffs"`    // by reason
}

// BotStats reports, per channel and per team the handoffs went to, how many
// conversations had a bot phase, how many the bot finished without people
// (closed in the bot phase) and the handoffs by reason.
func (e *Engine) BotStats(ctx context.Context, actor Actor) (channels, teams []BotStat, err error) {
	if err := requireRole(actor, routing.RoleSupervisor); err != nil {
		return nil, nil, err
	}
	byCh, byTeam := map[string]*BotStat{}, map[string]*BotStat{}
	get := func(m map[string]*BotStat, key string, team bool) *BotStat {
		s := m[key]
		if s == nil {
			s = &BotStat{Handoffs: map[string]int{}}
			if team {
				s.TeamID = key
			} else {
				s.ChannelID = key
			}
			m[key] = s
		}
		return s
	}
	err = store.ForEach(ctx, store.Conversations(e.store, store.ConversationFilter{}), func(c routing.Conversation) error {
		if c.Bot == nil {
			return nil
		}
		ch := get(byCh, c.ChannelID, false)
		ch.Conversations++
		switch {
		case c.Handoff != nil:
			ch.Handoffs[c.Handoff.Reason]++
			team := c.TeamID
			if team == "" {
				team = c.Handoff.TeamID
			}
			if team != "" {
				t := get(byTeam, team, true)
				t.Conversations++
				t.Handoffs[c.Handoff.Reason]++
			}
		case c.Status == routing.ConvClosed:
			ch.Contained++
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	flatten := func(m map[string]*BotStat) []BotStat {
		out := make([]BotStat, 0, len(m))
		for _, s := range m {
			handed := 0
			for _, n := range s.Handoffs {
				handed += n
			}
			if s.Contained+handed > 0 {
				s.Containment = float64(s.Contained) / float64(s.Contained+handed)
			}
			out = append(out, *s)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ChannelID+out[i].TeamID < out[j].ChannelID+out[j].TeamID })
		return out
	}
	return flatten(byCh), flatten(byTeam), nil
}

// inBotPhase refuses assignments while the bot holds the conversation.
func inBotPhase(c routing.Conversation) error {
	if c.Status == routing.ConvBot {
		return routing.Conflict("bot_phase", "conversation %s is in the bot phase: hand it off (POST /v1/conversations/%s/handoff) before assigning it", c.ID, c.ID)
	}
	return nil
}

func handoffNote(c routing.Conversation) string {
	if c.Handoff == nil {
		return ""
	}
	s := fmt.Sprintf(" (handed off by %s: %s)", c.Handoff.By, c.Handoff.Reason)
	if c.Handoff.Summary != "" {
		s += " Summary: " + c.Handoff.Summary
	}
	return s
}

// botReplied records a bot's reply on next within tx: its time, a fallback,
// and the handoff when the fallbacks reach the channel's limit.
func (e *Engine) botReplied(ctx context.Context, tx *store.Tx, next *routing.Conversation, fallback bool) {
	b := *next.Bot
	b.LastReply = ptr(e.clock.Now())
	if fallback {
		b.Fallbacks++
	}
	next.Bot = &b
	if !fallback {
		return
	}
	if r := e.channelRules(ctx, next.ChannelID); r.fallbacks > 0 && b.Fallbacks >= r.fallbacks {
		e.handoff(tx, next, routing.Handoff{Reason: routing.HandoffBotGaveUp, TeamID: r.team}, System, "")
	}
}
