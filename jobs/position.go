package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// AlignmentQueuePosition reports where the job of an alignment stands (see
// queuePosition).
func (c *Client) AlignmentQueuePosition(ctx context.Context, alignmentID string) (int, bool, error) {
	return c.queuePosition(ctx, AlignArgs{}.Kind(), func(b []byte) bool {
		var a AlignArgs
		return json.Unmarshal(b, &a) == nil && a.AlignmentID == alignmentID
	})
}

// DeployQueuePosition reports where the job of a deploy task stands (see
// queuePosition).
func (c *Client) DeployQueuePosition(ctx context.Context, taskID string) (int, bool, error) {
	return c.queuePosition(ctx, DeployArgs{}.Kind(), func(b []byte) bool {
		var a DeployArgs
		return json.Unmarshal(b, &a) == nil && a.TaskID == taskID
	})
}

// waiting are the states of a job that has yet to run; with running, the
// states of an unfinished one.
var waiting = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateScheduled,
	rivertype.JobStateRetryable, rivertype.JobStatePending}

// queuePosition finds the unfinished job of kind whose arguments mine
// accepts and reports its place: 0 while it runs, n ≥ 1 while it waits
// with n−1 jobs of its kind before it (in the order River fetches them:
// priority, then scheduled time, then id), and ok false when it has none
// (its work is done, or it was never queued here).
//
// It reads River's job list, so it works on any River driver. Only
// unfinished jobs of one kind are read: few, as each alignment or deploy
// has at most one.
func (c *Client) queuePosition(ctx context.Context, kind string, mine func(args []byte) bool) (int, bool, error) {
	params := river.NewJobListParams().Kinds(kind).
		States(append([]rivertype.JobState{rivertype.JobStateRunning}, waiting...)...).
		OrderBy(river.JobListOrderByID, river.SortOrderAsc).First(10_000)
	res, err := c.river.JobList(ctx, params)
	if err != nil {
		return 0, false, fmt.Errorf("jobs: cannot list %s jobs: %w", kind, err)
	}
	var job *rivertype.JobRow
	for _, j := range res.Jobs {
		if mine(j.EncodedArgs) {
			job = j // the newest, if a retried record has several
		}
	}
	switch {
	case job == nil:
		return 0, false, nil
	case job.State == rivertype.JobStateRunning:
		return 0, true, nil
	}
	pos := 1
	for _, j := range res.Jobs {
		if j.ID != job.ID && j.State != rivertype.JobStateRunning && ahead(j, job) {
			pos++
		}
	}
	return pos, true, nil
}

// ahead reports whether River fetches a before b.
func ahead(a, b *rivertype.JobRow) bool {
	switch {
	case a.Priority != b.Priority:
		return a.Priority < b.Priority
	case !a.ScheduledAt.Equal(b.ScheduledAt):
		return a.ScheduledAt.Before(b.ScheduledAt)
	}
	return a.ID < b.ID
}
