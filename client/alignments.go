package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Hyperparameters are attune's optional training settings for an
// alignment. Zero fields are left to the server's defaults.
type Hyperparameters struct {
	Epochs       int     `json:"epochs,omitempty"`
	LearningRate float64 `json:"learning_rate,omitempty"`
	LoRARank     int     `json:"lora_rank,omitempty"`
	LoRAAlpha    float64 `json:"lora_alpha,omitempty"`
	BatchSize    int     `json:"batch_size,omitempty"`
	MaxSeqLen    int     `json:"max_seq_len,omitempty"`
	Seed         *int64  `json:"seed,omitempty"`
}

// AlignmentRequest creates an alignment project.
type AlignmentRequest struct {
	Name            string           `json:"name"`
	BaseModel       string           `json:"base_model"`
	DocumentIDs     []string         `json:"document_ids"`
	BenchmarkID     string           `json:"benchmark_id,omitempty"`
	WorkflowID      string           `json:"workflow_id,omitempty"`
	Description     string           `json:"description,omitempty"`
	Hyperparameters *Hyperparameters `json:"hyperparameters,omitempty"`
}

// PerformanceMetrics are an alignment's before/after measurements (see
// DESIGN.md, "Measuring an alignment").
type PerformanceMetrics struct {
	AccuracyBefore         float64 `json:"accuracy_before"`
	AccuracyAfter          float64 `json:"accuracy_after"`
	DomainViolationsBefore float64 `json:"domain_violations_before"`
	DomainViolationsAfter  float64 `json:"domain_violations_after"`
	UncertaintyBefore      float64 `json:"uncertainty_before"`
	UncertaintyAfter       float64 `json:"uncertainty_after"`
}

// Alignment is an alignment project: the data object of the status route,
// the answer of the get route, and an item of the list.
type Alignment struct {
	AlignmentID          string              `json:"alignment_id"`
	AlignmentName        string              `json:"alignment_name"`
	BaseModel            string              `json:"base_model"`
	Status               string              `json:"status"`
	CreatedDate          Time                `json:"created_date"`
	CompletedDate        Time                `json:"completed_date"`
	DocumentIDs          []string            `json:"document_ids"`
	DocumentCount        int                 `json:"document_count"`
	Creator              string              `json:"creator"`
	Progress             float64             `json:"progress"`
	EstimatedCompletion  Time                `json:"estimated_completion"`
	Error                string              `json:"error"`
	EvaluationID         string              `json:"evaluation_id"`
	ModelID              string              `json:"model_id"`
	GPUTrainingCompleted *bool               `json:"gpu_training_completed"`
	PerformanceMetrics   *PerformanceMetrics `json:"performance_metrics"`

	// attune's additions: the benchmark and settings it was created with,
	// the pipeline stage now running ("training", "evaluation", ...) and
	// the training's step and latest loss.
	BenchmarkID     string          `json:"benchmark_id,omitempty"`
	Description     string          `json:"description,omitempty"`
	Hyperparameters json.RawMessage `json:"hyperparameters,omitempty"`
	Stage           string          `json:"stage,omitempty"`
	Training        *TrainingState  `json:"training,omitempty"`
}

// TrainingState is how far an alignment's training has got.
type TrainingState struct {
	Step       int     `json:"step"`
	TotalSteps int     `json:"total_steps"`
	Loss       float64 `json:"loss"`
}

// AlignmentStatus is the answer of the alignment status route.
type AlignmentStatus struct {
	Status               string    `json:"status"`
	Data                 Alignment `json:"data"`
	StartTime            Time      `json:"start_time"`
	EndTime              Time      `json:"end_time"`
	GPUTrainingCompleted *bool     `json:"gpu_training_completed"`
}

// AlignmentList is one page of alignment projects.
type AlignmentList struct {
	AlignmentProjects []Alignment `json:"alignment_projects"`
	Page
}

// Finished reports whether status is one an alignment does not leave by
// itself.
func Finished(status string) bool {
	switch status {
	case "READY", "EVALUATED", "FAILED", "STOPPED",
		"DEPLOYING", "DEPLOYED", "UNDEPLOYING", "UNDEPLOYED":
		return true
	}
	return false
}

// CreateAlignment starts an alignment project and returns its id.
func (c *Client) CreateAlignment(ctx context.Context, r AlignmentRequest) (string, error) {
	var out struct {
		AlignmentID string `json:"alignment_id"`
	}
	err := c.do(ctx, http.MethodPost, "/alignment-project/create", nil, r, &out)
	return out.AlignmentID, err
}

// AlignmentStatus returns an alignment's status.
func (c *Client) AlignmentStatus(ctx context.Context, id string) (*AlignmentStatus, error) {
	var out AlignmentStatus
	err := c.do(ctx, http.MethodGet, "/alignment-project/status/"+pathID(id), nil, nil, &out)
	return &out, err
}

// WaitAlignment polls an alignment until it is finished, calling progress
// (which may be nil) with each status. It returns the last status; an
// alignment that ends FAILED or STOPPED is an error naming the reason.
func (c *Client) WaitAlignment(ctx context.Context, id string, progress func(*AlignmentStatus)) (*AlignmentStatus, error) {
	var last *AlignmentStatus
	err := c.wait(ctx, func() (bool, error) {
		st, err := c.AlignmentStatus(ctx, id)
		if err != nil {
			return false, err
		}
		last = st
		if progress != nil {
			progress(st)
		}
		return Finished(st.Status), nil
	})
	if err != nil {
		return last, err
	}
	switch last.Status {
	case "FAILED":
		return last, fmt.Errorf("alignment %s failed: %s", id, orUnknown(last.Data.Error))
	case "STOPPED":
		return last, fmt.Errorf("alignment %s was stopped", id)
	}
	return last, nil
}

// Alignment returns an alignment project.
func (c *Client) Alignment(ctx context.Context, id string) (*Alignment, error) {
	var out Alignment
	err := c.do(ctx, http.MethodGet, "/alignment-project/"+pathID(id), nil, nil, &out)
	return &out, err
}

// ListAlignments returns one page of the caller's alignment projects.
func (c *Client) ListAlignments(ctx context.Context, opt ListOptions) (*AlignmentList, error) {
	var out AlignmentList
	err := c.do(ctx, http.MethodGet, "/alignment", opt.query(), nil, &out)
	return &out, err
}

// StopAlignment stops a running alignment; its last checkpoint is kept.
func (c *Client) StopAlignment(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/alignment-project/"+pathID(id)+"/stop", nil, nil, nil)
}

// DeleteAlignment deletes an alignment project that is not deployed.
func (c *Client) DeleteAlignment(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/alignment-project/"+pathID(id), nil, nil, nil)
}
