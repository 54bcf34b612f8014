package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"

	"attune"
)

// createAlignmentRequest is the body of POST /alignment-project/create.
// NuGen's revisions spell two fields two ways; both are taken.
type createAlignmentRequest struct {
	Name            string                  `json:"name"`
	AlignmentName   string                  `json:"alignment_name"`
	BaseModel       string                  `json:"base_model"`
	BaseModelID     string                  `json:"base_model_id"`
	DocumentIDs     []string                `json:"document_ids"`
	BenchmarkID     string                  `json:"benchmark_id"`
	WorkflowID      string                  `json:"workflow_id"`
	Description     string                  `json:"description"`
	Hyperparameters *attune.Hyperparameters `json:"hyperparameters"`
}

// alignment builds the record a create request asks for, or the 422 that
// names its first bad field.
func (req createAlignmentRequest) alignment(owner string) (attune.Alignment, error) {
	name, err := alias("name", "alignment_name", req.Name, req.AlignmentName)
	if err != nil {
		return attune.Alignment{}, err
	}
	base, err := alias("base_model", "base_model_id", req.BaseModel, req.BaseModelID)
	if err != nil {
		return attune.Alignment{}, err
	}
	switch {
	case strings.TrimSpace(name) == "":
		return attune.Alignment{}, required("name")
	case base == "":
		return attune.Alignment{}, required("base_model")
	case len(req.DocumentIDs) == 0:
		return attune.Alignment{}, invalidField("body", "document_ids", "name at least one document to align on", "missing")
	}
	var hp attune.Hyperparameters
	if req.Hyperparameters != nil {
		hp = *req.Hyperparameters
	}
	hp = hp.WithDefaults()
	if err := hp.Validate(); err != nil {
		return attune.Alignment{}, err
	}
	return attune.Alignment{
		ID: attune.NewID(attune.PrefixAlignment), OwnerID: owner,
		Name: name, Description: req.Description, WorkflowID: req.WorkflowID,
		BaseModel: base, DocumentIDs: req.DocumentIDs, BenchmarkID: req.BenchmarkID,
		Hyperparameters: hp, ModelID: attune.NewID(attune.PrefixModel),
		Status: attune.AlignmentQueued, Stage: attune.StageQueued,
	}, nil
}

// handleCreateAlignment answers POST /alignment-project/create: the
// alignment and the model it will produce are stored, and a job runs the
// pipeline.
func (s *Server) handleCreateAlignment(w http.ResponseWriter, r *http.Request) error {
	var req createAlignmentRequest
	if err := decodeJSON(w, r, s.cfg.JSONBodyLimit, &req); err != nil {
		return err
	}
	owner := callerOf(r).UserID
	a, err := req.alignment(owner)
	if err != nil {
		return err
	}
	m := attune.AlignedModel{
		ID: a.ModelID, OwnerID: owner, AlignmentID: a.ID, Name: a.Name,
		BaseModel: a.BaseModel, Status: attune.ModelTraining, DeploymentStatus: attune.Undeployed,
	}
	if err := s.deps.Store.CreateAlignment(r.Context(), &a, &m); err != nil {
		// NuGen answers 400, not 422, for a base model it cannot align.
		if attune.ErrorKind(err) == attune.KindInvalid {
			return attune.Errorf(attune.KindInvalid, "%s", attune.ErrorMessage(err))
		}
		return err
	}
	if err := s.deps.Queue.StartAlignment(r.Context(), owner, a.ID); err != nil {
		return fmt.Errorf("api: cannot queue alignment %s: %w", a.ID, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"alignment_id": a.ID, "status": attune.AlignmentProcessing})
	return nil
}

// alignmentView is what the status routes need to know of an alignment
// beyond its record.
type alignmentView struct {
	a      attune.Alignment
	model  attune.AlignedModel
	hasDep bool // the model has been deployed at least once
	email  string

	// queuePosition is the alignment job's place in the queue (see
	// Server.queuePosition); nil when finished or not known.
	queuePosition *int
}

// loadAlignment reads an alignment with its model.
func (s *Server) loadAlignment(ctx context.Context, c Caller, id string) (alignmentView, error) {
	a, err := s.deps.Store.Alignment(ctx, c.UserID, id)
	if err != nil {
		return alignmentView{}, err
	}
	return s.viewOf(ctx, c, a)
}

// cachedAlignment answers an alignment's status or data through the
// status cache, which holds the encoded answer: polling clients see it at
// most StatusCacheTTL old, and many of them cost one store read and one
// encoding per TTL.
func (s *Server) cachedAlignment(w http.ResponseWriter, r *http.Request, what string, body func(alignmentView) any) error {
	c, id := callerOf(r), r.PathValue("id")
	b, err := s.statusCache.get(r.Context(), c.UserID+"/"+id+"/"+what, func() ([]byte, error) {
		// Others may wait on this load: it must not end with this
		// request.
		v, err := s.loadAlignment(context.WithoutCancel(r.Context()), c, id)
		if err != nil {
			return nil, err
		}
		return json.Marshal(body(v))
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(b)
	return err
}

func (s *Server) viewOf(ctx context.Context, c Caller, a attune.Alignment) (alignmentView, error) {
	v := alignmentView{a: a, email: c.Email}
	if a.ModelID == "" {
		return v, nil
	}
	m, err := s.deps.Store.AlignedModel(ctx, c.UserID, a.ModelID)
	if err != nil && attune.ErrorKind(err) != attune.KindNotFound {
		return v, err
	}
	v.model = m
	switch {
	case m.DeploymentStatus != "" && m.DeploymentStatus != attune.Undeployed:
		v.hasDep = true
	case m.ID != "" && (a.Status.Final() || a.Checkpoint != ""):
		// Only a model with an adapter can have been deployed; asking
		// only then keeps the status route of a running alignment,
		// which clients poll, to two reads.
		_, err := s.deps.Store.LatestDeploymentTask(ctx, c.UserID, m.ID, attune.TaskDeploy)
		v.hasDep = err == nil
	}
	return v, nil
}

// status is the word the alignment's status field shows: the pipeline's,
// or, once the model has been deployed, its deployment state.
func (v alignmentView) status() string {
	if v.hasDep {
		return string(v.model.DeploymentStatus)
	}
	return string(v.a.Status)
}

// data is the alignment object of NuGen's status answer.
func (v alignmentView) data() map[string]any {
	a := v.a
	return map[string]any{
		"alignment_id": a.ID, "alignment_name": a.Name, "base_model": a.BaseModel,
		"status": v.status(), "created_date": timestamp(a.CreatedAt), "completed_date": timePtr(a.CompletedAt),
		"document_ids": nonNil(a.DocumentIDs), "document_count": len(a.DocumentIDs),
		"creator": v.email, "progress": math.Round(a.Progress*10) / 10,
		"estimated_completion": timePtr(a.EstimatedCompletion), "error": nilIfEmpty(a.Error),
		"evaluation_id": nilIfEmpty(a.EvaluationID), "model_id": nilIfEmpty(a.ModelID),
		"gpu_training_completed": a.TrainingCompleted, "performance_metrics": a.Metrics,
		"benchmark_id": nilIfEmpty(a.BenchmarkID), "description": a.Description,
		"hyperparameters": a.Hyperparameters, "stage": a.Stage,
		"training": map[string]any{"step": a.Step, "total_steps": a.TotalSteps, "loss": a.Loss},
	}
}

// statusBody is NuGen's status answer; plural adds the fields of the
// newer revision.
func (v alignmentView) statusBody(plural bool) map[string]any {
	out := map[string]any{
		"status": v.status(), "data": v.data(),
		"start_time": timePtr(v.a.StartedAt), "end_time": timePtr(v.a.CompletedAt),
		"gpu_training_completed": v.a.TrainingCompleted,
	}
	if plural {
		out["queue_position"] = v.queuePosition
		out["early_deployable"] = v.earlyDeployable()
		out["stage_failures"] = v.stageFailures()
	}
	return out
}

// earlyDeployable reports whether the alignment has a checkpoint that can
// be deployed before it finishes.
func (v alignmentView) earlyDeployable() bool {
	return v.a.Checkpoint != "" && !v.a.Status.Final()
}

func (v alignmentView) stageFailures() []map[string]any {
	if v.a.Status != attune.AlignmentFailed {
		return []map[string]any{}
	}
	return []map[string]any{{"stage": v.a.Stage, "error": v.a.Error}}
}

// queuePositions is what a Queue that knows where its jobs stand offers
// (jobs.Client does).
type queuePositions interface {
	AlignmentQueuePosition(ctx context.Context, alignmentID string) (int, bool, error)
	DeployQueuePosition(ctx context.Context, taskID string) (int, bool, error)
}

// queuePosition asks the queue, when it can tell, where a job stands: nil
// when it cannot or the job has finished, else 0 while it runs and n ≥ 1
// while it waits behind n−1 jobs of its kind. A failure to ask is logged
// and answers nil: the status itself is still worth answering.
func (s *Server) queuePosition(ctx context.Context, ask func(queuePositions, context.Context) (int, bool, error)) *int {
	q, ok := s.deps.Queue.(queuePositions)
	if !ok {
		return nil
	}
	pos, queued, err := ask(q, context.WithoutCancel(ctx))
	if err != nil {
		s.log.Warn("cannot read the queue position", "error", err)
		return nil
	}
	if !queued {
		return nil
	}
	return &pos
}

// handleAlignmentStatus answers GET /alignment-project/status/{id}.
func (s *Server) handleAlignmentStatus(plural bool) handlerFunc {
	what := "status"
	if plural {
		what = "status+"
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		return s.cachedAlignment(w, r, what, func(v alignmentView) any {
			if plural && !v.a.Status.Final() {
				v.queuePosition = s.queuePosition(r.Context(), func(q queuePositions, ctx context.Context) (int, bool, error) {
					return q.AlignmentQueuePosition(ctx, v.a.ID)
				})
			}
			return v.statusBody(plural)
		})
	}
}

// handleGetAlignment answers GET /alignment-project/{id}.
func (s *Server) handleGetAlignment(w http.ResponseWriter, r *http.Request) error {
	return s.cachedAlignment(w, r, "data", func(v alignmentView) any { return v.data() })
}

// handleListAlignments answers GET /alignment.
func (s *Server) handleListAlignments(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	c := callerOf(r)
	as, total, err := s.deps.Store.ListAlignments(r.Context(), c.UserID, attune.Page(p))
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(as))
	for i, a := range as {
		v, err := s.viewOf(r.Context(), c, a)
		if err != nil {
			return err
		}
		items[i] = v.data()
	}
	writeJSON(w, http.StatusOK, map[string]any{"alignment_projects": items, "total": total, "limit": p.Limit, "offset": p.Offset})
	return nil
}

// handleStopAlignment answers POST /alignment-project/{id}/stop; 409 once
// the alignment has finished.
func (s *Server) handleStopAlignment(w http.ResponseWriter, r *http.Request) error {
	a, err := s.deps.Queue.StopAlignment(r.Context(), callerOf(r).UserID, r.PathValue("id"))
	s.statusCache.drop(r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"alignment_id": a.ID, "status": a.Status})
	return nil
}

// handleDeleteAlignment answers DELETE /alignment-project/{id}; 409 while
// its model is deployed.
func (s *Server) handleDeleteAlignment(w http.ResponseWriter, r *http.Request) error {
	id, owner := r.PathValue("id"), callerOf(r).UserID
	a, err := s.deps.Store.Alignment(r.Context(), owner, id)
	if err != nil {
		return err
	}
	if !a.Status.Final() {
		// Stop the pipeline first, so that no job works on a deleted
		// record; it may finish in between, which is fine.
		if _, err := s.deps.Queue.StopAlignment(r.Context(), owner, id); err != nil && attune.ErrorKind(err) != attune.KindConflict {
			return err
		}
	}
	defer s.statusCache.drop(id)
	if err := s.deps.Store.DeleteAlignment(r.Context(), owner, id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"alignment_id": id, "message": "Alignment project deleted"})
	return nil
}
