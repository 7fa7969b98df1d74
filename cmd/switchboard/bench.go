package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
)

// bench measures the routing engine on the embedded store and, in the same
// run, the raw write rate of the embedded database, and prints a table.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("conversations", 100000, "conversations routed per strategy")
	agents := fs.Int("agents", 1000, "agents in the team")
	workers := fs.Int("workers", 16, "concurrent routers")
	dir := fs.String("dir", "", "where the benchmark databases go (default: a temp folder)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "switchboard-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	fmt.Fprintf(stdout, "Switchboard routing benchmark: %d conversations per strategy, %d agents, %d workers, bbolt with fsync\n\n", *n, *agents, *workers)

	rawSeq, err := bolt.RawWriteRate(filepath.Join(*dir, "raw.db"), 2000)
	if err != nil {
		return err
	}
	rows := []benchRow{}
	for _, s := range []routing.Strategy{routing.LeastOpen, routing.RoundRobin} {
		r, err := benchStrategy(ctx, filepath.Join(*dir, string(s)+".db"), s, *n, *agents, *workers)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	fmt.Fprintf(stdout, "| measure | value |\n|---|---|\n")
	fmt.Fprintf(stdout, "| raw bbolt write rate (one 300-byte put per fsynced transaction) | %.0f writes/s |\n", rawSeq)
	for _, r := range rows {
		fmt.Fprintf(stdout, "| %s: routed conversations/s (ingest + assign, 2 transactions each) | %.0f/s |\n", r.strategy, r.perSecond)
		fmt.Fprintf(stdout, "| %s: engine transactions/s vs raw writes/s | %.0f/s = %.2fx raw |\n", r.strategy, r.perSecond*2, r.perSecond*2/rawSeq)
		fmt.Fprintf(stdout, "| %s: assignment latency p50 / p99 | %s / %s |\n", r.strategy, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond))
		fmt.Fprintf(stdout, "| %s: assigned / pending / over capacity | %d / %d / %d |\n", r.strategy, r.assigned, r.pending, r.over)
	}
	return nil
}

type benchRow struct {
	strategy                routing.Strategy
	perSecond               float64
	p50, p99                time.Duration
	assigned, pending, over int
}

func benchStrategy(ctx context.Context, path string, s routing.Strategy, n, agents, workers int) (benchRow, error) {
	st, err := bolt.Open(path)
	if err != nil {
		return benchRow{}, err
	}
	defer st.Close()
	e := engine.New(engine.Deps{Store: st, Clock: clock.Real{}, IDs: ids.Random{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, engine.DefaultConfig())
	root := engine.Person("bench", routing.RoleAdmin)
	if _, err := e.CreateTeam(ctx, routing.Team{ID: "bench", Name: "Bench", Strategy: s, OnlineOnly: true}, root); err != nil {
		return benchRow{}, err
	}
	slots := (n + agents - 1) / agents
	for i := 0; i < agents; i++ { // one at a time: each joins the same team item
		if _, err := e.CreateAgent(ctx, routing.Agent{ID: fmt.Sprintf("a%04d", i), Name: "agent", MaxConcurrent: slots, Teams: []string{"bench"}, Status: routing.StatusOnline}, root); err != nil {
			return benchRow{}, err
		}
	}
	var wg sync.WaitGroup
	ch, err := e.CreateChannel(ctx, routing.Channel{ID: "bench", Provider: "generic", SecretRef: "env:BENCH", Config: map[string]string{"team": "bench"}}, root)
	if err != nil {
		return benchRow{}, err
	}
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Int64
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				r, err := e.Ingest(ctx, ch, engine.Inbound{MessageID: fmt.Sprint("m", i), From: fmt.Sprint("+1", i), Text: "hi"})
				if err != nil {
					failed.Add(1)
					continue
				}
				t0 := time.Now()
				if _, err := e.RouteDefault(ctx, r.ConversationID); err != nil {
					failed.Add(1)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failed.Load(); f > 0 {
		return benchRow{}, fmt.Errorf("%d conversations failed", f)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	row := benchRow{strategy: s, perSecond: float64(n) / elapsed.Seconds(), p50: lat[n/2], p99: lat[n*99/100]}
	page, err := st.ListAgents(ctx, storePage())
	if err != nil {
		return benchRow{}, err
	}
	for {
		for _, a := range page.Items {
			row.assigned += a.OpenCount
			if a.OpenCount > a.MaxConcurrent {
				row.over++
			}
		}
		if page.Next == "" {
			break
		}
		p := storePage()
		p.Cursor = page.Next
		if page, err = st.ListAgents(ctx, p); err != nil {
			return benchRow{}, err
		}
	}
	q, err := st.PendingQueue(ctx, "bench", 1000)
	if err != nil {
		return benchRow{}, err
	}
	row.pending = len(q)
	return row, nil
}
