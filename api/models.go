package api

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"attune"
)

// handleBaseModels answers GET /models/base.
func (s *Server) handleBaseModels(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.deps.Store.ListBaseModels(r.Context())
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(ms))
	for i, m := range ms {
		items[i] = map[string]any{
			"id": m.ID, "description": m.Description, "alignment_ready": m.AlignmentReady,
			"parameters": m.Parameters, "context_length": m.ContextLength, "architecture": m.Architecture,
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"models": items})
	return nil
}

// inferenceEndpoint is where a deployed model answers chat.
const inferenceEndpoint = v3 + "/inference/chat/completions"

// alignedModelBody is one entry of GET /models/aligned.
func alignedModelBody(m attune.AlignedModel) map[string]any {
	var endpoint, evalData any
	if m.DeploymentStatus == attune.Deployed {
		endpoint = inferenceEndpoint
	}
	if m.EvaluationID != "" {
		evalData = map[string]any{"evaluation_id": m.EvaluationID}
	}
	return map[string]any{
		"id": m.ID, "alignment_id": m.AlignmentID, "name": m.Name, "base_model": m.BaseModel,
		"created_date": timestamp(m.CreatedAt), "status": m.Status,
		"deployment_status": m.DeploymentStatus, "endpoint": endpoint,
		"performance_metrics": m.Metrics, "evaluation_data": evalData,
	}
}

// handleAlignedModels answers GET /models/aligned.
func (s *Server) handleAlignedModels(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	ms, total, err := s.deps.Store.ListAlignedModels(r.Context(), callerOf(r).UserID, attune.Page(p))
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(ms))
	for i, m := range ms {
		items[i] = alignedModelBody(m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"domain_aligned_models": items, "total": total, "limit": p.Limit, "offset": p.Offset})
	return nil
}

// handleDeploy answers POST /models/deploy-model/{model_id}: a deploy task
// is stored (moving the model to DEPLOYING) and a job carries it out. A
// model that is not UNDEPLOYED answers 409.
func (s *Server) handleDeploy(plural bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx, owner, id := r.Context(), callerOf(r).UserID, r.PathValue("model_id")
		early, err := parseBool(r, "early")
		if err != nil {
			return err
		}
		m, err := s.deps.Store.AlignedModel(ctx, owner, id)
		if err != nil {
			return err
		}
		if err := deployable(m, early); err != nil {
			return err
		}
		t := attune.DeploymentTask{
			ID: attune.NewID(attune.PrefixTask), OwnerID: owner, ModelID: id,
			Kind: attune.TaskDeploy, Early: early, Status: attune.TaskPending, StartedAt: s.now(),
		}
		if err := s.deps.Store.CreateDeploymentTask(ctx, &t); err != nil {
			if attune.ErrorKind(err) == attune.KindConflict {
				return s.redeployConflict(r, id)
			}
			return err
		}
		s.statusCache.drop(m.AlignmentID)
		if err := s.deps.Queue.Deploy(ctx, owner, t.ID); err != nil {
			return fmt.Errorf("api: cannot queue deploy of %s: %w", id, err)
		}
		writeJSON(w, http.StatusOK, map[string]any{"model_id": id, "task_id": t.ID, "status": t.Status})
		return nil
	}
}

// deployable checks that a model has an adapter to serve, or, for an
// early deploy, a running alignment that may have a checkpoint.
func deployable(m attune.AlignedModel, early bool) error {
	switch m.Status {
	case attune.ModelReady, attune.ModelEvaluated:
		return nil
	case attune.ModelTraining, attune.ModelStopped:
		if early || m.Status == attune.ModelStopped {
			return nil
		}
		return attune.Errorf(attune.KindConflict, "Model cannot be deployed yet: it is still training; wait for READY, or deploy its newest checkpoint with POST %s/models/%s/deployment?early=true", v3, m.ID)
	}
	return attune.Errorf(attune.KindConflict, "Model cannot be deployed: its training failed (status %s)", m.Status)
}

// redeployConflict is NuGen's 409 for a model that is not undeployed.
func (s *Server) redeployConflict(r *http.Request, id string) error {
	m, err := s.deps.Store.AlignedModel(r.Context(), callerOf(r).UserID, id)
	if err != nil {
		return err
	}
	return attune.Errorf(attune.KindConflict, "Model cannot be redeployed. Current status: %s", m.DeploymentStatus)
}

// taskBody is the answer of the deploy and undeploy status routes.
func taskBody(modelID string, t attune.DeploymentTask, result map[string]any) map[string]any {
	if t.Status == attune.TaskFailed {
		result = map[string]any{"error": t.Error}
	}
	return map[string]any{
		"model_id": modelID, "task_id": t.ID, "status": t.Status, "result": result,
		"start_time": timestamp(t.StartedAt), "end_time": timePtr(t.EndedAt),
	}
}

// handleDeployStatus answers GET /models/deploy-model/{model_id}/status.
func (s *Server) handleDeployStatus(plural bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx, c, id := r.Context(), callerOf(r), r.PathValue("model_id")
		m, err := s.deps.Store.AlignedModel(ctx, c.UserID, id)
		if err != nil {
			return err
		}
		t, err := s.deps.Store.LatestDeploymentTask(ctx, c.UserID, id, attune.TaskDeploy)
		if err != nil {
			return err
		}
		out := taskBody(id, t, map[string]any{"deployment_status": m.DeploymentStatus})
		if plural {
			v, err := s.loadAlignment(ctx, c, m.AlignmentID)
			if err != nil {
				return err
			}
			out["queue_position"] = nil
			if t.Status == attune.TaskPending {
				out["queue_position"] = s.queuePosition(ctx, func(q queuePositions, ctx context.Context) (int, bool, error) {
					return q.DeployQueuePosition(ctx, t.ID)
				})
			}
			out["early_deployable"] = v.earlyDeployable()
			out["stage_failures"] = v.stageFailures()
			out["deployment_status"] = m.DeploymentStatus
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

// handleUndeploy answers DELETE /models/undeploy-model/{model_id}; 400
// when the model is not deployed. The answer is the model id as a JSON
// string, as NuGen's is.
func (s *Server) handleUndeploy(w http.ResponseWriter, r *http.Request) error {
	ctx, owner, id := r.Context(), callerOf(r).UserID, r.PathValue("model_id")
	t := attune.DeploymentTask{
		ID: attune.NewID(attune.PrefixTask), OwnerID: owner, ModelID: id,
		Kind: attune.TaskUndeploy, Status: attune.TaskPending, StartedAt: s.now(),
	}
	if err := s.deps.Store.CreateDeploymentTask(ctx, &t); err != nil {
		if attune.ErrorKind(err) != attune.KindConflict {
			return err
		}
		m, err := s.deps.Store.AlignedModel(ctx, owner, id)
		if err != nil {
			return err
		}
		return attune.Errorf(attune.KindInvalid, "Model is not deployed. Current status: %s", m.DeploymentStatus)
	}
	if m, err := s.deps.Store.AlignedModel(ctx, owner, id); err == nil {
		s.statusCache.drop(m.AlignmentID)
	}
	if err := s.deps.Queue.Undeploy(ctx, owner, t.ID); err != nil {
		return fmt.Errorf("api: cannot queue undeploy of %s: %w", id, err)
	}
	writeJSON(w, http.StatusOK, id)
	return nil
}

// handleUndeployStatus answers GET /models/undeploy-model/{model_id}/status.
func (s *Server) handleUndeployStatus(w http.ResponseWriter, r *http.Request) error {
	ctx, owner, id := r.Context(), callerOf(r).UserID, r.PathValue("model_id")
	t, err := s.deps.Store.LatestDeploymentTask(ctx, owner, id, attune.TaskUndeploy)
	if err != nil {
		return err
	}
	msg := t.Message
	if msg == "" && t.Status == attune.TaskCompleted {
		msg = "Model " + id + " undeployed"
	}
	writeJSON(w, http.StatusOK, taskBody(id, t, map[string]any{"message": msg}))
	return nil
}

// adapterFiles are the files of a PEFT adapter directory, in the order the
// tar holds them.
var adapterFiles = []string{"adapter_config.json", "adapter_model.safetensors"}

// handleAdapter answers GET /models/aligned/{id}/adapter with a tar of the
// model's PEFT adapter.
func (s *Server) handleAdapter(w http.ResponseWriter, r *http.Request) error {
	m, err := s.deps.Store.AlignedModel(r.Context(), callerOf(r).UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if m.AdapterPath == "" {
		return attune.Errorf(attune.KindConflict, "model %s has no adapter yet: its alignment has not trained one", m.ID)
	}
	for _, name := range adapterFiles {
		if _, err := os.Stat(filepath.Join(m.AdapterPath, name)); err != nil {
			return fmt.Errorf("api: adapter of %s: %w", m.ID, err)
		}
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", `attachment; filename="`+m.ID+`-adapter.tar"`)
	tw := tar.NewWriter(w)
	for _, name := range adapterFiles {
		if err := tarFile(tw, filepath.Join(m.AdapterPath, name), name); err != nil {
			// The status is sent; the client sees a truncated tar.
			logger(r).Warn("adapter download cut short", "model_id", m.ID, "error", err.Error())
			return nil
		}
	}
	if err := tw.Close(); err != nil {
		logger(r).Warn("adapter download cut short", "model_id", m.ID, "error", err.Error())
	}
	return nil
}

func tarFile(tw *tar.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size(), ModTime: st.ModTime()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// parseBool reads an optional boolean query parameter.
func parseBool(r *http.Request, name string) (bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, invalidField("query", name, "must be true or false", "bool_parsing")
	}
	return b, nil
}
