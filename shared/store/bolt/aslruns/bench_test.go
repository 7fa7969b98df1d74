package aslruns_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/asl"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/store/bolt/aslruns"
)

// benchDef is a small routing machine: 3 Tasks, a Choice and a Wait.
const benchDef = `{"StartAt": "Snapshot", "States": {
  "Snapshot": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f", "Payload": {"action": "snapshot", "state.$": "$"}},
    "ResultSelector": {"r.$": "$.Payload"}, "ResultPath": "$.ctx", "Next": "Open?",
    "Retry": [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 1, "MaxAttempts": 3}],
    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Close"}]},
  "Open?": {"Type": "Choice", "Choices": [{"Variable": "$.ctx.r.conversation.status", "StringEquals": "open", "Next": "Assign"}], "Default": "Close"},
  "Assign": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f", "Payload": {"action": "assign", "params": {"teamId.$": "$.form.team"}}},
    "ResultSelector": {"r.$": "$.Payload"}, "ResultPath": "$.assign", "Next": "Pause"},
  "Pause": {"Type": "Wait", "Seconds": 300, "Next": "Close"},
  "Close": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f", "Payload": {"action": "close"}}, "ResultPath": null, "End": true}}}`

var benchInput = json.RawMessage(`{"conversationId": "conv_01", "workflowId": "wf_01", "version": 3, "trigger": {"type": "conversation_opened"}, "form": {"team": "support"}, "vars": {}}`)

func benchInvoker() asl.Invoker {
	answers := map[string]json.RawMessage{
		"Snapshot": json.RawMessage(`{"conversation": {"status": "open", "assigneeId": ""}, "contact": {"name": "Ada"}}`),
		"Assign":   json.RawMessage(`{"status": "assigned", "agentId": "agt_1"}`),
		"Close":    json.RawMessage(`{}`),
	}
	return asl.InvokerFunc(func(_ context.Context, inv asl.Invocation) (json.RawMessage, error) {
		return answers[inv.StateName], nil
	})
}

// benchmarkExecutions starts b.N executions (each runs until its Wait),
// then moves the clock past the Wait and settles them all with RunDue.
func benchmarkExecutions(b *testing.B, store asl.RunStore) {
	clk := clock.NewVirtual(t0)
	r := asl.NewRunner(store, clk, benchInvoker(), &ids.Sequence{})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := r.Start(ctx, asl.StartInput{Name: fmt.Sprintf("bench-%d", i), Definition: []byte(benchDef), Input: benchInput}); err != nil {
			b.Fatal(err)
		}
	}
	clk.Advance(10 * time.Minute)
	n, err := r.RunDue(ctx)
	if err != nil || n != b.N {
		b.Fatalf("RunDue = %d, %v; want %d", n, err, b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "execs/s")
	ex, err := r.Describe(ctx, "bench-0")
	if err != nil || ex.Status != asl.StatusSucceeded {
		b.Fatalf("bench-0 is %s, %v", ex.Status, err)
	}
}

func BenchmarkExecutionsMemory(b *testing.B) {
	benchmarkExecutions(b, asl.NewMemoryRunStore())
}

func BenchmarkExecutionsBolt(b *testing.B) {
	st, err := aslruns.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchmarkExecutions(b, st)
}

// BenchmarkParse measures compiling the definition (cached by the Runner).
func BenchmarkParse(b *testing.B) {
	for range b.N {
		if _, err := asl.Parse([]byte(benchDef)); err != nil {
			b.Fatal(err)
		}
	}
}
