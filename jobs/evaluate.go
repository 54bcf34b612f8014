package jobs

import (
	"context"
	"errors"
	"time"

	"attune"

	"github.com/riverqueue/river"
)

// evaluateWorker runs an evaluation a user asked for.
type evaluateWorker struct {
	river.WorkerDefaults[EvaluateArgs]
	c *Client
}

// Timeout bounds one evaluation: a few hundred questions answered on CPU.
func (w *evaluateWorker) Timeout(*river.Job[EvaluateArgs]) time.Duration { return 12 * time.Hour }

func (w *evaluateWorker) Work(ctx context.Context, job *river.Job[EvaluateArgs]) error {
	c, a := w.c, job.Args
	_, err := c.evaluate(ctx, a.Owner, a.EvaluationID, nil)
	return c.outcome(ctx, job.JobRow, err, func(msg string) error {
		return c.evalFailed(context.WithoutCancel(ctx), a.Owner, a.EvaluationID, msg)
	})
}

// evaluate runs an evaluation unless it has finished, and returns its
// report's metrics. onProgress, when set, also hears each progress write.
func (c *Client) evaluate(ctx context.Context, owner, id string, onProgress func(done, total int, avg float64)) (*attune.PerformanceMetrics, error) {
	st := c.deps.Store
	e, err := st.Evaluation(ctx, owner, id)
	if attune.ErrorKind(err) == attune.KindNotFound {
		return nil, nil
	}
	if err != nil || e.Status != attune.StatusProcessing {
		return nil, err
	}
	if c.deps.Evaluator == nil {
		return nil, unavailable("evaluation")
	}
	req, err := c.evalRequest(ctx, e)
	if err != nil {
		return nil, err
	}

	start := c.cfg.Now().UTC()
	var last time.Time
	progress := func(done, total int) {
		now := c.cfg.Now()
		if now.Sub(last) < c.cfg.ProgressEvery && done < total {
			return
		}
		last = now
		avg := 0.0
		if done > 0 {
			avg = now.Sub(start).Seconds() / float64(done)
		}
		if onProgress != nil {
			onProgress(done, total, avg)
		}
		_, err := st.UpdateEvaluation(ctx, owner, id, func(e *attune.Evaluation) error {
			e.QuestionsCompleted, e.TotalQuestions, e.AvgSecondsPerQ = done, total, avg
			if e.StartedAt == nil {
				e.StartedAt = &start
			}
			return nil
		})
		if err != nil {
			c.log.Warn("cannot record evaluation progress", "evaluation_id", id, "error", err)
		}
	}
	rep, err := c.deps.Evaluator.Evaluate(ctx, req, progress)
	if err != nil {
		return nil, err
	}
	_, err = st.UpdateEvaluation(ctx, owner, id, func(e *attune.Evaluation) error {
		end := c.cfg.Now().UTC()
		e.Status, e.Error, e.Results, e.EndedAt = attune.StatusReady, "", rep.Results, &end
		e.QuestionsCompleted = e.TotalQuestions
		return nil
	})
	return rep.Metrics, err
}

// evalRequest gathers the benchmark and models of an evaluation.
func (c *Client) evalRequest(ctx context.Context, e attune.Evaluation) (EvalRequest, error) {
	b, err := c.deps.Store.Benchmark(ctx, e.OwnerID, e.BenchmarkID)
	if err != nil {
		return EvalRequest{}, err
	}
	req := EvalRequest{Evaluation: e, Benchmark: b}
	for _, id := range []string{e.ModelID, e.ModelID2} {
		if id == "" {
			continue
		}
		m, err := c.evalModel(ctx, e.OwnerID, id)
		if err != nil {
			return EvalRequest{}, err
		}
		req.Models = append(req.Models, m)
	}
	return req, nil
}

// evalModel resolves a model id: a base model, or one of owner's aligned
// models with the adapter to attach (its newest checkpoint while training).
func (c *Client) evalModel(ctx context.Context, owner, id string) (EvalModel, error) {
	st := c.deps.Store
	if base, err := st.BaseModel(ctx, id); err == nil {
		return EvalModel{ID: id, Base: base}, nil
	}
	m, err := st.AlignedModel(ctx, owner, id)
	if err != nil {
		return EvalModel{}, err
	}
	if m.AdapterPath == "" {
		return EvalModel{}, attune.Errorf(attune.KindConflict,
			"model %s has no trained adapter yet (status %s)", id, m.Status)
	}
	base, err := st.BaseModel(ctx, m.BaseModel)
	if err != nil {
		return EvalModel{}, err
	}
	return EvalModel{ID: id, Base: base, AdapterDir: m.AdapterPath}, nil
}

// evalFailed records an evaluation's failure.
func (c *Client) evalFailed(ctx context.Context, owner, id, msg string) error {
	_, err := c.deps.Store.UpdateEvaluation(ctx, owner, id, func(e *attune.Evaluation) error {
		end := c.cfg.Now().UTC()
		e.Status, e.Error, e.EndedAt = attune.StatusFailed, msg, &end
		return nil
	})
	return err
}

// evaluate measures the base model against the trained one on the
// alignment's benchmark, and records the metrics on both records.
func (p *pipeline) evaluate(ctx context.Context, a attune.Alignment) (attune.Alignment, error) {
	a, err := p.enter(ctx, attune.StageEvaluation, attune.AlignmentEvaluating, progressTrained)
	if err != nil {
		return a, err
	}

	// The alignment's evaluation record is made once and linked at once.
	if a.EvaluationID == "" {
		e := attune.Evaluation{
			ID: attune.NewID(attune.PrefixEvaluation), OwnerID: p.owner, ModelID: a.BaseModel,
			ModelID2: a.ModelID, BenchmarkID: a.BenchmarkID, AlignmentID: a.ID,
			JudgeProvider: "lexical", Status: attune.StatusProcessing,
		}
		err := p.c.deps.Store.InTx(ctx, func(st attune.Store) error {
			if err := st.CreateEvaluation(ctx, &e); err != nil {
				return err
			}
			_, err := st.UpdateAlignment(ctx, p.owner, p.id, func(a *attune.Alignment) error {
				a.EvaluationID = e.ID
				return nil
			})
			return err
		})
		if err != nil {
			return a, err
		}
		a.EvaluationID = e.ID
		if err := p.setModel(ctx, func(m *attune.AlignedModel) { m.EvaluationID = e.ID }); err != nil {
			return a, err
		}
	}

	metrics, err := p.c.evaluate(ctx, p.owner, a.EvaluationID, func(done, total int, avg float64) {
		p.evalProgress(ctx, done, total, avg)
	})
	if err != nil {
		_ = p.c.evalFailed(context.WithoutCancel(ctx), p.owner, a.EvaluationID, attune.ErrorMessage(err))
		return a, err
	}
	if metrics == nil {
		return a, nil // finished in an earlier run
	}
	if err := p.setModel(ctx, func(m *attune.AlignedModel) {
		m.Metrics, m.Status = metrics, attune.ModelEvaluated
	}); err != nil {
		return a, err
	}
	return p.update(ctx, func(a *attune.Alignment) { a.Metrics = metrics })
}

// evalProgress maps evaluation progress onto progressTrained..100 and
// estimates the end from the measured time per answer.
func (p *pipeline) evalProgress(ctx context.Context, done, total int, avg float64) {
	if total <= 0 {
		return
	}
	eta := p.c.cfg.Now().UTC().Add(time.Duration(avg * float64(total-done) * float64(time.Second)))
	frac := float64(done) / float64(total)
	_, err := p.update(ctx, func(a *attune.Alignment) {
		a.Progress = max(a.Progress, progressTrained+frac*(100-progressTrained))
		a.EstimatedCompletion = &eta
	})
	if err != nil && !errors.Is(err, errGone) {
		p.c.log.Warn("cannot record evaluation progress", "alignment_id", p.id, "error", err)
	}
}
