package dynamo

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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
// transactional write is 2 WRU per KB, a plain one 1; each index entry
// written is 1 WRU per KB (2 when the write moves it to a new key).
func awsWrite(op writeOp, inTx bool, movedIndexes int) (base, index float64, size int) {
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
	for _, a := range []string{AttrGSI1PK, AttrGSI2PK, AttrGSI3PK} {
		if _, ok := it[a]; ok {
			index += kb(size)
		}
	}
	index += float64(movedIndexes) * kb(size)
	return base, index, size
}

// TestRoutingTxCostModel logs the AWS cost model of the engine's main
// transactions from their real items, and checks the assumption under it:
// every item of a routing transaction is under 1 KB.
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
	route := store.Tx{
		Conversations: []store.ConversationWrite{{Value: conv}},
		Loads:         []store.LoadChange{{AgentID: conv.AssigneeID, Delta: 1, At: t0, RequireStatus: []routing.AgentStatus{routing.StatusOnline}}},
		Events: []routing.Event{
			ev("evt_01jq8m3x4y5z6a7b8c9d0e1f2a", routing.EvOpened, map[string]any{"channel": "whatsapp"}),
			ev("evt_01jq8m3x4y5z6a7b8c9d0e1f2b", routing.EvAssigned, map[string]any{"agentId": conv.AssigneeID, "teamId": "team_support", "strategy": "round_robin"}),
		},
		Notifications: []routing.Notification{{ID: "ntf_01jq8m3x4y5z6a7b8c9d0e1f2g", AgentID: conv.AssigneeID, At: t0, Type: routing.NoteAssignment, ConversationID: conv.ID, Text: "New conversation from +55 11 99999-0000 assigned to you"}},
	}
	ops, err := buildOps(route)
	if err != nil {
		t.Fatal(err)
	}
	var base, index float64
	for _, op := range ops {
		b, i, size := awsWrite(op, true, 0)
		if size >= 1024 {
			t.Errorf("%s is %d bytes: the cost model assumes items under 1 KB", op.what, size)
		}
		t.Logf("%-70s %4d B  %.0f WRU + %.0f index WRU", op.what, size, b, i)
		base, index = base+b, index+i
	}
	total := base + index
	t.Logf("route one conversation on AWS: %d items, %.0f WRU (items) + %.0f WRU (index entries) = %.0f WRU = $%.7f at $0.625/M WRU",
		len(ops), base, index, total, total*0.625/1e6)
	if len(ops) != 6 || base != 12 {
		t.Fatalf("route: %d items and %.0f item WRU, want 6 and 12", len(ops), base)
	}

	closed := conv
	closed.Status, closed.ClosedAt = routing.ConvClosed, &t0
	closeTx := store.Tx{
		Conversations: []store.ConversationWrite{{Value: closed, ExpectVersion: 1}},
		Loads:         []store.LoadChange{{AgentID: conv.AssigneeID, Delta: -1, At: t0}},
		Events:        []routing.Event{ev("evt_01jq8m3x4y5z6a7b8c9d0e1f2c", routing.EvClosed, nil)},
	}
	ops, err = buildOps(closeTx)
	if err != nil {
		t.Fatal(err)
	}
	base, index = 0, 0
	for _, op := range ops {
		moved := 0
		switch op.key {
		case convKey(conv.ID):
			moved = 2 // status and assignee entries change key: delete + put
		case convIndexKey(conv.ID):
			moved = 1 // team entry changes key
		}
		b, i, _ := awsWrite(op, true, moved)
		base, index = base+b, index+i
	}
	t.Logf("close one conversation on AWS: %d items, %.0f + %.0f = %.0f WRU", len(ops), base, index, base+index)

	claim, err := buildOps(store.Tx{Claims: []store.Claim{{Key: "whatsapp:wamid.HBgNNTUxMTk5OTk5MDAwMBUCABIYFjNFQjBDMDk4", At: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour)}}})
	if err != nil {
		t.Fatal(err)
	}
	b, i, _ := awsWrite(claim[0], false, 0)
	t.Logf("webhook dedupe claim on AWS: 1 item, plain PutItem: %.0f WRU", b+i)
}
