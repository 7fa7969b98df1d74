package dynamo

import (
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Key scheme (see docs/dynamodb.md). User-supplied ids come last in every
// composite key, so they need no escaping; the one key with two ids
// (CONTACTKEY#<channel>#<external>) escapes the first.
const (
	prefixConv       = "CONV#"
	skConv           = "CONV"
	skConvIndex      = "CONV#INDEX" // the conversation's second item: team and queue indexes
	prefixEvent      = "EV#"
	prefixContact    = "CONTACT#"
	skContact        = "CONTACT"
	prefixContactKey = "CONTACTKEY#"
	skContactKey     = "CONTACTKEY"
	prefixAgent      = "AGENT#"
	skAgent          = "AGENT"
	skLoad           = "LOAD"
	prefixTeam       = "TEAM#"
	skTeam           = "TEAM"
	skCursor         = "CURSOR"
	prefixChannel    = "CHANNEL#"
	skChannel        = "CHANNEL"
	prefixWorkflow   = "WF#"
	skWorkflow       = "WF"
	prefixVersion    = "V#"
	prefixClaim      = "CLAIM#"
	skClaim          = "CLAIM"
	prefixNotify     = "NOTIFY#"
	prefixNote       = "NOTE#"

	// Index partitions.
	listAgents      = "AGENTS"
	listTeams       = "TEAMS"
	listChannels    = "CHANNELS"
	listWorkflows   = "WORKFLOWS"
	prefixConvs     = "CONVS#"     // gsi1: CONVS#<status>
	prefixQueue     = "QUEUE#"     // gsi1 (index item): QUEUE#<team>, pending only
	prefixAssignee  = "ASSIGNEE#"  // gsi2: ASSIGNEE#<status>#<agent>
	prefixByTeam    = "BYTEAM#"    // gsi2 (index item): BYTEAM#<status>#<team>
	prefixByContact = "BYCONTACT#" // gsi3: BYCONTACT#<contact>
)

// Attribute names besides the keys.
const (
	attrType       = "type"
	attrDoc        = "doc" // the domain value as JSON
	attrVersion    = "version"
	attrOpenCount  = "openCount"
	attrMax        = "maxConcurrent"
	attrStatus     = "status"
	attrLastAssign = "lastAssignedAt"
	attrCursor     = "cursor"
	attrContactID  = "contactId"
	attrChannelID  = "channelId"
	attrExternalID = "externalId"
	attrExpiresAt  = "expiresAt" // claims: unix nanoseconds, compared exactly
)

// timeKeyLayout is a fixed-width UTC timestamp: lexical order is time order
// for years 0000-9999.
const timeKeyLayout = "2006-01-02T15:04:05.000000000Z"

func timeKey(t time.Time) string { return t.UTC().Format(timeKeyLayout) }

// escape makes a key component free of '#'.
func escape(s string) string {
	if !strings.ContainsAny(s, "%#") {
		return s
	}
	return strings.NewReplacer("%", "%25", "#", "%23").Replace(s)
}

type key struct{ pk, sk string }

func convKey(id string) key      { return key{prefixConv + id, skConv} }
func convIndexKey(id string) key { return key{prefixConv + id, skConvIndex} }
func contactKey(id string) key   { return key{prefixContact + id, skContact} }
func agentKey(id string) key     { return key{prefixAgent + id, skAgent} }
func loadKey(id string) key      { return key{prefixAgent + id, skLoad} }
func teamKey(id string) key      { return key{prefixTeam + id, skTeam} }
func cursorKey(id string) key    { return key{prefixTeam + id, skCursor} }
func channelKey(id string) key   { return key{prefixChannel + id, skChannel} }
func workflowKey(id string) key  { return key{prefixWorkflow + id, skWorkflow} }
func claimKey(k string) key      { return key{prefixClaim + k, skClaim} }
func contactExtKey(ch, ext string) key {
	return key{prefixContactKey + escape(ch) + "#" + ext, skContactKey}
}

func versionKey(workflow string, n int) key {
	return key{prefixWorkflow + workflow, fmt.Sprintf("%s%010d", prefixVersion, n)}
}

func eventKey(e routing.Event) key {
	return key{prefixConv + e.ConversationID, prefixEvent + timeKey(e.At) + "#" + e.ID}
}

func notificationKey(n routing.Notification) key {
	return key{prefixNotify + n.AgentID, prefixNote + timeKey(n.At) + "#" + n.ID}
}

// convSort orders a conversation in every listing index: by OpenedAt, then ID.
func convSort(c routing.Conversation) string { return timeKey(c.OpenedAt) + "#" + c.ID }

// queueSort orders the pending queue like routing.QueueLess.
func queueSort(c routing.Conversation) string {
	return fmt.Sprintf("%02d#%s#%s", c.Rank(), timeKey(c.PendingSince), c.ID)
}

func convsPK(status routing.ConversationStatus) string { return prefixConvs + string(status) }
func queuePK(team string) string                       { return prefixQueue + team }
func assigneePK(status routing.ConversationStatus, agent string) string {
	return prefixAssignee + string(status) + "#" + agent
}
func byTeamPK(status routing.ConversationStatus, team string) string {
	return prefixByTeam + string(status) + "#" + team
}
func byContactPK(contact string) string { return prefixByContact + contact }

// prefixEnd is the smallest string greater than every string with prefix p
// (p must not end in 0xff).
func prefixEnd(p string) string {
	b := []byte(p)
	b[len(b)-1]++
	return string(b)
}
