package embedded

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// DemoInfo is what `make run` prints: who can sign in and how to send a message.
type DemoInfo struct {
	Tokens        map[string]string // agent id -> bearer token
	ChannelID     string
	ChannelSecret string
	Workflows     []string // "id (published vN)" or "id (draft)"
}

// DemoPublished are the example workflows published at start; the others are
// saved as drafts (several conversation_opened workflows at once would all
// run on every new conversation).
var DemoPublished = map[string]bool{"escalate-billing-or-tech": true, "reassign-unanswered": true}

// BuiltinWorkflows is the Options.WorkflowsDir that loads the example
// workflows built into the binary (a copy of docs/examples), so an installed
// binary started anywhere has them.
const BuiltinWorkflows = "builtin"

//go:embed examples/*.yaml
var builtinExamples embed.FS

// workflowSources is the folder of example workflows: the built-in copy, or
// a folder on disk (which must exist).
func workflowSources(dir string) (fs.FS, error) {
	if dir == BuiltinWorkflows {
		return fs.Sub(builtinExamples, "examples")
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("workflows folder %s: not a folder", dir)
	}
	return os.DirFS(dir), nil
}

// loadWorkflows saves every *.yaml definition of dir as a draft and
// publishes the DemoPublished ones.
func loadWorkflows(ctx context.Context, m *Main, dir string) ([]string, error) {
	src, err := workflowSources(dir)
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(src, "*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	admin := engine.Person("admin", routing.RoleAdmin)
	var out []string
	for _, f := range files {
		def, err := fs.ReadFile(src, f)
		if err != nil {
			return nil, err
		}
		w, _, err := m.Flows.SaveDraft(ctx, def, admin, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		status := "draft"
		if DemoPublished[w.ID] {
			v, err := m.Flows.Publish(ctx, w.ID, 0)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			status = fmt.Sprintf("published v%d", v.Number)
		}
		out = append(out, fmt.Sprintf("%s (%s)", w.ID, status))
	}
	return out, nil
}

// storedWorkflows describes the workflows of a store that already had data.
func storedWorkflows(ctx context.Context, m *Main) ([]string, error) {
	var out []string
	err := store.ForEach(ctx, m.Store.ListWorkflows, func(w routing.Workflow) error {
		status := "draft"
		if w.PublishedVersion > 0 {
			status = fmt.Sprintf("published v%d", w.PublishedVersion)
		}
		out = append(out, fmt.Sprintf("%s (%s)", w.ID, status))
		return nil
	})
	return out, err
}

// storeEmpty reports whether the store holds no teams, agents, channels or
// workflows: only then is demo data loaded.
func storeEmpty(ctx context.Context, st store.Store) (bool, error) {
	one := store.PageRequest{Limit: 1}
	teams, err := st.ListTeams(ctx, one)
	if err != nil {
		return false, err
	}
	agents, err := st.ListAgents(ctx, one)
	if err != nil {
		return false, err
	}
	channels, err := st.ListChannels(ctx, one)
	if err != nil {
		return false, err
	}
	workflows, err := st.ListWorkflows(ctx, one)
	if err != nil {
		return false, err
	}
	return len(teams.Items)+len(agents.Items)+len(channels.Items)+len(workflows.Items) == 0, nil
}

// DemoTeams are the demo teams; the seeds' example workflows use their ids.
var DemoTeams = []routing.Team{
	{ID: "general", Name: "General", Strategy: routing.LeastOpen, OnlineOnly: true, Mode: routing.ModeAutomatic},
	{ID: "billing", Name: "Billing", Strategy: routing.RoundRobin, OnlineOnly: true, Mode: routing.ModeAutomatic},
	{ID: "tech_support", Name: "Technical Support", Strategy: routing.LeastOpen, OnlineOnly: true, Mode: routing.ModeAutomatic},
	{ID: "sales", Name: "Sales", Strategy: routing.RoundRobin, OnlineOnly: true, Mode: routing.ModeAutomatic},
	{ID: "support", Name: "Support", Strategy: routing.LeastOpen, OnlineOnly: true, Mode: routing.ModeAutomatic},
	{ID: "spanish", Name: "Spanish speakers", Strategy: routing.RoundRobin, OnlineOnly: true, Mode: routing.ModeManual},
}

// DemoAgents are the demo users: six agents, a supervisor and an admin.
var DemoAgents = []routing.Agent{
	{ID: "ana", Name: "Ana", Role: routing.RoleAgent, MaxConcurrent: 3, Teams: []string{"general", "sales"}, Status: routing.StatusOnline},
	{ID: "bruno", Name: "Bruno", Role: routing.RoleAgent, MaxConcurrent: 3, Teams: []string{"general", "support"}, Status: routing.StatusOnline},
	{ID: "carla", Name: "Carla", Role: routing.RoleAgent, MaxConcurrent: 2, Teams: []string{"billing"}, Status: routing.StatusOnline},
	{ID: "diego", Name: "Diego", Role: routing.RoleAgent, MaxConcurrent: 2, Teams: []string{"tech_support", "spanish"}, Status: routing.StatusOnline},
	{ID: "elena", Name: "Elena", Role: routing.RoleAgent, MaxConcurrent: 4, Teams: []string{"tech_support", "support", "spanish"}, Status: routing.StatusOffline},
	{ID: "farid", Name: "Farid", Role: routing.RoleAgent, MaxConcurrent: 2, Teams: []string{"sales", "billing"}, Status: routing.StatusPaused},
	{ID: "sam", Name: "Sam (supervisor)", Role: routing.RoleSupervisor, MaxConcurrent: 5, Teams: []string{"general"}, Status: routing.StatusOffline},
	{ID: "admin", Name: "Admin", Role: routing.RoleAdmin, MaxConcurrent: 0, Status: routing.StatusOffline},
}

// DemoChannelID is the demo generic webhook channel.
const DemoChannelID = "web"

// DemoBotChannelID is the demo chatbot-first channel: its conversations stay
// with a bot until a handoff (the same webhook secret as DemoChannelID).
const DemoBotChannelID = "web-bot"

// DemoBotConfig is the demo bot channel's config: the bot phase and its
// handoff rules (docs/operations.md, "A chatbot first").
var DemoBotConfig = map[string]string{
	"bot": "true", "team": "general",
	"handoffKeywords": "agent,human,person", "handoffKeywords.es": "agente,humano,persona",
	"handoffAfterFallbacks": "2", "handoffAfterSilence": "2m", "handoffMaxBotTime": "15m",
}

// LoadDemo loads the demo data into an empty store (a store with any team,
// agent, channel or workflow is left as it is: edited drafts are never
// reverted) and signs 24-hour tokens for the demo users it holds.
func LoadDemo(ctx context.Context, m *Main) (DemoInfo, error) {
	secret, err := demoSecret(filepath.Join(m.Opts.DataDir, "secrets.json"))
	if err != nil {
		return DemoInfo{}, err
	}
	info := DemoInfo{Tokens: map[string]string{}, ChannelID: DemoChannelID, ChannelSecret: secret}
	empty, err := storeEmpty(ctx, m.Store)
	if err != nil {
		return DemoInfo{}, err
	}
	if empty {
		if err := createDemo(ctx, m); err != nil {
			return DemoInfo{}, err
		}
		if m.Opts.WorkflowsDir != "" {
			if info.Workflows, err = loadWorkflows(ctx, m, m.Opts.WorkflowsDir); err != nil {
				return DemoInfo{}, err
			}
		}
	} else if info.Workflows, err = storedWorkflows(ctx, m); err != nil {
		return DemoInfo{}, err
	}
	for _, a := range DemoAgents {
		tok, err := m.Token(ctx, a.ID, 24*time.Hour)
		if routing.IsNotFound(err) {
			continue // removed since
		}
		if err != nil {
			return DemoInfo{}, err
		}
		info.Tokens[a.ID] = tok
	}
	return info, nil
}

func createDemo(ctx context.Context, m *Main) error {
	admin := engine.Person("admin", routing.RoleAdmin)
	for _, t := range DemoTeams {
		if _, err := m.Engine.CreateTeam(ctx, t, admin); err != nil {
			return err
		}
	}
	for _, a := range DemoAgents {
		if _, err := m.Engine.CreateAgent(ctx, a, admin); err != nil {
			return err
		}
	}
	ch := routing.Channel{ID: DemoChannelID, Provider: "generic", ExternalID: DemoChannelID, Name: "Web chat (generic webhook)",
		SecretRef: "file:" + DemoChannelID, Config: map[string]string{"team": "general"}}
	if _, err := m.Engine.CreateChannel(ctx, ch, admin); err != nil {
		return err
	}
	bot := routing.Channel{ID: DemoBotChannelID, Provider: "generic", ExternalID: DemoBotChannelID, Name: "Web chat with a chatbot first",
		SecretRef: "file:" + DemoChannelID, Config: DemoBotConfig}
	_, err := m.Engine.CreateChannel(ctx, bot, admin)
	return err
}

// demoSecret returns the demo channel's secret from the local secrets file
// (a string, or a credentials object as docs/operations.md shows), adding a
// random one to the file on first use.
func demoSecret(path string) (string, error) {
	fs, err := providers.LoadFileSecrets(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	ctx := context.Background()
	ref := fs.RefFor(DemoChannelID)
	if v, err := fs.Secret(ctx, ref); err == nil {
		c, err := providers.ParseCredentials(v)
		if err != nil || c.ForVerify() == "" {
			return "", fmt.Errorf("%s: the %q entry has no appSecret", path, DemoChannelID)
		}
		return c.ForVerify(), nil
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(raw)
	value, _ := json.Marshal(secret)
	if err := fs.Put(ctx, ref, value); err != nil {
		return "", err
	}
	return secret, nil
}
