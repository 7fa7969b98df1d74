package engine

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

var idRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_\-]{0,63}$`)

func validID(field, id string) error {
	if !idRe.MatchString(id) {
		return routing.Invalid(field, "%s must be 1-64 lowercase letters, digits, _ or -", field)
	}
	return nil
}

// MaxConcurrentLimit bounds an agent's maximum of simultaneous conversations.
const MaxConcurrentLimit = 1000

// CreateAgent adds an agent and joins the teams it lists.
func (e *Engine) CreateAgent(ctx context.Context, a routing.Agent, actor Actor) (routing.Agent, error) {
	if err := requireRole(actor, routing.RoleAdmin); err != nil {
		return routing.Agent{}, err
	}
	if err := validID("id", a.ID); err != nil {
		return routing.Agent{}, err
	}
	if err := nonEmpty("name", a.Name); err != nil {
		return routing.Agent{}, err
	}
	if a.Role == "" {
		a.Role = routing.RoleAgent
	}
	if !a.Role.Valid() {
		return routing.Agent{}, routing.Invalid("role", "role must be agent, supervisor or admin")
	}
	if a.MaxConcurrent < 0 || a.MaxConcurrent > MaxConcurrentLimit {
		return routing.Agent{}, routing.Invalid("maxConcurrent", "maxConcurrent must be between 0 and %d", MaxConcurrentLimit)
	}
	if a.Status == "" {
		a.Status = routing.StatusOffline
	}
	if !a.Status.Valid() {
		return routing.Agent{}, routing.Invalid("status", "status must be online, paused or offline")
	}
	now := e.clock.Now()
	a.OpenCount, a.CreatedAt, a.StatusSince, a.LastAssignedAt = 0, now, now, time.Time{}
	a.Teams = dedupe(a.Teams)
	if a.Status != routing.StatusOffline {
		a.SessionExpiresAt = now.Add(e.cfg.SessionLength)
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		tx := store.Tx{Agents: []store.AgentWrite{{Value: a}}}
		for i, tid := range a.Teams {
			t, err := e.store.GetTeam(ctx, tid)
			if routing.IsNotFound(err) {
				return routing.Agent{}, routing.Invalid(fmt.Sprintf("teams[%d]", i), "team %q does not exist", tid)
			}
			if err != nil {
				return routing.Agent{}, err
			}
			if !t.HasMember(a.ID) {
				t.Members = append(t.Members, a.ID)
				tx.Teams = append(tx.Teams, store.TeamWrite{Value: t, ExpectVersion: t.Version})
			}
		}
		err := e.store.Commit(ctx, tx)
		if routing.IsConflict(err, routing.ReasonVersion) {
			continue
		}
		if routing.IsConflict(err, routing.ReasonExists) {
			return routing.Agent{}, &routing.Error{Code: routing.CodeConflict, Reason: routing.ReasonExists, Field: "id", Message: fmt.Sprintf("agent %q already exists", a.ID)}
		}
		if err != nil {
			return routing.Agent{}, err
		}
		a.Version = 1
		return a, nil
	}
	return routing.Agent{}, routing.Errorf(routing.CodeUnavailable, "teams are changing too fast, retry")
}

// AgentPatch changes an agent; nil fields stay.
type AgentPatch struct {
	Name          *string       `json:"name,omitempty"`
	Email         *string       `json:"email,omitempty"`
	Role          *routing.Role `json:"role,omitempty"`
	MaxConcurrent *int          `json:"maxConcurrent,omitempty"`
	Teams         *[]string     `json:"teams,omitempty"`
}

// UpdateAgent edits an agent. Raising the maximum drains the agent's queues.
func (e *Engine) UpdateAgent(ctx context.Context, id string, p AgentPatch, actor Actor, expectVersion int64) (routing.Agent, error) {
	if err := requireRole(actor, routing.RoleAdmin); err != nil {
		return routing.Agent{}, err
	}
	if p.Name != nil {
		if err := nonEmpty("name", *p.Name); err != nil {
			return routing.Agent{}, err
		}
	}
	if p.Role != nil && !p.Role.Valid() {
		return routing.Agent{}, routing.Invalid("role", "role must be agent, supervisor or admin")
	}
	if p.MaxConcurrent != nil && (*p.MaxConcurrent < 0 || *p.MaxConcurrent > MaxConcurrentLimit) {
		return routing.Agent{}, routing.Invalid("maxConcurrent", "maxConcurrent must be between 0 and %d", MaxConcurrentLimit)
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		a, err := e.store.GetAgent(ctx, id)
		if err != nil {
			return routing.Agent{}, err
		}
		if attempt == 0 && expectVersion > 0 && a.Version != expectVersion {
			return routing.Agent{}, routing.Conflict(routing.ReasonVersion, "agent %s is at version %d, not %d", id, a.Version, expectVersion)
		}
		next := a
		if p.Name != nil {
			next.Name = trimmed(*p.Name)
		}
		if p.Email != nil {
			next.Email = trimmed(*p.Email)
		}
		if p.Role != nil {
			next.Role = *p.Role
		}
		if p.MaxConcurrent != nil {
			next.MaxConcurrent = *p.MaxConcurrent
		}
		tx := store.Tx{}
		if p.Teams != nil {
			next.Teams = dedupe(*p.Teams)
			want := map[string]bool{}
			for i, tid := range next.Teams {
				want[tid] = true
				t, err := e.store.GetTeam(ctx, tid)
				if routing.IsNotFound(err) {
					return routing.Agent{}, routing.Invalid(fmt.Sprintf("teams[%d]", i), "team %q does not exist", tid)
				}
				if err != nil {
					return routing.Agent{}, err
				}
				if !t.HasMember(id) {
					t.Members = append(t.Members, id)
					tx.Teams = append(tx.Teams, store.TeamWrite{Value: t, ExpectVersion: t.Version})
				}
			}
			for _, tid := range a.Teams {
				if want[tid] {
					continue
				}
				t, err := e.store.GetTeam(ctx, tid)
				if err != nil {
					continue
				}
				t.Members = without(t.Members, id)
				tx.Teams = append(tx.Teams, store.TeamWrite{Value: t, ExpectVersion: t.Version})
			}
		}
		tx.Agents = []store.AgentWrite{{Value: next, ExpectVersion: a.Version}}
		err = e.store.Commit(ctx, tx)
		if routing.IsConflict(err, routing.ReasonVersion) {
			continue
		}
		if err != nil {
			return routing.Agent{}, err
		}
		next.Version = a.Version + 1
		if next.MaxConcurrent > a.MaxConcurrent || p.Teams != nil {
			e.DrainAgent(ctx, id)
			if fresh, err := e.store.GetAgent(ctx, id); err == nil {
				next = fresh
			}
		}
		return next, nil
	}
	return routing.Agent{}, routing.Errorf(routing.CodeUnavailable, "agent %s is changing too fast, retry", id)
}

// SetStatus moves an agent online, paused or offline. Going online or paused
// starts a session that ends after Config.SessionLength; going online drains
// the agent's queues.
func (e *Engine) SetStatus(ctx context.Context, id string, status routing.AgentStatus, actor Actor) (routing.Agent, error) {
	if !status.Valid() {
		return routing.Agent{}, routing.Invalid("status", "status must be online, paused or offline")
	}
	if actor.IsPerson() && actor.ID != id && !actor.atLeast(routing.RoleSupervisor) {
		return routing.Agent{}, forbidden("only the agent or a supervisor can change an agent's status")
	}
	a, err := e.setStatus(ctx, id, status, actor, "")
	if err != nil {
		return routing.Agent{}, err
	}
	if status == routing.StatusOnline {
		e.DrainAgent(ctx, id)
		if fresh, err := e.store.GetAgent(ctx, id); err == nil {
			a = fresh
		}
	}
	return a, nil
}

func (e *Engine) setStatus(ctx context.Context, id string, status routing.AgentStatus, actor Actor, notice routing.NotificationType) (routing.Agent, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		a, err := e.store.GetAgent(ctx, id)
		if err != nil {
			return routing.Agent{}, err
		}
		now := e.clock.Now()
		next := a
		if next.Status != status {
			next.StatusSince = now
		}
		next.Status = status
		switch {
		case status == routing.StatusOffline:
			next.SessionExpiresAt, next.SessionWarned = time.Time{}, false
		case a.Status == routing.StatusOffline || a.SessionExpiresAt.IsZero():
			// a session counts consecutive hours online or paused: it starts when the agent connects
			next.SessionExpiresAt, next.SessionWarned = now.Add(e.cfg.SessionLength), false
		}
		tx := store.Tx{Agents: []store.AgentWrite{{Value: next, ExpectVersion: a.Version}}}
		if notice == routing.NoteSessionEnded {
			tx.Notifications = []routing.Notification{e.notify(id, notice, "", "You were disconnected automatically after "+e.cfg.SessionLength.String()+" online or paused")}
		}
		err = e.store.Commit(ctx, tx)
		if routing.IsConflict(err, routing.ReasonVersion) {
			continue
		}
		if err != nil {
			return routing.Agent{}, err
		}
		next.Version = a.Version + 1
		return next, nil
	}
	return routing.Agent{}, routing.Errorf(routing.CodeUnavailable, "agent %s is changing too fast, retry", id)
}

// ExtendSession restarts an online or paused agent's session from now.
func (e *Engine) ExtendSession(ctx context.Context, id string, actor Actor) (routing.Agent, error) {
	if actor.IsPerson() && actor.ID != id && !actor.atLeast(routing.RoleSupervisor) {
		return routing.Agent{}, forbidden("only the agent can extend their session")
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		a, err := e.store.GetAgent(ctx, id)
		if err != nil {
			return routing.Agent{}, err
		}
		if a.Status == routing.StatusOffline {
			return routing.Agent{}, routing.Conflict("offline", "agent %s is offline: there is no session to extend", id)
		}
		next := a
		next.SessionExpiresAt, next.SessionWarned = e.clock.Now().Add(e.cfg.SessionLength), false
		err = e.store.Commit(ctx, store.Tx{Agents: []store.AgentWrite{{Value: next, ExpectVersion: a.Version}}})
		if routing.IsConflict(err, routing.ReasonVersion) {
			continue
		}
		if err != nil {
			return routing.Agent{}, err
		}
		next.Version = a.Version + 1
		return next, nil
	}
	return routing.Agent{}, routing.Errorf(routing.CodeUnavailable, "agent %s is changing too fast, retry", id)
}

// SweepResult counts what a sweep did.
type SweepResult struct {
	Warned       int `json:"warned"`
	Disconnected int `json:"disconnected"`
	Routed       int `json:"routed"`
	// Repaired counts stranded conversations found and routed (each is also logged as an error).
	Repaired int `json:"repaired"`
	// HandedOff counts bot-phase conversations handed off by a timer rule (silence, maximum bot time).
	HandedOff int `json:"handedOff"`
}

// Sweep runs the periodic duties: warns agents whose session ends within
// Config.SessionWarning, disconnects agents whose session ended, and drains
// every automatic team's queue (a safety net for lost events). The local
// server runs it on its clock; on AWS a scheduled Lambda runs it each minute.
func (e *Engine) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	now := e.clock.Now()
	err := store.ForEach(ctx, e.store.ListAgents, func(a routing.Agent) error {
		if a.Status == routing.StatusOffline || a.SessionExpiresAt.IsZero() {
			return nil
		}
		switch {
		case !now.Before(a.SessionExpiresAt):
			if _, err := e.setStatus(ctx, a.ID, routing.StatusOffline, System, routing.NoteSessionEnded); err != nil {
				return err
			}
			res.Disconnected++
		case !a.SessionWarned && !now.Before(a.SessionExpiresAt.Add(-e.cfg.SessionWarning)):
			next := a
			next.SessionWarned = true
			mins := int(a.SessionExpiresAt.Sub(now).Round(time.Minute) / time.Minute)
			err := e.store.Commit(ctx, store.Tx{
				Agents:        []store.AgentWrite{{Value: next, ExpectVersion: a.Version}},
				Notifications: []routing.Notification{e.notify(a.ID, routing.NoteSessionWarning, "", fmt.Sprintf("You will be disconnected in %d minutes; extend your session to stay connected", mins))},
			})
			switch {
			case err == nil:
				res.Warned++
			case !routing.IsConflict(err, routing.ReasonVersion): // a concurrent change: the next sweep warns
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	err = store.ForEach(ctx, e.store.ListTeams, func(t routing.Team) error {
		res.Routed += e.DrainTeam(ctx, t.ID)
		return nil
	})
	if err != nil {
		return res, err
	}
	if res.HandedOff, err = e.botTimers(ctx); err != nil {
		return res, err
	}
	res.Repaired, err = e.repairStranded(ctx)
	return res, err
}

// NextSessionDeadline is the earliest time Sweep has something to do for
// sessions (a warning or a disconnection), for hosts that schedule it.
func (e *Engine) NextSessionDeadline(ctx context.Context) (time.Time, bool, error) {
	var best time.Time
	err := store.ForEach(ctx, e.store.ListAgents, func(a routing.Agent) error {
		if a.Status == routing.StatusOffline || a.SessionExpiresAt.IsZero() {
			return nil
		}
		t := a.SessionExpiresAt
		if !a.SessionWarned {
			t = t.Add(-e.cfg.SessionWarning)
		}
		if best.IsZero() || t.Before(best) {
			best = t
		}
		return nil
	})
	return best, !best.IsZero(), err
}

// CreateTeam adds a team.
func (e *Engine) CreateTeam(ctx context.Context, t routing.Team, actor Actor) (routing.Team, error) {
	if err := requireRole(actor, routing.RoleAdmin); err != nil {
		return routing.Team{}, err
	}
	if err := validID("id", t.ID); err != nil {
		return routing.Team{}, err
	}
	if err := nonEmpty("name", t.Name); err != nil {
		return routing.Team{}, err
	}
	if t.Strategy == "" {
		t.Strategy = routing.RoundRobin
	}
	if !t.Strategy.Valid() {
		return routing.Team{}, routing.Invalid("strategy", "strategy must be round_robin or least_open")
	}
	if t.Mode == "" {
		t.Mode = routing.ModeAutomatic
	}
	if !t.Mode.Valid() {
		return routing.Team{}, routing.Invalid("mode", "mode must be automatic or manual")
	}
	if len(t.Members) > 0 {
		return routing.Team{}, routing.Invalid("members", "add members with PUT /v1/teams/{id}/members/{agentId}")
	}
	t.CreatedAt, t.Cursor, t.Members = e.clock.Now(), "", []string{}
	err := e.store.Commit(ctx, store.Tx{Teams: []store.TeamWrite{{Value: t}}})
	if routing.IsConflict(err, routing.ReasonExists) {
		return routing.Team{}, &routing.Error{Code: routing.CodeConflict, Reason: routing.ReasonExists, Field: "id", Message: fmt.Sprintf("team %q already exists", t.ID)}
	}
	if err != nil {
		return routing.Team{}, err
	}
	t.Version = 1
	return t, nil
}

// TeamPatch changes a team's settings; nil fields stay.
type TeamPatch struct {
	Name       *string           `json:"name,omitempty"`
	Strategy   *routing.Strategy `json:"strategy,omitempty"`
	OnlineOnly *bool             `json:"onlineOnly,omitempty"`
	Mode       *routing.Mode     `json:"mode,omitempty"`
}

// UpdateTeam edits a team. Switching to automatic drains its queue.
func (e *Engine) UpdateTeam(ctx context.Context, id string, p TeamPatch, actor Actor, expectVersion int64) (routing.Team, error) {
	if err := requireRole(actor, routing.RoleAdmin); err != nil {
		return routing.Team{}, err
	}
	if p.Strategy != nil && !p.Strategy.Valid() {
		return routing.Team{}, routing.Invalid("strategy", "strategy must be round_robin or least_open")
	}
	if p.Mode != nil && !p.Mode.Valid() {
		return routing.Team{}, routing.Invalid("mode", "mode must be automatic or manual")
	}
	if p.Name != nil {
		if err := nonEmpty("name", *p.Name); err != nil {
			return routing.Team{}, err
		}
	}
	t, err := e.store.GetTeam(ctx, id)
	if err != nil {
		return routing.Team{}, err
	}
	if expectVersion > 0 && t.Version != expectVersion {
		return routing.Team{}, routing.Conflict(routing.ReasonVersion, "team %s is at version %d, not %d", id, t.Version, expectVersion)
	}
	next := t
	if p.Name != nil {
		next.Name = trimmed(*p.Name)
	}
	if p.Strategy != nil {
		next.Strategy = *p.Strategy
	}
	if p.OnlineOnly != nil {
		next.OnlineOnly = *p.OnlineOnly
	}
	if p.Mode != nil {
		next.Mode = *p.Mode
	}
	if err := e.store.Commit(ctx, store.Tx{Teams: []store.TeamWrite{{Value: next, ExpectVersion: t.Version}}}); err != nil {
		return routing.Team{}, err
	}
	next.Version = t.Version + 1
	if next.Mode == routing.ModeAutomatic {
		e.DrainTeam(ctx, id)
	}
	return next, nil
}

// SetMember adds (in=true) or removes an agent from a team, on both sides at once.
func (e *Engine) SetMember(ctx context.Context, teamID, agentID string, in bool, actor Actor) (routing.Team, error) {
	if err := requireRole(actor, routing.RoleAdmin); err != nil {
		return routing.Team{}, err
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		t, err := e.store.GetTeam(ctx, teamID)
		if err != nil {
			return routing.Team{}, err
		}
		a, err := e.store.GetAgent(ctx, agentID)
		if err != nil {
			return routing.Team{}, err
		}
		if t.HasMember(agentID) == in && a.InTeam(teamID) == in {
			return t, nil
		}
		nt, na := t, a
		if in {
			nt.Members = dedupe(append(append([]string{}, t.Members...), agentID))
			na.Teams = dedupe(append(append([]string{}, a.Teams...), teamID))
		} else {
			nt.Members = without(t.Members, agentID)
			na.Teams = without(a.Teams, teamID)
		}
		err = e.store.Commit(ctx, store.Tx{
			Teams:  []store.TeamWrite{{Value: nt, ExpectVersion: t.Version}},
			Agents: []store.AgentWrite{{Value: na, ExpectVersion: a.Version}},
		})
		if routing.IsConflict(err, routing.ReasonVersion) {
			continue
		}
		if err != nil {
			return routing.Team{}, err
		}
		nt.Version = t.Version + 1
		if in {
			e.DrainTeam(ctx, teamID)
		}
		return nt, nil
	}
	return routing.Team{}, routing.Errorf(routing.CodeUnavailable, "team %s is changing too fast, retry", teamID)
}

// CreateChannel adds a provider channel.
func (e *Engine) CreateChannel(ctx context.Context, ch routing.Channel, actor Actor) (routing.Channel, error) {
	if err := requireRole(actor, routing.RoleAdmin); err != nil {
		return routing.Channel{}, err
	}
	if err := validID("id", ch.ID); err != nil {
		return routing.Channel{}, err
	}
	switch ch.Provider {
	case "whatsapp", "messenger", "telegram", "twilio", "generic":
	default:
		return routing.Channel{}, routing.Invalid("provider", "provider must be whatsapp, messenger, telegram, twilio or generic")
	}
	if err := nonEmpty("secretRef", ch.SecretRef); err != nil {
		return routing.Channel{}, err
	}
	for _, key := range []string{"team", CfgHandoffTeam} {
		if team := ch.Config[key]; team != "" {
			if _, err := e.store.GetTeam(ctx, team); routing.IsNotFound(err) {
				return routing.Channel{}, routing.Invalid("config."+key, "team %q does not exist", team)
			}
		}
	}
	if _, err := parseBotRules(ch.Config); err != nil {
		return routing.Channel{}, err
	}
	ch.CreatedAt = e.clock.Now()
	err := e.store.Commit(ctx, store.Tx{Channels: []store.ChannelWrite{{Value: ch}}})
	if routing.IsConflict(err, routing.ReasonExists) {
		return routing.Channel{}, &routing.Error{Code: routing.CodeConflict, Reason: routing.ReasonExists, Field: "id", Message: fmt.Sprintf("channel %q already exists", ch.ID)}
	}
	if err != nil {
		return routing.Channel{}, err
	}
	ch.Version = 1
	return ch, nil
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func without(in []string, x string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s != x {
			out = append(out, s)
		}
	}
	return out
}
