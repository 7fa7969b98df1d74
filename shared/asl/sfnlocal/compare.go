package sfnlocal

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/asl"
)

// TasksFromHistory extracts, per Task state, the outcome of every task
// attempt recorded in an execution's history, in the form Request.Tasks
// replays: the function output for lambda:invoke (the Payload, since the
// harness rebuilds the envelope), the SendTaskSuccess output for
// .waitForTaskToken tasks, the result for other resources, and
// TaskFailure(error, cause) for failed or timed-out attempts.
func TasksFromHistory(ex asl.Execution) (map[string][]json.RawMessage, error) {
	tasks := map[string][]json.RawMessage{}
	for _, ev := range ex.History {
		switch ev.Type {
		case asl.EventTaskSucceeded:
			out := ev.Output
			if ev.Resource == asl.ResourceLambdaInvoke {
				var env struct{ Payload json.RawMessage }
				if err := json.Unmarshal(ev.Output, &env); err != nil {
					return nil, fmt.Errorf("sfnlocal: event %d of %s: %v", ev.ID, ex.Name, err)
				}
				out = env.Payload
				if len(out) == 0 {
					out = json.RawMessage(`null`)
				}
			}
			tasks[ev.StateName] = append(tasks[ev.StateName], out)
		case asl.EventTaskFailed, asl.EventTaskTimedOut:
			tasks[ev.StateName] = append(tasks[ev.StateName], TaskFailure(ev.Error, ev.Cause))
		}
	}
	return tasks, nil
}

// RequestFor builds the harness request that replays ex: same input, name,
// context object fields and task outcomes.
func RequestFor(def []byte, ex asl.Execution) (Request, error) {
	tasks, err := TasksFromHistory(ex)
	if err != nil {
		return Request{}, err
	}
	machine := asl.MachineARN(ex.MachineID)
	return Request{
		Definition: def,
		Input:      ex.Input,
		Tasks:      tasks,
		Name:       ex.Name,
		Context: map[string]any{
			"Execution": map[string]any{
				"Id":        ex.ID,
				"Name":      ex.Name,
				"StartTime": ex.StartTime.UTC().Format("2006-01-02T15:04:05.000Z"),
			},
			"StateMachine": map[string]any{"Id": machine, "Name": machine[strings.LastIndex(machine, ":")+1:]},
		},
	}, nil
}

// Diff lists how the reference result differs from our execution: status,
// states entered, output (as JSON values) and error. Causes are compared for
// errors raised by tasks and Fail states, not for the runtime's own
// "States.*" errors, whose texts are implementation specific.
func Diff(ex asl.Execution, ref Result) []string {
	var d []string
	if ex.Status == asl.StatusRunning || ex.Status == asl.StatusAborted {
		return []string{fmt.Sprintf("our execution is %s; only ended executions can be compared", ex.Status)}
	}
	if string(ex.Status) != ref.Status {
		d = append(d, fmt.Sprintf("status: ours %s, reference %s (error %q, cause %q)", ex.Status, ref.Status, ref.Error, ref.Cause))
	}
	if ours := ex.StatesEntered(); !slices.Equal(ours, ref.States) {
		d = append(d, fmt.Sprintf("states entered:\n  ours      %v\n  reference %v", ours, ref.States))
	}
	if ex.Status == asl.StatusSucceeded && ref.Status == string(asl.StatusSucceeded) && !asl.EqualJSON(ex.Output, ref.Output) {
		d = append(d, fmt.Sprintf("output:\n  ours      %s\n  reference %s", ex.Output, ref.Output))
	}
	if ex.Status == asl.StatusFailed && ref.Status == string(asl.StatusFailed) {
		if ex.Error != ref.Error {
			d = append(d, fmt.Sprintf("error: ours %q, reference %q", ex.Error, ref.Error))
		} else if !strings.HasPrefix(ex.Error, "States.") && ex.Cause != ref.Cause {
			d = append(d, fmt.Sprintf("cause: ours %q, reference %q", ex.Cause, ref.Cause))
		}
	}
	return d
}

// Case is an ended execution of our runner and its definition.
type Case struct {
	Definition []byte
	Execution  asl.Execution
}

// Compare replays an ended execution of our runner through the
// aws-local-stepfunctions harness and fails t unless both enter the same
// states and end with the same status, output or error. It calls Require.
func Compare(ctx context.Context, t testing.TB, def []byte, ex asl.Execution) Result {
	t.Helper()
	return CompareAll(ctx, t, Case{Definition: def, Execution: ex})[0]
}

// CompareAll is Compare for several executions, in one harness process.
func CompareAll(ctx context.Context, t testing.TB, cases ...Case) []Result {
	t.Helper()
	Require(t)
	reqs := make([]Request, len(cases))
	for i, c := range cases {
		req, err := RequestFor(c.Definition, c.Execution)
		if err != nil {
			t.Fatal(err)
		}
		reqs[i] = req
	}
	res, err := RunRequests(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		for _, d := range Diff(c.Execution, res[i]) {
			t.Errorf("execution %s differs from aws-local-stepfunctions: %s", c.Execution.Name, d)
		}
	}
	return res
}
