package flows

import (
	"context"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

// begin starts a run of p. When the version's machine starts past the
// workflow's leading stretch of steps that do not wait
// (workflow.PreludeOf), that stretch runs here first, in the caller's
// invocation (the dispatcher, or the API for a shortcut): a workflow that
// never waits needs no execution at all, and one that starts with actions
// pays no state transition for them. The run is named as its execution
// would be, so the stretch's actions claim step keys
// ("<execution>/<entry>/dispatcher/<step>") and a redelivered event replays
// them. A transient failure is returned (the event is delivered again); any
// other is recorded on the timeline once, as the machine's RecordFailure
// would, and the run ends there.
func (s *Service) begin(ctx context.Context, p *published, convID, key string, trig workflow.TriggerEvent, form map[string]string) (string, error) {
	pre, ok := workflow.PreludeOf(p.def, p.v.ASL)
	if p.v.RunnerRef == InlineRunnerRef && !(ok && pre.Whole) {
		// published as never waiting, it has no machine to start
		return "", routing.Errorf(routing.CodeInternal, "workflow %s version %d was deployed nowhere but its run needs an execution: publish it again", p.v.WorkflowID, p.v.Number)
	}
	if !ok {
		return s.start(ctx, p, convID, key, trig, form)
	}
	raw, err := workflow.EncodeInput(workflow.ExecutionInput{ConversationID: convID, WorkflowID: p.v.WorkflowID, Version: p.v.Number,
		Trigger: trig, Form: form, Vars: map[string]string{}})
	if err != nil {
		return "", err
	}
	name := executionName(p.v.WorkflowID, p.v.Number, key)
	// The run's timeline entry precedes its steps, written as start writes
	// it (start then finds it written). A run with no execution names
	// itself "run", not "execution".
	data := map[string]any{"execution": name, "version": p.v.Number, "trigger": trig.Type}
	if pre.Whole {
		delete(data, "execution")
		data["run"] = name
	}
	err = s.eng.RecordWorkflowOnce(ctx, "run#"+name, runClaimTTL, time.Time{}, convID, routing.EvWorkflowStarted, p.v.WorkflowID, p.def.Name, data)
	if err != nil {
		return "", err
	}
	t := workflow.Task{Action: workflow.ActionRun, Step: pre.Entry, ConversationID: convID, WorkflowID: p.v.WorkflowID, Version: p.v.Number,
		State: raw, Execution: name, StateName: pre.Entry, EnteredTime: "dispatcher"}
	res, err := workflow.RunStretch(ctx, actions{s}, t, pre.Params)
	if workflow.IsTransient(err) {
		return "", err
	}
	if err != nil {
		s.log.Warn("workflow step failed before its execution", "workflow", p.v.WorkflowID, "conversation", convID, "err", err)
		rf := t
		rf.Action, rf.Step, rf.Stretch = workflow.ActionRecordFailure, workflow.ActionRecordFailure, true
		a := actions{s}
		_, _, rerr := a.once(ctx, rf, func(ctx context.Context) error {
			return a.RecordFailure(ctx, rf, workflow.Failure{Error: workflow.ErrorName(err), Cause: err.Error()})
		})
		if rerr == nil { // the run ends here, as its execution would have
			rerr = s.RecordEnd(ctx, ExecutionEnd{Name: name, Status: "FAILED", Input: raw, Error: workflow.ErrorWorkflowFailed, Cause: err.Error()})
		}
		return name, fail(rerr)
	}
	if pre.Whole || res.Next == workflow.End {
		return name, fail(s.RecordEnd(ctx, ExecutionEnd{Name: name, Status: "SUCCEEDED", Input: raw}))
	}
	if p.express {
		return s.start(ctx, p, convID, key, trig, form) // claims the Express start
	}
	// Standard: the timeline entry is written; a known name starts nothing
	return name, s.runner.Start(ctx, StartRequest{Name: name, WorkflowID: p.v.WorkflowID, Version: p.v.Number, ASL: p.v.ASL,
		RunnerRef: p.v.RunnerRef, Input: raw})
}
