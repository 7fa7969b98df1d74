package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/shared/embedded"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"gopkg.in/yaml.v3"
)

const workflowUsage = `Usage:
  switchboard workflow validate FILE      check a definition (JSON or YAML); errors name the step and field
  switchboard workflow compile FILE       print the generated Amazon States Language
  switchboard workflow graph FILE         print a Mermaid flowchart
  switchboard workflow simulate [flags] FILE
      run the workflow on a virtual clock against the demo teams and agents and
      print the trace of steps, assignments and messages. Flags:
      --from +34600111222   the contact's phone (drives language and country)
      --text "hola"         the first message
      --answer "2"          a reply sent after the first message (Ask a Question)
      --form team=billing   shortcut form values (repeatable)
      --advance 1h          how far the clock moves after the event (waits fire)
      --teams FILE          your own teams and agents (JSON or YAML:
                            {teams: [{id, name, strategy, mode, onlineOnly}],
                             agents: [{id, name, maxConcurrent, teams, status}]}),
                            added to the demo ones
`

func workflowCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 1 {
		fmt.Fprint(stderr, workflowUsage)
		return errUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, workflowUsage)
		return nil
	}
	switch args[0] {
	case "validate", "compile", "graph":
		if len(args) != 2 {
			fmt.Fprint(stderr, workflowUsage)
			return errors.New("give one FILE (or - for standard input)")
		}
		f := map[string]func(io.Writer, string) error{"validate": Validate, "compile": Compile, "graph": Graph}[args[0]]
		return toolOutput(f, args[1], stdout, stderr)
	case "simulate":
		return simulate(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, workflowUsage)
	return fmt.Errorf("unknown workflow command %q", args[0])
}

type formFlag map[string]string

func (f formFlag) String() string { return fmt.Sprint(map[string]string(f)) }
func (f formFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return errors.New("want field=value")
	}
	f[k] = val
	return nil
}

func simulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "+34600111222", "the contact's phone number")
	text := fs.String("text", "Hello", "the contact's first message")
	answer := fs.String("answer", "", "a reply sent after the first message")
	advance := fs.Duration("advance", 24*time.Hour, "virtual time to let pass after the event")
	form := formFlag{}
	fs.Var(form, "form", "shortcut form value field=value (repeatable)")
	teamsFile := fs.String("teams", "", "a JSON or YAML file of teams and agents to add to the demo ones")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, workflowUsage)
		return errors.New("give one workflow FILE")
	}
	src, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "switchboard-simulate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	m, err := embedded.Open(embedded.Options{DataDir: dir, VirtualClock: true, ClockStart: start, Demo: true, IDs: &ids.Sequence{},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer m.Close()
	admin := engine.Person("admin", routing.RoleAdmin)
	if *teamsFile != "" {
		if err := loadTeams(ctx, m.Engine, *teamsFile); err != nil {
			return fmt.Errorf("--teams %s: %w", *teamsFile, err)
		}
	}
	wf, _, err := m.Flows.SaveDraft(ctx, src, admin, 0)
	if err != nil {
		return err
	}
	if _, err := m.Flows.Publish(ctx, wf.ID, 0); err != nil {
		return err
	}
	ch, err := m.Store.GetChannel(ctx, embedded.DemoChannelID)
	if err != nil {
		return err
	}
	in, err := m.Engine.Ingest(ctx, ch, engine.Inbound{MessageID: "sim-1", From: *from, Phone: *from, Text: *text})
	if err != nil {
		return err
	}
	if err := m.Settle(ctx); err != nil {
		return err
	}
	if wf.Trigger == "shortcut" {
		if _, err := m.Flows.RunShortcut(ctx, in.ConversationID, wf.ID, form, admin, "sim"); err != nil {
			return err
		}
		_ = m.Settle(ctx)
	}
	if *answer != "" {
		if _, err := m.Engine.Ingest(ctx, ch, engine.Inbound{MessageID: "sim-2", From: *from, Text: *answer}); err != nil {
			return err
		}
		_ = m.Settle(ctx)
	}
	if _, err := m.Advance(ctx, *advance); err != nil {
		return err
	}
	return printTrace(ctx, stdout, m, in.ConversationID, start)
}

func printTrace(ctx context.Context, w io.Writer, m *embedded.Main, convID string, start time.Time) error {
	page, err := m.Store.Events(ctx, convID, store.PageRequest{Limit: store.MaxLimit})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Conversation %s timeline (t = virtual time since the first message):\n", convID)
	var executions []string
	for _, ev := range page.Items {
		line := fmt.Sprintf("  t+%-8s %-24s %-28s", ev.At.Sub(start).Round(time.Second), ev.Type, ev.Actor)
		var parts []string
		if ev.Note != "" {
			parts = append(parts, fmt.Sprintf("note=%q", ev.Note))
		}
		for _, k := range []string{"to", "from", "team", "why", "text", "error", "execution"} {
			if v, ok := ev.Data[k]; ok && v != "" {
				parts = append(parts, fmt.Sprintf("%s=%v", k, v))
			}
		}
		if ex, ok := ev.Data["execution"].(string); ok && ev.Type == routing.EvWorkflowStarted {
			executions = append(executions, ex)
		}
		fmt.Fprintln(w, strings.TrimRight(line+" "+strings.Join(parts, " "), " "))
	}
	for _, name := range executions {
		ex, err := m.Runner.ASL.Describe(ctx, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\nExecution %s: %s after %d state transitions\n  states: %s\n", name, ex.Status, ex.Transitions(), strings.Join(ex.StatesEntered(), " -> "))
	}
	conv, err := m.Store.GetConversation(ctx, convID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nFinal: status=%s team=%s assignee=%s botActive=%v\n", conv.Status, conv.TeamID, conv.AssigneeID, conv.BotActive)
	return nil
}

// simTeams is the --teams file of workflow simulate.
type simTeams struct {
	Teams []struct {
		ID         string `yaml:"id"`
		Name       string `yaml:"name"`
		Strategy   string `yaml:"strategy"`
		Mode       string `yaml:"mode"`
		OnlineOnly *bool  `yaml:"onlineOnly"`
	} `yaml:"teams"`
	Agents []struct {
		ID            string   `yaml:"id"`
		Name          string   `yaml:"name"`
		MaxConcurrent int      `yaml:"maxConcurrent"`
		Teams         []string `yaml:"teams"`
		Status        string   `yaml:"status"`
	} `yaml:"agents"`
}

// loadTeams adds the teams and agents of a --teams file through the engine
// (validated like the API's), teams first.
func loadTeams(ctx context.Context, eng *engine.Engine, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var f simTeams
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return err
	}
	admin := engine.Person("admin", routing.RoleAdmin)
	for _, t := range f.Teams {
		strategy := routing.Strategy(t.Strategy)
		if strategy == "" {
			strategy = routing.RoundRobin
		}
		spec := engine.TeamSpec{ID: t.ID, Name: t.Name, Strategy: strategy, Mode: routing.Mode(t.Mode), OnlineOnly: t.OnlineOnly}
		if _, err := eng.CreateTeamSpec(ctx, spec, admin); err != nil {
			return fmt.Errorf("team %q: %w", t.ID, err)
		}
	}
	for _, a := range f.Agents {
		status := routing.AgentStatus(a.Status)
		if status == "" {
			status = routing.StatusOnline
		}
		if _, err := eng.CreateAgent(ctx, routing.Agent{ID: a.ID, Name: a.Name, MaxConcurrent: a.MaxConcurrent, Teams: a.Teams, Status: status}, admin); err != nil {
			return fmt.Errorf("agent %q: %w", a.ID, err)
		}
	}
	return nil
}
