package jobs

import (
	"context"
	"testing"

	"attune"
)

// TestAlignmentQueuePosition queues three alignments behind one training
// worker: the running one is at 0, the others at 1 and 2 in the order they
// were queued, and each moves up when the one before it is stopped; a
// finished or unknown alignment has no place.
func TestAlignmentQueuePosition(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir())
	tr := stall{started: make(chan struct{}, 3), tick: make(chan struct{})}
	c := e.client(t, Deps{Extractor: Ingest{}, Trainer: tr})
	events, unsub := c.Subscribe()
	defer unsub()
	start(t, c)
	e.tinyBase(t)
	d := e.ready(t, c, events, "a.md", "# A\n\ntext")

	var ids []string
	for range 3 {
		a, _ := e.newAlignment(t, attune.Hyperparameters{}, "", d.ID)
		if err := c.StartAlignment(ctx, e.user.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	<-tr.started

	check := func(want ...int) {
		t.Helper()
		for i, id := range ids {
			pos, ok, err := c.AlignmentQueuePosition(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if w := want[i]; (w < 0) == ok || (ok && pos != w) {
				t.Errorf("alignment %d: position %d (queued %v), want %d (-1: none)", i, pos, ok, w)
			}
		}
	}
	check(0, 1, 2)

	if _, err := c.StopAlignment(ctx, e.user.ID, ids[0]); err != nil {
		t.Fatal(err)
	}
	waitJob(t, events, "align")
	<-tr.started
	check(-1, 0, 1)

	if _, ok, err := c.AlignmentQueuePosition(ctx, "alignment_unknown"); ok || err != nil {
		t.Errorf("unknown alignment: queued %v, %v", ok, err)
	}
	if _, ok, err := c.DeployQueuePosition(ctx, "task_unknown"); ok || err != nil {
		t.Errorf("unknown deploy task: queued %v, %v", ok, err)
	}
}
