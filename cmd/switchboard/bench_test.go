package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A small run of the bench command prints one column per strategy and
// checks every conversation was assigned within capacity.
func TestBenchCommandSmallRun(t *testing.T) {
	var out, errOut bytes.Buffer
	args := []string{"bench", "-conversations", "120", "-agents", "7", "-workers", "4", "-raw", "20", "-dir", t.TempDir(), "-nosync"}
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut.String())
	}
	table := out.String()
	for _, want := range []string{
		"| measure | least_open | least_open (no fsync, not durable) | round_robin | round_robin (no fsync, not durable) |",
		"| agents' open conversations / still pending / agents over capacity | 120 / 0 / 0 | 120 / 0 / 0 | 120 / 0 / 0 | 120 / 0 / 0 |",
		"routed conversations/s ÷ raw writes/s",
		"assignment latency (RouteDefault) p50 / p99",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
}

func TestBenchCommandRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "-conversations", "0"},
		{"bench", "-strategies", "fastest"},
		{"bench", "-conversations", "2000", "-agents", "1"}, // 2,000 slots for one agent
	} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), append(args, "-dir", t.TempDir()), &out, &errOut); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
