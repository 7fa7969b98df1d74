package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// TaskInput is the Payload the compiled machine sends to the task function.
type TaskInput struct {
	Action string `json:"action"`
	// Step is the id of the workflow step ("" for record_failure).
	Step   string          `json:"step,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	// State is the whole execution state ("state.$": "$").
	State json.RawMessage `json:"state"`
	// TaskToken is set for ask (".waitForTaskToken").
	TaskToken string `json:"TaskToken,omitempty"`
	// What identifies the step run ($$.Execution.Name, $$.State.Name,
	// $$.State.EnteredTime), and whether the machine is Express. Machines
	// compiled before step keys carry none of them.
	Execution   string `json:"execution,omitempty"`
	StateName   string `json:"stateName,omitempty"`
	EnteredTime string `json:"enteredTime,omitempty"`
	Express     bool   `json:"express,omitempty"`
}

// Params of each action, as compiled.
type (
	// AssignParams names an agent, or a team whose strategy picks one.
	AssignParams struct {
		AgentID    string `json:"agentId,omitempty"`
		TeamID     string `json:"teamId,omitempty"`
		OnlineOnly bool   `json:"onlineOnly,omitempty"`
	}
	// CommentParams is an internal note; Text is a template.
	CommentParams struct {
		Text string `json:"text"`
	}
	// SendMessageParams is a message to the contact; Text is a template.
	SendMessageParams struct {
		Text string `json:"text"`
	}
	// AskParams is a question to the contact; Text is a template. The engine
	// sends it, re-asks after an answer that is no option's id or label (up
	// to MaxAttempts answers in all), then calls SendTaskSuccess with the
	// option id as a JSON string, or SendTaskFailure with InvalidAnswer.
	AskParams struct {
		Text        string   `json:"text"`
		Options     []Option `json:"options"`
		MaxAttempts int      `json:"maxAttempts"`
	}
	// UpdateContactParams sets a contact field; Value is a template.
	UpdateContactParams struct {
		Field string `json:"field"`
		Value string `json:"value"`
	}
	// EscalateParams escalates the conversation; Summary is a template.
	EscalateParams struct {
		Type    string `json:"type"`
		Summary string `json:"summary"`
	}
	// HandoffParams hands the conversation from its bot phase to people;
	// Summary is a template. TeamID and EscalationType may be empty.
	HandoffParams struct {
		Reason         string `json:"reason"`
		TeamID         string `json:"teamId"`
		Summary        string `json:"summary"`
		EscalationType string `json:"escalationType"`
	}
)

// AssignResult is the result of assign.
type AssignResult struct {
	// Status is "assigned" or "pending" (queued for the team).
	Status  string `json:"status"`
	AgentID string `json:"agentId,omitempty"`
}

// Assign statuses.
const (
	AssignAssigned = "assigned"
	AssignPending  = "pending"
)

// Snapshot is the result of snapshot: live data read by branch conditions.
// Absent values are omitted, so that "exists" is IsPresent in the ASL.
type Snapshot struct {
	Conversation SnapshotConversation `json:"conversation"`
	Contact      SnapshotContact      `json:"contact"`
	// Seconds since the last message from / to the contact; nil when none.
	SecondsSinceLastIncoming *int64 `json:"secondsSinceLastIncoming,omitempty"`
	SecondsSinceLastOutgoing *int64 `json:"secondsSinceLastOutgoing,omitempty"`
}

// SnapshotConversation is the conversation part of a Snapshot.
type SnapshotConversation struct {
	Status         string `json:"status"`
	AssigneeID     string `json:"assigneeId,omitempty"`
	TeamID         string `json:"teamId,omitempty"`
	Assignments    int    `json:"assignments"`
	BotActive      bool   `json:"botActive"`
	EscalationType string `json:"escalationType,omitempty"`
}

// SnapshotContact is the contact part of a Snapshot.
type SnapshotContact struct {
	Name     string            `json:"name,omitempty"`
	Phone    string            `json:"phone,omitempty"`
	Language string            `json:"language,omitempty"`
	Country  string            `json:"country,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
}

// Failure is the error a Catch stored at $.error.
type Failure struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Task is what every action receives besides its params.
type Task struct {
	Action         string
	Step           string
	ConversationID string
	WorkflowID     string
	Version        int
	// TaskToken is set for ask: pass it to SendTaskSuccess/SendTaskFailure.
	TaskToken string
	// State is the execution state, for Render.
	State json.RawMessage
	// Execution, StateName and EnteredTime identify the step run (see
	// StepKey); Express is set for Express machines.
	Execution   string
	StateName   string
	EnteredTime string
	Express     bool
	// Stretch is set for an action run inside a stretch task (action
	// "run"): Step is then the action's own step id, and StepKey adds it to
	// the task's key, so each action of the stretch has its own.
	Stretch bool
}

// StepKey identifies one run of one step, for an action to claim in the
// same transaction as its effect so that a repeated delivery changes
// nothing:
//
//   - Standard machines: "<execution>/<state>/<entered time>". A Retry
//     of the state keeps its EnteredTime, and so does a re-delivery of an
//     attempt; a second entry of the same state (a loop, which always
//     passes a wait or an ask) enters later and gets another key.
//   - Express machines: "<execution>/<state>". AWS runs an asynchronous
//     Express execution at least once, and a second run of the same
//     execution (same name) enters its states at other times; Express
//     machines never loop (they have no wait or ask, and Validate requires
//     one in every loop), so a state is entered at most once per run and
//     the name and state identify the step. A duplicate start of the same
//     execution name therefore replays, it does not repeat.
//
// An action inside a stretch task (Stretch) adds "/<step id>" to its
// task's key: a stretch runs each of its actions at most once per entry.
//
// StepKey is "" when the payload carried no execution name (a machine
// compiled before step keys): such a task cannot be deduplicated.
func (t Task) StepKey() string {
	if t.Execution == "" || t.StateName == "" {
		return ""
	}
	k := t.Execution + "/" + t.StateName
	if !t.Express {
		k += "/" + t.EnteredTime
	}
	if t.Stretch {
		k += "/" + t.Step
	}
	return k
}

// Render fills a template param from the execution state; with a contact,
// {{contact.x}} reads that live contact instead of the state.
func (t Task) Render(template string, c *routing.Contact) string {
	if c != nil {
		return RenderContact(template, t.State, *c)
	}
	return Render(template, t.State)
}

// Actions is what the engine implements; HandleTask calls one method per
// task. Params holding templates (texts, value, summary) are passed raw:
// render them with Task.Render. A retryable failure must be (or wrap) a
// *TransientError; any other error fails the step, which the workflow
// records with RecordFailure and then ends failed.
type Actions interface {
	Snapshot(ctx context.Context, t Task) (Snapshot, error)
	Assign(ctx context.Context, t Task, p AssignParams) (AssignResult, error)
	Comment(ctx context.Context, t Task, p CommentParams) error
	SendMessage(ctx context.Context, t Task, p SendMessageParams) error
	// Ask sends the question; the answer arrives later through the token.
	Ask(ctx context.Context, t Task, p AskParams) error
	UpdateContact(ctx context.Context, t Task, p UpdateContactParams) error
	Escalate(ctx context.Context, t Task, p EscalateParams) error
	Close(ctx context.Context, t Task) error
	// Handoff hands a bot-phase conversation to people (nothing to do for one already with people).
	Handoff(ctx context.Context, t Task, p HandoffParams) error
	// RecordFailure puts the failure of a step on the timeline.
	RecordFailure(ctx context.Context, t Task, f Failure) error
}

// TransientError marks a retryable failure. Its Go type name is what
// aws-lambda-go reports as the error type, so the compiled Retry
// (ErrorEquals "TransientError") matches it.
type TransientError struct {
	Err error
}

func (e *TransientError) Error() string {
	if e.Err == nil {
		return "transient error"
	}
	return e.Err.Error()
}

func (e *TransientError) Unwrap() error { return e.Err }

// ErrorName is the error name Step Functions sees.
func (e *TransientError) ErrorName() string { return ErrorTransient }

// Transient wraps err as a retryable failure (nil stays nil).
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &TransientError{Err: err}
}

// IsTransient reports whether err is or wraps a *TransientError.
func IsTransient(err error) bool {
	var te *TransientError
	return errors.As(err, &te)
}

// ErrorName is the Step Functions error name of a task function error, as
// aws-lambda-go reports it: the ErrorName() of errors that have one
// (*TransientError, *InvalidTask) anywhere in the chain, else the Go type
// name of err (without pointer). A host that runs HandleTask in process
// (the embedded runner's invoker) must fail the task with this name so that
// Retry and Catch match as on AWS.
func ErrorName(err error) string {
	if err == nil {
		return ""
	}
	var named interface{ ErrorName() string }
	if errors.As(err, &named) {
		return named.ErrorName()
	}
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "" {
		return "Error"
	}
	return t.Name()
}

// InvalidTask is returned for a payload the task function cannot run: bad
// JSON, an unknown action, bad params or no conversation id. It is not
// retried.
type InvalidTask struct {
	Message string
}

func (e *InvalidTask) Error() string { return "invalid task: " + e.Message }

// ErrorName is the error name Step Functions sees.
func (e *InvalidTask) ErrorName() string { return "InvalidTask" }

// taskState is the part of the execution state the task function reads.
type taskState struct {
	ConversationID string   `json:"conversationId"`
	WorkflowID     string   `json:"workflowId"`
	Version        int      `json:"version"`
	Error          *Failure `json:"error"`
}

// HandleTask decodes a task payload, calls the matching Actions method and
// encodes its result (the Lambda function's output). Errors are returned so
// that their Go type name is the Step Functions error name: a
// *TransientError anywhere in the chain is returned unwrapped, other errors
// unchanged.
func HandleTask(ctx context.Context, a Actions, payload json.RawMessage) (json.RawMessage, error) {
	var in TaskInput
	if err := strictUnmarshal(payload, &in); err != nil {
		return nil, &InvalidTask{Message: "payload: " + err.Error()}
	}
	var st taskState
	if len(in.State) == 0 {
		return nil, &InvalidTask{Message: "payload has no state"}
	}
	if err := json.Unmarshal(in.State, &st); err != nil {
		return nil, &InvalidTask{Message: "state: " + err.Error()}
	}
	if st.ConversationID == "" {
		return nil, &InvalidTask{Message: "state has no conversationId"}
	}
	t := Task{Action: in.Action, Step: in.Step, ConversationID: st.ConversationID, WorkflowID: st.WorkflowID,
		Version: st.Version, TaskToken: in.TaskToken, State: in.State,
		Execution: in.Execution, StateName: in.StateName, EnteredTime: in.EnteredTime, Express: in.Express}
	result, err := runAction(ctx, a, t, in.Params, st.Error)
	if err != nil {
		var te *TransientError
		if errors.As(err, &te) {
			return nil, te
		}
		return nil, err
	}
	out, err := json.Marshal(result)
	if err != nil {
		return nil, &InvalidTask{Message: "result: " + err.Error()}
	}
	return out, nil
}

// runAction calls the Actions method of t.Action with its params (and, for
// record_failure, the failure the Catch stored).
func runAction(ctx context.Context, a Actions, t Task, raw json.RawMessage, failure *Failure) (any, error) {
	params := func(dst any) error {
		if len(bytes.TrimSpace(raw)) == 0 {
			return nil
		}
		if err := strictUnmarshal(raw, dst); err != nil {
			return &InvalidTask{Message: fmt.Sprintf("%s params: %v", t.Action, err)}
		}
		return nil
	}
	var result any = struct{}{}
	var err error
	switch t.Action {
	case ActionSnapshot:
		result, err = a.Snapshot(ctx, t)
	case ActionRun:
		var p RunParams
		if err = params(&p); err == nil {
			if t.Stretch {
				return nil, &InvalidTask{Message: "a stretch cannot run a stretch"}
			}
			result, err = RunStretch(ctx, a, t, p)
		}
	case ActionAssign:
		var p AssignParams
		if err = params(&p); err == nil {
			if (p.AgentID == "") == (p.TeamID == "") {
				return nil, &InvalidTask{Message: "assign params need agentId or teamId"}
			}
			result, err = a.Assign(ctx, t, p)
		}
	case ActionComment:
		var p CommentParams
		if err = params(&p); err == nil {
			err = a.Comment(ctx, t, p)
		}
	case ActionSendMessage:
		var p SendMessageParams
		if err = params(&p); err == nil {
			err = a.SendMessage(ctx, t, p)
		}
	case ActionAsk:
		var p AskParams
		if err = params(&p); err == nil {
			if t.TaskToken == "" {
				return nil, &InvalidTask{Message: "ask needs a TaskToken"}
			}
			err = a.Ask(ctx, t, p)
		}
	case ActionUpdateContact:
		var p UpdateContactParams
		if err = params(&p); err == nil {
			err = a.UpdateContact(ctx, t, p)
		}
	case ActionEscalate:
		var p EscalateParams
		if err = params(&p); err == nil {
			err = a.Escalate(ctx, t, p)
		}
	case ActionClose:
		var p struct{}
		if err = params(&p); err == nil {
			err = a.Close(ctx, t)
		}
	case ActionHandoff:
		var p HandoffParams
		if err = params(&p); err == nil {
			err = a.Handoff(ctx, t, p)
		}
	case ActionRecordFailure:
		var p struct{}
		if err = params(&p); err == nil {
			f := Failure{Error: "Unknown"}
			if failure != nil {
				f = *failure
			}
			err = a.RecordFailure(ctx, t, f)
		}
	default:
		return nil, &InvalidTask{Message: fmt.Sprintf("unknown action %q", t.Action)}
	}
	return result, err
}

func strictUnmarshal(data []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the object")
	}
	return nil
}
