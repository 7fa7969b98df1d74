package dynamo

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Key scheme (see docs/dynamodb.md). User-supplied ids come last in every
// composite key, so they need no escaping; the one key with two ids
// (CONTACTKEY#<channel>#<external>) escapes the first.
const (
	prefixConv       = "CONV#"
	skConv           = "CONV"
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
	prefixOutbox     = "OUTBOX#" // OUTBOX#<key> / <time>#<first event id>: one Tx's events of one key

	// Index partitions.
	listAgents      = "AGENTS"
	listTeams       = "TEAMS"
	listChannels    = "CHANNELS"
	listWorkflows   = "WORKFLOWS"
	prefixQueue     = "QUEUE#"     // gsi1: QUEUE#<team>, pending only
	prefixAssignee  = "ASSIGNEE#"  // gsi2: ASSIGNEE#<status>#<agent>
	prefixByContact = "BYCONTACT#" // gsi3: BYCONTACT#<contact>
	prefixByTeam    = "BYTEAM#"    // gsi4: BYTEAM#<status>#<team>
	prefixConvs     = "CONVS#"     // gsi5: CONVS#<status>#<shard>

	// convShards spreads the conversations of one status over this many
	// gsi5 partitions (by a hash of the id), so no index partition takes
	// every conversation change of a status.
	convShards = 8
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
	attrValue      = "value"     // claims: the recorded value
	attrOutboxKey  = "outboxKey" // outbox items: the OutboxEvent Key
	attrOutbox     = "outbox"    // a timeline entry carrying its Tx's outbox events of its conversation (see carrier)
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

func convKey(id string) key     { return key{prefixConv + id, skConv} }
func contactKey(id string) key  { return key{prefixContact + id, skContact} }
func agentKey(id string) key    { return key{prefixAgent + id, skAgent} }
func loadKey(id string) key     { return key{prefixAgent + id, skLoad} }
func teamKey(id string) key     { return key{prefixTeam + id, skTeam} }
func cursorKey(id string) key   { return key{prefixTeam + id, skCursor} }
func channelKey(id string) key  { return key{prefixChannel + id, skChannel} }
func workflowKey(id string) key { return key{prefixWorkflow + id, skWorkflow} }
func claimKey(k string) key     { return key{prefixClaim + k, skClaim} }
func contactExtKey(ch, ext string) key {
	return key{prefixContactKey + escape(ch) + "#" + ext, skContactKey}
}

func versionKey(workflow string, n int) key {
	return key{prefixWorkflow + workflow, fmt.Sprintf("%s%010d", prefixVersion, n)}
}

func eventKey(e routing.Event) key {
	return key{prefixConv + e.ConversationID, prefixEvent + timeKey(e.At) + "#" + e.ID}
}

// outboxKey is the item of one Tx's outbox events of one Key: a partition
// per Key (so the stream, ordered per partition key, keeps their commit
// order), sorted by the first event's time and id.
func outboxKey(k string, first events.Event) key {
	return key{prefixOutbox + k, timeKey(first.Time) + "#" + first.ID}
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

// convsPK is the gsi5 partition of a conversation: its status and shard.
func convsPK(status routing.ConversationStatus, shard int) string {
	return prefixConvs + string(status) + "#" + strconv.Itoa(shard)
}

// convShard is the gsi5 shard of a conversation id (FNV-1a, stable).
func convShard(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % convShards)
}

func queuePK(team string) string { return prefixQueue + team }
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
