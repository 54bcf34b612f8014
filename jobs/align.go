package jobs

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"attune"

	"github.com/riverqueue/river"
)

// alignWorker runs an alignment's pipeline: a benchmark when it has none
// (and a generator exists), training, and evaluation before and after when
// it has a benchmark (and an evaluator exists). Each stage records its
// result before the next starts, so a resumed job skips what is done;
// training itself resumes from its last checkpoint.
type alignWorker struct {
	river.WorkerDefaults[AlignArgs]
	c *Client
}

// Timeout is none: training runs for as long as it needs, and stops when
// the alignment is stopped or the client shuts down.
func (w *alignWorker) Timeout(*river.Job[AlignArgs]) time.Duration { return -1 }

func (w *alignWorker) Work(ctx context.Context, job *river.Job[AlignArgs]) error {
	c, a := w.c, job.Args
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer c.track(a.AlignmentID, cancel)()

	p := &pipeline{c: c, owner: a.Owner, id: a.AlignmentID, cancel: cancel}
	err := p.run(ctx)
	if errors.Is(context.Cause(ctx), errStopped) || errors.Is(err, errGone) {
		p.stopped(context.WithoutCancel(ctx))
		return nil
	}
	return c.outcome(ctx, job.JobRow, err, func(msg string) error {
		return p.failed(context.WithoutCancel(ctx), msg)
	})
}

// errGone ends a pipeline whose alignment was deleted or stopped.
var errGone = errors.New("the alignment was stopped or deleted")

// The share of progress each stage ends at.
const (
	progressBenchmark = 10
	progressTrained   = 90
)

// pipeline is one run of an alignment's job.
type pipeline struct {
	c      *Client
	owner  string
	id     string
	cancel context.CancelCauseFunc
	stage  attune.Stage

	mu        sync.Mutex
	lastWrite time.Time
}

// run carries out the stages not yet done.
func (p *pipeline) run(ctx context.Context) error {
	a, err := p.c.deps.Store.Alignment(ctx, p.owner, p.id)
	if attune.ErrorKind(err) == attune.KindNotFound {
		return errGone
	}
	if a.Status == attune.AlignmentStopped {
		return errGone // stopped before it started: its model is stopped too
	}
	if err != nil || a.Status.Final() {
		return err
	}
	p.c.log.Info("alignment started", "alignment_id", p.id, "resumed", a.StartedAt != nil)

	if a.BenchmarkID == "" && p.c.deps.Generator != nil {
		if a, err = p.benchmark(ctx); err != nil {
			return err
		}
	}
	if a.TrainingCompleted == nil || !*a.TrainingCompleted {
		if a, err = p.train(ctx); err != nil {
			return err
		}
	}
	if a.BenchmarkID != "" && p.c.deps.Evaluator != nil {
		if a, err = p.evaluate(ctx, a); err != nil {
			return err
		}
	}
	return p.finish(ctx)
}

// update writes fn's changes to the alignment unless it has been stopped
// or deleted meanwhile, in which case it cancels the pipeline.
func (p *pipeline) update(ctx context.Context, fn func(a *attune.Alignment)) (attune.Alignment, error) {
	a, err := p.c.deps.Store.UpdateAlignment(ctx, p.owner, p.id, func(a *attune.Alignment) error {
		if a.Status == attune.AlignmentStopped {
			return errGone
		}
		fn(a)
		return nil
	})
	if errors.Is(err, errGone) || attune.ErrorKind(err) == attune.KindNotFound {
		p.cancel(errStopped)
		return a, errGone
	}
	return a, err
}

// enter records the start of a stage.
func (p *pipeline) enter(ctx context.Context, stage attune.Stage, status attune.AlignmentStatus, progress float64) (attune.Alignment, error) {
	p.stage = stage
	return p.update(ctx, func(a *attune.Alignment) {
		now := p.c.cfg.Now().UTC()
		if a.StartedAt == nil {
			a.StartedAt = &now
		}
		a.Status, a.Stage, a.Progress, a.Error = status, stage, max(a.Progress, progress), ""
	})
}

// benchmark generates the alignment's benchmark from its documents.
func (p *pipeline) benchmark(ctx context.Context) (attune.Alignment, error) {
	a, err := p.enter(ctx, attune.StageBenchmark, attune.AlignmentProcessing, 0)
	if err != nil {
		return a, err
	}
	qs, err := p.c.questions(ctx, p.owner, a.DocumentIDs, defaultQuestions, a.Hyperparameters.Seed)
	if attune.ErrorKind(err) == attune.KindInvalid {
		// Documents nothing can be asked about still train; the
		// alignment then ends READY without an evaluation.
		p.c.log.Warn("no benchmark for alignment; it will not be evaluated",
			"alignment_id", p.id, "reason", attune.ErrorMessage(err))
		return a, nil
	}
	if err != nil {
		return a, err
	}

	// The benchmark and the alignment's link to it are written together,
	// so a crash between them cannot make a second one.
	now := p.c.cfg.Now().UTC()
	b := attune.Benchmark{
		ID: attune.NewID(attune.PrefixBenchmark), OwnerID: p.owner, Name: a.Name + " benchmark",
		Description: "generated for alignment " + a.ID, Type: attune.BenchmarkGenerated,
		DocumentIDs: a.DocumentIDs, NumQuestions: len(qs), Questions: qs,
		Status: attune.StatusReady, StartedAt: &now, EndedAt: &now,
	}
	err = p.c.deps.Store.InTx(ctx, func(st attune.Store) error {
		if err := st.CreateBenchmark(ctx, &b); err != nil {
			return err
		}
		_, err := st.UpdateAlignment(ctx, p.owner, p.id, func(a *attune.Alignment) error {
			a.BenchmarkID, a.Progress = b.ID, progressBenchmark
			return nil
		})
		return err
	})
	if err != nil {
		return a, err
	}
	a.BenchmarkID = b.ID
	return a, nil
}

// defaultQuestions is the size of a benchmark an alignment generates.
const defaultQuestions = 20

// train runs (or resumes) training and records the adapter.
func (p *pipeline) train(ctx context.Context) (attune.Alignment, error) {
	a, err := p.enter(ctx, attune.StageTraining, attune.AlignmentProcessing, progressBenchmark)
	if err != nil {
		return a, err
	}
	if p.c.deps.Trainer == nil {
		return a, unavailable("training")
	}
	req, err := p.trainRequest(ctx, a)
	if err != nil {
		return a, err
	}
	notDone := false
	if a, err = p.update(ctx, func(a *attune.Alignment) { a.TrainingCompleted = &notDone }); err != nil {
		return a, err
	}

	end := float64(progressTrained)
	if a.BenchmarkID == "" || p.c.deps.Evaluator == nil {
		end = 100
	}
	res, err := p.c.deps.Trainer.Train(ctx, req, func(tp TrainProgress) { p.trainProgress(ctx, tp, end) })
	if err != nil {
		return a, err
	}

	// The adapter exists: the model can be deployed from here on.
	if err := p.setModel(ctx, func(m *attune.AlignedModel) {
		m.Status, m.AdapterPath = attune.ModelReady, res.AdapterDir
	}); err != nil {
		return a, err
	}
	done := true
	a, err = p.update(ctx, func(a *attune.Alignment) {
		a.TrainingCompleted, a.Step, a.Loss, a.Progress = &done, res.Steps, res.Loss, end
		a.Checkpoint = ""
	})
	if err != nil {
		return a, err
	}

	// The adapter is saved apart; the checkpoints (with the optimizer's
	// state, twice the adapter's size) are no longer needed.
	if err := os.RemoveAll(req.CheckpointDir); err != nil {
		p.c.log.Warn("cannot remove checkpoints", "alignment_id", p.id, "error", err)
	}
	return a, nil
}

// trainRequest gathers what training needs.
func (p *pipeline) trainRequest(ctx context.Context, a attune.Alignment) (TrainRequest, error) {
	base, err := p.c.deps.Store.BaseModel(ctx, a.BaseModel)
	if err != nil {
		return TrainRequest{}, err
	}
	docs, err := p.c.documentTexts(ctx, p.owner, a.DocumentIDs)
	if err != nil {
		return TrainRequest{}, err
	}
	var held []attune.Question
	if a.BenchmarkID != "" {
		b, err := p.c.deps.Store.Benchmark(ctx, p.owner, a.BenchmarkID)
		if err != nil {
			return TrainRequest{}, err
		}
		held = b.Questions
	}
	return TrainRequest{
		AlignmentID: a.ID, BaseModel: base, Hyperparameters: a.Hyperparameters.WithDefaults(),
		Documents: docs, Benchmark: held,
		CheckpointDir:   p.c.checkpointDir(p.owner, a.ID),
		CheckpointEvery: p.c.cfg.CheckpointEvery,
		AdapterDir:      p.c.adapterDir(p.owner, a.ModelID),
	}, nil
}

// trainProgress records a training step, at most once per ProgressEvery
// (and always for the last step and for a new checkpoint, which must not be
// lost to the rate limit: early deploy and stop rely on it), mapping training's share of the
// pipeline onto progressBenchmark..end.
func (p *pipeline) trainProgress(ctx context.Context, tp TrainProgress, end float64) {
	now := p.c.cfg.Now()
	p.mu.Lock()
	due := now.Sub(p.lastWrite) >= p.c.cfg.ProgressEvery || tp.Step == tp.TotalSteps || tp.Checkpoint != ""
	if due {
		p.lastWrite = now
	}
	p.mu.Unlock()
	if !due || tp.TotalSteps <= 0 {
		return
	}
	frac := float64(tp.Step) / float64(tp.TotalSteps)
	eta := now.UTC().Add(time.Duration(tp.ETASeconds * float64(time.Second)))
	_, err := p.update(ctx, func(a *attune.Alignment) {
		a.Step, a.TotalSteps, a.Loss = tp.Step, tp.TotalSteps, tp.Loss
		a.Progress = max(a.Progress, progressBenchmark+frac*(end-progressBenchmark))
		a.EstimatedCompletion = &eta
		if tp.Checkpoint != "" {
			a.Checkpoint = tp.Checkpoint
		}
	})
	if err != nil && !errors.Is(err, errGone) {
		p.c.log.Warn("cannot record training progress", "alignment_id", p.id, "error", err)
	}
}

// setModel changes the alignment's model.
func (p *pipeline) setModel(ctx context.Context, fn func(m *attune.AlignedModel)) error {
	a, err := p.c.deps.Store.Alignment(ctx, p.owner, p.id)
	if err != nil {
		return err
	}
	_, err = p.c.deps.Store.UpdateAlignedModel(ctx, p.owner, a.ModelID, func(m *attune.AlignedModel) error {
		fn(m)
		return nil
	})
	return err
}

// finish marks the alignment READY.
func (p *pipeline) finish(ctx context.Context) error {
	_, err := p.update(ctx, func(a *attune.Alignment) {
		now := p.c.cfg.Now().UTC()
		a.Status, a.Stage, a.Progress, a.CompletedAt, a.EstimatedCompletion =
			attune.AlignmentReady, attune.StageDone, 100, &now, nil
	})
	if err == nil {
		p.c.log.Info("alignment ready", "alignment_id", p.id)
	}
	return err
}

// stopped records what a stopped alignment keeps: its newest checkpoint,
// which its model can be deployed from.
func (p *pipeline) stopped(ctx context.Context) {
	a, err := p.c.deps.Store.Alignment(ctx, p.owner, p.id)
	if attune.ErrorKind(err) == attune.KindNotFound {
		// Deleted: nothing will use its checkpoints.
		os.RemoveAll(p.c.checkpointDir(p.owner, p.id))
		p.c.log.Info("alignment deleted while running", "alignment_id", p.id)
		return
	}
	if err != nil {
		p.c.log.Warn("cannot record a stopped alignment", "alignment_id", p.id, "error", err)
		return
	}
	err = p.setModel(ctx, func(m *attune.AlignedModel) {
		if m.AdapterPath == "" {
			m.AdapterPath = a.Checkpoint
		}
		if m.Status == attune.ModelTraining {
			m.Status = attune.ModelStopped
		}
	})
	if err != nil {
		p.c.log.Warn("cannot record a stopped alignment's checkpoint", "alignment_id", p.id, "error", err)
	}
	p.c.log.Info("alignment stopped", "alignment_id", p.id, "checkpoint", a.Checkpoint)
}

// failed records that the pipeline failed in its current stage.
func (p *pipeline) failed(ctx context.Context, msg string) error {
	stage := p.stage
	if stage == "" {
		stage = attune.StageQueued
	}
	_, err := p.c.deps.Store.UpdateAlignment(ctx, p.owner, p.id, func(a *attune.Alignment) error {
		now := p.c.cfg.Now().UTC()
		a.Status, a.Error, a.CompletedAt, a.EstimatedCompletion =
			attune.AlignmentFailed, string(stage)+" failed: "+msg, &now, nil
		return nil
	})
	if err != nil {
		return err
	}
	return p.setModel(ctx, func(m *attune.AlignedModel) {
		if m.Status == attune.ModelTraining {
			m.Status = attune.ModelFailed
		}
	})
}
