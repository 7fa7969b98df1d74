package engine_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
)

// benchTeam builds a team of n online agents on a bbolt file in dir with
// fsync on (the setup runs without fsync, then the file is reopened with it)
// and returns the engine, its store and the channel routing to the team.
func benchTeam(b *testing.B, s routing.Strategy, n, slots int) (*engine.Engine, *bolt.Store, routing.Channel) {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.db")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	setupStore, err := bolt.Open(path, bolt.WithoutSync())
	if err != nil {
		b.Fatal(err)
	}
	e := engine.New(engine.Deps{Store: setupStore, Clock: clock.Real{}, IDs: ids.Random{}, Log: quiet}, engine.DefaultConfig())
	if _, err := e.CreateTeam(ctx, routing.Team{ID: "bench", Name: "Bench", Strategy: s, OnlineOnly: true}, admin); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		a := routing.Agent{ID: fmt.Sprintf("a%04d", i), Name: "agent", MaxConcurrent: slots, Teams: []string{"bench"}, Status: routing.StatusOnline}
		if _, err := e.CreateAgent(ctx, a, admin); err != nil {
			b.Fatal(err)
		}
	}
	ch, err := e.CreateChannel(ctx, routing.Channel{ID: "bench", Provider: "generic", SecretRef: "env:BENCH", Config: map[string]string{"team": "bench"}}, admin)
	if err != nil {
		b.Fatal(err)
	}
	if err := setupStore.Close(); err != nil {
		b.Fatal(err)
	}
	st, err := bolt.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	e = engine.New(engine.Deps{Store: st, Clock: clock.Real{}, IDs: ids.Random{}, Log: quiet}, engine.DefaultConfig())
	return e, st, ch
}

// benchRoute routes b.N conversations (Ingest, then RouteDefault) from 16
// goroutines into one team of 1,000 online agents with fsync on, and
// reports conversations/s and the assignment latency p50/p99.
func benchRoute(b *testing.B, s routing.Strategy) {
	const agents = 1000
	e, st, ch := benchTeam(b, s, agents, engine.MaxConcurrentLimit)
	ctx := context.Background()
	var next atomic.Int64
	lats := make(chan []time.Duration, 64)
	b.SetParallelism(8) // 16 routers on 2 cores, like the bench command
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			i := next.Add(1)
			r, err := e.Ingest(ctx, ch, engine.Inbound{MessageID: fmt.Sprint("m", i), From: fmt.Sprint("+1", i), Text: "hi"})
			if err != nil {
				b.Error(err)
				return
			}
			t0 := time.Now()
			res, err := e.RouteDefault(ctx, r.ConversationID)
			if err != nil || res.Status != engine.Assigned {
				b.Errorf("route: %+v %v", res, err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		lats <- mine
	})
	elapsed := time.Since(start)
	b.StopTimer()
	close(lats)
	var all []time.Duration
	for l := range lats {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "conversations/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
	q, err := st.PendingQueue(ctx, "bench", 1)
	if err != nil || len(q) != 0 {
		b.Fatalf("pending after the run: %d, %v", len(q), err)
	}
}

func BenchmarkRouteLeastOpen1000Agents(b *testing.B) { benchRoute(b, routing.LeastOpen) }

func BenchmarkRouteRoundRobin1000Agents(b *testing.B) { benchRoute(b, routing.RoundRobin) }
