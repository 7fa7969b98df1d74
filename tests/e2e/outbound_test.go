package e2e

import (
	"context"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// A reply on a channel that cannot deliver it (a generic channel without
// outboundUrl) is refused naming the missing setting, and nothing is recorded.
func TestReplyNeedsAnOutboundEndpoint(t *testing.T) {
	e := start(t, "front")
	e.team("front", routing.RoundRobin, routing.ModeAutomatic, false)
	e.agent("ag", 5, routing.StatusOnline, "front")
	e.must(e.call("POST", "/v1/channels", e.admin, map[string]any{"id": "bare", "provider": "generic", "externalId": "bare", "secretRef": "file:" + channelID, "config": map[string]string{"team": "front"}}), 201)
	raw := []byte(`{"channelId":"bare","messageId":"b1","from":"+447700900777","text":"hello"}`)
	e.must(e.signedWebhook(raw, e.sign(raw)), 200)
	e.settle()
	ct, err := e.m.Store.ContactByExternalID(context.Background(), "bare", "+447700900777")
	if err != nil {
		t.Fatal(err)
	}
	c := ct.OpenConversationID
	r := e.call("POST", "/v1/conversations/"+c+"/messages", e.token("ag"), map[string]any{"text": "hi"})
	if r.Status != 409 || r.str("error.field") != "config.outboundUrl" {
		t.Fatalf("reply without an endpoint: %d %s", r.Status, r.Raw)
	}
	types := e.eventTypes(c)
	if count(types, string(routing.EvMessageOut))+count(types, string(routing.EvMessageFailed)) != 0 {
		t.Fatalf("recorded: %v", types)
	}
	// the same on a channel with its endpoint is sent
	web := e.inbound("+447700900778", "hello")
	e.must(e.call("POST", "/v1/conversations/"+web+"/messages", e.token("ag"), map[string]any{"text": "hi"}), 201)
}
