package workflow

import (
	"encoding/json"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

func TestRender(t *testing.T) {
	state := json.RawMessage(`{"conversationId":"c","form":{"summary":"Router down","n":3},"vars":{"team":"sales"},
		"trigger":{"type":"message_received","text":"hola"},
		"ctx":{"data":{"contact":{"name":"Ana","fields":{"vip":"gold"}}}}}`)
	cases := map[string]string{
		"Summary: {{form.summary}}":             "Summary: Router down",
		"{{ vars.team }}/{{vars.missing}}!":     "sales/!",
		"{{form.n}} items":                      "3 items",
		"Hi {{contact.name}} ({{contact.vip}})": "Hi Ana (gold)",
		"said {{trigger.text}}":                 "said hola",
		"{{contact.phone}}":                     "",
		"no refs":                               "no refs",
		"{{unknown.x}} {{form.summary":          "{{unknown.x}} {{form.summary",
		"{{form.summary}}{{form.summary}}":      "Router downRouter down",
	}
	for in, want := range cases {
		if got := Render(in, state); got != want {
			t.Errorf("Render(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Render("{{contact.name}}", json.RawMessage(`{"contact":{"name":"Top"},"ctx":{"data":{"contact":{"name":"Snap"}}}}`)); got != "Top" {
		t.Errorf("$.contact should win over the snapshot, got %q", got)
	}
	if got := Render("{{contact.name}}", json.RawMessage(`{"ctx":{"data":{"contact":{"phone":"+34600000000"}}}}`)); got != "+34600000000" {
		t.Errorf("a contact without a name should render its phone, got %q", got)
	}
	if got := RenderContact("{{contact.name}}", nil, routing.Contact{Phone: "+39300"}); got != "+39300" {
		t.Errorf("RenderContact of an unnamed contact = %q", got)
	}
	if got := Render("x{{vars.a}}y", json.RawMessage(`not json`)); got != "xy" {
		t.Errorf("bad state: %q", got)
	}
	c := routing.Contact{Name: "Live", Fields: map[string]string{"vip": "silver"}}
	if got := RenderContact("{{contact.name}} {{contact.vip}} {{vars.team}}", state, c); got != "Live silver sales" {
		t.Errorf("RenderContact = %q", got)
	}
	task := Task{State: state}
	if got := task.Render("{{contact.name}}", nil); got != "Ana" {
		t.Errorf("Task.Render without contact = %q", got)
	}
	if got := task.Render("{{contact.name}}", &c); got != "Live" {
		t.Errorf("Task.Render with contact = %q", got)
	}
}
