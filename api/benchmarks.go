package api

import (
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	"attune"
)

// createBenchmarkRequest is the body of POST /benchmark/create.
type createBenchmarkRequest struct {
	Documents    []string `json:"documents"`
	DocumentIDs  []string `json:"document_ids"` // attune accepts this spelling too
	NumQuestions int      `json:"num_questions"`
	Name         string   `json:"name"`
	Description  string   `json:"description"`
}

// Benchmark size bounds.
const (
	defaultQuestions = 10
	maxQuestions     = 1000
)

// handleCreateBenchmark answers POST /benchmark/create: the benchmark is
// stored PROCESSING and a job generates its questions.
func (s *Server) handleCreateBenchmark(w http.ResponseWriter, r *http.Request) error {
	var req createBenchmarkRequest
	if err := decodeJSON(w, r, s.cfg.JSONBodyLimit, &req); err != nil {
		return err
	}
	docs := req.Documents
	if len(docs) == 0 {
		docs = req.DocumentIDs
	}
	switch {
	case len(docs) == 0:
		return required("documents")
	case req.NumQuestions < 0 || req.NumQuestions > maxQuestions:
		return invalidField("body", "num_questions", fmt.Sprintf("must be between 1 and %d", maxQuestions), "value_error")
	case req.NumQuestions == 0:
		req.NumQuestions = defaultQuestions
	}
	owner := callerOf(r).UserID
	b := attune.Benchmark{
		ID: attune.NewID(attune.PrefixBenchmark), OwnerID: owner,
		Name: req.Name, Description: req.Description, Type: attune.BenchmarkGenerated,
		DocumentIDs: docs, NumQuestions: req.NumQuestions, Status: attune.StatusProcessing,
	}
	if b.Name == "" {
		b.Name = "benchmark-" + strings.ToLower(b.ID[len(attune.PrefixBenchmark):])
	}
	if err := s.deps.Store.CreateBenchmark(r.Context(), &b); err != nil {
		return err
	}
	if err := s.deps.Queue.GenerateBenchmark(r.Context(), owner, b.ID); err != nil {
		return fmt.Errorf("api: cannot queue benchmark %s: %w", b.ID, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"benchmark_id": b.ID, "status": b.Status})
	return nil
}

// handleBenchmarkStatus answers GET /benchmark/status/{id}.
func (s *Server) handleBenchmarkStatus(w http.ResponseWriter, r *http.Request) error {
	b, err := s.deps.Store.Benchmark(r.Context(), callerOf(r).UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := map[string]any{
		"benchmark_id": b.ID, "benchmark_name": b.Name, "status": b.Status,
		"start_time": timePtr(b.StartedAt), "end_time": timePtr(b.EndedAt),
	}
	if b.Error != "" {
		out["error"] = b.Error
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleBenchmarkData answers GET /benchmark/{id}/data.
func (s *Server) handleBenchmarkData(w http.ResponseWriter, r *http.Request) error {
	b, err := s.deps.Store.Benchmark(r.Context(), callerOf(r).UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"benchmark_id": b.ID, "benchmark_name": b.Name, "status": b.Status,
		"document_ids": nonNil(b.DocumentIDs), "num_questions": numQuestions(b),
		"questions":  nonNil(b.Questions),
		"created_at": timestamp(b.CreatedAt), "updated_at": timestamp(b.UpdatedAt),
		"metadata": map[string]any{"type": b.Type, "name": b.Name, "description": b.Description},
		"error":    nilIfEmpty(b.Error),
	})
	return nil
}

// numQuestions is the number of questions a benchmark has, or was asked
// for while it is being generated.
func numQuestions(b attune.Benchmark) int {
	if len(b.Questions) > 0 {
		return len(b.Questions)
	}
	return b.NumQuestions
}

// handleListBenchmarks answers GET /benchmark/list.
func (s *Server) handleListBenchmarks(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	bs, total, err := s.deps.Store.ListBenchmarks(r.Context(), callerOf(r).UserID, attune.Page(p))
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(bs))
	for i, b := range bs {
		items[i] = map[string]any{
			"id": b.ID, "benchmark_name": b.Name, "status": b.Status,
			"documents": nonNil(b.DocumentIDs), "num_questions": numQuestions(b),
			"created_at": timestamp(b.CreatedAt), "updated_at": timestamp(b.UpdatedAt),
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"benchmarks": items, "total": total, "limit": p.Limit, "offset": p.Offset})
	return nil
}

// uploadedQuestion is one item of an uploaded benchmark file.
type uploadedQuestion struct {
	QuestionNum int    `json:"question_num"`
	Question    string `json:"question"`
	Answer      string `json:"answer"`
}

// handleUploadBenchmark answers POST /benchmark/upload: the benchmark is
// stored READY at once.
func (s *Server) handleUploadBenchmark(w http.ResponseWriter, r *http.Request) error {
	if err := s.parseMultipart(w, r); err != nil {
		return err
	}
	defer r.MultipartForm.RemoveAll()
	form := r.MultipartForm
	name := strings.TrimSpace(first(form.Value["name"]))
	if name == "" {
		return invalidField("body", "name", "Field required", "missing")
	}
	questions, err := s.readQuestions(form.File["file"])
	if err != nil {
		return err
	}
	b := attune.Benchmark{
		ID: attune.NewID(attune.PrefixBenchmark), OwnerID: callerOf(r).UserID,
		Name: name, Description: first(form.Value["description"]), Type: attune.BenchmarkUploaded,
		DocumentIDs: formCategories(form.Value["document_id"]), NumQuestions: len(questions),
		Questions: questions, Status: attune.StatusReady,
	}
	if err := s.deps.Store.CreateBenchmark(r.Context(), &b); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"benchmark_id": b.ID, "benchmark_name": b.Name, "status": b.Status,
		"questions": b.Questions, "num_questions": len(b.Questions),
	})
	return nil
}

// readQuestions parses the uploaded benchmark file: a JSON array of
// {question, answer}, numbered from 1 where question_num is absent.
func (s *Server) readQuestions(files []*multipart.FileHeader) ([]attune.Question, error) {
	if len(files) != 1 {
		return nil, invalidField("body", "file", "send exactly one JSON file in the field \"file\"", "missing")
	}
	if files[0].Size > s.cfg.JSONBodyLimit*16 {
		return nil, attune.Errorf(attune.KindTooLarge, "the benchmark file is over the limit of %d bytes", s.cfg.JSONBodyLimit*16)
	}
	f, err := files[0].Open()
	if err != nil {
		return nil, fmt.Errorf("api: cannot open benchmark upload: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("api: cannot read benchmark upload: %w", err)
	}
	return parseQuestions(data)
}

// parseQuestions reads a benchmark file's JSON.
func parseQuestions(data []byte) ([]attune.Question, error) {
	var items []uploadedQuestion
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, attune.Errorf(attune.KindInvalid, "the benchmark file must be a JSON array of {\"question\", \"answer\"}: %v", err)
	}
	if len(items) == 0 {
		return nil, invalidField("body", "file", "the benchmark file has no questions", "value_error")
	}
	qs := make([]attune.Question, len(items))
	for i, it := range items {
		if strings.TrimSpace(it.Question) == "" || strings.TrimSpace(it.Answer) == "" {
			return nil, invalidField("body", "file", fmt.Sprintf("item %d needs a non-empty question and answer", i+1), "value_error")
		}
		num := it.QuestionNum
		if num == 0 {
			num = i + 1
		}
		qs[i] = attune.Question{QuestionNum: num, Question: it.Question, Answer: it.Answer}
	}
	return qs, nil
}

// handleDeleteBenchmark answers DELETE /benchmark/{id}.
func (s *Server) handleDeleteBenchmark(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.deps.Store.DeleteBenchmark(r.Context(), callerOf(r).UserID, id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"benchmark_id": id, "message": "Benchmark deleted"})
	return nil
}

// first returns the first of a form field's values, or "".
func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}
