package cache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine/enginetest"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
	"github.com/switchboard-oss/switchboard/shared/store/bolt/bolttest"
	"github.com/switchboard-oss/switchboard/shared/store/cache"
	"github.com/switchboard-oss/switchboard/shared/store/storetest"
)

const ttl = 10 * time.Minute

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// The suite uses one store at a time: every own write must be visible at once.
func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T) store.Store {
		return cache.New(bolttest.Open(t), clock.NewVirtual(t0), ttl)
	})
}

// The exactly-once promises (stale drains, two hosts, a step twice, a
// redelivered opening, the stranded sweep, a fault at every commit) hold for
// an engine reading through the cache, as the functions driven by events do
// on AWS.
func TestTwinThroughCache(t *testing.T) {
	enginetest.RunTwinTests(t, func(t *testing.T) store.Store {
		return cache.New(bolttest.Open(t), clock.NewVirtual(t0), ttl)
	})
}

// counting counts the inner reads of the cached kinds, and can fail them or
// hold one until released.
type counting struct {
	store.Store
	mu    sync.Mutex
	calls map[string]int
	fail  error         // returned by every counted read while set
	hold  chan struct{} // when set, GetChannel signals after its inner read, then waits for a send
}

func newCounting(s store.Store) *counting {
	return &counting{Store: s, calls: map[string]int{}}
}

func (c *counting) count(kind string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[kind]++
	return c.fail
}

// holdGetChannel makes the next GetChannel stop after its inner read: it
// sends on the returned channel, then waits to receive from it.
func (c *counting) holdGetChannel() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hold = make(chan struct{})
	return c.hold
}

func (c *counting) n(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[kind]
}

func (c *counting) setFail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = err
}

func (c *counting) GetChannel(ctx context.Context, id string) (routing.Channel, error) {
	if err := c.count("GetChannel"); err != nil {
		return routing.Channel{}, err
	}
	ch, err := c.Store.GetChannel(ctx, id)
	c.mu.Lock()
	hold := c.hold
	c.hold = nil
	c.mu.Unlock()
	if hold != nil {
		hold <- struct{}{} // the read is done, not yet returned
		<-hold
	}
	return ch, err
}

func (c *counting) ListChannels(ctx context.Context, p store.PageRequest) (store.Page[routing.Channel], error) {
	if err := c.count("ListChannels"); err != nil {
		return store.Page[routing.Channel]{}, err
	}
	return c.Store.ListChannels(ctx, p)
}

func (c *counting) ListWorkflows(ctx context.Context, p store.PageRequest) (store.Page[routing.Workflow], error) {
	if err := c.count("ListWorkflows"); err != nil {
		return store.Page[routing.Workflow]{}, err
	}
	return c.Store.ListWorkflows(ctx, p)
}

func (c *counting) GetWorkflowVersion(ctx context.Context, id string, n int) (routing.WorkflowVersion, error) {
	if err := c.count("GetWorkflowVersion"); err != nil {
		return routing.WorkflowVersion{}, err
	}
	return c.Store.GetWorkflowVersion(ctx, id, n)
}

func (c *counting) GetTeam(ctx context.Context, id string) (routing.Team, error) {
	if err := c.count("GetTeam"); err != nil {
		return routing.Team{}, err
	}
	return c.Store.GetTeam(ctx, id)
}

func (c *counting) GetWorkflow(ctx context.Context, id string) (routing.Workflow, error) {
	c.count("GetWorkflow")
	return c.Store.GetWorkflow(ctx, id)
}

// fixture is a bolt store (the "other process" writes to it directly), a
// counting view of it, and the cache over the counting view.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	inner *bolt.Store
	count *counting
	clk   *clock.Virtual
	s     store.Store
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, ctx: t.Context(), inner: bolttest.Open(t), clk: clock.NewVirtual(t0)}
	f.count = newCounting(f.inner)
	f.s = cache.New(f.count, f.clk, ttl)
	f.commit(f.inner, store.Tx{
		Channels:  []store.ChannelWrite{{Value: channel("ch_1", "br")}},
		Teams:     []store.TeamWrite{{Value: team("team_a", "ag_1", "ag_2")}},
		Workflows: []store.WorkflowWrite{{Value: routing.Workflow{ID: "wf_1", Name: "one", Trigger: "conversation.opened", Definition: []byte(`{"steps":[]}`), UpdatedAt: t0}}},
		Versions: []routing.WorkflowVersion{{
			WorkflowID: "wf_1", Number: 1, Trigger: "conversation.opened",
			Definition: []byte(`{"v":1}`), ASL: []byte(`{"StartAt":"S"}`), PublishedAt: t0,
		}},
	})
	return f
}

func channel(id, region string) routing.Channel {
	return routing.Channel{ID: id, Provider: "whatsapp", ExternalID: "pn_" + id, Name: "Channel " + id, Config: map[string]string{"region": region}, CreatedAt: t0}
}

func team(id string, members ...string) routing.Team {
	return routing.Team{ID: id, Name: "Team " + id, Strategy: routing.RoundRobin, Mode: routing.ModeAutomatic, Members: members, CreatedAt: t0}
}

// changeAll changes the fixture's channel, team and workflow.
func changeAll() store.Tx {
	return store.Tx{
		Channels:  []store.ChannelWrite{{Value: channel("ch_1", "us"), ExpectVersion: 1}},
		Teams:     []store.TeamWrite{{Value: team("team_a", "ag_3"), ExpectVersion: 1}},
		Workflows: []store.WorkflowWrite{{Value: routing.Workflow{ID: "wf_1", Name: "renamed", Trigger: "conversation.opened", UpdatedAt: t0}, ExpectVersion: 1}},
	}
}

func (f *fixture) commit(s store.Store, tx store.Tx) {
	f.t.Helper()
	if err := s.Commit(f.ctx, tx); err != nil {
		f.t.Fatalf("Commit: %v", err)
	}
}

// readAll reads every cached kind once through the cache.
func (f *fixture) readAll() {
	f.t.Helper()
	if _, err := f.s.GetChannel(f.ctx, "ch_1"); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.s.ListChannels(f.ctx, store.PageRequest{Limit: 10}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.s.ListWorkflows(f.ctx, store.PageRequest{Limit: 10}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.s.GetTeam(f.ctx, "team_a"); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.s.GetWorkflowVersion(f.ctx, "wf_1", 1); err != nil {
		f.t.Fatal(err)
	}
}

var cachedKinds = []string{"GetChannel", "ListChannels", "ListWorkflows", "GetTeam", "GetWorkflowVersion"}

// wantCalls fails unless every kind in want was read from the inner store
// that many times so far.
func (f *fixture) wantCalls(what string, want map[string]int) {
	f.t.Helper()
	for _, k := range cachedKinds {
		if got := f.count.n(k); got != want[k] {
			f.t.Errorf("%s: %s inner reads = %d, want %d", what, k, got, want[k])
		}
	}
}

// wantN fails the test unless kind was read from the inner store n times.
func (f *fixture) wantN(kind string, n int, why string) {
	f.t.Helper()
	if got := f.count.n(kind); got != n {
		f.t.Fatalf("%s inner reads = %d, want %d (%s)", kind, got, n, why)
	}
}

func all(n int) map[string]int {
	m := map[string]int{}
	for _, k := range cachedKinds {
		m[k] = n
	}
	return m
}

func TestReadsKeptForTTL(t *testing.T) {
	f := newFixture(t)
	f.readAll()
	f.wantCalls("first reads", all(1))
	f.readAll()
	f.clk.Advance(ttl - time.Nanosecond)
	f.readAll()
	f.wantCalls("reads within ttl", all(1))

	f.clk.Advance(time.Nanosecond)
	f.readAll()
	want := all(2)
	want["GetWorkflowVersion"] = 1 // published versions never expire
	f.wantCalls("reads after ttl", want)

	st := f.s.(interface{ Stats() cache.Stats }).Stats()
	if st.Hits != 5+5+1 || st.Misses != 5+4 {
		t.Errorf("Stats = %+v, want 11 hits, 9 misses", st)
	}
}

func TestOtherWritersSeenAfterTTL(t *testing.T) {
	f := newFixture(t)
	f.readAll()
	// Another process changes the channel, the team and the workflow.
	f.commit(f.inner, changeAll())
	f.commit(f.inner, store.Tx{Cursors: []store.CursorSet{{TeamID: "team_a", AgentID: "ag_3"}}})
	check := func(when, region string, members []string, cursor string, workflow string) {
		t.Helper()
		ch, err := f.s.GetChannel(f.ctx, "ch_1")
		if err != nil || ch.Config["region"] != region {
			t.Errorf("%s: channel = %+v, %v; want region %s", when, ch, err, region)
		}
		tm, err := f.s.GetTeam(f.ctx, "team_a")
		if err != nil || fmt.Sprint(tm.Members) != fmt.Sprint(members) || tm.Cursor != cursor {
			t.Errorf("%s: team = %+v, %v; want members %v cursor %q", when, tm, err, members, cursor)
		}
		wp, err := f.s.ListWorkflows(f.ctx, store.PageRequest{Limit: 10})
		if err != nil || len(wp.Items) != 1 || wp.Items[0].Name != workflow {
			t.Errorf("%s: workflows = %+v, %v; want one named %q", when, wp.Items, err, workflow)
		}
		cp, err := f.s.ListChannels(f.ctx, store.PageRequest{Limit: 10})
		if err != nil || len(cp.Items) != 1 || cp.Items[0].Config["region"] != region {
			t.Errorf("%s: channel page = %+v, %v; want one in %s", when, cp.Items, err, region)
		}
	}
	check("before ttl", "br", []string{"ag_1", "ag_2"}, "", "one")
	f.wantCalls("before ttl", all(1))
	f.clk.Advance(ttl)
	check("after ttl", "us", []string{"ag_3"}, "ag_3", "renamed")
}

func TestOwnCommitInvalidates(t *testing.T) {
	f := newFixture(t)
	f.readAll()
	f.commit(f.s, changeAll())
	ch, _ := f.s.GetChannel(f.ctx, "ch_1")
	tm, _ := f.s.GetTeam(f.ctx, "team_a")
	wp, _ := f.s.ListWorkflows(f.ctx, store.PageRequest{Limit: 10})
	cp, _ := f.s.ListChannels(f.ctx, store.PageRequest{Limit: 10})
	if ch.Config["region"] != "us" || ch.Version != 2 || fmt.Sprint(tm.Members) != "[ag_3]" ||
		len(wp.Items) != 1 || wp.Items[0].Name != "renamed" || len(cp.Items) != 1 || cp.Items[0].Version != 2 {
		t.Fatalf("after own commit: channel %+v team %+v workflows %+v channels %+v", ch, tm, wp.Items, cp.Items)
	}
	want := all(2)
	want["GetWorkflowVersion"] = 1
	f.wantCalls("after own commit", want)

	// Publishing a version drops the workflow pages too.
	f.commit(f.s, store.Tx{Versions: []routing.WorkflowVersion{{WorkflowID: "wf_1", Number: 2, Trigger: "conversation.opened", Definition: []byte(`{}`), ASL: []byte(`{}`), PublishedAt: t0}}})
	f.s.ListWorkflows(f.ctx, store.PageRequest{Limit: 10})
	f.wantN("ListWorkflows", 3, "a published version drops the workflow pages")

	// Deletes drop the channel, its pages, the team and the workflow pages.
	f.readAll()
	f.commit(f.s, store.Tx{Deletes: []store.Delete{
		{Kind: store.DeleteChannel, ID: "ch_1", ExpectVersion: 2},
		{Kind: store.DeleteTeam, ID: "team_a", ExpectVersion: 2},
		{Kind: store.DeleteWorkflow, ID: "wf_1", ExpectVersion: 2},
	}})
	if _, err := f.s.GetChannel(f.ctx, "ch_1"); !routing.IsNotFound(err) {
		t.Errorf("deleted channel: %v, want not found", err)
	}
	if _, err := f.s.GetTeam(f.ctx, "team_a"); !routing.IsNotFound(err) {
		t.Errorf("deleted team: %v, want not found", err)
	}
	if p, err := f.s.ListChannels(f.ctx, store.PageRequest{Limit: 10}); err != nil || len(p.Items) != 0 {
		t.Errorf("channels after delete: %+v, %v", p.Items, err)
	}
	if p, err := f.s.ListWorkflows(f.ctx, store.PageRequest{Limit: 10}); err != nil || len(p.Items) != 0 {
		t.Errorf("workflows after delete: %+v, %v", p.Items, err)
	}
}

func TestFailedCommitInvalidates(t *testing.T) {
	f := newFixture(t)
	f.readAll()
	// A stale channel write fails; the entries it names are dropped anyway
	// (a commit that answers an error may have been applied).
	err := f.s.Commit(f.ctx, store.Tx{Channels: []store.ChannelWrite{{Value: channel("ch_1", "us"), ExpectVersion: 9}}})
	if !routing.IsConflict(err, routing.ReasonVersion) {
		t.Fatalf("stale write: %v", err)
	}
	f.readAll()
	want := all(1)
	want["GetChannel"], want["ListChannels"] = 2, 2
	f.wantCalls("after failed commit", want)
}

func TestCursorFollowsOwnMoves(t *testing.T) {
	f := newFixture(t)
	f.readAll()
	f.commit(f.s, store.Tx{Cursors: []store.CursorSet{{TeamID: "team_a", AgentID: "ag_2"}}})
	tm, err := f.s.GetTeam(f.ctx, "team_a")
	if err != nil || tm.Cursor != "ag_2" || tm.Version != 1 {
		t.Fatalf("team after own cursor move = %+v, %v; want cursor ag_2, version 1", tm, err)
	}
	f.wantN("GetTeam", 1, "the cursor move keeps the entry")

	// A failed Tx with a cursor drops the team: the next read asks again.
	err = f.s.Commit(f.ctx, store.Tx{
		Cursors:  []store.CursorSet{{TeamID: "team_a", AgentID: "ag_1"}},
		Channels: []store.ChannelWrite{{Value: channel("ch_1", "us"), ExpectVersion: 9}},
	})
	if !routing.IsConflict(err, routing.ReasonVersion) {
		t.Fatalf("failing Tx: %v", err)
	}
	tm, err = f.s.GetTeam(f.ctx, "team_a")
	if err != nil || tm.Cursor != "ag_2" {
		t.Fatalf("team after failed cursor move = %+v, %v; want stored cursor ag_2", tm, err)
	}
	f.wantN("GetTeam", 2, "a failed cursor move drops the entry")
}

func TestErrorsAndNotFoundNotKept(t *testing.T) {
	f := newFixture(t)
	for range 2 {
		if _, err := f.s.GetChannel(f.ctx, "ch_none"); !routing.IsNotFound(err) {
			t.Fatalf("missing channel: %v", err)
		}
		if _, err := f.s.GetTeam(f.ctx, "team_none"); !routing.IsNotFound(err) {
			t.Fatalf("missing team: %v", err)
		}
		if _, err := f.s.GetWorkflowVersion(f.ctx, "wf_1", 7); !routing.IsNotFound(err) {
			t.Fatalf("missing version: %v", err)
		}
	}
	want := map[string]int{"GetChannel": 2, "GetTeam": 2, "GetWorkflowVersion": 2}
	f.wantCalls("not found twice", want)

	boom := errors.New("throttled")
	f.count.setFail(boom)
	for range 2 {
		if _, err := f.s.GetChannel(f.ctx, "ch_1"); !errors.Is(err, boom) {
			t.Fatalf("failing read: %v", err)
		}
		if _, err := f.s.ListChannels(f.ctx, store.PageRequest{}); !errors.Is(err, boom) {
			t.Fatalf("failing list: %v", err)
		}
	}
	f.count.setFail(nil)
	if ch, err := f.s.GetChannel(f.ctx, "ch_1"); err != nil || ch.ID != "ch_1" {
		t.Fatalf("read after errors = %+v, %v", ch, err)
	}
	if p, err := f.s.ListChannels(f.ctx, store.PageRequest{}); err != nil || len(p.Items) != 1 {
		t.Fatalf("list after errors = %+v, %v", p, err)
	}
	want["GetChannel"], want["ListChannels"] = 5, 3
	f.wantCalls("after errors", want)
}

func TestResultsAreCallersOwn(t *testing.T) {
	f := newFixture(t)
	for round := range 3 { // the miss, then twice from the cache
		ch, _ := f.s.GetChannel(f.ctx, "ch_1")
		tm, _ := f.s.GetTeam(f.ctx, "team_a")
		cp, _ := f.s.ListChannels(f.ctx, store.PageRequest{})
		wp, _ := f.s.ListWorkflows(f.ctx, store.PageRequest{})
		v, _ := f.s.GetWorkflowVersion(f.ctx, "wf_1", 1)
		if ch.Config["region"] != "br" || fmt.Sprint(tm.Members) != "[ag_1 ag_2]" ||
			len(cp.Items) != 1 || cp.Items[0].ID != "ch_1" || cp.Items[0].Config["region"] != "br" ||
			len(wp.Items) != 1 || string(wp.Items[0].Definition) != `{"steps":[]}` ||
			string(v.Definition) != `{"v":1}` || string(v.ASL) != `{"StartAt":"S"}` {
			t.Fatalf("round %d: results changed by callers: channel %+v team %+v channels %+v workflows %+v version %+v",
				round, ch, tm, cp.Items, wp.Items, v)
		}
		ch.Config["region"] = "xx"
		tm.Members[0] = "ag_x"
		cp.Items[0].ID = "ch_x"
		cp.Items[0].Config["region"] = "xx"
		wp.Items[0].Definition[0] = 'X'
		v.Definition[0] = 'X'
		v.ASL[0] = 'X'
	}
	f.wantCalls("three rounds", all(1))
}

// A read in flight while an own Commit changes the item is returned to its
// caller (it began before the commit), but not kept: the next read sees the
// commit.
func TestReadDuringCommitNotKept(t *testing.T) {
	f := newFixture(t)
	hold := f.count.holdGetChannel()
	done := make(chan routing.Channel)
	go func() {
		ch, _ := f.s.GetChannel(t.Context(), "ch_1")
		done <- ch
	}()
	<-hold // the read has read the old channel
	f.commit(f.s, store.Tx{Channels: []store.ChannelWrite{{Value: channel("ch_1", "us"), ExpectVersion: 1}}})
	hold <- struct{}{}
	if old := <-done; old.Config["region"] != "br" {
		t.Fatalf("in-flight read = %+v, want the old channel", old)
	}
	ch, err := f.s.GetChannel(f.ctx, "ch_1")
	if err != nil || ch.Config["region"] != "us" {
		t.Fatalf("after commit = %+v, %v; want region us", ch, err)
	}
	f.wantN("GetChannel", 2, "the in-flight read was not kept")
}

func TestUncachedPassThrough(t *testing.T) {
	f := newFixture(t)
	for range 2 {
		if w, err := f.s.GetWorkflow(f.ctx, "wf_1"); err != nil || w.Name != "one" {
			t.Fatalf("GetWorkflow = %+v, %v", w, err)
		}
	}
	f.wantN("GetWorkflow", 2, "not cached")
}

func TestOutboxOnlyWhenInnerHasOne(t *testing.T) {
	clk := clock.NewVirtual(t0)
	if _, ok := cache.New(bolttest.Open(t), clk, ttl).(storetest.OutboxSource); !ok {
		t.Error("cache over bolt has no Outbox")
	}
	if _, ok := cache.New(newCounting(bolttest.Open(t)), clk, ttl).(storetest.OutboxSource); ok {
		t.Error("cache over a store without an outbox has Outbox")
	}
}

func TestNoTTLReturnsInner(t *testing.T) {
	inner := bolttest.Open(t)
	for _, d := range []time.Duration{0, -time.Second} {
		if got := cache.New(inner, clock.NewVirtual(t0), d); got != store.Store(inner) {
			t.Errorf("New(ttl %v) = %T, want the inner store itself", d, got)
		}
	}
}

// Concurrent reads, cursor moves and writes through one cache (run with -race).
func TestConcurrentUse(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				var err error
				switch (g + i) % 5 {
				case 0:
					_, err = f.s.GetChannel(ctx, "ch_1")
				case 1:
					err = f.s.Commit(ctx, store.Tx{Cursors: []store.CursorSet{{TeamID: "team_a", AgentID: fmt.Sprintf("ag_%d", g)}}})
				case 2:
					f.clk.Advance(time.Minute)
				case 3:
					var tm routing.Team
					if tm, err = f.s.GetTeam(ctx, "team_a"); err == nil {
						tm.Members = append(tm.Members[:0], "ag_x")
					}
				case 4:
					var p store.Page[routing.Channel]
					if p, err = f.s.ListChannels(ctx, store.PageRequest{}); err == nil && len(p.Items) > 0 {
						p.Items[0].Config["region"] = "xx"
					}
				}
				if err != nil {
					t.Errorf("goroutine %d step %d: %v", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	f.commit(f.s, store.Tx{Cursors: []store.CursorSet{{TeamID: "team_a", AgentID: "ag_last"}}})
	tm, err := f.s.GetTeam(f.ctx, "team_a")
	if err != nil || tm.Cursor != "ag_last" || fmt.Sprint(tm.Members) != "[ag_1 ag_2]" {
		t.Fatalf("team after concurrent use = %+v, %v", tm, err)
	}
	ch, err := f.s.GetChannel(f.ctx, "ch_1")
	if err != nil || ch.Config["region"] != "br" {
		t.Fatalf("channel after concurrent use = %+v, %v", ch, err)
	}
}
