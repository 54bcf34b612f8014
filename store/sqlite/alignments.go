package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"attune"
)

var alignTable = newTable("alignments", "id", "owner_id", "name", "description",
	"workflow_id", "base_model", "document_ids", "benchmark_id", "hyperparameters",
	"model_id", "status", "stage", "progress", "estimated_completion", "error",
	"evaluation_id", "training_completed", "step", "total_steps", "loss",
	"checkpoint", "metrics", "created_at", "updated_at", "started_at", "completed_at")

func alignArgs(a *attune.Alignment) []any {
	return []any{a.ID, a.OwnerID, a.Name, a.Description, a.WorkflowID, a.BaseModel,
		jsonCol{v: strs(a.DocumentIDs)}, a.BenchmarkID, jsonCol{v: a.Hyperparameters},
		a.ModelID, string(a.Status), string(a.Stage), a.Progress,
		encTimePtr(a.EstimatedCompletion), a.Error, a.EvaluationID, a.TrainingCompleted,
		a.Step, a.TotalSteps, a.Loss, a.Checkpoint, jsonCol{v: a.Metrics, null: true},
		encTime(a.CreatedAt), encTime(a.UpdatedAt), encTimePtr(a.StartedAt),
		encTimePtr(a.CompletedAt)}
}

func scanAlign(sc scanner) (attune.Alignment, error) {
	var a attune.Alignment
	err := sc.Scan(&a.ID, &a.OwnerID, &a.Name, &a.Description, &a.WorkflowID, &a.BaseModel,
		jsonCol{v: &a.DocumentIDs}, &a.BenchmarkID, jsonCol{v: &a.Hyperparameters},
		&a.ModelID, &a.Status, &a.Stage, &a.Progress,
		nullTimeCol{&a.EstimatedCompletion}, &a.Error, &a.EvaluationID, &a.TrainingCompleted,
		&a.Step, &a.TotalSteps, &a.Loss, &a.Checkpoint, jsonCol{v: &a.Metrics},
		timeCol{&a.CreatedAt}, timeCol{&a.UpdatedAt}, nullTimeCol{&a.StartedAt},
		nullTimeCol{&a.CompletedAt})
	return a, err
}

// CreateAlignment stores a and its aligned model m after checking what a
// refers to.
func (s *Store) CreateAlignment(ctx context.Context, a *attune.Alignment, m *attune.AlignedModel) error {
	return s.inTx(ctx, func(s *Store) error {
		if err := s.checkAlignable(ctx, a); err != nil {
			return err
		}
		now := s.stamp()
		a.ModelID, m.AlignmentID, m.OwnerID, m.BaseModel = m.ID, a.ID, a.OwnerID, a.BaseModel
		a.CreatedAt, a.UpdatedAt, m.CreatedAt, m.UpdatedAt = now, now, now, now
		if _, err := s.q.ExecContext(ctx, alignTable.insert, alignArgs(a)...); err != nil {
			return s.createErr("alignment", a.OwnerID, err)
		}
		if _, err := s.q.ExecContext(ctx, modelTable.insert, modelArgs(m)...); err != nil {
			return s.createErr("aligned model", m.OwnerID, err)
		}
		return nil
	})
}

// checkAlignable checks a's base model, documents and benchmark.
func (s *Store) checkAlignable(ctx context.Context, a *attune.Alignment) error {
	bm, err := s.BaseModel(ctx, a.BaseModel)
	if attune.ErrorKind(err) == attune.KindNotFound {
		return attune.Invalidf("base_model", "there is no base model %q; GET /models/base lists them", a.BaseModel)
	}
	if err != nil {
		return err
	}
	if !bm.AlignmentReady {
		return attune.Invalidf("base_model", "base model %q cannot be aligned", a.BaseModel)
	}
	if err := s.checkDocuments(ctx, a.OwnerID, a.DocumentIDs, true); err != nil {
		return err
	}
	if a.BenchmarkID == "" {
		return nil
	}
	b, err := s.Benchmark(ctx, a.OwnerID, a.BenchmarkID)
	if err != nil {
		return err
	}
	if b.Status != attune.StatusReady {
		return attune.Errorf(attune.KindNotFound, "benchmark %q is not ready (status %s)", b.ID, b.Status)
	}
	return nil
}

// Alignment returns an alignment.
func (s *Store) Alignment(ctx context.Context, owner, id string) (attune.Alignment, error) {
	row := s.q.QueryRowContext(ctx, alignTable.selectFrom("WHERE id = ? AND owner_id = ?"), id, owner)
	a, err := scanAlign(row)
	return a, readErr(err, "alignment", id)
}

// ListAlignments returns a page of the owner's alignments, newest first.
func (s *Store) ListAlignments(ctx context.Context, owner string, p attune.Page) ([]attune.Alignment, int, error) {
	total, err := s.count(ctx, "SELECT COUNT(*) FROM alignments WHERE owner_id = ?", owner)
	if err != nil {
		return nil, 0, err
	}
	lim, args := limitOffset(p)
	rows, err := s.q.QueryContext(ctx, alignTable.selectFrom("WHERE owner_id = ? ORDER BY id DESC"+lim),
		append([]any{owner}, args...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: cannot list alignments: %w", err)
	}
	as, err := collect(rows, scanAlign)
	return as, total, err
}

// UpdateAlignment changes an alignment through fn.
func (s *Store) UpdateAlignment(ctx context.Context, owner, id string, fn func(*attune.Alignment) error) (attune.Alignment, error) {
	var a attune.Alignment
	err := s.inTx(ctx, func(s *Store) error {
		var err error
		if a, err = s.Alignment(ctx, owner, id); err != nil {
			return err
		}
		created := a.CreatedAt
		if err := fn(&a); err != nil {
			return err
		}
		a.ID, a.OwnerID, a.CreatedAt, a.UpdatedAt = id, owner, created, s.stamp()
		return s.write(ctx, alignTable, alignArgs(&a), id)
	})
	return a, err
}

// DeleteAlignment deletes an alignment, its model, the model's tasks and
// the alignment's evaluations, unless the model is deployed.
func (s *Store) DeleteAlignment(ctx context.Context, owner, id string) error {
	return s.inTx(ctx, func(s *Store) error {
		a, err := s.Alignment(ctx, owner, id)
		if err != nil {
			return err
		}
		var ds attune.DeploymentStatus
		err = s.q.QueryRowContext(ctx,
			"SELECT deployment_status FROM aligned_models WHERE alignment_id = ?", id).Scan(&ds)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: cannot read model of %s: %w", id, err)
		}
		if err == nil && ds != attune.Undeployed {
			return attune.Errorf(attune.KindConflict,
				"alignment %s cannot be deleted while its model %s is %s; undeploy it first", id, a.ModelID, ds)
		}
		for _, q := range []string{
			"DELETE FROM evaluations WHERE alignment_id = ?",
			"DELETE FROM alignments WHERE id = ?", // its model and tasks cascade
		} {
			if _, err := s.q.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("store: cannot delete alignment %s: %w", id, err)
			}
		}
		return nil
	})
}
