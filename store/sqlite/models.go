package sqlite

import (
	"context"
	"fmt"

	"attune"
)

var baseTable = newTable("base_models", "id", "description", "path", "architecture",
	"parameters", "context_length", "alignment_ready", "created_at")

func scanBase(sc scanner) (attune.BaseModel, error) {
	var m attune.BaseModel
	err := sc.Scan(&m.ID, &m.Description, &m.Path, &m.Architecture, &m.Parameters,
		&m.ContextLength, &m.AlignmentReady, timeCol{&m.CreatedAt})
	return m, err
}

// CreateBaseModel stores a base model.
func (s *Store) CreateBaseModel(ctx context.Context, m *attune.BaseModel) error {
	if m.ID == "" {
		return attune.Invalidf("id", "a base model needs an id")
	}
	m.CreatedAt = s.stamp()
	_, err := s.q.ExecContext(ctx, baseTable.insert, m.ID, m.Description, m.Path,
		m.Architecture, m.Parameters, m.ContextLength, m.AlignmentReady, encTime(m.CreatedAt))
	if isUnique(err) {
		return &attune.Error{Kind: attune.KindConflict,
			Message: fmt.Sprintf("a base model %q already exists", m.ID),
			Err:     &attune.ExistsError{ID: m.ID}}
	}
	if err != nil {
		return fmt.Errorf("store: cannot create base model %s: %w", m.ID, err)
	}
	return nil
}

// BaseModel returns a base model.
func (s *Store) BaseModel(ctx context.Context, id string) (attune.BaseModel, error) {
	m, err := scanBase(s.q.QueryRowContext(ctx, baseTable.selectFrom("WHERE id = ?"), id))
	return m, readErr(err, "base model", id)
}

// ListBaseModels returns every base model, by id.
func (s *Store) ListBaseModels(ctx context.Context) ([]attune.BaseModel, error) {
	rows, err := s.q.QueryContext(ctx, baseTable.selectFrom("ORDER BY id"))
	if err != nil {
		return nil, fmt.Errorf("store: cannot list base models: %w", err)
	}
	return collect(rows, scanBase)
}

var modelTable = newTable("aligned_models", "id", "owner_id", "alignment_id", "name",
	"base_model", "status", "deployment_status", "adapter_path", "evaluation_id",
	"metrics", "created_at", "updated_at")

func modelArgs(m *attune.AlignedModel) []any {
	return []any{m.ID, m.OwnerID, m.AlignmentID, m.Name, m.BaseModel, string(m.Status),
		string(m.DeploymentStatus), m.AdapterPath, m.EvaluationID,
		jsonCol{v: m.Metrics, null: true}, encTime(m.CreatedAt), encTime(m.UpdatedAt)}
}

func scanModel(sc scanner) (attune.AlignedModel, error) {
	var m attune.AlignedModel
	err := sc.Scan(&m.ID, &m.OwnerID, &m.AlignmentID, &m.Name, &m.BaseModel, &m.Status,
		&m.DeploymentStatus, &m.AdapterPath, &m.EvaluationID, jsonCol{v: &m.Metrics},
		timeCol{&m.CreatedAt}, timeCol{&m.UpdatedAt})
	return m, err
}

// AlignedModel returns an aligned model.
func (s *Store) AlignedModel(ctx context.Context, owner, id string) (attune.AlignedModel, error) {
	row := s.q.QueryRowContext(ctx, modelTable.selectFrom("WHERE id = ? AND owner_id = ?"), id, owner)
	m, err := scanModel(row)
	return m, readErr(err, "model", id)
}

// ListAlignedModels returns a page of the owner's aligned models.
func (s *Store) ListAlignedModels(ctx context.Context, owner string, p attune.Page) ([]attune.AlignedModel, int, error) {
	total, err := s.count(ctx, "SELECT COUNT(*) FROM aligned_models WHERE owner_id = ?", owner)
	if err != nil {
		return nil, 0, err
	}
	lim, args := limitOffset(p)
	rows, err := s.q.QueryContext(ctx, modelTable.selectFrom("WHERE owner_id = ? ORDER BY id DESC"+lim),
		append([]any{owner}, args...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: cannot list models: %w", err)
	}
	ms, err := collect(rows, scanModel)
	return ms, total, err
}

// UpdateAlignedModel changes an aligned model through fn.
func (s *Store) UpdateAlignedModel(ctx context.Context, owner, id string, fn func(*attune.AlignedModel) error) (attune.AlignedModel, error) {
	var m attune.AlignedModel
	err := s.inTx(ctx, func(s *Store) error {
		var err error
		if m, err = s.AlignedModel(ctx, owner, id); err != nil {
			return err
		}
		created, alignment := m.CreatedAt, m.AlignmentID
		if err := fn(&m); err != nil {
			return err
		}
		m.ID, m.OwnerID, m.CreatedAt, m.AlignmentID, m.UpdatedAt = id, owner, created, alignment, s.stamp()
		return s.write(ctx, modelTable, modelArgs(&m), id)
	})
	return m, err
}

// DeployedModels returns every user's models that are deployed or deploying.
func (s *Store) DeployedModels(ctx context.Context) ([]attune.AlignedModel, error) {
	rows, err := s.q.QueryContext(ctx, modelTable.selectFrom(
		"WHERE deployment_status IN ('DEPLOYED', 'DEPLOYING') ORDER BY id"))
	if err != nil {
		return nil, fmt.Errorf("store: cannot list deployed models: %w", err)
	}
	return collect(rows, scanModel)
}

var depTable = newTable("deployment_tasks", "id", "owner_id", "model_id", "kind", "early",
	"status", "message", "error", "started_at", "ended_at")

func depArgs(t *attune.DeploymentTask) []any {
	return []any{t.ID, t.OwnerID, t.ModelID, string(t.Kind), t.Early, string(t.Status),
		t.Message, t.Error, encTime(t.StartedAt), encTimePtr(t.EndedAt)}
}

func scanDep(sc scanner) (attune.DeploymentTask, error) {
	var t attune.DeploymentTask
	err := sc.Scan(&t.ID, &t.OwnerID, &t.ModelID, &t.Kind, &t.Early, &t.Status,
		&t.Message, &t.Error, timeCol{&t.StartedAt}, nullTimeCol{&t.EndedAt})
	return t, err
}

// CreateDeploymentTask stores t and moves its model's deployment status.
func (s *Store) CreateDeploymentTask(ctx context.Context, t *attune.DeploymentTask) error {
	from, to := attune.Undeployed, attune.Deploying
	switch t.Kind {
	case attune.TaskDeploy:
	case attune.TaskUndeploy:
		from, to = attune.Deployed, attune.Undeploying
	default:
		return attune.Invalidf("kind", "a deployment task is %q or %q, not %q", attune.TaskDeploy, attune.TaskUndeploy, t.Kind)
	}
	return s.inTx(ctx, func(s *Store) error {
		m, err := s.AlignedModel(ctx, t.OwnerID, t.ModelID)
		if err != nil {
			return err
		}
		if m.DeploymentStatus != from {
			return s.deployConflict(t.Kind, m)
		}
		if t.Kind == attune.TaskDeploy && m.AdapterPath == "" && !t.Early {
			return attune.Errorf(attune.KindConflict,
				"Model cannot be deployed yet: it has no trained adapter (status %s)", m.Status)
		}
		m.DeploymentStatus, m.UpdatedAt = to, s.stamp()
		if err := s.write(ctx, modelTable, modelArgs(&m), m.ID); err != nil {
			return err
		}
		t.StartedAt = m.UpdatedAt
		if t.Status == "" {
			t.Status = attune.TaskPending
		}
		if _, err := s.q.ExecContext(ctx, depTable.insert, depArgs(t)...); err != nil {
			return s.createErr("deployment task", t.OwnerID, err)
		}
		return nil
	})
}

// deployConflict is the error for a deployment task that m's state forbids;
// the deploy message is the one NuGen's clients expect.
func (s *Store) deployConflict(kind attune.TaskKind, m attune.AlignedModel) error {
	if kind == attune.TaskDeploy {
		return attune.Errorf(attune.KindConflict,
			"Model cannot be redeployed. Current status: %s", m.DeploymentStatus)
	}
	return attune.Errorf(attune.KindConflict,
		"Model %s is not deployed. Current status: %s", m.ID, m.DeploymentStatus)
}

// DeploymentTask returns a deployment task.
func (s *Store) DeploymentTask(ctx context.Context, owner, id string) (attune.DeploymentTask, error) {
	row := s.q.QueryRowContext(ctx, depTable.selectFrom("WHERE id = ? AND owner_id = ?"), id, owner)
	t, err := scanDep(row)
	return t, readErr(err, "deployment task", id)
}

// LatestDeploymentTask returns the newest task of kind for a model.
func (s *Store) LatestDeploymentTask(ctx context.Context, owner, modelID string, kind attune.TaskKind) (attune.DeploymentTask, error) {
	row := s.q.QueryRowContext(ctx, depTable.selectFrom(
		"WHERE model_id = ? AND owner_id = ? AND kind = ? ORDER BY id DESC LIMIT 1"),
		modelID, owner, string(kind))
	t, err := scanDep(row)
	return t, readErr(err, string(kind)+" task for model", modelID)
}

// UpdateDeploymentTask changes a deployment task through fn.
func (s *Store) UpdateDeploymentTask(ctx context.Context, owner, id string, fn func(*attune.DeploymentTask) error) (attune.DeploymentTask, error) {
	var t attune.DeploymentTask
	err := s.inTx(ctx, func(s *Store) error {
		var err error
		if t, err = s.DeploymentTask(ctx, owner, id); err != nil {
			return err
		}
		model, kind, started := t.ModelID, t.Kind, t.StartedAt
		if err := fn(&t); err != nil {
			return err
		}
		t.ID, t.OwnerID, t.ModelID, t.Kind, t.StartedAt = id, owner, model, kind, started
		return s.write(ctx, depTable, depArgs(&t), id)
	})
	return t, err
}
