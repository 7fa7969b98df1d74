package flows

import (
	"context"
	"sort"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// Stopping workflows and ordering them. These are settings of the workflow
// record, not of a version: they take effect at once, for every version.
//
//   - Disabled: the workflow starts no new runs (trigger events and
//     shortcuts); runs already started finish on their version.
//   - Priority: the workflows whose trigger matches one event start in
//     descending priority (default 0), ties by id.
//   - Exclusive: once this workflow starts for an event, the workflows after
//     it in that order do not.
//   - Delete: only a draft that was never published (409 otherwise: disable it).

// maxPriority bounds Priority (either sign).
const maxPriority = 1_000_000

// changeRecord applies change to the workflow record with a versioned write,
// retrying a lost race unless the caller named the version it expects.
func (s *Service) changeRecord(ctx context.Context, id string, expectVersion int64, change func(*routing.Workflow) error) (routing.Workflow, error) {
	for attempt := 0; ; attempt++ {
		w, err := s.st.GetWorkflow(ctx, id)
		if err != nil {
			return routing.Workflow{}, err
		}
		if expectVersion > 0 && w.Version != expectVersion {
			return routing.Workflow{}, routing.Conflict(routing.ReasonVersion, "workflow %s is at version %d, not %d", id, w.Version, expectVersion)
		}
		next := w
		if err := change(&next); err != nil {
			return routing.Workflow{}, err
		}
		err = s.st.Commit(ctx, store.Tx{Workflows: []store.WorkflowWrite{{Value: next, ExpectVersion: w.Version}}})
		if err == nil {
			next.Version = w.Version + 1
			return next, nil
		}
		if !routing.IsConflict(err, routing.ReasonVersion) || expectVersion > 0 || attempt >= 10 {
			return routing.Workflow{}, err
		}
	}
}

// SetEnabled disables (enabled=false) or enables a workflow.
func (s *Service) SetEnabled(ctx context.Context, id string, enabled bool, expectVersion int64) (routing.Workflow, error) {
	return s.changeRecord(ctx, id, expectVersion, func(w *routing.Workflow) error {
		w.Disabled = !enabled
		return nil
	})
}

// UpdateSettings changes a workflow's priority and exclusivity; nil ones stay.
func (s *Service) UpdateSettings(ctx context.Context, id string, priority *int, exclusive *bool, expectVersion int64) (routing.Workflow, error) {
	if priority != nil && (*priority > maxPriority || *priority < -maxPriority) {
		return routing.Workflow{}, routing.Invalid("priority", "priority must be between -%d and %d", maxPriority, maxPriority)
	}
	return s.changeRecord(ctx, id, expectVersion, func(w *routing.Workflow) error {
		if priority != nil {
			w.Priority = *priority
		}
		if exclusive != nil {
			w.Exclusive = *exclusive
		}
		return nil
	})
}

// Delete removes a workflow that was never published. A published one
// (or one being published) is refused with a conflict (reason "published"):
// its versions are history and its runs may still be going; disable it.
func (s *Service) Delete(ctx context.Context, id string, expectVersion int64) error {
	w, err := s.st.GetWorkflow(ctx, id)
	if err != nil {
		return err
	}
	if expectVersion > 0 && w.Version != expectVersion {
		return routing.Conflict(routing.ReasonVersion, "workflow %s is at version %d, not %d", id, w.Version, expectVersion)
	}
	if w.PublishedVersion > 0 || w.Publishing > 0 {
		return routing.Conflict("published", "workflow %s was published: disable it instead (POST /v1/workflows/%s/disable)", id, id)
	}
	err = s.st.Commit(ctx, store.Tx{Deletes: []store.Delete{{Kind: store.DeleteWorkflow, ID: id, ExpectVersion: w.Version}}})
	if routing.IsConflict(err, routing.ReasonVersion) {
		return routing.Conflict(routing.ReasonVersion, "workflow %s changed (saved or published) while it was being deleted; try again", id)
	}
	return err
}

// candidate is a live version with its record's dispatch settings.
type candidate struct {
	*published
	priority  int
	exclusive bool
}

// candidates returns the live version of every enabled, published workflow
// with the trigger type ("" for all), in dispatch order.
func (s *Service) candidates(ctx context.Context, trigger string) ([]candidate, error) {
	var out []candidate
	err := store.ForEach(ctx, s.st.ListWorkflows, func(w routing.Workflow) error {
		if w.PublishedVersion == 0 || w.Disabled {
			return nil
		}
		v, err := s.version(ctx, w.ID, w.PublishedVersion)
		if err != nil {
			return err
		}
		if trigger == "" || v.def.Trigger.Type == trigger {
			out = append(out, candidate{published: v, priority: w.Priority, exclusive: w.Exclusive})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].priority != out[j].priority {
			return out[i].priority > out[j].priority
		}
		return out[i].v.WorkflowID < out[j].v.WorkflowID
	})
	return out, nil
}
