package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
)

// bench measures the routing engine on the embedded store and, in the same
// run, the raw write rate of the embedded database, and prints a table.
//
// For each strategy it builds a team of -agents online agents on a fresh
// bbolt file (fsync on), measures the raw write rate of bbolt on the same
// file system, then -workers routers each take the next conversation, ingest
// its first message (one transaction) and route it (RouteDefault: one
// transaction), until -conversations are routed. Agents have just enough
// slots for every conversation, so the run ends with every slot taken.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("conversations", 100000, "conversations routed per strategy")
	agents := fs.Int("agents", 1000, "agents in the team")
	workers := fs.Int("workers", 16, "concurrent routers")
	rawN := fs.Int("raw", 3000, "transactions of the raw bbolt write-rate measure")
	strategies := fs.String("strategies", "least_open,round_robin", "strategies to run, comma-separated")
	noSync := fs.Bool("nosync", false, "also run each strategy without fsync (labelled; not durable)")
	dir := fs.String("dir", "", "where the benchmark databases go (default: a temp folder)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole bench (setup included) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n <= 0 || *agents <= 0 || *workers <= 0 || *rawN <= 0 {
		return errors.New("bench: -conversations, -agents, -workers and -raw must be positive")
	}
	slots := (*n + *agents - 1) / *agents
	if slots > engine.MaxConcurrentLimit {
		return fmt.Errorf("bench: %d conversations need %d slots per agent, more than the maximum %d: add agents", *n, slots, engine.MaxConcurrentLimit)
	}
	var strats []routing.Strategy
	for _, s := range strings.Split(*strategies, ",") {
		st := routing.Strategy(strings.TrimSpace(s))
		if !st.Valid() {
			return fmt.Errorf("bench: unknown strategy %q", s)
		}
		strats = append(strats, st)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "switchboard-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(stdout, "Switchboard routing benchmark, %s: %d conversations per strategy, a team of %d online agents with %d slots each, %d concurrent routers, bbolt with fsync, %s/%s, %d CPUs\n\n",
		time.Now().UTC().Format("2006-01-02"), *n, *agents, slots, *workers, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	var rows []benchRow
	for _, s := range strats {
		modes := []bool{true}
		if *noSync {
			modes = append(modes, false)
		}
		for _, fsync := range modes {
			cfg := benchConfig{dir: *dir, strategy: s, n: *n, agents: *agents, slots: slots, workers: *workers, rawN: *rawN, sync: fsync}
			fmt.Fprintf(stderr, "bench: %s...\n", cfg.label())
			r, err := benchStrategy(ctx, cfg)
			if err != nil {
				return err
			}
			rows = append(rows, r)
		}
	}
	printBenchTable(stdout, rows)
	return nil
}

type benchConfig struct {
	dir                             string
	strategy                        routing.Strategy
	n, agents, slots, workers, rawN int
	sync                            bool
}

func (c benchConfig) label() string {
	if c.sync {
		return string(c.strategy)
	}
	return string(c.strategy) + " (no fsync, not durable)"
}

type benchRow struct {
	label                   string
	raw                     float64 // raw bbolt writes/s: the mean of rawBefore and rawAfter
	rawBefore, rawAfter     float64 // measured just before and just after the run
	perSecond               float64 // routed conversations/s
	p50, p99                time.Duration
	cpu                     time.Duration // process CPU time per routed conversation
	assigned, pending, over int
	stats                   bolt.Stats
}

func printBenchTable(w io.Writer, rows []benchRow) {
	line := func(name string, cell func(r benchRow) string) {
		fmt.Fprintf(w, "| %s |", name)
		for _, r := range rows {
			fmt.Fprintf(w, " %s |", cell(r))
		}
		fmt.Fprintln(w)
	}
	line("measure", func(r benchRow) string { return r.label })
	line("---", func(benchRow) string { return "---" })
	line("raw bbolt write rate (one 300-byte put per transaction, one after another; before / after the run)", func(r benchRow) string {
		return fmt.Sprintf("%.0f writes/s (%.0f / %.0f)", r.raw, r.rawBefore, r.rawAfter)
	})
	line("routed conversations/s (ingest + assign: 2 transactions each)", func(r benchRow) string { return fmt.Sprintf("%.0f/s", r.perSecond) })
	line("routed conversations/s ÷ raw writes/s", func(r benchRow) string { return fmt.Sprintf("%.2f", r.perSecond/r.raw) })
	line("engine transactions/s ÷ raw writes/s", func(r benchRow) string { return fmt.Sprintf("%.0f/s = %.2f", 2*r.perSecond, 2*r.perSecond/r.raw) })
	line("assignment latency (RouteDefault) p50 / p99", func(r benchRow) string {
		return fmt.Sprintf("%s / %s", r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond))
	})
	line("CPU time per routed conversation (whole process, both cores)", func(r benchRow) string { return r.cpu.Round(time.Microsecond).String() })
	line("agents' open conversations / still pending / agents over capacity", func(r benchRow) string {
		return fmt.Sprintf("%d / %d / %d", r.assigned, r.pending, r.over)
	})
	line("group commit: fsynced batches, transactions per batch", func(r benchRow) string {
		return fmt.Sprintf("%d, %.1f", r.stats.Batches, float64(r.stats.Commits-r.stats.Conflicts)/float64(max(r.stats.Batches, 1)))
	})
	line("refused transactions (capacity races, retried by the engine)", func(r benchRow) string { return fmt.Sprint(r.stats.Conflicts) })
	line("committer time: applying / bbolt commit (page writes + fsync)", func(r benchRow) string {
		return fmt.Sprintf("%s / %s", r.stats.Apply.Round(time.Millisecond), r.stats.Sync.Round(time.Millisecond))
	})
	line("pages written per batch", func(r benchRow) string {
		return fmt.Sprintf("%.1f", float64(r.stats.Pages)/float64(max(r.stats.Batches, 1)))
	})
}

// benchStrategy sets up a team on a fresh file, measures the raw write rate
// beside it, routes the conversations and checks the outcome.
func benchStrategy(ctx context.Context, c benchConfig) (benchRow, error) {
	row := benchRow{label: c.label()}
	name := string(c.strategy)
	var opts []bolt.Option
	if !c.sync {
		name += "-nosync"
		opts = append(opts, bolt.WithoutSync())
	}
	path := filepath.Join(c.dir, name+".db")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	root := engine.Person("bench", routing.RoleAdmin)

	// The team is built without fsync (it is setup, not measured), then
	// the file is reopened with the options under test.
	setup, err := bolt.Open(path, bolt.WithoutSync())
	if err != nil {
		return row, err
	}
	e := engine.New(engine.Deps{Store: setup, Clock: clock.Real{}, IDs: ids.Random{}, Log: quiet}, engine.DefaultConfig())
	if _, err := e.CreateTeam(ctx, routing.Team{ID: "bench", Name: "Bench", Strategy: c.strategy, OnlineOnly: true}, root); err != nil {
		setup.Close()
		return row, err
	}
	for i := range c.agents {
		a := routing.Agent{ID: fmt.Sprintf("a%05d", i), Name: "agent", MaxConcurrent: c.slots, Teams: []string{"bench"}, Status: routing.StatusOnline}
		if _, err := e.CreateAgent(ctx, a, root); err != nil {
			setup.Close()
			return row, err
		}
	}
	ch, err := e.CreateChannel(ctx, routing.Channel{ID: "bench", Provider: "generic", SecretRef: "env:BENCH", Config: map[string]string{"team": "bench"}}, root)
	if err != nil {
		setup.Close()
		return row, err
	}
	if err := setup.Close(); err != nil {
		return row, err
	}

	// The raw rate of the disk varies (other processes share it), so it is
	// measured on either side of the run, on the same file system.
	raw := func() (float64, error) {
		rawPath := filepath.Join(c.dir, name+"-raw.db")
		if c.sync {
			return bolt.RawWriteRate(rawPath, c.rawN)
		}
		return bolt.RawWriteRateWithoutSync(rawPath, c.rawN)
	}
	if row.rawBefore, err = raw(); err != nil {
		return row, err
	}

	st, err := bolt.Open(path, opts...)
	if err != nil {
		return row, err
	}
	defer func() {
		st.Close()
		os.Remove(path)
	}()
	e = engine.New(engine.Deps{Store: st, Clock: clock.Real{}, IDs: ids.Random{}, Log: quiet}, engine.DefaultConfig())

	lat := make([]time.Duration, c.n)
	var next atomic.Int64
	var failures atomic.Int64
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) {
		failures.Add(1)
		errOnce.Do(func() { firstErr = err })
	}
	var wg sync.WaitGroup
	cpu0 := processCPU()
	start := time.Now()
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= c.n {
					return
				}
				r, err := e.Ingest(ctx, ch, engine.Inbound{MessageID: fmt.Sprint("m", i), From: fmt.Sprint("+1", i), Text: "hi"})
				if err != nil {
					fail(fmt.Errorf("ingest: %w", err))
					continue
				}
				t0 := time.Now()
				res, err := e.RouteDefault(ctx, r.ConversationID)
				lat[i] = time.Since(t0)
				if err != nil {
					fail(fmt.Errorf("route: %w", err))
				} else if res.Status != engine.Assigned {
					fail(fmt.Errorf("route: conversation %s is %s, want assigned", r.ConversationID, res.Status))
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	row.cpu = (processCPU() - cpu0) / time.Duration(c.n)
	row.stats = st.Stats()
	if row.rawAfter, err = raw(); err != nil {
		return row, err
	}
	row.raw = (row.rawBefore + row.rawAfter) / 2
	if f := failures.Load(); f > 0 {
		return row, fmt.Errorf("bench %s: %d conversations failed; the first: %w", row.label, f, firstErr)
	}
	slices.Sort(lat)
	row.perSecond = float64(c.n) / elapsed.Seconds()
	row.p50, row.p99 = lat[c.n/2], lat[c.n*99/100]

	p := store.PageRequest{Limit: store.MaxLimit}
	for {
		page, err := st.ListAgents(ctx, p)
		if err != nil {
			return row, err
		}
		for _, a := range page.Items {
			row.assigned += a.OpenCount
			if a.OpenCount > a.MaxConcurrent {
				row.over++
			}
		}
		if page.Next == "" {
			break
		}
		p.Cursor = page.Next
	}
	q, err := st.PendingQueue(ctx, "bench", store.MaxLimit)
	if err != nil {
		return row, err
	}
	row.pending = len(q)
	if row.assigned != c.n || row.pending != 0 || row.over != 0 {
		return row, fmt.Errorf("bench %s: %d open, %d pending, %d agents over capacity; want %d, 0, 0", row.label, row.assigned, row.pending, row.over, c.n)
	}
	return row, nil
}
