package flows

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

// RunShortcut starts a published shortcut workflow on a conversation with the
// form values an agent filled in. It answers as soon as the execution
// started; a missing required field is invalid_argument naming it, and then
// nothing starts. requestID makes a retried request start nothing new.
func (s *Service) RunShortcut(ctx context.Context, convID, workflowID string, form map[string]string, actor engine.Actor, requestID string) (string, error) {
	conv, err := s.st.GetConversation(ctx, convID)
	if err != nil {
		return "", err
	}
	if err := s.eng.CanView(ctx, actor, conv); err != nil {
		return "", err
	}
	if conv.Status == routing.ConvClosed {
		return "", routing.Conflict("closed", "conversation %s is closed", convID)
	}
	w, err := s.st.GetWorkflow(ctx, workflowID)
	if routing.IsNotFound(err) || (err == nil && w.PublishedVersion == 0) {
		return "", routing.NotFound("shortcut", workflowID)
	}
	if err != nil {
		return "", err
	}
	if w.Disabled {
		return "", routing.Conflict("disabled", "workflow %s is disabled", workflowID)
	}
	p, err := s.version(ctx, workflowID, w.PublishedVersion)
	if err != nil {
		return "", err
	}
	if p.def.Trigger.Type != workflow.TriggerShortcut {
		return "", routing.NotFound("shortcut", workflowID)
	}
	if err := workflow.ValidateForm(p.def, form); err != nil {
		return "", err
	}
	if requestID == "" {
		requestID = s.ids.New("req")
	}
	trig := workflow.TriggerEvent{Type: workflow.TriggerShortcut, WorkflowID: workflowID, AgentID: actor.ID, Assignments: conv.Assignments}
	return s.begin(ctx, p, convID, "shortcut|"+convID+"|"+requestID, trig, form)
}

// HandleTask runs one task state of a workflow execution: the Step Functions
// task function on AWS, the embedded runner's invoker locally.
func (s *Service) HandleTask(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
	return workflow.HandleTask(ctx, actions{s}, payload)
}

// actions implements workflow.Actions with the engine.
type actions struct{ s *Service }

// fail maps engine errors to task errors: unavailable is retried by the
// machine's Retry, everything else fails the step (and is recorded).
func fail(err error) error {
	if err != nil && routing.ErrorCode(err) == routing.CodeUnavailable {
		return workflow.Transient(err)
	}
	return err
}

func (a actions) actor(t workflow.Task) engine.Actor { return engine.Workflow(t.WorkflowID) }

func (a actions) contact(ctx context.Context, convID string) (*routing.Contact, error) {
	conv, err := a.s.st.GetConversation(ctx, convID)
	if err != nil {
		return nil, err
	}
	c, err := a.s.st.GetContact(ctx, conv.ContactID)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func (a actions) Snapshot(ctx context.Context, t workflow.Task) (workflow.Snapshot, error) {
	conv, err := a.s.st.GetConversation(ctx, t.ConversationID)
	if err != nil {
		return workflow.Snapshot{}, fail(err)
	}
	c, err := a.s.st.GetContact(ctx, conv.ContactID)
	if err != nil {
		return workflow.Snapshot{}, fail(err)
	}
	now := a.s.now()
	snap := workflow.Snapshot{
		Conversation: workflow.SnapshotConversation{Status: string(conv.Status), AssigneeID: conv.AssigneeID, TeamID: conv.TeamID, Assignments: conv.Assignments, BotActive: conv.BotActive},
		Contact:      workflow.SnapshotContact{Name: c.Name, Phone: c.Phone, Language: c.Language, Country: c.Country, Fields: c.Fields},
	}
	if conv.Escalation != nil {
		snap.Conversation.EscalationType = string(conv.Escalation.Type)
	}
	if conv.LastIncomingAt != nil {
		v := int64(now.Sub(*conv.LastIncomingAt).Seconds())
		snap.SecondsSinceLastIncoming = &v
	}
	if conv.LastOutgoingAt != nil {
		v := int64(now.Sub(*conv.LastOutgoingAt).Seconds())
		snap.SecondsSinceLastOutgoing = &v
	}
	return snap, nil
}

// once runs a step's effect exactly once per step key. Steps run at least
// once (a Standard Retry after the effect committed, a duplicate Express
// delivery or execution): the effect's commit claims the key with its result
// (engine.WithStep), and a replay returns that recorded result instead of
// acting again. replayed is true when the step had already run.
func (a actions) once(ctx context.Context, t workflow.Task, effect func(context.Context) error) (out engine.StepOutcome, replayed bool, err error) {
	key := t.StepKey()
	if key == "" {
		return out, false, effect(ctx)
	}
	if out, ran, err := a.s.eng.StepResult(ctx, key); err != nil || ran {
		if ran {
			a.s.log.Info("workflow step replayed: returning its recorded result", "step", t.Step, "key", key, "conversation", t.ConversationID)
		}
		return out, ran, err
	}
	err = effect(engine.WithStep(ctx, key, t.ConversationID))
	if routing.IsConflict(err, routing.ReasonDuplicate) {
		// a concurrent delivery of the same step committed first
		if out, ran, gerr := a.s.eng.StepResult(ctx, key); gerr == nil && ran {
			return out, true, nil
		}
	}
	return engine.StepOutcome{}, false, err
}

func (a actions) Assign(ctx context.Context, t workflow.Task, p workflow.AssignParams) (workflow.AssignResult, error) {
	var res engine.AssignResult
	out, replayed, err := a.once(ctx, t, func(ctx context.Context) error {
		var err error
		res, err = a.s.eng.Assign(ctx, t.ConversationID, engine.Target{AgentID: p.AgentID, TeamID: p.TeamID, OnlineOnly: p.OnlineOnly}, a.actor(t), "", 0)
		return err
	})
	if err != nil {
		return workflow.AssignResult{}, fail(err)
	}
	if replayed {
		status := engine.Queued
		if out.Status == string(routing.ConvOpen) {
			status = engine.Assigned
		}
		return workflow.AssignResult{Status: status, AgentID: out.AgentID}, nil
	}
	return workflow.AssignResult{Status: res.Status, AgentID: res.AgentID}, nil
}

func (a actions) Comment(ctx context.Context, t workflow.Task, p workflow.CommentParams) error {
	c, err := a.contact(ctx, t.ConversationID)
	if err != nil {
		return fail(err)
	}
	_, _, err = a.once(ctx, t, func(ctx context.Context) error {
		_, err := a.s.eng.Comment(ctx, t.ConversationID, t.Render(p.Text, c), a.actor(t))
		return err
	})
	return fail(err)
}

// key makes a step's message idempotent across retries of the task.
func key(t workflow.Task) string {
	return fmt.Sprintf("%s-%d-%s-%s", t.WorkflowID, t.Version, t.ConversationID, t.Step)
}

func (a actions) SendMessage(ctx context.Context, t workflow.Task, p workflow.SendMessageParams) error {
	c, err := a.contact(ctx, t.ConversationID)
	if err != nil {
		return fail(err)
	}
	_, _, err = a.once(ctx, t, func(ctx context.Context) error {
		_, err := a.s.eng.SendMessage(ctx, t.ConversationID, engine.Outbound{Text: t.Render(p.Text, c), Key: key(t)}, a.actor(t))
		return err
	})
	return fail(err)
}

func (a actions) Ask(ctx context.Context, t workflow.Task, p workflow.AskParams) error {
	c, err := a.contact(ctx, t.ConversationID)
	if err != nil {
		return fail(err)
	}
	q := routing.Question{Token: t.TaskToken, WorkflowID: t.WorkflowID, Text: t.Render(p.Text, c), MaxAttempts: p.MaxAttempts}
	for _, o := range p.Options {
		q.Options = append(q.Options, routing.AnswerOption{ID: o.ID, Label: o.Label})
	}
	return fail(a.s.eng.Ask(ctx, t.ConversationID, q, key(t), a.actor(t)))
}

func (a actions) UpdateContact(ctx context.Context, t workflow.Task, p workflow.UpdateContactParams) error {
	c, err := a.contact(ctx, t.ConversationID)
	if err != nil {
		return fail(err)
	}
	v := t.Render(p.Value, c)
	var patch engine.ContactPatch
	switch p.Field {
	case "name":
		patch.Name = &v
	case "language":
		patch.Language = &v
	case "country":
		patch.Country = &v
	default:
		patch.Fields = map[string]string{p.Field: v}
	}
	_, _, err = a.once(ctx, t, func(ctx context.Context) error {
		_, err := a.s.eng.UpdateContact(ctx, c.ID, patch, a.actor(t), 0)
		return err
	})
	return fail(err)
}

func (a actions) Escalate(ctx context.Context, t workflow.Task, p workflow.EscalateParams) error {
	c, err := a.contact(ctx, t.ConversationID)
	if err != nil {
		return fail(err)
	}
	_, _, err = a.once(ctx, t, func(ctx context.Context) error {
		_, err := a.s.eng.Escalate(ctx, t.ConversationID, routing.EscalationType(p.Type), t.Render(p.Summary, c), "", a.actor(t))
		return err
	})
	return fail(err)
}

// Handoff hands a conversation in its bot phase to people; one already with
// people (or closed) has nothing to hand off, and the step goes on.
func (a actions) Handoff(ctx context.Context, t workflow.Task, p workflow.HandoffParams) error {
	c, err := a.contact(ctx, t.ConversationID)
	if err != nil {
		return fail(err)
	}
	_, _, err = a.once(ctx, t, func(ctx context.Context) error {
		_, err := a.s.eng.Handoff(ctx, t.ConversationID, engine.HandoffRequest{Reason: p.Reason, TeamID: p.TeamID,
			Summary: t.Render(p.Summary, c), EscalationType: routing.EscalationType(p.EscalationType)}, a.actor(t))
		return err
	})
	if routing.IsConflict(err, "not_in_bot_phase") || routing.IsConflict(err, "closed") {
		return nil
	}
	return fail(err)
}

func (a actions) Close(ctx context.Context, t workflow.Task) error {
	_, _, err := a.once(ctx, t, func(ctx context.Context) error {
		_, err := a.s.eng.Close(ctx, t.ConversationID, a.actor(t), "closed by workflow")
		return err
	})
	return fail(err)
}

func (a actions) RecordFailure(ctx context.Context, t workflow.Task, f workflow.Failure) error {
	return fail(a.s.eng.RecordWorkflow(ctx, t.ConversationID, routing.EvWorkflowFailed, t.WorkflowID, f.Cause, map[string]any{"error": f.Error, "step": t.Step}))
}
