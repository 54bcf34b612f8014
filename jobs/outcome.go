package jobs

import (
	"context"
	"errors"
	"strconv"

	"attune"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// outcome turns what a worker's step returned into what River should do,
// recording a final failure in the store through fail:
//
//   - nil: the job is complete.
//   - the job's context ended because the client is stopping: the job is
//     snoozed, so it runs again, without using an attempt, at the next
//     Start (its step has saved what it had).
//   - a failure the user must fix (bad input, a missing record, a step this
//     build lacks): the record fails with the message and the job is
//     cancelled, never retried.
//   - anything else is taken for transient: River retries it with backoff,
//     and the record fails only when the last attempt does.
func (c *Client) outcome(ctx context.Context, job *rivertype.JobRow, err error, fail func(msg string) error) error {
	if err == nil {
		return nil
	}
	if isShutdown(ctx) {
		c.log.Info("job interrupted; it will resume", "kind", job.Kind, "job_id", job.ID)
		return river.JobSnooze(0)
	}
	if permanent(err) {
		c.record(job, fail, attune.ErrorMessage(err), err)
		return river.JobCancel(err)
	}
	if job.Attempt >= job.MaxAttempts {
		c.record(job, fail, "it failed "+strconv.Itoa(job.Attempt)+" times; the last error was: "+err.Error(), err)
	}
	return err
}

// record writes a failure to the store. The store is the only place a user
// sees it, so a failure to write it is logged for the operator.
func (c *Client) record(job *rivertype.JobRow, fail func(string) error, msg string, cause error) {
	// A cancelled job context must not stop the failure from being written.
	if err := fail(msg); err != nil && attune.ErrorKind(err) != attune.KindNotFound {
		c.log.Error("cannot record a job failure", "kind", job.Kind, "job_id", job.ID,
			"error", err, "cause", cause)
	}
}

// permanent reports whether err will not go away by trying again.
func permanent(err error) bool {
	if errors.Is(err, errNotBuilt) {
		return true
	}
	switch attune.ErrorKind(err) {
	case attune.KindInvalid, attune.KindNotFound, attune.KindConflict, attune.KindTooLarge:
		return true
	}
	return false
}

// isShutdown reports whether ctx was cancelled by the River client
// stopping, as opposed to a job timeout or a user's stop.
func isShutdown(ctx context.Context) bool {
	if ctx.Err() == nil {
		return false
	}
	cause := context.Cause(ctx)
	return !errors.Is(cause, errStopped) && !errors.Is(cause, context.DeadlineExceeded)
}
