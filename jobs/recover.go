package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"attune"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// recoverOrphans makes every job left "running" available again. It runs
// under the queue's exclusive lock before this client works anything, so
// such a job's process has died: its work was interrupted, and its worker
// resumes from what the store recorded (training from its checkpoint).
func (c *Client) recoverOrphans(ctx context.Context) error {
	res, err := c.river.JobList(ctx, river.NewJobListParams().
		States(rivertype.JobStateRunning).First(10000))
	if err != nil {
		return fmt.Errorf("jobs: cannot list running jobs: %w", err)
	}
	if len(res.Jobs) == 0 {
		return nil
	}
	now := time.Now().UTC()
	p := &riverdriver.JobRescueManyParams{StuckHorizon: now.Add(time.Minute)}
	for _, job := range res.Jobs {
		msg, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: job.Attempt,
			Error: "the process running the job ended; resumed at start"})
		if err != nil {
			return err
		}
		p.ID = append(p.ID, job.ID)
		p.Error = append(p.Error, msg)
		p.FinalizedAt = append(p.FinalizedAt, nil)
		p.ScheduledAt = append(p.ScheduledAt, now)
		p.State = append(p.State, string(rivertype.JobStateAvailable))
		c.log.Warn("resuming a job interrupted by a crash", "kind", job.Kind, "job_id", job.ID, "attempt", job.Attempt)
	}
	if _, err := c.river.Driver().GetExecutor().JobRescueMany(ctx, p); err != nil {
		return fmt.Errorf("jobs: cannot resume interrupted jobs: %w", err)
	}
	return nil
}

// reconcile enqueues a job for every unfinished record. Jobs are unique by
// their arguments, so records that already have one are left alone; this
// covers a process that died between storing a record and enqueuing its
// job.
func (c *Client) reconcile(ctx context.Context) error {
	work, err := c.deps.Store.UnfinishedWork(ctx)
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	for _, w := range work {
		var args river.JobArgs
		switch w.Kind {
		case attune.WorkIngest:
			args = IngestArgs{Owner: w.OwnerID, DocumentID: w.ID}
		case attune.WorkBenchmark:
			args = BenchmarkArgs{Owner: w.OwnerID, BenchmarkID: w.ID}
		case attune.WorkAlign:
			args = AlignArgs{Owner: w.OwnerID, AlignmentID: w.ID}
		case attune.WorkEvaluate:
			args = EvaluateArgs{Owner: w.OwnerID, EvaluationID: w.ID}
		case attune.WorkDeploy:
			args = DeployArgs{Owner: w.OwnerID, TaskID: w.ID}
		case attune.WorkUndeploy:
			args = UndeployArgs{Owner: w.OwnerID, TaskID: w.ID}
		default:
			continue
		}
		if err := c.insert(ctx, args); err != nil {
			return err
		}
	}
	return nil
}
