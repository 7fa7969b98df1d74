package bolt

import (
	"sync/atomic"
	"time"
)

// Stats describes the group commits of a store since Open.
type Stats struct {
	Commits   int64 // Txs given to the committer (group commit only)
	Batches   int64 // bbolt write transactions committed, each fsynced
	Rollbacks int64 // bbolt write transactions rolled back and re-run because bbolt failed writing a Tx
	Conflicts int64 // Txs refused (a failed condition, bad input) without writing anything
	Pages     int64 // page writes of the committed batches (bbolt writes each dirty page)
	// Apply is the committer's time spent applying Txs to bbolt, Sync the
	// time spent in bbolt's commit (page writes and fsync).
	Apply, Sync time.Duration
}

type counters struct {
	commits, batches, rollbacks, conflicts, pages atomic.Int64
	applyNanos, syncNanos                         atomic.Int64
}

// Stats returns the store's group commit counters.
func (s *Store) Stats() Stats {
	c := &s.stats
	return Stats{Commits: c.commits.Load(), Batches: c.batches.Load(), Rollbacks: c.rollbacks.Load(), Conflicts: c.conflicts.Load(), Pages: c.pages.Load(),
		Apply: time.Duration(c.applyNanos.Load()), Sync: time.Duration(c.syncNanos.Load())}
}
