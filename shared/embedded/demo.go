package embedded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/routing"
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

// loadWorkflows saves every *.yaml definition of dir as a draft and
// publishes the DemoPublished ones (unless already published).
func loadWorkflows(ctx context.Context, m *Main, dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	admin := engine.Person("admin", routing.RoleAdmin)
	var out []string
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		w, _, err := m.Flows.SaveDraft(ctx, src, admin, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		status := "draft"
		if DemoPublished[w.ID] {
			if w.PublishedVersion == 0 {
				v, err := m.Flows.Publish(ctx, w.ID, 0)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", filepath.Base(f), err)
				}
				w.PublishedVersion = v.Number
			}
			status = fmt.Sprintf("published v%d", w.PublishedVersion)
		}
		out = append(out, fmt.Sprintf("%s (%s)", w.ID, status))
	}
	return out, nil
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

// LoadDemo creates the demo data that is not there yet (it is safe to run on
// every start) and signs 24-hour tokens for the demo users.
func LoadDemo(ctx context.Context, m *Main) (DemoInfo, error) {
	admin := engine.Person("admin", routing.RoleAdmin)
	for _, t := range DemoTeams {
		if _, err := m.Engine.CreateTeam(ctx, t, admin); err != nil && !routing.IsConflict(err, routing.ReasonExists) {
			return DemoInfo{}, err
		}
	}
	for _, a := range DemoAgents {
		if _, err := m.Engine.CreateAgent(ctx, a, admin); err != nil && !routing.IsConflict(err, routing.ReasonExists) {
			return DemoInfo{}, err
		}
	}
	secret, err := demoSecret(filepath.Join(m.Opts.DataDir, "secrets.json"))
	if err != nil {
		return DemoInfo{}, err
	}
	ch := routing.Channel{ID: DemoChannelID, Provider: "generic", ExternalID: DemoChannelID, Name: "Web chat (generic webhook)",
		SecretRef: "file:" + DemoChannelID, Config: map[string]string{"team": "general"}}
	if _, err := m.Engine.CreateChannel(ctx, ch, admin); err != nil && !routing.IsConflict(err, routing.ReasonExists) {
		return DemoInfo{}, err
	}
	info := DemoInfo{Tokens: map[string]string{}, ChannelID: DemoChannelID, ChannelSecret: secret}
	if m.Opts.WorkflowsDir != "" {
		if info.Workflows, err = loadWorkflows(ctx, m, m.Opts.WorkflowsDir); err != nil {
			return DemoInfo{}, err
		}
	}
	for _, a := range DemoAgents {
		tok, err := m.Token(ctx, a.ID, 24*time.Hour)
		if err != nil {
			return DemoInfo{}, err
		}
		info.Tokens[a.ID] = tok
	}
	return info, nil
}

// demoSecret returns the demo channel's secret from the local secrets file,
// creating the file with a random secret on first use.
func demoSecret(path string) (string, error) {
	secrets := map[string]string{}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &secrets); err != nil {
			return "", errors.New("secrets.json is not a JSON object of strings")
		}
		if s := secrets[DemoChannelID]; s != "" {
			return s, nil
		}
	case !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	secrets[DemoChannelID] = hex.EncodeToString(raw)
	out, _ := json.MarshalIndent(secrets, "", "  ")
	if err := os.WriteFile(path, append(out, '\n'), 0o600); err != nil {
		return "", err
	}
	return secrets[DemoChannelID], nil
}
