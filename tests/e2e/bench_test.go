package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/asl"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// BenchmarkS2WorkflowRuns measures the embedded runner on the S2 workflow
// (assign, wait 15 minutes, snapshot + branch, reassign, comment) on the
// virtual clock, with the local server's durable stores: each run is one
// conversation opened by a contact, left unanswered, and reassigned.
func BenchmarkS2WorkflowRuns(b *testing.B) {
	e := start(b, "")
	e.team("first", routing.RoundRobin, routing.ModeAutomatic, true)
	e.team("second", routing.LeastOpen, routing.ModeAutomatic, true)
	e.agent("alba", 1000, routing.StatusOnline, "first") // at capacity, later runs queue on "first": the run goes on
	for i := 0; i <= b.N/1000; i++ {
		e.agent(fmt.Sprint("beto", i), 1000, routing.StatusOnline, "second")
	}
	e.publish(fmt.Sprintf(s2Workflow, "bench", "alba", "15m", "second"))
	e.channel()
	ctx := context.Background()
	ch, err := e.m.Store.GetChannel(ctx, channelID)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.m.Engine.Ingest(ctx, ch, engine.Inbound{MessageID: fmt.Sprint("b", i), From: fmt.Sprint("+1999", i), Text: "hi"}); err != nil {
			b.Fatal(err)
		}
	}
	e.settle()
	if _, err := e.m.Advance(ctx, 16*time.Minute); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
	team, _ := e.m.Store.GetTeam(ctx, "second")
	agents, _ := e.m.Store.GetAgents(ctx, team.Members)
	held := 0
	for _, a := range agents {
		held += a.OpenCount
	}
	if held != b.N {
		b.Fatalf("%d of %d runs reassigned", held, b.N)
	}
}

// TestTransitionsPerRun records the Step Functions state transitions of each
// example workflow's happy path, measured by running it on the local server,
// and the Standard cost per 1,000 runs ($0.025 per 1,000 transitions).
func TestTransitionsPerRun(t *testing.T) {
	examples, _ := filepath.Glob(filepath.Join("..", "..", "docs", "examples", "*.yaml"))
	if len(examples) < 4 {
		t.Fatalf("examples: %v", examples)
	}
	for _, path := range examples {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		e := start(t, "")
		for _, tm := range []string{"general", "billing", "tech_support", "sales", "support", "spanish"} {
			e.team(tm, routing.RoundRobin, routing.ModeAutomatic, false)
		}
		for _, ag := range []string{"ana", "bruno", "carla", "diego", "elena", "farid"} {
			e.agent(ag, 10, routing.StatusOnline, "general", "billing", "tech_support", "sales", "support", "spanish")
		}
		id := e.publish(string(src))
		c := e.inbound("+34600300001", "hola")
		if id == "escalate-billing-or-tech" {
			e.must(e.call("POST", "/v1/conversations/"+c+"/shortcuts/"+id, e.admin, map[string]any{"form": map[string]string{"team": "billing", "summary": "s"}}), 202)
		}
		if id == "route-by-choice" {
			raw := []byte(`{"channelId":"web","messageId":"ans","from":"+34600300001","text":"1"}`)
			e.must(e.signedWebhook(raw, e.sign(raw)), 200)
		}
		e.settle()
		e.advance(time.Hour)
		var name string
		for _, ev := range e.timeline(c) {
			if ev["type"] == string(routing.EvWorkflowStarted) {
				d := ev["data"].(map[string]any)
				if name, _ = d["execution"].(string); name == "" {
					name, _ = d["run"].(string) // ran whole in the dispatcher
				}
			}
		}
		// The happy paths' Step Functions transitions, written out: the
		// workflows that never wait run whole in the dispatcher or the API (no
		// execution); S2 and S5-by-choice start at their wait or question.
		want := map[string]int{"escalate-billing-or-tech": 0, "reassign-unanswered": 2, "route-by-choice": 2, "route-by-language": 0}[id]
		if name == "" {
			t.Fatalf("%s: no run on the timeline", id)
		}
		ex, err := e.m.Runner.ASL.Describe(context.Background(), name)
		if want == 0 {
			if err == nil {
				t.Fatalf("%s: an execution ran (%v), want none", id, ex.StatesEntered())
			}
			t.Logf("%-26s 0 transitions: ran in the dispatcher", id)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if ex.Status != asl.StatusSucceeded || ex.Transitions() != want {
			t.Fatalf("%s: %s after %d transitions (%v), want %d", id, ex.Status, ex.Transitions(), ex.StatesEntered(), want)
		}
		t.Logf("%-26s %d transitions, Standard $%.4f per 1,000 runs: %v", id, ex.Transitions(), float64(ex.Transitions())*0.025, ex.StatesEntered())
	}
}

// BenchmarkWebhookPath measures the webhook's server-side path, verify ->
// stored -> published, on the local server's durable store: a signed generic
// webhook served by the handler in process (no network), answered once the
// message is committed and its events are on the bus. Routing runs after
// the answer and is not counted. Reports p50 and p99.
func BenchmarkWebhookPath(b *testing.B) {
	e := start(b, "front")
	e.team("front", routing.LeastOpen, routing.ModeAutomatic, false)
	e.agent("ag", 1000, routing.StatusOnline, "front")
	e.channel()
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		raw := []byte(fmt.Sprintf(`{"channelId":"web","messageId":"w%d","from":"+1888%07d","text":"hello"}`, i, i%500))
		req := httptest.NewRequest("POST", "/v1/webhooks/generic", bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Switchboard-Signature", e.sign(raw))
		rec := httptest.NewRecorder()
		t0 := time.Now()
		e.m.Handler.ServeHTTP(rec, req)
		lat[i] = time.Since(t0)
		if rec.Code != 200 {
			b.Fatalf("webhook %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	b.StopTimer()
	e.settle()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
