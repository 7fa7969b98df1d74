package dynamo

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// itemSize approximates DynamoDB's item size: attribute names plus values.
func itemSize(it item) int {
	n := 0
	for name, v := range it {
		n += len(name)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberN:
			n += len(v.Value)/2 + 2
		default:
			n += 8
		}
	}
	return n
}

func kb(n int) float64 { return float64((n + 1023) / 1024) }

// awsWrite is the on-demand write cost of one operation by AWS's rules: a
// transactional write is 2 WRU per KB, a plain one 1. Every index projects
// keys only, so an index is written only where the operation adds, removes
// or moves one of the item's index keys (old is the item before, nil for a
// create): 1 WRU per entry added or removed, 2 per entry moved (delete +
// put); entries are far under 1 KB.
func awsWrite(op writeOp, inTx bool, old item) (base, index float64, size int) {
	it := op.put
	if it == nil { // updates here touch small counter items
		it = op.key.item()
		for k, v := range op.values {
			it[strings.TrimPrefix(k, ":")] = v
		}
	}
	size = itemSize(it)
	base = kb(size)
	if inTx {
		base *= 2
	}
	if op.put == nil {
		return base, 0, size
	}
	for _, g := range Indexes {
		was, now := str(old, g[1])+"|"+str(old, g[2]), str(it, g[1])+"|"+str(it, g[2])
		switch {
		case was == now:
		case was == "|" || now == "|":
			index++
		default:
			index += 2
		}
	}
	return base, index, size
}

// txCost is the AWS write cost of tx, given the items it replaces.
func txCost(t *testing.T, name string, tx store.Tx, old map[key]item) (items int, total float64) {
	t.Helper()
	ops, hints, err := buildOps(tx, time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var base, index float64
	for _, op := range ops {
		b, i, size := awsWrite(op, len(ops) > 1, old[op.key])
		if size >= 1024 {
			t.Errorf("%s: %s is %d bytes: the cost model assumes items under 1 KB", name, op.what, size)
		}
		t.Logf("  %-72s %4d B  %.0f WRU + %.0f index WRU", op.what, size, b, i)
		base, index = base+b, index+i
	}
	for _, op := range hints {
		b, _, _ := awsWrite(op, false, nil)
		t.Logf("  %-72s  hint  %.0f WRU", op.what, b)
		base += b
	}
	total = base + index
	t.Logf("%s on AWS: %d items, %.0f WRU (items) + %.0f WRU (index entries) = %.0f WRU = $%.7f at $0.625/M WRU",
		name, len(ops)+len(hints), base, index, total, total*0.625/1e6)
	return len(ops) + len(hints), total
}

// TestRoutingTxCostModel logs the AWS cost model of the engine's main
// transactions from their real items, and checks the assumptions under it:
// every item is under 1 KB, and a message on a conversation writes no index.
func TestRoutingTxCostModel(t *testing.T) {
	t0 := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	conv := routing.Conversation{
		ID: "conv_01jq8m3x4y5z6a7b8c9d0e1f2g", ContactID: "ct_01jq8m3x4y5z6a7b8c9d0e1f2g", ChannelID: "ch_01jq8m3x4y5z6a7b8c9d0e1f2g",
		Status: routing.ConvOpen, TeamID: "team_support", AssigneeID: "ag_01jq8m3x4y5z6a7b8c9d0e1f2g", Source: "contact",
		OpenedAt: t0, AssignedAt: &t0, LastIncomingAt: &t0, Assignments: 1,
	}
	ev := func(id string, typ routing.EventType, data map[string]any) routing.Event {
		return routing.Event{ID: id, ConversationID: conv.ID, At: t0, Type: typ, Actor: "workflow:wf_01jq8m3x4y5z6a7b8c9d0e1f2g", Data: data}
	}
	bus := func(id, typ string, detail any) store.OutboxEvent {
		e, err := events.New(id, typ, t0, detail)
		if err != nil {
			t.Fatal(err)
		}
		return store.OutboxEvent{Key: conv.ID, Event: e}
	}
	route := store.Tx{
		Conversations: []store.ConversationWrite{{Value: conv}},
		Loads:         []store.LoadChange{{AgentID: conv.AssigneeID, Delta: 1, At: t0, RequireStatus: []routing.AgentStatus{routing.StatusOnline}}},
		Events: []routing.Event{
			ev("evt_01jq8m3x4y5z6a7b8c9d0e1f2a", routing.EvOpened, map[string]any{"channel": "whatsapp"}),
			ev("evt_01jq8m3x4y5z6a7b8c9d0e1f2b", routing.EvAssigned, map[string]any{"agentId": conv.AssigneeID, "teamId": "team_support", "strategy": "round_robin"}),
		},
		Notifications: []routing.Notification{{ID: "ntf_01jq8m3x4y5z6a7b8c9d0e1f2g", AgentID: conv.AssigneeID, At: t0, Type: routing.NoteAssignment, ConversationID: conv.ID, Text: "New conversation from +55 11 99999-0000 assigned to you"}},
		Outbox: []store.OutboxEvent{
			bus("evt_01jq8m3x4y5z6a7b8c9d0e1f2x", events.ConversationOpened, events.ConversationOpenedDetail{ConversationID: conv.ID, ContactID: conv.ContactID, ChannelID: conv.ChannelID, Source: "contact", Text: "Hola, me cobraron dos veces"}),
			bus("evt_01jq8m3x4y5z6a7b8c9d0e1f2y", events.ConversationRouted, map[string]string{"conversationId": conv.ID, "agentId": conv.AssigneeID}),
		},
	}
	items, total := txCost(t, "route one conversation", route, nil)
	if items != 5 || total != 14 {
		t.Fatalf("route: %d items and %.0f WRU, want 5 and 14 (conversation, load, 2 events, the second carrying the outbox, notification; 4 index entries)", items, total)
	}
	withCursor := route
	withCursor.Cursors = []store.CursorSet{{TeamID: "team_support", AgentID: conv.AssigneeID}}
	txCost(t, "route with a round-robin cursor (written after the transaction)", withCursor, nil)

	stored, err := conversationItem(func() routing.Conversation { c := conv; c.Version = 1; return c }())
	if err != nil {
		t.Fatal(err)
	}
	before := map[key]item{convKey(conv.ID): stored}

	msg := conv
	later := t0.Add(time.Minute)
	msg.LastIncomingAt = &later
	message := store.Tx{
		Conversations: []store.ConversationWrite{{Value: msg, ExpectVersion: 1}},
		Claims:        []store.Claim{{Key: "whatsapp:wamid.HBgNNTUxMTk5OTk5MDAwMBUCABIYFjNFQjBDMDk4", At: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour)}},
		Events:        []routing.Event{ev("evt_01jq8m3x4y5z6a7b8c9d0e1f2m", routing.EvMessageIn, map[string]any{"text": "Sigue sin resolverse"})},
		Outbox:        []store.OutboxEvent{bus("evt_01jq8m3x4y5z6a7b8c9d0e1f2n", events.MessageReceived, events.MessageReceivedDetail{ConversationID: conv.ID, ContactID: conv.ContactID, MessageID: "m2", Text: "Sigue sin resolverse"})},
	}
	if _, total := txCost(t, "a message on an open conversation", message, before); total != 6 {
		t.Fatalf("message: %.0f WRU, want 6 (3 items: the message's entry carries the outbox; no index entry)", total)
	}

	closed := conv
	closed.Status, closed.ClosedAt = routing.ConvClosed, &t0
	closeTx := store.Tx{
		Conversations: []store.ConversationWrite{{Value: closed, ExpectVersion: 1}},
		Loads:         []store.LoadChange{{AgentID: conv.AssigneeID, Delta: -1, At: t0}},
		Events:        []routing.Event{ev("evt_01jq8m3x4y5z6a7b8c9d0e1f2c", routing.EvClosed, nil)},
		Outbox:        []store.OutboxEvent{bus("evt_01jq8m3x4y5z6a7b8c9d0e1f2z", events.ConversationClosed, events.ConversationClosedDetail{ConversationID: conv.ID, AgentID: conv.AssigneeID, By: "agent"})},
	}
	txCost(t, "close one conversation", closeTx, before)

	txCost(t, "webhook dedupe claim (plain PutItem)", store.Tx{Claims: message.Claims}, nil)
}
