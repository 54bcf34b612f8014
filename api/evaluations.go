package api

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"

	"attune"
)

// createEvaluationRequest is the body of POST /evaluations.
type createEvaluationRequest struct {
	ModelID       string   `json:"model_id"`
	BenchmarkID   string   `json:"benchmark_id"`
	ModelID2      string   `json:"model_id_2"`
	JudgeProvider string   `json:"judge_provider"`
	CustomMetrics []string `json:"custom_metrics"`
}

// defaultJudge is the judge used when the request names none: lexical
// matching, which needs no model.
const defaultJudge = "lexical"

// handleCreateEvaluation answers POST /evaluations.
func (s *Server) handleCreateEvaluation(w http.ResponseWriter, r *http.Request) error {
	var req createEvaluationRequest
	if err := decodeJSON(w, r, s.cfg.JSONBodyLimit, &req); err != nil {
		return err
	}
	switch {
	case req.ModelID == "":
		return required("model_id")
	case req.BenchmarkID == "":
		return required("benchmark_id")
	case req.ModelID2 == req.ModelID:
		return invalidField("body", "model_id_2", "must differ from model_id to compare two models", "value_error")
	}
	if req.JudgeProvider == "" {
		req.JudgeProvider = defaultJudge
	}
	owner := callerOf(r).UserID
	e := attune.Evaluation{
		ID: attune.NewID(attune.PrefixEvaluation), OwnerID: owner,
		ModelID: req.ModelID, ModelID2: req.ModelID2, BenchmarkID: req.BenchmarkID,
		JudgeProvider: req.JudgeProvider, CustomMetrics: req.CustomMetrics,
		Status: attune.StatusProcessing,
	}
	if err := s.deps.Store.CreateEvaluation(r.Context(), &e); err != nil {
		return err
	}
	if err := s.deps.Queue.Evaluate(r.Context(), owner, e.ID); err != nil {
		return fmt.Errorf("api: cannot queue evaluation %s: %w", e.ID, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"evaluation_id": e.ID, "model_id": e.ModelID, "benchmark_id": e.BenchmarkID,
		"status": e.Status, "judge_provider": e.JudgeProvider, "created_at": timestamp(e.CreatedAt),
		"message": "Evaluation started; poll " + v3 + "/evaluations/" + e.ID + "/status",
	})
	return nil
}

// evaluationStatus is the answer of GET /evaluations/{id}/status.
func evaluationStatus(e attune.Evaluation) map[string]any {
	var eta any
	if e.Status == attune.StatusProcessing && e.AvgSecondsPerQ > 0 {
		eta = math.Round(e.AvgSecondsPerQ * float64(e.TotalQuestions-e.QuestionsCompleted))
	}
	out := map[string]any{
		"evaluation_id": e.ID, "status": e.Status, "benchmark_id": e.BenchmarkID,
		"model_id": e.ModelID, "model_id_2": nilIfEmpty(e.ModelID2),
		"progress":            fmt.Sprintf("%d/%d questions", e.QuestionsCompleted, e.TotalQuestions),
		"questions_completed": e.QuestionsCompleted, "total_questions": e.TotalQuestions,
		"avg_time_per_question": e.AvgSecondsPerQ, "eta_seconds": eta,
		"start_time": timePtr(e.StartedAt), "end_time": timePtr(e.EndedAt),
		"created_at": timestamp(e.CreatedAt),
	}
	if e.Error != "" {
		out["error"] = e.Error
	}
	return out
}

// handleEvaluationStatus answers GET /evaluations/{id}/status.
func (s *Server) handleEvaluationStatus(w http.ResponseWriter, r *http.Request) error {
	e, err := s.deps.Store.Evaluation(r.Context(), callerOf(r).UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, evaluationStatus(e))
	return nil
}

// handleEvaluationResults answers GET /evaluations/{id}/results, and with
// download the same plus per-question details as an attachment. Both are
// 400 until the evaluation has finished.
func (s *Server) handleEvaluationResults(download bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		e, err := s.deps.Store.Evaluation(r.Context(), callerOf(r).UserID, r.PathValue("id"))
		if err != nil {
			return err
		}
		switch {
		case e.Status == attune.StatusFailed:
			return attune.Errorf(attune.KindInvalid, "Evaluation %s failed: %s", e.ID, e.Error)
		case e.Status != attune.StatusReady || len(e.Results) == 0:
			return attune.Errorf(attune.KindInvalid, "Evaluation %s has not finished: %d/%d questions done", e.ID, e.QuestionsCompleted, e.TotalQuestions)
		}
		var out map[string]any
		if err := json.Unmarshal(e.Results, &out); err != nil {
			return fmt.Errorf("api: results of %s: %w", e.ID, err)
		}
		out["evaluation_id"], out["status"] = e.ID, e.Status
		out["model_id"], out["benchmark_id"] = e.ModelID, e.BenchmarkID
		if !download {
			delete(out, "detailed_results")
		} else {
			w.Header().Set("Content-Disposition", `attachment; filename="`+e.ID+`.json"`)
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

// handleListEvaluations answers GET /evaluations.
func (s *Server) handleListEvaluations(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := attune.EvaluationFilter{Status: attune.Status(q.Get("status")), ModelID: q.Get("model_id")}
	switch f.Status {
	case "", attune.StatusProcessing, attune.StatusReady, attune.StatusFailed:
	default:
		return invalidField("query", "status", "must be PROCESSING, READY or FAILED", "enum")
	}
	es, total, err := s.deps.Store.ListEvaluations(r.Context(), callerOf(r).UserID, f, attune.Page(p))
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(es))
	for i, e := range es {
		items[i] = evaluationStatus(e)
		items[i]["judge_provider"] = e.JudgeProvider
	}
	writeJSON(w, http.StatusOK, map[string]any{"evaluations": items, "total": total, "limit": p.Limit, "offset": p.Offset})
	return nil
}
