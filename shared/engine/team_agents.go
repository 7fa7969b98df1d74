package engine

import (
	"context"
	"sync"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// agentAppender is a store that can read agents into a slice the caller
// reuses (the embedded bbolt store). An assignment reads every member of the
// team, so for a team of 1,000 agents reusing the slice saves a quarter of a
// megabyte of garbage per assignment. The agents' Teams slices may be shared
// with the store: they are read, never changed.
type agentAppender interface {
	AppendAgents(ctx context.Context, dst []routing.Agent, ids []string) ([]routing.Agent, error)
}

var agentSlices = sync.Pool{New: func() any { return new([]routing.Agent) }}

// teamAgents reads the agents with the given ids (store.Store.GetAgents).
// done hands the slice back for reuse: call it once the agents (which must
// not be kept) are no longer used.
func (e *Engine) teamAgents(ctx context.Context, ids []string) (agents []routing.Agent, done func(), err error) {
	app, ok := e.store.(agentAppender)
	if !ok {
		agents, err = e.store.GetAgents(ctx, ids)
		return agents, func() {}, err
	}
	buf := agentSlices.Get().(*[]routing.Agent)
	agents, err = app.AppendAgents(ctx, (*buf)[:0], ids)
	return agents, func() {
		*buf = agents[:0]
		agentSlices.Put(buf)
	}, err
}
