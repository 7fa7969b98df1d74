package flows

import (
	"context"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

// ListWorkflows returns a page of workflow records (drafts and settings).
func (s *Service) ListWorkflows(ctx context.Context, p store.PageRequest) (store.Page[routing.Workflow], error) {
	return s.st.ListWorkflows(ctx, p)
}

// GetWorkflow returns a workflow record.
func (s *Service) GetWorkflow(ctx context.Context, id string) (routing.Workflow, error) {
	return s.st.GetWorkflow(ctx, id)
}

// PublishedVersion returns version n of a workflow, or its live version when
// n is 0 (not found when it was never published), with its parsed definition.
func (s *Service) PublishedVersion(ctx context.Context, id string, n int) (routing.WorkflowVersion, *workflow.Definition, error) {
	if n == 0 {
		wf, err := s.st.GetWorkflow(ctx, id)
		if err != nil {
			return routing.WorkflowVersion{}, nil, err
		}
		if wf.PublishedVersion == 0 {
			return routing.WorkflowVersion{}, nil, routing.Errorf(routing.CodeNotFound, "workflow %s has no published version", id)
		}
		n = wf.PublishedVersion
	}
	p, err := s.version(ctx, id, n)
	if err != nil {
		return routing.WorkflowVersion{}, nil, err
	}
	return p.v, p.def, nil
}
