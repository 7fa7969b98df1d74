package store

import (
	"fmt"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Validate refuses a malformed Tx with invalid_argument naming the field
// (conversations[0].id): the checks of the contract, the same for every
// backend, made before anything is read or written. A Tx is malformed when
//
//   - an id or key is missing: of a write, a version (its workflow), a load
//     (its agent), a cursor (its team), a claim, an event (and its
//     conversation), a notification (and its agent), an outbox entry (its
//     key and event id), a delete; a contact's channel and external id;
//   - a conversation's status is unknown;
//   - an ExpectVersion is negative, or a delete has none;
//   - a load's Delta is not +1 or -1;
//   - a claim's value is longer than MaxClaimValue;
//   - a delete's kind is unknown;
//   - one item is touched twice: written twice, or written and deleted, an
//     agent written (or deleted) and its load changed, a cursor set twice,
//     the same version, claim or outbox event twice. (Events and
//     notifications are puts: the last of one key in a Tx wins.)
//
// Backends check only their own limits after it (DynamoDB's items per
// transaction, bbolt's key separator).
func Validate(tx Tx) error {
	v := validator{seen: map[string]string{}}
	for i, w := range tx.Conversations {
		f := v.write("conversations", i, "conversation", w.Value.ID, w.ExpectVersion)
		if v.err == nil && !w.Value.Status.Valid() {
			v.fail(f+".status", "unknown conversation status %q", w.Value.Status)
		}
	}
	for i, w := range tx.Contacts {
		f := v.write("contacts", i, "contact", w.Value.ID, w.ExpectVersion)
		v.required(f+".channelId", w.Value.ChannelID)
		v.required(f+".externalId", w.Value.ExternalID)
	}
	for i, w := range tx.Agents {
		v.write("agents", i, "agent", w.Value.ID, w.ExpectVersion)
	}
	for i, w := range tx.Teams {
		v.write("teams", i, "team", w.Value.ID, w.ExpectVersion)
	}
	for i, w := range tx.Channels {
		v.write("channels", i, "channel", w.Value.ID, w.ExpectVersion)
	}
	for i, w := range tx.Workflows {
		v.write("workflows", i, "workflow", w.Value.ID, w.ExpectVersion)
	}
	for i, ver := range tx.Versions {
		v.item(index("versions", i)+".workflowId", "workflow version", ver.WorkflowID, fmt.Sprint(ver.Number))
	}
	for i, d := range tx.Deletes {
		f := index("deletes", i)
		if !d.Kind.Valid() {
			v.fail(f+".kind", "%q is not agent, team, channel or workflow", d.Kind)
			continue
		}
		v.item(f+".id", string(d.Kind), d.ID)
		if v.err == nil && d.ExpectVersion <= 0 {
			v.fail(f+".expectVersion", "a delete needs the version it removes")
		}
	}
	for i, l := range tx.Loads {
		f := index("loads", i)
		v.item(f+".agentId", "agent", l.AgentID)
		if v.err == nil && l.Delta != 1 && l.Delta != -1 {
			v.fail(f+".delta", "delta must be +1 or -1, not %d", l.Delta)
		}
	}
	for i, c := range tx.Cursors {
		v.item(index("cursors", i)+".teamId", "cursor of team", c.TeamID)
	}
	for i, c := range tx.Claims {
		f := index("claims", i)
		v.item(f+".key", "claim", c.Key)
		if v.err == nil && len(c.Value) > MaxClaimValue {
			v.fail(f+".value", "a claim's value is limited to %d bytes", MaxClaimValue)
		}
	}
	// Events and notifications are puts that overwrite (the last of one key
	// in a Tx wins): only their ids are checked.
	for i, e := range tx.Events {
		f := index("events", i)
		v.required(f+".id", e.ID)
		v.required(f+".conversationId", e.ConversationID)
	}
	for i, n := range tx.Notifications {
		f := index("notifications", i)
		v.required(f+".id", n.ID)
		v.required(f+".agentId", n.AgentID)
	}
	for i, o := range tx.Outbox {
		f := index("outbox", i)
		v.required(f+".key", o.Key)
		v.item(f+".event.id", "outbox event", o.Event.ID)
	}
	return v.err
}

// validator keeps the first error and the items seen so far.
type validator struct {
	err  error
	seen map[string]string // kind + ids -> the field that touched it first
}

func (v *validator) fail(field, format string, args ...any) {
	if v.err == nil {
		v.err = routing.Invalid(field, "%s: %s", field, fmt.Sprintf(format, args...))
	}
}

func (v *validator) required(field, value string) {
	if value == "" {
		v.fail(field, "required")
	}
}

// write checks the i-th versioned write of list and returns its field.
func (v *validator) write(list string, i int, kind, id string, expect int64) string {
	f := index(list, i)
	v.item(f+".id", kind, id)
	if expect < 0 {
		v.fail(f+".expectVersion", "must not be negative")
	}
	return f
}

// item checks one stored item: its id (the first part) is present and no
// earlier part of the Tx touched it.
func (v *validator) item(field, kind string, parts ...string) {
	v.required(field, parts[0])
	if v.err != nil {
		return
	}
	key := kind + "\x00" + fmt.Sprintf("%q", parts)
	if first, ok := v.seen[key]; ok {
		v.fail(field, "the transaction touches %s %q twice (first at %s)", kind, parts[0], first)
		return
	}
	v.seen[key] = field
}

func index(list string, i int) string { return fmt.Sprintf("%s[%d]", list, i) }
