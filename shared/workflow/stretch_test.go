package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStretchConditionsMatchChoiceRules evaluates a matrix of conditions
// and values twice: in Go (evalBranchCondition, what a stretch task does)
// and as the per-step compile's Choice rule (conditionRule) executed by
// aws-local-stepfunctions. Both must agree on every pair.
func TestStretchConditionsMatchChoiceRules(t *testing.T) {
	localSFN(t)
	conds := []Condition{
		{Subject: "contact.language", Operator: OpEquals, Value: V("es")},
		{Subject: "contact.language", Operator: OpNotEquals, Value: V("es")},
		{Subject: "contact.language", Operator: OpContains, Value: V("s")},
		{Subject: "contact.name", Operator: OpContains, Value: V("*VIP*")},
		{Subject: "contact.language", Operator: OpExists},
		{Subject: "contact.language", Operator: OpNotExists},
		{Subject: "contact.tier", Operator: OpEquals, Value: V("gold")},
		{Subject: "conversation.status", Operator: OpEquals, Value: V("open")},
		{Subject: "conversation.status", Operator: OpNotEquals, Value: V("open")},
		{Subject: "conversation.assignments", Operator: OpGreaterThan, Value: V("1")},
		{Subject: "conversation.assignments", Operator: OpLessThan, Value: V("1")},
		{Subject: "conversation.assignments", Operator: OpEquals, Value: V("0")},
		{Subject: "conversation.assignments", Operator: OpNotEquals, Value: V("0")},
		{Subject: "conversation.botActive", Operator: OpEquals, Value: V("true")},
		{Subject: "conversation.botActive", Operator: OpNotEquals, Value: V("true")},
		{Subject: "conversation.escalation", Operator: OpExists},
		{Subject: "conversation.escalation", Operator: OpEquals, Value: V("billing")},
		{Subject: "time_since_last_outgoing", Operator: OpNotExists},
		{Subject: "time_since_last_outgoing", Operator: OpGreaterThan, Value: V("10m")},
		{Subject: "time_since_last_incoming", Operator: OpLessThan, Value: V("60")},
		{Subject: "form.team", Operator: OpEquals, Value: V("billing")},
		{Subject: "vars.team", Operator: OpNotEquals, Value: V("sales")},
		{Subject: "vars.team", Operator: OpExists},
	}
	snaps := []Snapshot{
		{},
		{Conversation: SnapshotConversation{Status: "open", Assignments: 2, BotActive: true, EscalationType: "billing"},
			Contact:                  SnapshotContact{Name: "Ann *VIP*", Language: "es", Fields: map[string]string{"tier": "gold"}},
			SecondsSinceLastOutgoing: i64(601), SecondsSinceLastIncoming: i64(59)},
		{Conversation: SnapshotConversation{Status: "closed"}, Contact: SnapshotContact{Name: "ann vip", Language: "ES"},
			SecondsSinceLastOutgoing: i64(600), SecondsSinceLastIncoming: i64(60)},
	}
	inputs := []map[string]any{
		{"form": map[string]any{}, "vars": map[string]any{}},
		{"form": map[string]any{"team": "billing"}, "vars": map[string]any{"team": "sales"}},
		{"form": map[string]any{"team": "Billing"}, "vars": map[string]any{"team": "support"}},
	}
	type pair struct {
		c    Condition
		snap Snapshot
		in   map[string]any
		want bool
	}
	var pairs []pair
	var reqs []sfnRequest
	for _, c := range conds {
		for si, snap := range snaps {
			in := inputs[si]
			b, _ := json.Marshal(snap)
			var sm map[string]any
			_ = json.Unmarshal(b, &sm)
			state := map[string]any{"form": in["form"], "vars": in["vars"], "conversationId": "c", "ctx": map[string]any{"data": sm}}
			got, err := evalBranchCondition(c, state, sm)
			if err != nil {
				t.Fatalf("%+v: %v", c, err)
			}
			pairs = append(pairs, pair{c, snap, in, got})
			rule := conditionRule(c).with("Next", "yes")
			machine := obj("StartAt", "c", "States", obj(
				"c", obj("Type", "Choice", "Choices", []any{rule}, "Default", "no"),
				"yes", obj("Type", "Succeed"),
				"no", obj("Type", "Succeed")))
			def, _ := machine.MarshalJSON()
			reqs = append(reqs, sfnRequest{Definition: def, Input: ExecutionInput{ConversationID: "c", Form: toStrings(in["form"]), Vars: toStrings(in["vars"])}})
		}
	}
	// the Choice reads the snapshot at $.ctx.data: local-sfn gets it in its input
	for i := range reqs {
		var in map[string]any
		b, _ := json.Marshal(reqs[i].Input)
		_ = json.Unmarshal(b, &in)
		sb, _ := json.Marshal(pairs[i].snap)
		var sm map[string]any
		_ = json.Unmarshal(sb, &sm)
		in["ctx"] = map[string]any{"data": sm}
		raw, _ := json.Marshal(in)
		reqs[i].Input = ExecutionInput{}
		reqs[i].rawInput = raw
	}
	runs := runLocalSFN(t, reqs)
	agree := 0
	for i, p := range pairs {
		if runs[i].Status != "SUCCEEDED" || len(runs[i].States) != 2 {
			t.Fatalf("%+v on %+v: %s %v", p.c, p.snap, runs[i].Status, runs[i].States)
		}
		choice := runs[i].States[1] == "yes"
		if choice != p.want {
			t.Errorf("%s %s %v on snapshot %d: Go says %v, the Choice rule %v", p.c.Subject, p.c.Operator, p.c.Value, i%len(snaps), p.want, choice)
			continue
		}
		agree++
	}
	t.Logf("%d condition evaluations agree", agree)
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "benchmarks.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("evaluates %d condition/value pairs", len(pairs)); !strings.Contains(string(doc), want) {
		t.Errorf("docs/benchmarks.md does not say %q", want)
	}
}

func toStrings(v any) map[string]string {
	out := map[string]string{}
	for k, x := range v.(map[string]any) {
		out[k] = fmt.Sprint(x)
	}
	return out
}

// TestStretchStepKeysPerAction: every action of one stretch task claims a
// key of its own (the task's key plus the step id), stable across a Retry
// of the task (same entered time) and distinct for another entry.
func TestStretchStepKeysPerAction(t *testing.T) {
	def := parseFile(t, sources(t)["s2-reassign-unanswered"])
	params, _ := def.runParams(2) // check_reply > reassign > tell_second_agent
	raw, _ := params.MarshalJSON()
	payload := func(entered string) json.RawMessage {
		b, _ := json.Marshal(map[string]any{"action": ActionRun, "step": "check_reply", "params": json.RawMessage(raw),
			"state":     map[string]any{"conversationId": "c1", "workflowId": "wf", "version": 1},
			"execution": "exec-1", "stateName": "check_reply", "enteredTime": entered})
		return b
	}
	keys := func(entered string) []string {
		f := &fakeActions{assign: AssignResult{Status: AssignAssigned}, snapshot: Snapshot{Conversation: SnapshotConversation{Status: "open"}}}
		out, err := HandleTask(context.Background(), f, payload(entered))
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != `{"next":"end"}` {
			t.Fatalf("result %s", out)
		}
		var ks []string
		for _, tk := range f.tasks {
			ks = append(ks, tk.Action+" "+tk.StepKey())
		}
		return ks
	}
	first := keys("2026-05-04T09:15:00.000Z")
	want := []string{
		"snapshot exec-1/check_reply/2026-05-04T09:15:00.000Z/check_reply",
		"assign exec-1/check_reply/2026-05-04T09:15:00.000Z/reassign",
		"comment exec-1/check_reply/2026-05-04T09:15:00.000Z/tell_second_agent",
	}
	if fmt.Sprint(first) != fmt.Sprint(want) {
		t.Fatalf("keys\n got %v\nwant %v", first, want)
	}
	if again := keys("2026-05-04T09:15:00.000Z"); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Fatalf("a retry has other keys: %v", again)
	}
	if later := keys("2026-05-04T09:30:00.000Z"); later[1] == first[1] {
		t.Fatalf("another entry shares a key: %v", later)
	}
}

// TestPreludeOf: the stretch compile starts S2 at its wait, and its first
// step runs in the starter; a workflow that never waits runs whole; a
// machine compiled per step (a version published before stretches) runs
// everything itself.
func TestPreludeOf(t *testing.T) {
	for _, c := range []struct {
		src          string
		perStep      bool
		ok, whole    bool
		startAt, ids string
	}{
		{src: "s2-reassign-unanswered", ok: true, startAt: "wait_for_reply", ids: "[assign_first]"},
		{src: "s2-reassign-unanswered", perStep: true},
		{src: "s1-escalation-shortcut", ok: true, whole: true, ids: "[route assign_billing summary_billing assign_tech summary_tech]"},
		{src: "s1-escalation-shortcut", perStep: true},
		{src: "s5-route-by-language", ok: true, whole: true, ids: "[by_language assign_spanish assign_general]"},
		{src: "s5-route-by-choice"}, // starts with a question
		{src: "reminder-loop"},      // starts with a wait
	} {
		def := parseFile(t, sources(t)[c.src])
		machine, err := CompileWith(def, Options{PerStep: c.perStep})
		if err != nil {
			t.Fatal(err)
		}
		pre, ok := PreludeOf(def, machine)
		var ids []string
		for _, s := range pre.Params.Steps {
			ids = append(ids, s.ID)
		}
		if ok != c.ok || pre.Whole != c.whole || pre.StartAt != c.startAt || (ok && fmt.Sprint(ids) != c.ids) {
			t.Errorf("%s (per step %v): ok %v whole %v startAt %q steps %v", c.src, c.perStep, ok, pre.Whole, pre.StartAt, ids)
		}
	}
}
