package asl

import "context"

// OnEnd sets f, called once an execution has ended (succeeded, failed,
// timed out or aborted) and its end is saved, with the execution as saved
// (no History). It runs in the goroutine that ended the execution, with that
// call's context; it must not block for long. Set it before the first Start.
//
// f is called once per end the runner saves: a process that dies between
// saving the end and calling f does not call it (the end stays in Describe).
func (r *Runner) OnEnd(f func(ctx context.Context, e Execution)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onEnd = f
}

// ended reports a saved end to the OnEnd function.
func (r *Runner) ended(ctx context.Context, rec *Record) {
	r.mu.Lock()
	f := r.onEnd
	r.mu.Unlock()
	if f == nil {
		return
	}
	f(ctx, Execution{
		ID: rec.ID, Name: rec.Name, MachineID: rec.MachineID, Status: rec.Status,
		Input: rec.Input, Output: rec.Output, Error: rec.Error, Cause: rec.Cause,
		StartTime: rec.StartTime, StopTime: rec.StopTime, transitions: rec.Transitions,
	})
}
