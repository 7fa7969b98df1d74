package engine

import (
	"fmt"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// askStep is the workflow.step event of an ask step's outcome, written with
// the change that ends the question: the option the contact chose, or (o
// nil) no valid answer within the attempts allowed.
func (e *Engine) askStep(convID string, q routing.Question, o *routing.AnswerOption) routing.Event {
	data := map[string]any{"step": "ask", "question": q.Text}
	if o != nil {
		data["result"], data["answer"], data["label"] = "answered", o.ID, o.Label
		return e.event(convID, routing.EvWorkflowStep, Workflow(q.WorkflowID), fmt.Sprintf("answered %q", o.Label), data)
	}
	data["result"], data["attempts"] = "invalid", q.Attempts
	return e.event(convID, routing.EvWorkflowStep, Workflow(q.WorkflowID), fmt.Sprintf("no valid answer after %d attempts", q.Attempts), data)
}
