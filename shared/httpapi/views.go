package httpapi

import (
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// The API's response shapes. They are mapped field by field from the stored
// records, so a field added to a record (a task token, a round-robin cursor)
// is not served until a view names it. Unset values are omitted: a time that
// has not happened, an empty id, an empty map.

// views maps each record to its view.
func views[T, V any](xs []T, view func(T) V) []V {
	out := make([]V, len(xs))
	for i, x := range xs {
		out[i] = view(x)
	}
	return out
}

// timePtr is t, or nil when t is the zero time (omitted from the JSON).
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// timeOpt is *t, or nil when t is nil or the zero time.
func timeOpt(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return timePtr(*t)
}

// contactView is a contact as the API shows it.
type contactView struct {
	ID                 string            `json:"id"`
	ChannelID          string            `json:"channelId"`
	ExternalID         string            `json:"externalId"`
	Name               string            `json:"name,omitempty"`
	DisplayName        string            `json:"displayName"`
	Phone              string            `json:"phone,omitempty"`
	Language           string            `json:"language,omitempty"`
	Country            string            `json:"country,omitempty"`
	Fields             map[string]string `json:"fields,omitempty"`
	OpenConversationID string            `json:"openConversationId,omitempty"`
	LastConversationID string            `json:"lastConversationId,omitempty"`
	CreatedAt          *time.Time        `json:"createdAt,omitempty"`
	UpdatedAt          *time.Time        `json:"updatedAt,omitempty"`
	Version            int64             `json:"version"`
}

func viewContact(c routing.Contact) contactView {
	return contactView{
		ID: c.ID, ChannelID: c.ChannelID, ExternalID: c.ExternalID, Name: c.Name, DisplayName: c.DisplayName(),
		Phone: c.Phone, Language: c.Language, Country: c.Country, Fields: nonEmptyMap(c.Fields),
		OpenConversationID: c.OpenConversationID, LastConversationID: c.LastConversationID,
		CreatedAt: timePtr(c.CreatedAt), UpdatedAt: timePtr(c.UpdatedAt), Version: c.Version,
	}
}

type escalationView struct {
	Type    routing.EscalationType `json:"type"`
	Summary string                 `json:"summary"`
	By      string                 `json:"by,omitempty"`
	At      *time.Time             `json:"at,omitempty"`
}

// questionView is the question a workflow waits on, without its task token.
type questionView struct {
	WorkflowID  string                 `json:"workflowId"`
	Text        string                 `json:"text"`
	Options     []routing.AnswerOption `json:"options"`
	Attempts    int                    `json:"attempts"`
	MaxAttempts int                    `json:"maxAttempts"`
	AskedAt     *time.Time             `json:"askedAt,omitempty"`
}

// conversationView is a conversation as the API shows it.
type conversationView struct {
	ID             string                     `json:"id"`
	ContactID      string                     `json:"contactId"`
	ChannelID      string                     `json:"channelId"`
	Status         routing.ConversationStatus `json:"status"`
	TeamID         string                     `json:"teamId,omitempty"`
	AssigneeID     string                     `json:"assigneeId,omitempty"`
	Priority       int                        `json:"priority"` // queue rank: 1 most urgent, 9 not escalated
	Escalation     *escalationView            `json:"escalation,omitempty"`
	BotActive      bool                       `json:"botActive"`
	Source         string                     `json:"source"`
	OpenedAt       *time.Time                 `json:"openedAt,omitempty"`
	PendingSince   *time.Time                 `json:"pendingSince,omitempty"`
	AssignedAt     *time.Time                 `json:"assignedAt,omitempty"`
	ClosedAt       *time.Time                 `json:"closedAt,omitempty"`
	LastIncomingAt *time.Time                 `json:"lastIncomingAt,omitempty"`
	LastOutgoingAt *time.Time                 `json:"lastOutgoingAt,omitempty"`
	Assignments    int                        `json:"assignments"`
	Question       *questionView              `json:"question,omitempty"`
	Bot            *botPhaseView              `json:"bot,omitempty"`
	Handoff        *handoffView               `json:"handoff,omitempty"`
	Version        int64                      `json:"version"`
	Contact        *contactView               `json:"contact,omitempty"`
}

// botPhaseView is a conversation's time in the bot's hands.
type botPhaseView struct {
	Since     *time.Time `json:"since,omitempty"`
	LastReply *time.Time `json:"lastReply,omitempty"`
	Fallbacks int        `json:"fallbacks"`
}

// handoffView is how a conversation left the bot for people.
type handoffView struct {
	At      *time.Time `json:"at,omitempty"`
	By      string     `json:"by"`
	Reason  string     `json:"reason"`
	Summary string     `json:"summary,omitempty"`
	TeamID  string     `json:"teamId,omitempty"`
}

func viewConversation(c routing.Conversation) conversationView {
	v := conversationView{
		ID: c.ID, ContactID: c.ContactID, ChannelID: c.ChannelID, Status: c.Status, TeamID: c.TeamID,
		AssigneeID: c.AssigneeID, Priority: c.Rank(), BotActive: c.BotActive, Source: c.Source,
		OpenedAt: timePtr(c.OpenedAt), AssignedAt: timeOpt(c.AssignedAt), ClosedAt: timeOpt(c.ClosedAt),
		LastIncomingAt: timeOpt(c.LastIncomingAt), LastOutgoingAt: timeOpt(c.LastOutgoingAt),
		Assignments: c.Assignments, Version: c.Version,
	}
	if c.Status == routing.ConvPending {
		v.PendingSince = timePtr(c.PendingSince)
	}
	if e := c.Escalation; e != nil {
		v.Escalation = &escalationView{Type: e.Type, Summary: e.Summary, By: e.By, At: timePtr(e.At)}
	}
	if q := c.Question; q != nil {
		opts := q.Options
		if opts == nil {
			opts = []routing.AnswerOption{}
		}
		v.Question = &questionView{WorkflowID: q.WorkflowID, Text: q.Text, Options: opts, Attempts: q.Attempts, MaxAttempts: q.MaxAttempts, AskedAt: timePtr(q.AskedAt)}
	}
	if b := c.Bot; b != nil {
		v.Bot = &botPhaseView{Since: timePtr(b.Since), LastReply: timeOpt(b.LastReply), Fallbacks: b.Fallbacks}
	}
	if h := c.Handoff; h != nil {
		v.Handoff = &handoffView{At: timePtr(h.At), By: h.By, Reason: h.Reason, Summary: h.Summary, TeamID: h.TeamID}
	}
	return v
}

// agentView is an agent as the API shows it.
type agentView struct {
	ID               string              `json:"id"`
	Name             string              `json:"name"`
	Email            string              `json:"email,omitempty"`
	Role             routing.Role        `json:"role"`
	Status           routing.AgentStatus `json:"status"`
	StatusSince      *time.Time          `json:"statusSince,omitempty"`
	MaxConcurrent    int                 `json:"maxConcurrent"`
	OpenCount        int                 `json:"openCount"`
	Teams            []string            `json:"teams"`
	SessionExpiresAt *time.Time          `json:"sessionExpiresAt,omitempty"`
	SessionWarned    bool                `json:"sessionWarned,omitempty"`
	LastAssignedAt   *time.Time          `json:"lastAssignedAt,omitempty"`
	CreatedAt        *time.Time          `json:"createdAt,omitempty"`
	Version          int64               `json:"version"`
}

func viewAgent(a routing.Agent) agentView {
	v := agentView{
		ID: a.ID, Name: a.Name, Email: a.Email, Role: a.Role, Status: a.Status, StatusSince: timePtr(a.StatusSince),
		MaxConcurrent: a.MaxConcurrent, OpenCount: a.OpenCount, Teams: nonNil(a.Teams),
		SessionWarned: a.SessionWarned, LastAssignedAt: timePtr(a.LastAssignedAt), CreatedAt: timePtr(a.CreatedAt), Version: a.Version,
	}
	if a.Status != routing.StatusOffline {
		v.SessionExpiresAt = timePtr(a.SessionExpiresAt)
	}
	return v
}

// teamView is a team as the API shows it (without its round-robin cursor).
type teamView struct {
	ID         string           `json:"id"`
	Name       string           `json:"name"`
	Strategy   routing.Strategy `json:"strategy"`
	OnlineOnly bool             `json:"onlineOnly"`
	Mode       routing.Mode     `json:"mode"`
	Members    []string         `json:"members"`
	CreatedAt  *time.Time       `json:"createdAt,omitempty"`
	Version    int64            `json:"version"`
}

func viewTeam(t routing.Team) teamView {
	return teamView{ID: t.ID, Name: t.Name, Strategy: t.Strategy, OnlineOnly: t.OnlineOnly, Mode: t.Mode, Members: nonNil(t.Members), CreatedAt: timePtr(t.CreatedAt), Version: t.Version}
}

// channelView is a channel as the API shows it: its secret reference, never
// a secret value.
type channelView struct {
	ID         string            `json:"id"`
	Provider   string            `json:"provider"`
	ExternalID string            `json:"externalId"`
	Name       string            `json:"name"`
	SecretRef  string            `json:"secretRef,omitempty"`
	Config     map[string]string `json:"config,omitempty"`
	CreatedAt  *time.Time        `json:"createdAt,omitempty"`
	Version    int64             `json:"version"`
}

func viewChannel(c routing.Channel) channelView {
	return channelView{ID: c.ID, Provider: c.Provider, ExternalID: c.ExternalID, Name: c.Name, SecretRef: shownRef(c.SecretRef), Config: nonEmptyMap(c.Config), CreatedAt: timePtr(c.CreatedAt), Version: c.Version}
}

// shownRef is ref when it is a reference of a known scheme (env:, file:,
// aws:); a value stored before references were checked may be the secret
// itself and is not shown.
func shownRef(ref string) string {
	scheme, name, ok := strings.Cut(ref, ":")
	if !ok || name == "" {
		return ""
	}
	switch scheme {
	case "env", "file", "aws":
		return ref
	}
	return ""
}

// meView is the signed-in user.
type meView struct {
	ID    string       `json:"id"`
	Role  routing.Role `json:"role"`
	Agent *agentView   `json:"agent,omitempty"`
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func nonEmptyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// eventView is a timeline entry as the API shows it.
type eventView struct {
	ID             string            `json:"id"`
	ConversationID string            `json:"conversationId"`
	At             time.Time         `json:"at"`
	Type           routing.EventType `json:"type"`
	Actor          string            `json:"actor"`
	Note           string            `json:"note,omitempty"`
	Data           map[string]any    `json:"data,omitempty"`
}

func viewEvent(e routing.Event) eventView {
	return eventView{ID: e.ID, ConversationID: e.ConversationID, At: e.At.UTC(), Type: e.Type, Actor: e.Actor, Note: e.Note, Data: e.Data}
}

// notificationView is a notice as the API shows it.
type notificationView struct {
	ID             string                   `json:"id"`
	AgentID        string                   `json:"agentId"`
	At             time.Time                `json:"at"`
	Type           routing.NotificationType `json:"type"`
	ConversationID string                   `json:"conversationId,omitempty"`
	Text           string                   `json:"text"`
}

func viewNotification(n routing.Notification) notificationView {
	return notificationView{ID: n.ID, AgentID: n.AgentID, At: n.At.UTC(), Type: n.Type, ConversationID: n.ConversationID, Text: n.Text}
}
