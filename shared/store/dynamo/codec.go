package dynamo

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// Items keep the domain value as JSON in attribute doc, and copy to top-level
// attributes only what keys, indexes and conditions need. The JSON form is the
// domain's own (the same the embedded store and the API use), so round trips
// keep every field, nanoseconds included.

type item = map[string]types.AttributeValue

func sv(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func nv(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func (k key) item() item { return item{AttrPK: sv(k.pk), AttrSK: sv(k.sk)} }

func keyOf(it item) key { return key{str(it, AttrPK), str(it, AttrSK)} }

// str returns the string attribute name of it, or "".
func str(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// num returns the number attribute name of it; ok is false when it is absent.
func num(it item, name string) (int64, bool, error) {
	v, ok := it[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("attribute %s: %w", name, err)
	}
	return n, true, nil
}

func newItem(k key, typ string, doc any) (item, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", typ, err)
	}
	it := k.item()
	it[attrType] = sv(typ)
	it[attrDoc] = sv(string(b))
	return it, nil
}

func setIndex(it item, pkAttr, pk, skAttr, sk string) {
	it[pkAttr] = sv(pk)
	it[skAttr] = sv(sk)
}

func decodeDoc[T any](it item) (T, error) {
	var v T
	raw, ok := it[attrDoc].(*types.AttributeValueMemberS)
	if !ok {
		return v, fmt.Errorf("item %s/%s has no doc", str(it, AttrPK), str(it, AttrSK))
	}
	if err := json.Unmarshal([]byte(raw.Value), &v); err != nil {
		return v, fmt.Errorf("item %s/%s: decode doc: %w", str(it, AttrPK), str(it, AttrSK), err)
	}
	return v, nil
}

// conversationItem is a conversation's one item: the document, its version,
// and the keys of the five listings it appears in. The indexes project keys
// only, so a write that changes no index key (a message, a note) writes no
// index entry.
//
//	gsi1 QUEUE#<team> / <rank>#<pendingSince>#<id>  (pending with a team only: the queue)
//	gsi2 ASSIGNEE#<status>#<agent> / <openedAt>#<id> (assigned only)
//	gsi3 BYCONTACT#<contact> / <openedAt>#<id>
//	gsi4 BYTEAM#<status>#<team> / <openedAt>#<id>    (with a team only)
//	gsi5 CONVS#<status>#<shard> / <openedAt>#<id>    (every conversation, spread over convShards)
func conversationItem(c routing.Conversation) (item, error) {
	it, err := newItem(convKey(c.ID), "conversation", c)
	if err != nil {
		return nil, err
	}
	it[attrVersion] = nv(c.Version)
	sort := convSort(c)
	if c.TeamID != "" && c.Status == routing.ConvPending {
		setIndex(it, AttrGSI1PK, queuePK(c.TeamID), AttrGSI1SK, queueSort(c))
	}
	if c.AssigneeID != "" {
		setIndex(it, AttrGSI2PK, assigneePK(c.Status, c.AssigneeID), AttrGSI2SK, sort)
	}
	if c.ContactID != "" {
		setIndex(it, AttrGSI3PK, byContactPK(c.ContactID), AttrGSI3SK, sort)
	}
	if c.TeamID != "" {
		setIndex(it, AttrGSI4PK, byTeamPK(c.Status, c.TeamID), AttrGSI4SK, sort)
	}
	setIndex(it, AttrGSI5PK, convsPK(c.Status, convShard(c.ID)), AttrGSI5SK, sort)
	return it, nil
}

func contactItem(c routing.Contact) (item, error) {
	it, err := newItem(contactKey(c.ID), "contact", c)
	if err != nil {
		return nil, err
	}
	it[attrVersion] = nv(c.Version)
	it[attrChannelID] = sv(c.ChannelID)
	it[attrExternalID] = sv(c.ExternalID)
	return it, nil
}

func contactExtItem(c routing.Contact) item {
	it := contactExtKey(c.ChannelID, c.ExternalID).item()
	it[attrType] = sv("contact_key")
	it[attrContactID] = sv(c.ID)
	return it
}

// Agents: the profile item (versioned, listed in AGENTS) and the load item
// (openCount, lastAssignedAt and copies of maxConcurrent and status for the
// capacity condition). LoadChange touches only the load item, so assignments
// never rewrite the AGENTS index partition.

func agentProfileItem(a routing.Agent) (item, error) {
	a.OpenCount, a.LastAssignedAt = 0, time.Time{}
	it, err := newItem(agentKey(a.ID), "agent", a)
	if err != nil {
		return nil, err
	}
	it[attrVersion] = nv(a.Version)
	setIndex(it, AttrGSI1PK, listAgents, AttrGSI1SK, a.ID)
	return it, nil
}

func agentLoadItem(a routing.Agent) item {
	it := loadKey(a.ID).item()
	it[attrType] = sv("agent_load")
	it[attrOpenCount] = nv(0)
	it[attrMax] = nv(int64(a.MaxConcurrent))
	it[attrStatus] = sv(string(a.Status))
	return it
}

// agentFrom joins an agent's profile and load items.
func agentFrom(profile, load item) (routing.Agent, error) {
	a, err := decodeDoc[routing.Agent](profile)
	if err != nil {
		return a, err
	}
	if load == nil {
		return a, nil
	}
	n, _, err := num(load, attrOpenCount)
	if err != nil {
		return a, err
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return a, fmt.Errorf("agent %s: openCount %d out of range", a.ID, n)
	}
	a.OpenCount = int(n)
	if s := str(load, attrLastAssign); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return a, fmt.Errorf("agent %s: lastAssignedAt: %w", a.ID, err)
		}
		a.LastAssignedAt = t
	}
	return a, nil
}

// Teams: the profile item (versioned, listed in TEAMS) and the cursor item.

func teamProfileItem(t routing.Team) (item, error) {
	t.Cursor = ""
	it, err := newItem(teamKey(t.ID), "team", t)
	if err != nil {
		return nil, err
	}
	it[attrVersion] = nv(t.Version)
	setIndex(it, AttrGSI1PK, listTeams, AttrGSI1SK, t.ID)
	return it, nil
}

func teamCursorItem(teamID, cursor string) item {
	it := cursorKey(teamID).item()
	it[attrType] = sv("team_cursor")
	it[attrCursor] = sv(cursor)
	return it
}

func teamFrom(profile, cursor item) (routing.Team, error) {
	t, err := decodeDoc[routing.Team](profile)
	if err != nil {
		return t, err
	}
	t.Cursor = str(cursor, attrCursor)
	return t, nil
}

func channelItem(c routing.Channel) (item, error) {
	it, err := newItem(channelKey(c.ID), "channel", c)
	if err != nil {
		return nil, err
	}
	it[attrVersion] = nv(c.Version)
	setIndex(it, AttrGSI1PK, listChannels, AttrGSI1SK, c.ID)
	return it, nil
}

func workflowItem(w routing.Workflow) (item, error) {
	it, err := newItem(workflowKey(w.ID), "workflow", w)
	if err != nil {
		return nil, err
	}
	it[attrVersion] = nv(w.Version)
	setIndex(it, AttrGSI1PK, listWorkflows, AttrGSI1SK, w.ID)
	return it, nil
}

func versionItem(v routing.WorkflowVersion) (item, error) {
	return newItem(versionKey(v.WorkflowID, v.Number), "workflow_version", v)
}

func eventItem(e routing.Event) (item, error) { return newItem(eventKey(e), "event", e) }

func notificationItem(n routing.Notification) (item, error) {
	return newItem(notificationKey(n), "notification", n)
}

// claimItem keeps the exact expiry for the condition, the recorded value,
// and a TTL (epoch seconds, rounded up) so DynamoDB deletes the claim some
// time after it.
func claimItem(c store.Claim) item {
	it := claimKey(c.Key).item()
	it[attrType] = sv("claim")
	it[attrExpiresAt] = nv(unixNano(c.ExpiresAt))
	if c.Value != "" {
		it[attrValue] = sv(c.Value)
	}
	secs := c.ExpiresAt.Unix()
	if c.ExpiresAt.Nanosecond() > 0 {
		secs++
	}
	it[AttrTTL] = nv(secs)
	return it
}

// claimFrom decodes a claim item.
func claimFrom(k string, it item) (store.Claim, error) {
	ns, ok, err := num(it, attrExpiresAt)
	if err != nil {
		return store.Claim{}, err
	}
	if !ok {
		return store.Claim{}, fmt.Errorf("claim %q has no expiry", k)
	}
	return store.Claim{Key: k, ExpiresAt: time.Unix(0, ns).UTC(), Value: str(it, attrValue)}, nil
}

// unixNano is t in Unix nanoseconds, clamped to the int64 range (years
// 1678-2262) so far-past and far-future times keep their order at the ends.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minNanoTime):
		return math.MinInt64
	case t.After(maxNanoTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)
