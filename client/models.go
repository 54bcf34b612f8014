package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// BaseModel is a model that can be aligned and can serve inference.
type BaseModel struct {
	ID             string `json:"id"`
	Description    string `json:"description"`
	AlignmentReady bool   `json:"alignment_ready"`
	Parameters     Text   `json:"parameters"`
	ContextLength  int    `json:"context_length"`
}

// AlignedModel is the model an alignment produced.
type AlignedModel struct {
	ID                 string              `json:"id"`
	AlignmentID        string              `json:"alignment_id"`
	Name               string              `json:"name"`
	BaseModel          string              `json:"base_model"`
	CreatedDate        Time                `json:"created_date"`
	Status             string              `json:"status"`
	DeploymentStatus   string              `json:"deployment_status"`
	Endpoint           string              `json:"endpoint"`
	PerformanceMetrics *PerformanceMetrics `json:"performance_metrics"`
	EvaluationData     json.RawMessage     `json:"evaluation_data"`
}

// Task is the status of a deploy or undeploy task.
type Task struct {
	ModelID string `json:"model_id"`
	Status  string `json:"status"`
	Result  struct {
		DeploymentStatus string `json:"deployment_status,omitempty"`
		Message          string `json:"message,omitempty"`
		Error            string `json:"error,omitempty"`
	} `json:"result"`
	StartTime Time `json:"start_time"`
	EndTime   Time `json:"end_time"`
}

// BaseModels lists the base models.
func (c *Client) BaseModels(ctx context.Context) ([]BaseModel, error) {
	var out struct {
		Models []BaseModel `json:"models"`
	}
	err := c.do(ctx, http.MethodGet, "/models/base", nil, nil, &out)
	return out.Models, err
}

// AlignedModels lists the caller's aligned models.
func (c *Client) AlignedModels(ctx context.Context) ([]AlignedModel, error) {
	var out struct {
		Models []AlignedModel `json:"domain_aligned_models"`
	}
	err := c.do(ctx, http.MethodGet, "/models/aligned", nil, nil, &out)
	return out.Models, err
}

// Deploy starts deploying an aligned model.
func (c *Client) Deploy(ctx context.Context, modelID string) error {
	return c.do(ctx, http.MethodPost, "/models/deploy-model/"+pathID(modelID), nil, nil, nil)
}

// DeployStatus returns the status of a model's deploy task.
func (c *Client) DeployStatus(ctx context.Context, modelID string) (*Task, error) {
	var out Task
	err := c.do(ctx, http.MethodGet, "/models/deploy-model/"+pathID(modelID)+"/status", nil, nil, &out)
	return &out, err
}

// Undeploy starts undeploying an aligned model.
func (c *Client) Undeploy(ctx context.Context, modelID string) error {
	return c.do(ctx, http.MethodDelete, "/models/undeploy-model/"+pathID(modelID), nil, nil, nil)
}

// UndeployStatus returns the status of a model's undeploy task.
func (c *Client) UndeployStatus(ctx context.Context, modelID string) (*Task, error) {
	var out Task
	err := c.do(ctx, http.MethodGet, "/models/undeploy-model/"+pathID(modelID)+"/status", nil, nil, &out)
	return &out, err
}

// WaitDeployed polls a deploy task until it is COMPLETED. FAILED is an
// error naming the reason.
func (c *Client) WaitDeployed(ctx context.Context, modelID string) error {
	return c.waitTask(ctx, modelID, c.DeployStatus)
}

// WaitUndeployed polls an undeploy task until it is COMPLETED.
func (c *Client) WaitUndeployed(ctx context.Context, modelID string) error {
	return c.waitTask(ctx, modelID, c.UndeployStatus)
}

func (c *Client) waitTask(ctx context.Context, modelID string, status func(context.Context, string) (*Task, error)) error {
	return c.wait(ctx, func() (bool, error) {
		t, err := status(ctx, modelID)
		if err != nil {
			return false, err
		}
		switch t.Status {
		case "COMPLETED":
			return true, nil
		case "FAILED":
			return false, fmt.Errorf("task for model %s failed: %s", modelID, orUnknown(t.Result.Error))
		}
		return false, nil
	})
}
