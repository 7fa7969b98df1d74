// Command switchboard is Switchboard's CLI: the local server (dev), tokens
// for its users, and workflow tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/buildinfo"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/embedded"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

const usage = `switchboard: conversation routing engine

Usage:
  switchboard dev [--addr 127.0.0.1:8080] [--data ./.switchboard] [--virtual-clock] [--demo] [--log-format text|json]
                 [--store dynamodb --table NAME [--dynamodb-endpoint URL] [--create-table]]
  switchboard token --agent ID [--role agent|supervisor|admin|bot] [--data ./.switchboard] [--ttl 24h]
  switchboard workflow validate|compile|graph|simulate FILE
  switchboard bench [--conversations N] [--agents N] [--workers N] [--strategies least_open,round_robin] [--nosync]
  switchboard version

Run a command with -h for its flags.

Environment: SWITCHBOARD_ADDR and SWITCHBOARD_DATA set the defaults of --addr and --data;
SWITCHBOARD_STORE, SWITCHBOARD_TABLE and SWITCHBOARD_DYNAMODB_ENDPOINT those of --store, --table and
--dynamodb-endpoint. With --store dynamodb the region and credentials come from the usual AWS
environment (AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, ...).
`

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errUsage) {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
	}
	os.Exit(exitCode(err))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "dev":
		return dev(ctx, args[1:], stdout, stderr)
	case "token":
		return token(ctx, args[1:], stdout, stderr)
	case "workflow":
		return workflowCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		return bench(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, buildinfo.Version(embedded.Version))
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func dev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr("SWITCHBOARD_ADDR", "127.0.0.1:8080"), "listen address")
	data := fs.String("data", envOr("SWITCHBOARD_DATA", ".switchboard"), "data folder")
	virtual := fs.Bool("virtual-clock", false, "time moves only by POST /v1/dev/clock/advance")
	demo := fs.Bool("demo", false, "load demo teams, agents, channel and workflows")
	examples := fs.String("workflows", embedded.BuiltinWorkflows, "folder of example workflows loaded with --demo into an empty data folder (builtin: the copy of docs/examples in the binary)")
	sessionHours := fs.Duration("session", 12*time.Hour, "agent session length before automatic disconnection")
	warn := fs.Duration("session-warning", 30*time.Minute, "warning before the disconnection")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json (one line per request, with its X-Request-Id)")
	escOrder := fs.String("escalation-order", os.Getenv("SWITCHBOARD_ESCALATION_ORDER"),
		"queue order of escalation types, most urgent first (default emergency,complaint,appointment,purchase,general,billing); types left out follow in the default order")
	storeOpts := addStoreFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *escOrder != "" {
		order, err := routing.ParseEscalationOrder(*escOrder)
		if err == nil {
			err = routing.SetEscalationOrder(order)
		}
		if err != nil {
			return fmt.Errorf("--escalation-order: %w", err)
		}
	}
	log, err := newLogger(*logFormat, stderr)
	if err != nil {
		return err
	}
	slog.SetDefault(log) // the HTTP API's request log
	st, feed, where, err := storeOpts.open(ctx, log)
	if err != nil {
		return err
	}
	m, err := embedded.Open(embedded.Options{Addr: *addr, DataDir: *data, VirtualClock: *virtual, Demo: *demo, Log: log, WorkflowsDir: *examples,
		Engine: engineConfig(*sessionHours, *warn), Store: st, Outbox: feed})
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Start(); err != nil {
		return err
	}
	if where == "" {
		where = "data in " + *data
	} else {
		where += ", local files in " + *data
	}
	fmt.Fprintf(stdout, "Switchboard %s listening on %s (%s)\n", embedded.Version, m.URL, where)
	if *virtual {
		fmt.Fprintf(stdout, "Virtual clock at %s: POST %s/v1/dev/clock/advance {\"duration\":\"15m\"}\n", m.Clock.Now().Format(time.RFC3339), m.URL)
	}
	if *demo {
		printDemo(stdout, m)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Fprintln(stdout, "shutting down")
	return nil
}

func printDemo(w io.Writer, m *embedded.Main) {
	fmt.Fprintln(w, "\nDemo users (24h bearer tokens):")
	ids := make([]string, 0, len(m.Demo.Tokens))
	for id := range m.Demo.Tokens {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(w, "  export TOKEN_%s=%s\n", id, m.Demo.Tokens[id])
	}
	fmt.Fprintln(w, "\nWorkflows:")
	for _, wf := range m.Demo.Workflows {
		fmt.Fprintln(w, "  "+wf)
	}
	fmt.Fprintf(w, "\nGeneric webhook: channel %q, secret %s\n", m.Demo.ChannelID, m.Demo.ChannelSecret)
	fmt.Fprintf(w, "  body='{\"channelId\":\"%s\",\"messageId\":\"m1\",\"from\":\"+34600111222\",\"text\":\"Hola\"}'\n", m.Demo.ChannelID)
	fmt.Fprintf(w, "  sig=$(printf %%s \"$body\" | openssl dgst -sha256 -hmac %s | cut -d' ' -f2)\n", m.Demo.ChannelSecret)
	fmt.Fprintf(w, "  curl -s -X POST %s/v1/webhooks/generic -H \"X-Switchboard-Signature: sha256=$sig\" -H 'Content-Type: application/json' -d \"$body\"\n\n", m.URL)
}

func token(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	agent := fs.String("agent", "", "agent id")
	role := fs.String("role", "", "agent, supervisor, admin or bot (default: the agent's role in the store, which needs the server stopped)")
	data := fs.String("data", envOr("SWITCHBOARD_DATA", ".switchboard"), "data folder")
	ttl := fs.Duration("ttl", 24*time.Hour, "token lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *agent == "" {
		return errors.New("--agent is required")
	}
	if *role != "" {
		if !routing.Role(*role).Valid() {
			return errors.New("--role must be agent, supervisor, admin or bot")
		}
		key, err := auth.LoadOrCreateKey(filepath.Join(*data, "jwt.key"))
		if err != nil {
			return err
		}
		s, err := auth.NewSigner(key, embedded.Issuer, clock.Real{})
		if err != nil {
			return err
		}
		tok, err := s.Sign(auth.Principal{Subject: *agent, Role: routing.Role(*role)}, *ttl)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, tok)
		return nil
	}
	m, err := embedded.Open(embedded.Options{DataDir: *data, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return fmt.Errorf("%w (is the server running? pass --role to sign without reading the store)", err)
	}
	defer m.Close()
	tok, err := m.Token(ctx, *agent, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
