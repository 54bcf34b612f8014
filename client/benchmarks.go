package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
)

// QA is one benchmark question with its reference answer.
type QA struct {
	QuestionNum int    `json:"question_num,omitempty"`
	Question    string `json:"question"`
	Answer      string `json:"answer"`
}

// BenchmarkStatus is the answer of the benchmark status route.
type BenchmarkStatus struct {
	BenchmarkID   string `json:"benchmark_id"`
	BenchmarkName string `json:"benchmark_name"`
	Status        string `json:"status"`
	StartTime     Time   `json:"start_time"`
	EndTime       Time   `json:"end_time"`
	Error         string `json:"error,omitempty"`
}

// BenchmarkData is a benchmark with its questions.
type BenchmarkData struct {
	BenchmarkID   string   `json:"benchmark_id"`
	BenchmarkName string   `json:"benchmark_name"`
	Status        string   `json:"status"`
	DocumentIDs   []string `json:"document_ids"`
	NumQuestions  int      `json:"num_questions"`
	Questions     []QA     `json:"questions"`
	CreatedAt     Time     `json:"created_at"`
	UpdatedAt     Time     `json:"updated_at"`
	Metadata      struct {
		Type        string `json:"type"`
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"metadata"`
}

// BenchmarkSummary is one benchmark in a list.
type BenchmarkSummary struct {
	ID            string   `json:"id"`
	BenchmarkName string   `json:"benchmark_name"`
	Status        string   `json:"status"`
	Documents     []string `json:"documents"`
	NumQuestions  int      `json:"num_questions"`
	CreatedAt     Time     `json:"created_at"`
	UpdatedAt     Time     `json:"updated_at"`
}

// BenchmarkList is one page of benchmarks.
type BenchmarkList struct {
	Benchmarks []BenchmarkSummary `json:"benchmarks"`
	Page
}

// BenchmarkUpload is a benchmark the caller wrote: its questions, a name,
// the documents it is about and a description.
type BenchmarkUpload struct {
	Name        string
	Description string
	DocumentIDs []string
	Questions   []QA
}

// UploadedBenchmark is the answer of the upload route.
type UploadedBenchmark struct {
	BenchmarkID   string `json:"benchmark_id"`
	BenchmarkName string `json:"benchmark_name"`
	Status        string `json:"status"`
	Questions     []QA   `json:"questions"`
	NumQuestions  int    `json:"num_questions"`
}

// CreateBenchmark starts generating a benchmark of numQuestions questions
// from documents and returns its id.
func (c *Client) CreateBenchmark(ctx context.Context, documents []string, numQuestions int) (string, error) {
	in := map[string]any{"documents": documents, "num_questions": numQuestions}
	var out struct {
		BenchmarkID string `json:"benchmark_id"`
	}
	err := c.do(ctx, http.MethodPost, "/benchmark/create", nil, in, &out)
	return out.BenchmarkID, err
}

// UploadBenchmark stores a benchmark the caller wrote. The server answers
// synchronously with the stored questions.
func (c *Client) UploadBenchmark(ctx context.Context, b BenchmarkUpload) (*UploadedBenchmark, error) {
	file, err := json.Marshal(b.Questions)
	if err != nil {
		return nil, fmt.Errorf("client: cannot encode benchmark: %w", err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("file", "benchmark.json")
	part.Write(file)
	mw.WriteField("name", b.Name)
	if b.Description != "" {
		mw.WriteField("description", b.Description)
	}
	for _, id := range b.DocumentIDs {
		mw.WriteField("document_id", id)
	}
	mw.Close()

	req, err := c.newRequest(ctx, http.MethodPost, c.url("/benchmark/upload", nil), &body, mw.FormDataContentType())
	if err != nil {
		return nil, err
	}
	var out UploadedBenchmark
	if err := c.sendDecode(req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// BenchmarkStatus returns a benchmark's status.
func (c *Client) BenchmarkStatus(ctx context.Context, id string) (*BenchmarkStatus, error) {
	var out BenchmarkStatus
	err := c.do(ctx, http.MethodGet, "/benchmark/status/"+pathID(id), nil, nil, &out)
	return &out, err
}

// WaitBenchmark polls a benchmark until it is READY. FAILED is an error.
func (c *Client) WaitBenchmark(ctx context.Context, id string) error {
	return c.wait(ctx, func() (bool, error) {
		st, err := c.BenchmarkStatus(ctx, id)
		if err != nil {
			return false, err
		}
		switch st.Status {
		case "READY":
			return true, nil
		case "FAILED":
			return false, fmt.Errorf("benchmark %s failed: %s", id, orUnknown(st.Error))
		}
		return false, nil
	})
}

// BenchmarkData returns a benchmark with its questions.
func (c *Client) BenchmarkData(ctx context.Context, id string) (*BenchmarkData, error) {
	var out BenchmarkData
	err := c.do(ctx, http.MethodGet, "/benchmark/"+pathID(id)+"/data", nil, nil, &out)
	return &out, err
}

// ListBenchmarks returns one page of the caller's benchmarks.
func (c *Client) ListBenchmarks(ctx context.Context, opt ListOptions) (*BenchmarkList, error) {
	var out BenchmarkList
	err := c.do(ctx, http.MethodGet, "/benchmark/list", opt.query(), nil, &out)
	return &out, err
}

// DeleteBenchmark deletes a benchmark.
func (c *Client) DeleteBenchmark(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/benchmark/"+pathID(id), nil, nil, nil)
}
