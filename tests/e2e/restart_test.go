package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Workflow runs, the store and the channel survive a restart of the local
// server: a run waiting when the server stops resumes on the next start.
func TestWorkflowRunSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e := start(t, "", withDataDir(dir))
	e.team("first", routing.RoundRobin, routing.ModeAutomatic, true)
	e.team("second", routing.RoundRobin, routing.ModeAutomatic, true)
	e.agent("alba", 3, routing.StatusOnline, "first")
	e.agent("beto", 3, routing.StatusOnline, "second")
	e.publish(fmt.Sprintf(s2Workflow, "restart", "alba", "30m", "second"))
	c := e.inbound("+34600200001", "hola")
	e.advance(10 * time.Minute)
	if e.conv(c).str("assigneeId") != "alba" {
		t.Fatal("setup: not assigned to the first agent")
	}
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}

	e2 := start(t, "", withDataDir(dir))
	e2.chOnce.Do(func() {}) // the channel is already stored
	// the virtual clock restarts at t0: the run still waits until t0+30m
	e2.advance(29 * time.Minute)
	if e2.conv(c).str("assigneeId") != "alba" {
		t.Fatal("reassigned before the wait ended")
	}
	e2.advance(2 * time.Minute)
	if a := e2.conv(c).str("assigneeId"); a != "beto" {
		t.Fatalf("the waiting run did not resume after the restart: assignee %q", a)
	}
	if n := e2.countEvents(c, routing.EvWorkflowStarted); n != 1 {
		t.Fatalf("%d runs", n)
	}
}
