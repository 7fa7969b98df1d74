package flows

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

// HandleEvent dispatches one bus event: it starts every published workflow
// whose trigger matches (one execution per event and workflow), answers a
// waiting question, and routes opened conversations no workflow took to
// their channel's team. Redelivered events start nothing new.
func (s *Service) HandleEvent(ctx context.Context, ev events.Event) error {
	switch ev.DetailType {
	case events.ConversationOpened:
		var d events.ConversationOpenedDetail
		if json.Unmarshal(ev.Detail, &d) != nil {
			return nil // malformed: retrying will not help
		}
		return s.opened(ctx, ev, d)
	case events.MessageReceived:
		var d events.MessageReceivedDetail
		if json.Unmarshal(ev.Detail, &d) != nil {
			return nil
		}
		return s.message(ctx, ev, d)
	case events.ContactFieldChanged:
		var d events.ContactFieldChangedDetail
		if json.Unmarshal(ev.Detail, &d) != nil || d.ConversationID == "" {
			return nil
		}
		return s.trigger(ctx, ev, d.ConversationID, workflow.TriggerEvent{Type: workflow.TriggerContactFieldChanged, Field: d.Field, Value: d.New})
	case events.ConversationClosed:
		var d events.ConversationClosedDetail
		if json.Unmarshal(ev.Detail, &d) != nil {
			return nil
		}
		return s.trigger(ctx, ev, d.ConversationID, workflow.TriggerEvent{Type: workflow.TriggerConversationClosed})
	case events.HandoffRequested:
		var d events.HandoffDetail
		if json.Unmarshal(ev.Detail, &d) != nil {
			return nil
		}
		return s.handedOff(ctx, ev, d)
	case events.CapacityReleased:
		var d events.CapacityReleasedDetail
		if json.Unmarshal(ev.Detail, &d) == nil {
			s.eng.DrainAgent(ctx, d.AgentID)
		}
	}
	return nil
}

func (s *Service) opened(ctx context.Context, ev events.Event, d events.ConversationOpenedDetail) error {
	if d.Bot {
		return nil // the bot holds it: it is routed when it is handed off (handedOff)
	}
	started, err := s.triggerCount(ctx, ev, d.ConversationID, workflow.TriggerEvent{Type: workflow.TriggerConversationOpened, Source: d.Source, ChannelID: d.ChannelID, Reopened: d.Reopened, Text: d.Text})
	if err != nil {
		return err
	}
	if started == 0 {
		_, err := s.eng.RouteDefault(ctx, d.ConversationID)
		if routing.ErrorCode(err) == routing.CodeInvalid || routing.IsNotFound(err) || routing.IsConflict(err, "") {
			s.log.Warn("conversation not routed", "conversation", d.ConversationID, "err", err)
			return nil
		}
		return err
	}
	return nil
}

// handedOff routes a conversation that left the bot phase: the
// handoff_requested workflows that match, or (none) the handoff's team, the
// channel's team or the default team.
func (s *Service) handedOff(ctx context.Context, ev events.Event, d events.HandoffDetail) error {
	started, err := s.triggerCount(ctx, ev, d.ConversationID, workflow.TriggerEvent{Type: workflow.TriggerHandoffRequested, ChannelID: d.ChannelID, Reason: d.Reason})
	if err != nil {
		return err
	}
	if started > 0 {
		return nil
	}
	_, err = s.eng.RouteDefault(ctx, d.ConversationID)
	if routing.ErrorCode(err) == routing.CodeInvalid || routing.IsNotFound(err) || routing.IsConflict(err, "") {
		s.log.Warn("handed-off conversation not routed", "conversation", d.ConversationID, "err", err)
		return nil
	}
	return err
}

func (s *Service) message(ctx context.Context, ev events.Event, d events.MessageReceivedDetail) error {
	trig := workflow.TriggerEvent{Type: workflow.TriggerMessageReceived, Text: d.Text}
	if d.NoQuestion {
		// nothing was asked when it was stored, so it answers nothing: no read
		return s.trigger(ctx, ev, d.ConversationID, trig)
	}
	out, err := s.eng.Answer(ctx, d.ConversationID, d.Text, d.Answer, d.Seq)
	if err != nil {
		return err
	}
	switch {
	case out.Matched:
		b, _ := json.Marshal(out.OptionID)
		err = s.runner.SendTaskSuccess(ctx, out.Token, b)
	case out.GaveUp:
		err = s.runner.SendTaskFailure(ctx, out.Token, workflow.ErrorInvalidAnswer, "no valid answer after the maximum attempts")
	case out.Reasked:
		return nil
	default:
		return s.trigger(ctx, ev, d.ConversationID, trig)
	}
	if routing.IsNotFound(err) || routing.IsConflict(err, "") {
		// the question had timed out: its workflow moved on, the message is an ordinary one
		s.log.Info("answer to a question no longer waiting", "conversation", d.ConversationID)
		return s.trigger(ctx, ev, d.ConversationID, trig)
	}
	return err
}

func (s *Service) trigger(ctx context.Context, ev events.Event, convID string, trig workflow.TriggerEvent) error {
	_, err := s.triggerCount(ctx, ev, convID, trig)
	return err
}

// triggerCount starts the matching workflows in dispatch order (priority,
// then id) and says how many started; an exclusive workflow that starts
// stops the ones after it.
func (s *Service) triggerCount(ctx context.Context, ev events.Event, convID string, trig workflow.TriggerEvent) (int, error) {
	live, err := s.candidates(ctx, trig.Type)
	if err != nil || len(live) == 0 {
		return 0, err
	}
	conv, err := s.st.GetConversation(ctx, convID)
	if routing.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	trig.Assignments = conv.Assignments
	if ch, err := s.st.GetChannel(ctx, conv.ChannelID); err == nil {
		trig.Provider, trig.ChannelID = ch.Provider, ch.ID
	}
	if ct, err := s.st.GetContact(ctx, conv.ContactID); err == nil {
		trig.Contact = contactFields(ct)
	}
	n := 0
	for _, p := range live {
		if !p.def.Matches(trig) {
			continue
		}
		_, err := s.begin(ctx, p.published, convID, ev.ID, trig, map[string]string{})
		if routing.ErrorCode(err) == routing.CodeInvalid {
			// refused for good (an input over Step Functions' 256 KiB): say so on
			// the timeline and let the conversation be routed as if it had not matched
			s.log.Error("workflow not started", "workflow", p.v.WorkflowID, "conversation", convID, "err", err)
			if rerr := s.eng.RecordWorkflow(ctx, convID, routing.EvWorkflowFailed, p.v.WorkflowID, err.Error(), map[string]any{"error": "StartRefused"}); rerr != nil {
				return n, rerr
			}
			continue
		}
		if err != nil {
			return n, err
		}
		n++
		if p.exclusive {
			break
		}
	}
	return n, nil
}

func contactFields(c routing.Contact) map[string]string {
	m := map[string]string{}
	for k, v := range c.Fields {
		m[k] = v
	}
	for _, k := range []string{"name", "phone", "language", "country"} {
		if v, ok := c.Field(k); ok {
			m[k] = v
		}
	}
	return m
}

// Shortcuts lists the published shortcut workflows.
func (s *Service) Shortcuts(ctx context.Context) ([]workflow.Shortcut, error) {
	live, err := s.live(ctx, workflow.TriggerShortcut)
	if err != nil {
		return nil, err
	}
	out := make([]workflow.Shortcut, 0, len(live))
	for _, p := range live {
		name := p.def.Trigger.Name
		if strings.TrimSpace(name) == "" {
			name = p.def.Name
		}
		form := p.def.Trigger.Form
		if form == nil {
			form = []workflow.FormField{}
		}
		out = append(out, workflow.Shortcut{WorkflowID: p.v.WorkflowID, Version: p.v.Number, Name: name, Description: p.def.Trigger.Description, Form: form})
	}
	return out, nil
}
