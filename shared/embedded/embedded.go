// Package embedded is the composition root of the local server: one process
// serving the HTTP API with the embedded bbolt store (or a DynamoDB table),
// the outbox relay standing in for DynamoDB Streams and EventBridge, and
// (with workflows) the in-process ASL runner.
// cmd/switchboard's dev command and the end-to-end tests start it through
// Open and Start; tests listen on port 0.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/switchboard-oss/switchboard/shared/asl"
	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/flows"
	"github.com/switchboard-oss/switchboard/shared/flows/localasl"
	"github.com/switchboard-oss/switchboard/shared/httpapi"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/intake"
	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/providers/catalog"
	"github.com/switchboard-oss/switchboard/shared/relay"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
	"github.com/switchboard-oss/switchboard/shared/store/bolt/aslruns"
	"github.com/switchboard-oss/switchboard/shared/webhook"
)

// Version is the build's version, set with -ldflags.
var Version = "dev"

// Issuer is the iss claim of the local server's tokens.
const Issuer = "switchboard-local"

// Options configure the local server.
type Options struct {
	Addr         string // listen address; "127.0.0.1:0" picks a free port
	DataDir      string // the store, the signing key and the secrets live here
	VirtualClock bool   // time moves only by POST /v1/dev/clock/advance
	ClockStart   time.Time
	Demo         bool // load demo teams, agents, channel and workflows
	// WorkflowsDir holds example workflows (*.yaml) loaded with the demo data.
	WorkflowsDir string
	Engine       engine.Config
	Log          *slog.Logger
	IDs          ids.Generator
	// SweepEvery is the real-clock period of session timers and queue drains (30s).
	SweepEvery time.Duration
	// BusWorkers is how many conversations' events the relay handles in parallel (8).
	BusWorkers int
	// ProviderClient sends outbound messages (timeouts, retries); nil: defaults.
	ProviderClient *providers.Client
	// Store, when set, is used instead of the bbolt store in DataDir (for
	// example a DynamoDB table shared by several local servers), with Outbox
	// its outbox feed. Close closes it.
	Store  store.Store
	Outbox store.OutboxFeed
}

// Main is a running local server.
type Main struct {
	Opts   Options
	Store  store.Store
	Engine *engine.Engine
	// Relay publishes the outbox: every event a commit wrote, to the dispatcher.
	Relay   *relay.Relay
	Clock   clock.Clock
	Virtual *clock.Virtual // nil unless VirtualClock
	Signer  *auth.Signer
	Handler http.Handler
	URL     string // set by Start
	// Flows runs the workflows on Runner, the embedded ASL runner.
	Flows  *flows.Service
	Runner *localasl.LocalRunner
	runs   *aslruns.Store
	// Providers and Secrets deliver messages and verify webhooks.
	Providers *providers.Registry
	Secrets   providers.Secrets
	Demo      DemoInfo

	log       *slog.Logger
	srv       *http.Server
	advance   sync.Mutex
	closeOnce sync.Once
	stop      context.CancelFunc
	done      chan struct{}
	relayDone chan struct{}
}

// Open wires the local server without listening.
func Open(opts Options) (*Main, error) {
	if opts.DataDir == "" {
		opts.DataDir = ".switchboard"
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.IDs == nil {
		opts.IDs = ids.Random{}
	}
	if opts.SweepEvery <= 0 {
		opts.SweepEvery = 30 * time.Second
	}
	if opts.BusWorkers <= 0 {
		opts.BusWorkers = 8
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	m := &Main{Opts: opts, log: opts.Log, done: make(chan struct{})}
	if opts.VirtualClock {
		start := opts.ClockStart
		if start.IsZero() {
			start = time.Now().UTC().Truncate(time.Second)
		}
		m.Virtual = clock.NewVirtual(start)
		m.Clock = m.Virtual
	} else {
		m.Clock = clock.Real{}
	}
	st, feed := opts.Store, opts.Outbox
	if st == nil {
		b, err := bolt.Open(filepath.Join(opts.DataDir, "switchboard.db"))
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		st, feed = b, b.Outbox()
	}
	if feed == nil {
		st.Close()
		return nil, errors.New("a store given in Options needs its Outbox feed")
	}
	m.Store = st
	key, err := auth.LoadOrCreateKey(filepath.Join(opts.DataDir, "jwt.key"))
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if m.Signer, err = auth.NewSigner(key, Issuer, m.Clock); err != nil {
		st.Close()
		return nil, err
	}
	secretsPath := filepath.Join(opts.DataDir, "secrets.json")
	if opts.Demo {
		if _, err := demoSecret(secretsPath); err != nil {
			st.Close()
			return nil, fmt.Errorf("demo secret: %w", err)
		}
	}
	fileSecrets, err := providers.LoadFileSecrets(secretsPath) // re-read when it changes; missing: empty
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("%s: %w", secretsPath, err)
	}
	m.Secrets = providers.Resolver{"env": providers.EnvSecrets{}, "file": fileSecrets}
	m.Providers = catalog.New(catalog.Config{Client: opts.ProviderClient})

	m.Engine = engine.New(engine.Deps{Store: st, Clock: m.Clock, IDs: opts.IDs, Log: opts.Log,
		Outbox: intake.Outbox{Providers: m.Providers, Secrets: m.Secrets}, Enrich: intake.Enrich}, opts.Engine)
	runs, err := aslruns.Open(filepath.Join(opts.DataDir, "runs.db"))
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open workflow runs: %w", err)
	}
	m.runs = runs
	m.Runner = localasl.NewLocalRunner(func(inv asl.Invoker) *asl.Runner { return asl.NewRunner(runs, m.Clock, inv, opts.IDs) })
	m.Flows = flows.New(flows.Deps{Engine: m.Engine, Store: st, Runner: m.Runner, Clock: m.Clock, IDs: opts.IDs, Log: opts.Log})
	m.Runner.SetTask(m.Flows.HandleTask)
	m.Relay = relay.New(feed, m.Flows.HandleEvent, relay.WithWorkers(opts.BusWorkers), relay.WithLogger(opts.Log))

	hooks := &webhook.Handler{Providers: m.Providers, Channels: intake.Channels{Store: st}, Secrets: m.Secrets,
		Ingestor: intake.Ingestor{Engine: m.Engine}, Clock: m.Clock, Logger: opts.Log}
	cfg := httpapi.Config{Engine: m.Engine, Auth: m.Signer, Version: Version, Webhooks: hooks, Workflows: m.Flows,
		Secrets: m.Secrets, SecretWriter: fileSecrets, Log: opts.Log}
	if m.Virtual != nil {
		cfg.AdvanceClock = m.Advance
	}
	m.Handler = httpapi.New(cfg)
	if opts.Demo {
		if m.Demo, err = LoadDemo(context.Background(), m); err != nil {
			m.Close()
			return nil, fmt.Errorf("demo data: %w", err)
		}
	}
	return m, nil
}

// Start listens on Opts.Addr and serves in the background, with the periodic
// sweeper on the real clock.
func (m *Main) Start() error {
	ln, err := net.Listen("tcp", m.Opts.Addr)
	if err != nil {
		return err
	}
	m.URL = "http://" + ln.Addr().String()
	m.srv = &http.Server{Handler: m.Handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	m.stop = cancel
	go func() {
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("server stopped", "err", err)
		}
	}()
	go m.sweepLoop(ctx)
	m.relayDone = make(chan struct{})
	go func() { defer close(m.relayDone); m.Relay.Run(ctx) }()
	if m.Virtual == nil {
		go func() { _ = m.Runner.ASL.Run(ctx) }()
	}
	return nil
}

func (m *Main) sweepLoop(ctx context.Context) {
	defer close(m.done)
	if m.Virtual != nil {
		<-ctx.Done() // the virtual clock sweeps in Advance
		return
	}
	t := time.NewTicker(m.Opts.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := m.Engine.Sweep(ctx); err != nil && ctx.Err() == nil {
				m.log.Error("sweep failed", "err", err)
			}
		}
	}
}

// Settle waits until every event committed so far (and every event their
// handling committed) has been handled.
func (m *Main) Settle(ctx context.Context) error { return m.Relay.Drain(ctx) }

// Advance moves the virtual clock forward by d, stopping at every deadline on
// the way (session warnings and disconnections, workflow timers) so each
// fires at its own time, and returns once everything due has settled.
func (m *Main) Advance(ctx context.Context, d time.Duration) (time.Time, error) {
	if m.Virtual == nil {
		return time.Time{}, routing.Errorf(routing.CodeNotFound, "the clock is not virtual")
	}
	m.advance.Lock()
	defer m.advance.Unlock()
	if err := m.Settle(ctx); err != nil {
		return time.Time{}, err
	}
	target := m.Virtual.Now().Add(d)
	for guard := 0; guard < 100000; guard++ {
		next, ok, err := m.nextDeadline(ctx)
		if err != nil {
			return time.Time{}, err
		}
		if !ok || next.After(target) {
			break
		}
		m.Virtual.Set(next)
		if err := m.tick(ctx); err != nil {
			return time.Time{}, err
		}
		if again, ok, err := m.nextDeadline(ctx); err != nil || (ok && !again.After(next)) {
			break // nothing consumed that deadline: do not spin
		}
	}
	m.Virtual.Set(target)
	return target, m.tick(ctx)
}

// nextDeadline is the earliest of the session timers, the workflow timers and the bot rules.
func (m *Main) nextDeadline(ctx context.Context) (time.Time, bool, error) {
	t, ok, err := m.Engine.NextSessionDeadline(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	if w, wok := m.Runner.ASL.NextWake(); wok && (!ok || w.Before(t)) {
		t, ok = w, true
	}
	b, bok, err := m.Engine.NextBotDeadline(ctx) // bot handoff rules: silence, maximum bot time
	if err != nil {
		return time.Time{}, false, err
	}
	if bok && (!ok || b.Before(t)) {
		t, ok = b, true
	}
	return t, ok, nil
}

// tick runs everything due now: workflow timers, then sessions and queues,
// until the bus is idle and nothing more is due.
func (m *Main) tick(ctx context.Context) error {
	for i := 0; i < 1000; i++ {
		n, err := m.Runner.ASL.RunDue(ctx)
		if err != nil {
			return err
		}
		if _, err := m.Engine.Sweep(ctx); err != nil {
			return err
		}
		if err := m.Settle(ctx); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
	return nil
}

// Token signs a bearer token for an agent of the store, with its role.
func (m *Main) Token(ctx context.Context, agentID string, ttl time.Duration) (string, error) {
	a, err := m.Store.GetAgent(ctx, agentID)
	if err != nil {
		return "", err
	}
	return m.Signer.Sign(auth.Principal{Subject: a.ID, Role: a.Role}, ttl)
}

// Close stops serving and closes the stores. Later calls do nothing.
func (m *Main) Close() error {
	var err error
	m.closeOnce.Do(func() { err = m.close() })
	return err
}

func (m *Main) close() error {
	if m.stop != nil {
		m.stop()
		<-m.done
		<-m.relayDone
	}
	if m.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = m.srv.Shutdown(ctx)
		cancel()
	}
	if m.runs != nil {
		m.runs.Close()
	}
	return m.Store.Close()
}
