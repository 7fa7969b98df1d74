package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// eventsOf returns the timeline entries of one type.
func (e *env) eventsOf(conv string, typ routing.EventType) []map[string]any {
	var out []map[string]any
	for _, ev := range e.timeline(conv) {
		if ev["type"] == string(typ) {
			out = append(out, ev)
		}
	}
	return out
}

func dataOf(ev map[string]any) map[string]any {
	d, _ := ev["data"].(map[string]any)
	return d
}

// Issue 9.8: a run that ends says so (workflow.ended with its status and
// outcome) and a waiting one does not; an ask's outcome is a workflow.step.
func TestRunsLeaveATrace(t *testing.T) {
	e := start(t, "")
	for _, team := range []string{"sales", "support", "general"} {
		e.team(team, routing.RoundRobin, routing.ModeAutomatic, true)
		e.agent("ag-"+team, 5, routing.StatusOnline, team)
	}
	e.publish(fmt.Sprintf(s5Choice, 2, "30m"))
	reply := func(from, id, text string) {
		t.Helper()
		raw := []byte(fmt.Sprintf(`{"channelId":"web","messageId":%q,"from":%q,"text":%q}`, id, from, text))
		e.must(e.signedWebhook(raw, e.sign(raw)), 200)
		e.settle()
	}

	// Answered: the answer is a step, then the run ends, succeeded, with what it collected.
	c := e.inbound("+447700900001", "hello")
	if got := e.eventsOf(c, routing.EvWorkflowEnded); len(got) != 0 {
		t.Fatalf("a run waiting for an answer has ended: %v", got)
	}
	reply("+447700900001", "r1", "2")
	steps := e.eventsOf(c, routing.EvWorkflowStep)
	if len(steps) != 1 || dataOf(steps[0])["result"] != "answered" || dataOf(steps[0])["answer"] != "support" || steps[0]["actor"] != "workflow:choice" {
		t.Fatalf("workflow.step: %v", steps)
	}
	ended := e.eventsOf(c, routing.EvWorkflowEnded)
	if len(ended) != 1 {
		t.Fatalf("workflow.ended %d times, want 1: %v", len(ended), e.eventTypes(c))
	}
	d := dataOf(ended[0])
	if d["status"] != "succeeded" || d["outcome"] != "completed" || ended[0]["actor"] != "workflow:choice" {
		t.Fatalf("workflow.ended: %v", ended[0])
	}
	if vars, _ := d["vars"].(map[string]any); vars["team"] != "support" {
		t.Fatalf("workflow.ended outcome vars: %v", d["vars"])
	}
	types := e.eventTypes(c)
	if last := types[len(types)-1]; last != string(routing.EvWorkflowEnded) {
		t.Fatalf("workflow.ended is not the run's last entry: %v", types)
	}

	// No valid answer: the step says so; the fallback runs and the run still completes.
	c2 := e.inbound("+447700900002", "hello")
	reply("+447700900002", "r2", "pizza")
	reply("+447700900002", "r3", "pasta")
	steps = e.eventsOf(c2, routing.EvWorkflowStep)
	if len(steps) != 1 || dataOf(steps[0])["result"] != "invalid" {
		t.Fatalf("workflow.step after too many invalid answers: %v", steps)
	}
	if ended := e.eventsOf(c2, routing.EvWorkflowEnded); len(ended) != 1 || dataOf(ended[0])["status"] != "succeeded" {
		t.Fatalf("workflow.ended: %v", ended)
	}
}

// Issue 9.8: a run that fails ends failed, with its error.
func TestFailedRunEnds(t *testing.T) {
	e := start(t, "")
	e.team("gone", routing.RoundRobin, routing.ModeAutomatic, true)
	e.publish(`
id: doomed
name: doomed
trigger: {type: conversation_opened}
steps:
  - {id: pause, type: wait, duration: 5m}
  - {id: to_gone, type: assign, team: gone}
`)
	c := e.inbound("+447700900009", "hello")
	e.must(e.call("DELETE", "/v1/teams/gone", e.admin, nil), 204) // the step's team disappears while the run waits
	if got := e.eventsOf(c, routing.EvWorkflowEnded); len(got) != 0 {
		t.Fatalf("a waiting run has ended: %v", got)
	}
	e.advance(5 * time.Minute)
	e.settle()
	ended := e.eventsOf(c, routing.EvWorkflowEnded)
	if len(ended) != 1 {
		t.Fatalf("workflow.ended %d times, want 1: %v", len(ended), e.eventTypes(c))
	}
	if d := dataOf(ended[0]); d["status"] != "failed" || d["error"] == nil || d["error"] == "" {
		t.Fatalf("workflow.ended of a failed run: %v", ended[0])
	}
}

// Issue 9.8 on AWS: the dispatcher gets Step Functions' "Execution Status
// Change" events (an EventBridge rule) and records each end once.
func TestStepFunctionsStatusChangeRecordsEnd(t *testing.T) {
	e := start(t, "support")
	e.team("support", routing.RoundRobin, routing.ModeAutomatic, true)
	c := e.inbound("+447700900005", "hello")
	input := fmt.Sprintf(`{"conversationId":%q,"workflowId":"wf","version":3,"trigger":{"type":"conversation_opened"},"form":{},"vars":{}}`, c)
	detail := func(status string) []byte {
		return []byte(fmt.Sprintf(`{"executionArn":"arn:aws:states:eu-west-1:1:execution:wf:wf-v3-abc","stateMachineArn":"arn:aws:states:eu-west-1:1:stateMachine:wf",
			"name":"wf-v3-abc","status":%q,"startDate":1767603600000,"stopDate":1767603660000,"input":%q,"output":null,"error":"WorkflowFailed","cause":"a step failed"}`, status, input))
	}
	ctx := t.Context()
	for _, status := range []string{"RUNNING", "FAILED", "FAILED"} { // the end delivered twice
		if err := e.m.Flows.HandleExecutionStatusChange(ctx, detail(status)); err != nil {
			t.Fatal(err)
		}
	}
	ended := e.eventsOf(c, routing.EvWorkflowEnded)
	if len(ended) != 1 {
		t.Fatalf("workflow.ended %d times, want 1", len(ended))
	}
	d := dataOf(ended[0])
	if d["status"] != "failed" || d["error"] != "WorkflowFailed" || d["execution"] != "wf-v3-abc" || d["version"] != float64(3) || ended[0]["actor"] != "workflow:wf" {
		t.Fatalf("workflow.ended: %v", ended[0])
	}
	if at := ended[0]["at"]; at != "2026-01-05T09:01:00Z" {
		t.Fatalf("workflow.ended at %v, want the execution's stop date", at)
	}
}

// Issue 9.8: a run that never waits (it runs whole in the dispatcher, with
// no execution) ends too, at once, succeeded or failed.
func TestRunThatNeverWaitsEnds(t *testing.T) {
	e := start(t, "")
	e.team("gone", routing.RoundRobin, routing.ModeAutomatic, true)
	e.publish(fmt.Sprintf(commentWorkflow, "quick"))
	e.publish(`
id: quickfail
name: quickfail
trigger: {type: conversation_opened}
steps:
  - {id: to_gone, type: assign, team: gone}
`)
	e.must(e.call("DELETE", "/v1/teams/gone", e.admin, nil), 204)
	c := e.inbound("+447700900007", "hello")
	status := map[any]any{}
	for _, ev := range e.eventsOf(c, routing.EvWorkflowEnded) {
		if _, dup := status[ev["actor"]]; dup {
			t.Fatalf("two workflow.ended for %v", ev["actor"])
		}
		status[ev["actor"]] = dataOf(ev)["status"]
	}
	if status["workflow:quick"] != "succeeded" || status["workflow:quickfail"] != "failed" {
		t.Fatalf("workflow.ended of runs that never wait: %v (timeline %v)", status, e.eventTypes(c))
	}
}
