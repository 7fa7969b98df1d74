package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// A workflow's started/ended entry is written once per key, at the time given.
func TestRecordWorkflowOnce(t *testing.T) {
	e, clk, st := newEngine(t)
	ch := setup(t, e, routing.RoundRobin, map[string]int{"a": 1})
	ctx := context.Background()
	in, err := e.Ingest(ctx, ch, engine.Inbound{MessageID: "m1", From: "+34600000001", Phone: "+34600000001", Text: "hola"})
	if err != nil {
		t.Fatal(err)
	}
	ended := clk.Now().Add(-time.Minute)
	for range 3 {
		if err := e.RecordWorkflowOnce(ctx, "ended#x", time.Hour, ended, in.ConversationID, routing.EvWorkflowEnded, "wf_1", "done", map[string]any{"status": "succeeded"}); err != nil {
			t.Fatal(err)
		}
	}
	var got []routing.Event
	err = store.ForEach(ctx, func(ctx context.Context, p store.PageRequest) (store.Page[routing.Event], error) {
		return st.Events(ctx, in.ConversationID, p)
	}, func(ev routing.Event) error {
		if ev.Type == routing.EvWorkflowEnded {
			got = append(got, ev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].At.Equal(ended) || got[0].Actor != "workflow:wf_1" {
		t.Fatalf("workflow.ended entries: %+v; want one, at %v, by workflow:wf_1", got, ended)
	}
}
