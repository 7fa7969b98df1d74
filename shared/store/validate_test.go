package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// Validate names the field of the first problem, indexed as the Tx holds it.
func TestValidateNamesTheField(t *testing.T) {
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	conv := routing.Conversation{ID: "cv_1", Status: routing.ConvOpen}
	for _, tc := range []struct {
		name  string
		tx    store.Tx
		field string
	}{
		{"valid", store.Tx{Conversations: []store.ConversationWrite{{Value: conv}}}, ""},
		{"second conversation without id", store.Tx{Conversations: []store.ConversationWrite{{Value: conv}, {Value: routing.Conversation{Status: routing.ConvOpen}}}}, "conversations[1].id"},
		{"conversation status", store.Tx{Conversations: []store.ConversationWrite{{Value: routing.Conversation{ID: "cv_1"}}}}, "conversations[0].status"},
		{"negative version", store.Tx{Agents: []store.AgentWrite{{Value: routing.Agent{ID: "ag_1"}, ExpectVersion: -1}}}, "agents[0].expectVersion"},
		{"agent and its load", store.Tx{Agents: []store.AgentWrite{{Value: routing.Agent{ID: "ag_1"}}}, Loads: []store.LoadChange{{AgentID: "ag_1", Delta: 1}}}, "loads[0].agentId"},
		{"delta", store.Tx{Loads: []store.LoadChange{{AgentID: "ag_1", Delta: 2}}}, "loads[0].delta"},
		{"claim value", store.Tx{Claims: []store.Claim{{Key: "k", Value: string(make([]byte, store.MaxClaimValue+1))}}}, "claims[0].value"},
		{"delete without version", store.Tx{Deletes: []store.Delete{{Kind: store.DeleteTeam, ID: "t"}}}, "deletes[0].expectVersion"},
		{"delete kind", store.Tx{Deletes: []store.Delete{{Kind: "contact", ID: "c", ExpectVersion: 1}}}, "deletes[0].kind"},
		{"team written and deleted", store.Tx{Teams: []store.TeamWrite{{Value: routing.Team{ID: "t"}, ExpectVersion: 1}}, Deletes: []store.Delete{{Kind: store.DeleteTeam, ID: "t", ExpectVersion: 1}}}, "deletes[0].id"},
		{"a team and its cursor", store.Tx{Teams: []store.TeamWrite{{Value: routing.Team{ID: "t"}}}, Cursors: []store.CursorSet{{TeamID: "t"}}}, ""},
		{"event twice: the last wins", store.Tx{Events: []routing.Event{{ID: "e", ConversationID: "cv_1", At: at}, {ID: "e", ConversationID: "cv_1", At: at}}}, ""},
		{"event without conversation", store.Tx{Events: []routing.Event{{ID: "e", At: at}}}, "events[0].conversationId"},
		{"outbox event twice", store.Tx{Outbox: []store.OutboxEvent{{Key: "cv_1", Event: events.Event{ID: "e"}}, {Key: "cv_1", Event: events.Event{ID: "e"}}}}, "outbox[1].event.id"},
		{"outbox key", store.Tx{Outbox: []store.OutboxEvent{{Event: events.Event{ID: "e"}}}}, "outbox[0].key"},
	} {
		err := store.Validate(tc.tx)
		var re *routing.Error
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.field != "" && (!errors.As(err, &re) || re.Code != routing.CodeInvalid || re.Field != tc.field):
			t.Errorf("%s: got %v, want invalid_argument on %s", tc.name, err, tc.field)
		}
	}
}
