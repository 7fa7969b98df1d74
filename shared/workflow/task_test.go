package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// fakeActions records calls and returns scripted results.
type fakeActions struct {
	calls    []string
	tasks    []Task
	snapshot Snapshot
	assign   AssignResult
	failure  Failure
	err      error
}

func (f *fakeActions) rec(t Task, format string, args ...any) error {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	f.tasks = append(f.tasks, t)
	return f.err
}

func (f *fakeActions) Snapshot(_ context.Context, t Task) (Snapshot, error) {
	return f.snapshot, f.rec(t, "snapshot")
}
func (f *fakeActions) Assign(_ context.Context, t Task, p AssignParams) (AssignResult, error) {
	return f.assign, f.rec(t, "assign %+v", p)
}
func (f *fakeActions) Comment(_ context.Context, t Task, p CommentParams) error {
	return f.rec(t, "comment %s", t.Render(p.Text, nil))
}
func (f *fakeActions) SendMessage(_ context.Context, t Task, p SendMessageParams) error {
	return f.rec(t, "send %s", t.Render(p.Text, nil))
}
func (f *fakeActions) Ask(_ context.Context, t Task, p AskParams) error {
	return f.rec(t, "ask %s %v %d token=%s", p.Text, p.Options, p.MaxAttempts, t.TaskToken)
}
func (f *fakeActions) UpdateContact(_ context.Context, t Task, p UpdateContactParams) error {
	return f.rec(t, "update %s=%s", p.Field, t.Render(p.Value, nil))
}
func (f *fakeActions) Escalate(_ context.Context, t Task, p EscalateParams) error {
	return f.rec(t, "escalate %s %s", p.Type, t.Render(p.Summary, nil))
}
func (f *fakeActions) Close(_ context.Context, t Task) error { return f.rec(t, "close") }
func (f *fakeActions) Handoff(_ context.Context, t Task, p HandoffParams) error {
	return f.rec(t, "handoff %s %s %s", p.Reason, p.TeamID, t.Render(p.Summary, nil))
}
func (f *fakeActions) RecordFailure(_ context.Context, t Task, fl Failure) error {
	f.failure = fl
	return f.rec(t, "failure %s", fl.Error)
}

const sampleState = `{"conversationId":"conv_9","workflowId":"wf_1","version":4,"trigger":{"type":"shortcut"},"form":{"summary":"Broken"},"vars":{"team":"sales"}}`

func payload(action, params string, extra string) json.RawMessage {
	return json.RawMessage(`{"action":"` + action + `","step":"s1","params":` + params + `,"state":` + sampleState + extra + `}`)
}

func TestHandleTaskDispatches(t *testing.T) {
	cases := []struct {
		action, params, extra string
		call                  string
		result                string
	}{
		{ActionAssign, `{"teamId":"support","onlineOnly":true}`, "", "assign {AgentID: TeamID:support OnlineOnly:true}", `{"status":"assigned","agentId":"bruno"}`},
		{ActionAssign, `{"agentId":"ana"}`, "", "assign {AgentID:ana TeamID: OnlineOnly:false}", `{"status":"assigned","agentId":"bruno"}`},
		{ActionComment, `{"text":"Escalated: {{form.summary}}"}`, "", "comment Escalated: Broken", `{}`},
		{ActionSendMessage, `{"text":"Team {{vars.team}}"}`, "", "send Team sales", `{}`},
		{ActionAsk, `{"text":"Which?","options":[{"id":"a","label":"A"},{"id":"b","label":"B"}],"maxAttempts":3}`, `,"TaskToken":"tok"`, "ask Which? [{a A} {b B}] 3 token=tok", `{}`},
		{ActionUpdateContact, `{"field":"topic","value":"{{form.summary}}"}`, "", "update topic=Broken", `{}`},
		{ActionEscalate, `{"type":"complaint","summary":"{{form.summary}}"}`, "", "escalate complaint Broken", `{}`},
		{ActionClose, `{}`, "", "close", `{}`},
		{ActionSnapshot, `{}`, "", "snapshot", `{"conversation":{"status":"open","assignments":1,"botActive":false},"contact":{"language":"es"},"secondsSinceLastIncoming":30}`},
	}
	for _, c := range cases {
		f := &fakeActions{
			assign:   AssignResult{Status: AssignAssigned, AgentID: "bruno"},
			snapshot: Snapshot{Conversation: SnapshotConversation{Status: "open", Assignments: 1}, Contact: SnapshotContact{Language: "es"}, SecondsSinceLastIncoming: i64(30)},
		}
		out, err := HandleTask(context.Background(), f, payload(c.action, c.params, c.extra))
		if err != nil {
			t.Fatalf("%s: %v", c.action, err)
		}
		if len(f.calls) != 1 || f.calls[0] != c.call {
			t.Errorf("%s: calls %q, want %q", c.action, f.calls, c.call)
		}
		if string(out) != c.result {
			t.Errorf("%s: result %s, want %s", c.action, out, c.result)
		}
		task := f.tasks[0]
		if task.ConversationID != "conv_9" || task.WorkflowID != "wf_1" || task.Version != 4 || task.Step != "s1" || task.Action != c.action {
			t.Errorf("%s: task %+v", c.action, task)
		}
	}
}

func TestHandleTaskRecordFailure(t *testing.T) {
	f := &fakeActions{}
	p := json.RawMessage(`{"action":"record_failure","params":{},"state":{"conversationId":"c","error":{"Error":"AgentGone","Cause":"deleted"}}}`)
	if _, err := HandleTask(context.Background(), f, p); err != nil {
		t.Fatal(err)
	}
	if f.failure != (Failure{Error: "AgentGone", Cause: "deleted"}) {
		t.Fatalf("failure %+v", f.failure)
	}
}

func errorTypeName(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func TestHandleTaskErrors(t *testing.T) {
	bad := []struct {
		name    string
		payload string
	}{
		{"not json", `nope`},
		{"unknown action", `{"action":"teleport","params":{},"state":{"conversationId":"c"}}`},
		{"no state", `{"action":"close","params":{}}`},
		{"no conversation", `{"action":"close","params":{},"state":{"workflowId":"w"}}`},
		{"unknown param", `{"action":"comment","params":{"txt":"x"},"state":{"conversationId":"c"}}`},
		{"unknown payload field", `{"action":"close","params":{},"state":{"conversationId":"c"},"extra":1}`},
		{"assign nobody", `{"action":"assign","params":{},"state":{"conversationId":"c"}}`},
		{"assign both", `{"action":"assign","params":{"agentId":"a","teamId":"t"},"state":{"conversationId":"c"}}`},
		{"ask without token", `{"action":"ask","params":{"text":"q","options":[],"maxAttempts":1},"state":{"conversationId":"c"}}`},
	}
	for _, c := range bad {
		f := &fakeActions{}
		_, err := HandleTask(context.Background(), f, json.RawMessage(c.payload))
		var it *InvalidTask
		if !errors.As(err, &it) || errorTypeName(err) != "InvalidTask" {
			t.Errorf("%s: got %T %v, want *InvalidTask", c.name, err, err)
		}
		if len(f.calls) != 0 {
			t.Errorf("%s: action called despite a bad payload", c.name)
		}
	}

	// A wrapped transient error comes back unwrapped, so its type name is the error name.
	f := &fakeActions{err: fmt.Errorf("send: %w", Transient(errors.New("provider 503")))}
	_, err := HandleTask(context.Background(), f, payload(ActionSendMessage, `{"text":"hi"}`, ""))
	if errorTypeName(err) != ErrorTransient || !IsTransient(err) || !strings.Contains(err.Error(), "provider 503") {
		t.Fatalf("transient: got %T %v", err, err)
	}
	var te *TransientError
	if !errors.As(err, &te) || te.ErrorName() != ErrorTransient {
		t.Fatalf("transient name: %v", err)
	}
	// Other errors pass through unchanged.
	boom := errors.New("boom")
	f = &fakeActions{err: boom}
	if _, err := HandleTask(context.Background(), f, payload(ActionClose, `{}`, "")); err != boom {
		t.Fatalf("got %v, want the action's own error", err)
	}
	if Transient(nil) != nil || IsTransient(boom) {
		t.Fatal("Transient(nil) or IsTransient(boom)")
	}
}

type customErr struct{}

func (customErr) Error() string { return "custom" }

func TestErrorName(t *testing.T) {
	cases := map[string]error{
		"":               nil,
		"TransientError": fmt.Errorf("wrapped: %w", Transient(errors.New("x"))),
		"InvalidTask":    &InvalidTask{Message: "bad"},
		"customErr":      customErr{},
		"errorString":    errors.New("plain"),
		"wrapError":      fmt.Errorf("w: %w", customErr{}),
	}
	for want, err := range cases {
		if got := ErrorName(err); got != want {
			t.Errorf("ErrorName(%v) = %q, want %q", err, got, want)
		}
	}
}
