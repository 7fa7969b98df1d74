package asl

import (
	"encoding/json"
	"strings"
	"time"
)

// Status is the status of an execution, as DescribeExecution reports it.
type Status string

// Execution statuses.
const (
	StatusRunning   Status = "RUNNING"
	StatusSucceeded Status = "SUCCEEDED"
	StatusFailed    Status = "FAILED"
	StatusTimedOut  Status = "TIMED_OUT"
	StatusAborted   Status = "ABORTED"
)

// History event types, named as in Step Functions' GetExecutionHistory.
// State events are "<Type>StateEntered" and "<Type>StateExited", e.g.
// "TaskStateEntered", "ChoiceStateExited".
const (
	EventExecutionStarted   = "ExecutionStarted"
	EventExecutionSucceeded = "ExecutionSucceeded"
	EventExecutionFailed    = "ExecutionFailed"
	EventExecutionAborted   = "ExecutionAborted"
	EventExecutionTimedOut  = "ExecutionTimedOut"
	EventTaskScheduled      = "TaskScheduled"
	EventTaskStarted        = "TaskStarted"
	EventTaskSubmitted      = "TaskSubmitted"
	EventTaskSucceeded      = "TaskSucceeded"
	EventTaskFailed         = "TaskFailed"
	EventTaskTimedOut       = "TaskTimedOut"
)

// MaxHistoryEvents is the most events one execution may record (the Step
// Functions Standard quota). An execution that needs more fails with
// States.Runtime.
const MaxHistoryEvents = 25000

// HistoryEvent is one entry of an execution's history.
type HistoryEvent struct {
	ID              int64     `json:"id"`
	PreviousEventID int64     `json:"previousEventId,omitempty"`
	Type            string    `json:"type"`
	Timestamp       time.Time `json:"timestamp"`
	StateName       string    `json:"stateName,omitempty"`
	// Resource is set on task events.
	Resource string `json:"resource,omitempty"`
	// Input is the state input (StateEntered), the execution input
	// (ExecutionStarted) or the task parameters (TaskScheduled).
	Input json.RawMessage `json:"input,omitempty"`
	// Output is the state output (StateExited), the task result
	// (TaskSucceeded, TaskSubmitted) or the execution output.
	Output json.RawMessage `json:"output,omitempty"`
	Error  string          `json:"error,omitempty"`
	Cause  string          `json:"cause,omitempty"`
}

// Execution describes one execution.
type Execution struct {
	// ID is the execution ARN, also $$.Execution.Id.
	ID        string
	Name      string
	MachineID string
	Status    Status
	Input     json.RawMessage
	Output    json.RawMessage // set when Status is SUCCEEDED
	Error     string          // set when the execution failed, timed out or was stopped
	Cause     string
	StartTime time.Time
	StopTime  time.Time // zero while running
	History   []HistoryEvent

	transitions int
}

// StatesEntered returns the names of the states entered, in order.
func (e Execution) StatesEntered() []string {
	var out []string
	for _, ev := range e.History {
		if strings.HasSuffix(ev.Type, "StateEntered") {
			out = append(out, ev.StateName)
		}
	}
	return out
}

// Transitions returns the number of state transitions so far: one per state
// entered and one per retry, which is what Standard Step Functions bills.
func (e Execution) Transitions() int { return e.transitions }
