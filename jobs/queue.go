package jobs

import (
	"context"
	"errors"

	"attune"
)

// IngestDocument enqueues the ingestion of a stored document.
func (c *Client) IngestDocument(ctx context.Context, owner, documentID string) error {
	return c.insert(ctx, IngestArgs{Owner: owner, DocumentID: documentID})
}

// GenerateBenchmark enqueues the generation of a PROCESSING benchmark.
func (c *Client) GenerateBenchmark(ctx context.Context, owner, benchmarkID string) error {
	return c.insert(ctx, BenchmarkArgs{Owner: owner, BenchmarkID: benchmarkID})
}

// StartAlignment enqueues an alignment's pipeline.
func (c *Client) StartAlignment(ctx context.Context, owner, alignmentID string) error {
	return c.insert(ctx, AlignArgs{Owner: owner, AlignmentID: alignmentID})
}

// Evaluate enqueues an evaluation.
func (c *Client) Evaluate(ctx context.Context, owner, evaluationID string) error {
	return c.insert(ctx, EvaluateArgs{Owner: owner, EvaluationID: evaluationID})
}

// Deploy enqueues a deploy task.
func (c *Client) Deploy(ctx context.Context, owner, taskID string) error {
	return c.insert(ctx, DeployArgs{Owner: owner, TaskID: taskID})
}

// Undeploy enqueues an undeploy task.
func (c *Client) Undeploy(ctx context.Context, owner, taskID string) error {
	return c.insert(ctx, UndeployArgs{Owner: owner, TaskID: taskID})
}

// errStopped is the cause with which a stopped alignment's job is
// cancelled.
var errStopped = errors.New("the alignment was stopped")

// StopAlignment marks an alignment STOPPED and cancels its job if it runs
// in this process; a job in another process notices at its next progress
// report. Training saves a checkpoint when cancelled, and the alignment
// keeps it, so its model can still be deployed early.
func (c *Client) StopAlignment(ctx context.Context, owner, alignmentID string) (attune.Alignment, error) {
	a, err := c.deps.Store.UpdateAlignment(ctx, owner, alignmentID, func(a *attune.Alignment) error {
		if a.Status.Final() {
			return attune.Errorf(attune.KindConflict,
				"alignment %s has already finished (status %s); there is nothing to stop", a.ID, a.Status)
		}
		now := c.cfg.Now().UTC()
		a.Status, a.CompletedAt, a.EstimatedCompletion = attune.AlignmentStopped, &now, nil
		return nil
	})
	if err != nil {
		return a, err
	}
	c.mu.Lock()
	cancel := c.running[alignmentID]
	c.mu.Unlock()
	if cancel != nil {
		cancel(errStopped)
	}
	c.log.Info("alignment stopped", "alignment_id", alignmentID, "running_here", cancel != nil)
	return a, nil
}

// track records the cancel function of an alignment's running job until
// the returned function is called.
func (c *Client) track(alignmentID string, cancel context.CancelCauseFunc) func() {
	c.mu.Lock()
	c.running[alignmentID] = cancel
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.running, alignmentID)
		c.mu.Unlock()
	}
}
