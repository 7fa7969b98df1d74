package flows

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

// Deps are the service's collaborators.
type Deps struct {
	Engine *engine.Engine
	// Store holds the workflows, their versions and the runs' claims.
	Store  store.Store
	Runner Runner
	Clock  clock.Clock
	IDs    ids.Generator
	Log    *slog.Logger
}

// Service runs workflows. It is safe for concurrent use.
type Service struct {
	eng    *engine.Engine
	st     store.Store
	runner Runner
	clock  clock.Clock
	ids    ids.Generator
	log    *slog.Logger

	mu       sync.Mutex
	versions map[string]*published // "<workflowId>@<n>" -> parsed version (versions never change)
}

// published is a parsed, immutable workflow version.
type published struct {
	v       routing.WorkflowVersion
	def     *workflow.Definition
	express bool
}

// New returns a service.
func New(d Deps) *Service {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.IDs == nil {
		d.IDs = ids.Random{}
	}
	s := &Service{eng: d.Engine, st: d.Store, runner: d.Runner, clock: d.Clock, ids: d.IDs, log: d.Log, versions: map[string]*published{}}
	if r, ok := d.Runner.(endReporter); ok {
		r.OnEnded(s.recordEnd) // workflow.ended from the embedded runner
	}
	return s
}

// directory checks team and agent ids against the store.
type directory struct {
	ctx context.Context
	st  store.Store
}

func (d directory) TeamExists(id string) bool {
	_, err := d.st.GetTeam(d.ctx, id)
	return err == nil
}

func (d directory) AgentExists(id string) bool {
	_, err := d.st.GetAgent(d.ctx, id)
	return err == nil
}

// validationError turns the validator's findings into one invalid_argument
// naming the first step and field, with every finding in the message.
func validationError(errs []workflow.FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, fe := range errs {
		msgs[i] = fe.Path() + ": " + fe.Message
	}
	return &routing.Error{Code: routing.CodeInvalid, Field: errs[0].Path(), Message: strings.Join(msgs, "; ")}
}

// SaveDraft parses, validates and stores a workflow's draft (JSON or YAML).
// A draft with errors is refused with every error, naming step and field.
func (s *Service) SaveDraft(ctx context.Context, source []byte, actor engine.Actor, expectVersion int64) (routing.Workflow, []workflow.FieldError, error) {
	def, err := workflow.Parse(source)
	if err != nil {
		if ve, ok := err.(*workflow.ValidationError); ok {
			return routing.Workflow{}, ve.Errors, validationError(ve.Errors)
		}
		return routing.Workflow{}, nil, err
	}
	if errs := workflow.Validate(def, directory{ctx, s.st}); len(errs) > 0 {
		return routing.Workflow{}, errs, validationError(errs)
	}
	canon, err := def.MarshalCanonical()
	if err != nil {
		return routing.Workflow{}, nil, err
	}
	existing, err := s.st.GetWorkflow(ctx, def.ID)
	switch {
	case routing.IsNotFound(err):
		existing = routing.Workflow{}
	case err != nil:
		return routing.Workflow{}, nil, err
	}
	if expectVersion > 0 && existing.Version != expectVersion {
		return routing.Workflow{}, nil, routing.Conflict(routing.ReasonVersion, "workflow %s is at version %d, not %d", def.ID, existing.Version, expectVersion)
	}
	w := existing
	w.ID, w.Name, w.Trigger, w.Definition, w.UpdatedAt = def.ID, def.Name, def.Trigger.Type, canon, s.clock.Now()
	if err := s.st.Commit(ctx, store.Tx{Workflows: []store.WorkflowWrite{{Value: w, ExpectVersion: existing.Version}}}); err != nil {
		return routing.Workflow{}, nil, err
	}
	w.Version = existing.Version + 1
	return w, nil, nil
}

// publishLease is how long a publish holds its reservation: a publish that
// died longer ago than this may be taken over.
const publishLease = 5 * time.Minute

// Publish compiles the draft to ASL, deploys it as the next version and
// records the version. Running executions finish on the version they started.
//
// The store decides which of two concurrent publishes wins, before anything
// is deployed: (1) a conditional write on the workflow record reserves
// version n+1 for this publish (the loser gets a conflict and deploys
// nothing); (2) Deploy; (3) a second write, conditional on the reservation
// still being this publish's, records the version with the deployed
// RunnerRef and makes it live. Executions start on the RunnerRef the store
// recorded, so a deployment that never got recorded (a crash between 2 and
// 3) never runs: the next publish reserves n+1 again and deploys anew.
func (s *Service) Publish(ctx context.Context, id string, expectVersion int64) (routing.WorkflowVersion, error) {
	w, err := s.st.GetWorkflow(ctx, id)
	if err != nil {
		return routing.WorkflowVersion{}, err
	}
	if expectVersion > 0 && w.Version != expectVersion {
		return routing.WorkflowVersion{}, routing.Conflict(routing.ReasonVersion, "workflow %s draft is at version %d, not %d", id, w.Version, expectVersion)
	}
	now := s.clock.Now()
	if w.Publishing > 0 && now.Sub(w.PublishingAt) < publishLease {
		return routing.WorkflowVersion{}, routing.Conflict(routing.ReasonVersion, "workflow %s is being published (version %d); try again in a moment", id, w.Publishing)
	}
	def, err := workflow.Parse(w.Definition)
	if err != nil {
		return routing.WorkflowVersion{}, err
	}
	if errs := workflow.Validate(def, directory{ctx, s.st}); len(errs) > 0 {
		return routing.WorkflowVersion{}, validationError(errs) // a team or agent was removed since the draft was saved
	}
	asl, err := workflow.Compile(def)
	if err != nil {
		var ve *workflow.ValidationError
		if errors.As(err, &ve) {
			return routing.WorkflowVersion{}, validationError(ve.Errors)
		}
		return routing.WorkflowVersion{}, err
	}
	v := routing.WorkflowVersion{WorkflowID: id, Number: w.PublishedVersion + 1, Trigger: def.Trigger.Type, Definition: w.Definition, ASL: asl, PublishedAt: now}

	// 1. Reserve version n+1.
	reserved := w
	reserved.Publishing, reserved.PublishingID, reserved.PublishingAt = v.Number, s.ids.New("pub"), now
	if err := s.st.Commit(ctx, store.Tx{Workflows: []store.WorkflowWrite{{Value: reserved, ExpectVersion: w.Version}}}); err != nil {
		if routing.IsConflict(err, routing.ReasonVersion) {
			return routing.WorkflowVersion{}, routing.Conflict(routing.ReasonVersion, "workflow %s was changed or published concurrently; try again", id)
		}
		return routing.WorkflowVersion{}, err
	}
	// 2. Deploy, unless every run is one stretch the caller runs itself
	// (begin): a machine nothing starts would only be an idle resource.
	ref := InlineRunnerRef
	if pre, ok := workflow.PreludeOf(def, asl); !ok || !pre.Whole {
		if ref, err = s.runner.Deploy(ctx, v, workflow.ExpressEligible(def)); err != nil {
			s.release(ctx, id, reserved.PublishingID)
			return routing.WorkflowVersion{}, err
		}
	}
	v.RunnerRef = ref
	// 3. Record, as long as the reservation is still ours (a draft saved
	// meanwhile changes the record's version but keeps the reservation).
	for attempt := 0; ; attempt++ {
		cur, err := s.st.GetWorkflow(ctx, id)
		if err != nil {
			return routing.WorkflowVersion{}, err
		}
		if cur.PublishingID != reserved.PublishingID {
			return routing.WorkflowVersion{}, routing.Conflict(routing.ReasonVersion, "workflow %s: this publish took too long and was taken over; try again", id)
		}
		next := cur
		next.PublishedVersion, next.Publishing, next.PublishingID, next.PublishingAt = v.Number, 0, "", time.Time{}
		err = s.st.Commit(ctx, store.Tx{Workflows: []store.WorkflowWrite{{Value: next, ExpectVersion: cur.Version}}, Versions: []routing.WorkflowVersion{v}})
		if err == nil {
			return v, nil
		}
		if !routing.IsConflict(err, routing.ReasonVersion) || attempt >= 10 {
			return routing.WorkflowVersion{}, err
		}
	}
}

// InlineRunnerRef is the RunnerRef of a version deployed nowhere: it never
// waits, so every run of it is the one stretch the dispatcher (or the API,
// for a shortcut) runs in its own invocation, and no machine would ever be
// started.
const InlineRunnerRef = "inline"

// release drops a reservation whose deploy failed, if it is still held
// (best effort: otherwise it lapses after publishLease).
func (s *Service) release(ctx context.Context, id, publishingID string) {
	cur, err := s.st.GetWorkflow(ctx, id)
	if err != nil || cur.PublishingID != publishingID {
		return
	}
	next := cur
	next.Publishing, next.PublishingID, next.PublishingAt = 0, "", time.Time{}
	if err := s.st.Commit(ctx, store.Tx{Workflows: []store.WorkflowWrite{{Value: next, ExpectVersion: cur.Version}}}); err != nil {
		s.log.WarnContext(ctx, "publish: could not release the reservation", "workflow", id, "error", err)
	}
}

// version loads (and caches) a published version.
func (s *Service) version(ctx context.Context, id string, n int) (*published, error) {
	key := fmt.Sprintf("%s@%d", id, n)
	s.mu.Lock()
	p := s.versions[key]
	s.mu.Unlock()
	if p != nil {
		return p, nil
	}
	v, err := s.st.GetWorkflowVersion(ctx, id, n)
	if err != nil {
		return nil, err
	}
	def, err := workflow.Parse(v.Definition)
	if err != nil {
		return nil, err
	}
	express := workflow.ExpressEligible(def)
	if v.RunnerRef == "" {
		// Published before RunnerRef was recorded: Express then meant
		// "never waits", and that is the machine the version is on.
		express = !waits(def)
	}
	p = &published{v: v, def: def, express: express}
	s.mu.Lock()
	s.versions[key] = p
	s.mu.Unlock()
	return p, nil
}

// live returns the live version of every enabled, published workflow with
// the trigger type, in dispatch order (see candidates).
func (s *Service) live(ctx context.Context, trigger string) ([]*published, error) {
	cs, err := s.candidates(ctx, trigger)
	out := make([]*published, len(cs))
	for i, c := range cs {
		out[i] = c.published
	}
	return out, err
}

func waits(def *workflow.Definition) bool {
	for _, st := range def.Steps {
		if st.Type == workflow.StepWait || st.Type == workflow.StepAsk {
			return true
		}
	}
	return false
}

var nameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// executionName is deterministic for (key, workflow, version): the same
// event delivered twice names the same execution, which starts once. Step
// Functions allows 80 characters of letters, digits, '-' and '_'.
func executionName(workflowID string, version int, key string) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%d|%s", workflowID, version, key)))
	prefix := nameUnsafe.ReplaceAllString(workflowID, "_")
	if len(prefix) > 40 {
		prefix = prefix[:40]
	}
	return fmt.Sprintf("%s-v%d-%s", prefix, version, hex.EncodeToString(sum[:12]))
}

// Express start claims: expressStartLease bounds how long a start that
// claimed a name may take before another delivery of the event takes over
// (one that crashed between claim and StartExecution); a started execution
// is recorded for runClaimTTL.
const (
	expressStartLease = 2 * time.Minute
	runClaimTTL       = 90 * 24 * time.Hour
)

// start starts one execution of p for a conversation and puts it on the timeline.
//
// Standard executions rely on Step Functions: StartExecution with a known
// name and the same input starts nothing. Express starts are not
// deduplicated by AWS, so they are claimed in the store first: a name
// recorded as started ("xstarted#") is never started again; a name being
// started by another delivery ("xstart#", a lease of expressStartLease)
// answers unavailable, so the event is redelivered and finds it started, or
// takes over once the lease lapses. Only a crash between StartExecution and
// recording it can start a name twice; its steps then replay (StepKey).
func (s *Service) start(ctx context.Context, p *published, convID, key string, trig workflow.TriggerEvent, form map[string]string) (string, error) {
	in := workflow.ExecutionInput{ConversationID: convID, WorkflowID: p.v.WorkflowID, Version: p.v.Number, Trigger: trig, Form: form, Vars: map[string]string{}}
	raw, err := workflow.EncodeInput(in)
	if err != nil {
		return "", err
	}
	name := executionName(p.v.WorkflowID, p.v.Number, key)
	// One timeline entry per execution, however often the event is
	// delivered, written before the run so it precedes the run's own steps.
	// A redelivery skips the entry but still starts the run: Start is
	// idempotent by name, so a run whose start failed after the entry was
	// written starts on the retry.
	now := s.clock.Now()
	err = s.eng.RecordWorkflowOnce(ctx, "run#"+name, runClaimTTL, now, convID, routing.EvWorkflowStarted, p.v.WorkflowID, p.def.Name,
		map[string]any{"execution": name, "version": p.v.Number, "trigger": trig.Type})
	if err != nil {
		return "", err
	}
	req := StartRequest{Name: name, WorkflowID: p.v.WorkflowID, Version: p.v.Number, ASL: p.v.ASL, Express: p.express, RunnerRef: p.v.RunnerRef, Input: raw}
	if !p.express {
		return name, s.runner.Start(ctx, req)
	}
	started := "xstarted#" + name
	if c, err := s.st.GetClaim(ctx, started); err == nil && now.Before(c.ExpiresAt) {
		return name, nil // started by an earlier delivery
	} else if err != nil && !routing.IsNotFound(err) {
		return "", err
	}
	err = s.st.Commit(ctx, store.Tx{Claims: []store.Claim{{Key: "xstart#" + name, At: now, ExpiresAt: now.Add(expressStartLease)}}})
	if routing.IsConflict(err, routing.ReasonDuplicate) {
		if c, gerr := s.st.GetClaim(ctx, started); gerr == nil && now.Before(c.ExpiresAt) {
			return name, nil
		}
		return "", routing.Errorf(routing.CodeUnavailable, "execution %s is being started by another delivery; try again", name)
	}
	if err != nil {
		return "", err
	}
	if err := s.runner.Start(ctx, req); err != nil {
		return "", err
	}
	done := s.clock.Now()
	err = s.st.Commit(ctx, store.Tx{Claims: []store.Claim{{Key: started, At: done, ExpiresAt: done.Add(runClaimTTL)}}})
	if err != nil && !routing.IsConflict(err, routing.ReasonDuplicate) {
		s.log.WarnContext(ctx, "express start not recorded: a redelivery may start it again (its steps replay)", "execution", name, "error", err)
	}
	return name, nil
}

// now is the service's clock.
func (s *Service) now() time.Time { return s.clock.Now() }
