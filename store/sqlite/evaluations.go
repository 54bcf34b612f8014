package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"attune"
)

var evalTable = newTable("evaluations", "id", "owner_id", "model_id", "model_id_2",
	"benchmark_id", "alignment_id", "judge_provider", "custom_metrics", "status", "error",
	"questions_completed", "total_questions", "avg_seconds_per_q", "results",
	"created_at", "updated_at", "started_at", "ended_at")

func evalArgs(e *attune.Evaluation) []any {
	var results any
	if e.Results != nil {
		results = string(e.Results)
	}
	return []any{e.ID, e.OwnerID, e.ModelID, e.ModelID2, e.BenchmarkID, e.AlignmentID,
		e.JudgeProvider, jsonCol{v: strs(e.CustomMetrics)}, string(e.Status), e.Error,
		e.QuestionsCompleted, e.TotalQuestions, e.AvgSecondsPerQ, results,
		encTime(e.CreatedAt), encTime(e.UpdatedAt), encTimePtr(e.StartedAt), encTimePtr(e.EndedAt)}
}

func scanEval(sc scanner) (attune.Evaluation, error) {
	var e attune.Evaluation
	var results *string
	err := sc.Scan(&e.ID, &e.OwnerID, &e.ModelID, &e.ModelID2, &e.BenchmarkID, &e.AlignmentID,
		&e.JudgeProvider, jsonCol{v: &e.CustomMetrics}, &e.Status, &e.Error,
		&e.QuestionsCompleted, &e.TotalQuestions, &e.AvgSecondsPerQ, &results,
		timeCol{&e.CreatedAt}, timeCol{&e.UpdatedAt}, nullTimeCol{&e.StartedAt}, nullTimeCol{&e.EndedAt})
	if results != nil {
		e.Results = json.RawMessage(*results)
	}
	return e, err
}

// CreateEvaluation stores e after checking its benchmark and models.
func (s *Store) CreateEvaluation(ctx context.Context, e *attune.Evaluation) error {
	if e.Results != nil && !json.Valid(e.Results) {
		return attune.Invalidf("results", "results are not valid JSON")
	}
	return s.inTx(ctx, func(s *Store) error {
		b, err := s.Benchmark(ctx, e.OwnerID, e.BenchmarkID)
		if err != nil {
			return err
		}
		if b.Status != attune.StatusReady {
			return attune.Errorf(attune.KindNotFound, "benchmark %q is not ready (status %s)", b.ID, b.Status)
		}
		for _, id := range []string{e.ModelID, e.ModelID2} {
			if err := s.checkModel(ctx, e.OwnerID, id); err != nil {
				return err
			}
		}
		e.CreatedAt = s.stamp()
		e.UpdatedAt = e.CreatedAt
		if _, err := s.q.ExecContext(ctx, evalTable.insert, evalArgs(e)...); err != nil {
			return s.createErr("evaluation", e.OwnerID, err)
		}
		return nil
	})
}

// checkModel returns KindNotFound unless id is empty, a base model, or one
// of owner's aligned models.
func (s *Store) checkModel(ctx context.Context, owner, id string) error {
	if id == "" {
		return nil
	}
	n, err := s.count(ctx, `SELECT (SELECT COUNT(*) FROM base_models WHERE id = ?1) +
		(SELECT COUNT(*) FROM aligned_models WHERE id = ?1 AND owner_id = ?2)`, id, owner)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("model", id)
	}
	return nil
}

// Evaluation returns an evaluation with its results.
func (s *Store) Evaluation(ctx context.Context, owner, id string) (attune.Evaluation, error) {
	row := s.q.QueryRowContext(ctx, evalTable.selectFrom("WHERE id = ? AND owner_id = ?"), id, owner)
	e, err := scanEval(row)
	return e, readErr(err, "evaluation", id)
}

// evalListCols is evalTable's column list with the results left out.
const evalListCols = `id, owner_id, model_id, model_id_2, benchmark_id, alignment_id,
	judge_provider, custom_metrics, status, error, questions_completed, total_questions,
	avg_seconds_per_q, NULL, created_at, updated_at, started_at, ended_at`

// ListEvaluations returns a page of the owner's evaluations matching f.
func (s *Store) ListEvaluations(ctx context.Context, owner string, f attune.EvaluationFilter, p attune.Page) ([]attune.Evaluation, int, error) {
	where := ` FROM evaluations WHERE owner_id = ?1 AND (?2 = '' OR status = ?2)
		AND (?3 = '' OR model_id = ?3 OR model_id_2 = ?3)`
	filter := []any{owner, string(f.Status), f.ModelID}
	total, err := s.count(ctx, "SELECT COUNT(*)"+where, filter...)
	if err != nil {
		return nil, 0, err
	}
	limit := p.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.q.QueryContext(ctx, "SELECT "+evalListCols+where+
		" ORDER BY id DESC LIMIT ?4 OFFSET ?5", append(filter, limit, max(p.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: cannot list evaluations: %w", err)
	}
	es, err := collect(rows, scanEval)
	return es, total, err
}

// UpdateEvaluation changes an evaluation through fn.
func (s *Store) UpdateEvaluation(ctx context.Context, owner, id string, fn func(*attune.Evaluation) error) (attune.Evaluation, error) {
	var e attune.Evaluation
	err := s.inTx(ctx, func(s *Store) error {
		var err error
		if e, err = s.Evaluation(ctx, owner, id); err != nil {
			return err
		}
		created := e.CreatedAt
		if err := fn(&e); err != nil {
			return err
		}
		if e.Results != nil && !json.Valid(e.Results) {
			return attune.Invalidf("results", "results are not valid JSON")
		}
		e.ID, e.OwnerID, e.CreatedAt, e.UpdatedAt = id, owner, created, s.stamp()
		return s.write(ctx, evalTable, evalArgs(&e), id)
	})
	return e, err
}
