package flows

import (
	"context"
	"encoding/json"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

// ExecutionEnd is an execution that ended, as its runner reports it: the
// embedded runner through OnEnded, Step Functions through EventBridge's
// "Step Functions Execution Status Change" event
// (HandleExecutionStatusChange).
type ExecutionEnd struct {
	Name   string
	Status string          // Step Functions' words: SUCCEEDED, FAILED, TIMED_OUT, ABORTED
	Input  json.RawMessage // the execution's input, a workflow.ExecutionInput
	Output json.RawMessage // when SUCCEEDED
	Error  string
	Cause  string
	At     time.Time // when it ended; zero: now
}

// endReporter is a Runner that reports ends itself (the embedded runner);
// New wires it to RecordEnd.
type endReporter interface {
	OnEnded(func(ctx context.Context, e ExecutionEnd))
}

// endStatuses maps Step Functions' end statuses to workflow.ended's status
// and a short outcome for the timeline's note.
var endStatuses = map[string][2]string{
	"SUCCEEDED": {"succeeded", "completed"},
	"FAILED":    {"failed", "failed"},
	"TIMED_OUT": {"timed_out", "timed out"},
	"ABORTED":   {"aborted", "stopped"},
}

// maxCause bounds the cause kept on the timeline.
const maxCause = 1000

// RecordEnd puts workflow.ended on the conversation's timeline: the status
// (succeeded, failed, timed_out, aborted) and the outcome (completed with
// the answers the run collected, or the error and its cause). Once per
// execution name however often the end is reported; an execution that is not
// a Switchboard workflow's (no conversation in its input) or has not ended is
// ignored.
func (s *Service) RecordEnd(ctx context.Context, e ExecutionEnd) error {
	st, ok := endStatuses[e.Status]
	if !ok || e.Name == "" {
		return nil
	}
	var in workflow.ExecutionInput
	if json.Unmarshal(e.Input, &in) != nil || in.ConversationID == "" || in.WorkflowID == "" {
		return nil
	}
	data := map[string]any{"execution": e.Name, "version": in.Version, "status": st[0], "outcome": st[1]}
	note := st[1]
	switch {
	case st[0] == "succeeded":
		var out workflow.ExecutionInput
		if json.Unmarshal(e.Output, &out) == nil && len(out.Vars) > 0 {
			data["vars"] = out.Vars
		}
	case e.Error != "":
		cause := e.Cause
		if len(cause) > maxCause {
			cause = cause[:maxCause] + "…"
		}
		data["error"], data["cause"] = e.Error, cause
		note += ": " + e.Error
	}
	// Once per execution: an earlier report recorded it already.
	return s.eng.RecordWorkflowOnce(ctx, "ended#"+e.Name, runClaimTTL, e.At, in.ConversationID, routing.EvWorkflowEnded, in.WorkflowID, note, data)
}

// recordEnd is RecordEnd for a runner's callback, which has no one to
// return an error to.
func (s *Service) recordEnd(ctx context.Context, e ExecutionEnd) {
	if err := s.RecordEnd(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "workflow.ended not recorded", "execution", e.Name, "status", e.Status, "err", err)
	}
}

// The EventBridge event Step Functions sends when a Standard execution
// changes status (an EventBridge rule routes it to the dispatcher).
const (
	StepFunctionsSource       = "aws.states"
	StepFunctionsStatusChange = "Step Functions Execution Status Change"
)

// HandleExecutionStatusChange records the end of a Step Functions execution
// from the detail of a "Step Functions Execution Status Change" event:
// RUNNING is ignored, an end is recorded once (RecordEnd).
func (s *Service) HandleExecutionStatusChange(ctx context.Context, detail json.RawMessage) error {
	var d struct {
		Name     string  `json:"name"`
		Status   string  `json:"status"`
		StopDate *int64  `json:"stopDate"` // milliseconds since the epoch
		Input    *string `json:"input"`    // JSON text
		Output   *string `json:"output"`
		Error    *string `json:"error"`
		Cause    *string `json:"cause"`
	}
	if json.Unmarshal(detail, &d) != nil || d.Input == nil {
		return nil // malformed, or an input too large to be included: retrying will not help
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	e := ExecutionEnd{Name: d.Name, Status: d.Status, Input: json.RawMessage(*d.Input), Error: str(d.Error), Cause: str(d.Cause)}
	if d.Output != nil {
		e.Output = json.RawMessage(*d.Output)
	}
	if d.StopDate != nil {
		e.At = time.UnixMilli(*d.StopDate).UTC()
	}
	return s.RecordEnd(ctx, e)
}
