package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// EvaluationRequest starts an evaluation of a model on a benchmark, or a
// comparison of two models when ModelID2 is set.
type EvaluationRequest struct {
	ModelID       string   `json:"model_id"`
	BenchmarkID   string   `json:"benchmark_id"`
	ModelID2      string   `json:"model_id_2,omitempty"`
	JudgeProvider string   `json:"judge_provider,omitempty"`
	CustomMetrics []string `json:"custom_metrics,omitempty"`
}

// EvaluationStatus is the answer of the evaluation status route.
type EvaluationStatus struct {
	EvaluationID       string   `json:"evaluation_id"`
	Status             string   `json:"status"`
	BenchmarkID        string   `json:"benchmark_id"`
	ModelID            string   `json:"model_id,omitempty"`
	Progress           string   `json:"progress"`
	QuestionsCompleted int      `json:"questions_completed"`
	TotalQuestions     int      `json:"total_questions"`
	AvgTimePerQuestion float64  `json:"avg_time_per_question"`
	ETASeconds         *float64 `json:"eta_seconds"`
	StartTime          Time     `json:"start_time"`
	EndTime            Time     `json:"end_time"`
	Error              string   `json:"error,omitempty"`
}

// Metrics are an evaluation's numbers by name: binary_correctness_mean,
// answer_relevance_mean, accuracy, domain_violations, uncertainty and the
// rest.
type Metrics map[string]float64

// UnmarshalJSON reads a metrics object, keeping the numeric entries and
// skipping any other kind, so that a server adding a structured metric
// does not break old clients.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*m = Metrics{}
	for k, v := range raw {
		var f float64
		if string(v) != "null" && json.Unmarshal(v, &f) == nil {
			(*m)[k] = f
		}
	}
	return nil
}

// ModelMetrics are one model's metrics in a comparison.
type ModelMetrics struct {
	ModelID string  `json:"model_id"`
	Metrics Metrics `json:"metrics"`
}

// MetricComparison is one metric of a comparison, with NuGen's
// improvement_% = (evaluated − base) / base × 100.
type MetricComparison struct {
	Metric      string  `json:"metric"`
	Base        float64 `json:"base"`
	Evaluated   float64 `json:"evaluated"`
	Improvement float64 `json:"improvement_%"`
}

// EvaluationResults are a finished evaluation's results. Metrics is set for
// a single model; the comparison fields for two.
type EvaluationResults struct {
	EvaluationID string  `json:"evaluation_id"`
	ModelID      string  `json:"model_id"`
	BenchmarkID  string  `json:"benchmark_id"`
	Status       string  `json:"status,omitempty"`
	Method       string  `json:"method"`
	Metrics      Metrics `json:"metrics,omitempty"`

	ModelID2   string        `json:"model_id_2,omitempty"`
	BaseModel  *ModelMetrics `json:"base_model,omitempty"`
	EvalModel  *ModelMetrics `json:"eval_model,omitempty"`
	Comparison *struct {
		Metrics []MetricComparison `json:"metrics"`
		Summary struct {
			AvgImprovement float64 `json:"avg_improvement"`
			MaxImprovement float64 `json:"max_improvement"`
			MinImprovement float64 `json:"min_improvement"`
		} `json:"summary"`
	} `json:"comparison,omitempty"`

	// Aligned and Baseline are attune's plainly named halves of a
	// comparison; Flips its per-question changes, kept as sent.
	Aligned  *ModelMetrics   `json:"aligned,omitempty"`
	Baseline *ModelMetrics   `json:"baseline,omitempty"`
	Flips    json.RawMessage `json:"flips,omitempty"`
}

// QuestionResult is one question of a downloaded evaluation.
type QuestionResult struct {
	QuestionID     Text    `json:"question_id"`
	Question       string  `json:"question"`
	ExpectedAnswer string  `json:"expected_answer"`
	ModelAnswer    string  `json:"model_answer"`
	Score          float64 `json:"score"`
	Relevance      float64 `json:"relevance"`
}

// EvaluationReport is the download of an evaluation: its results and every
// question's answer.
type EvaluationReport struct {
	EvaluationResults
	DetailedResults []QuestionResult `json:"detailed_results"`
}

// EvaluationList is one page of evaluations.
type EvaluationList struct {
	Evaluations []EvaluationStatus `json:"evaluations"`
	Page
}

// EvaluationFilter narrows ListEvaluations.
type EvaluationFilter struct {
	ListOptions
	Status  string
	ModelID string
}

// CreateEvaluation starts an evaluation and returns its id.
func (c *Client) CreateEvaluation(ctx context.Context, r EvaluationRequest) (string, error) {
	var out struct {
		EvaluationID string `json:"evaluation_id"`
	}
	err := c.do(ctx, http.MethodPost, "/evaluations", nil, r, &out)
	return out.EvaluationID, err
}

// EvaluationStatus returns an evaluation's status.
func (c *Client) EvaluationStatus(ctx context.Context, id string) (*EvaluationStatus, error) {
	var out EvaluationStatus
	err := c.do(ctx, http.MethodGet, "/evaluations/"+pathID(id)+"/status", nil, nil, &out)
	return &out, err
}

// WaitEvaluation polls an evaluation until it is finished, calling progress
// (which may be nil) with each status. FAILED is an error.
func (c *Client) WaitEvaluation(ctx context.Context, id string, progress func(*EvaluationStatus)) error {
	return c.wait(ctx, func() (bool, error) {
		st, err := c.EvaluationStatus(ctx, id)
		if err != nil {
			return false, err
		}
		if progress != nil {
			progress(st)
		}
		switch st.Status {
		case "COMPLETED", "READY", "EVALUATED":
			return true, nil
		case "FAILED":
			return false, fmt.Errorf("evaluation %s failed: %s", id, orUnknown(st.Error))
		}
		return false, nil
	})
}

// EvaluationResults returns a finished evaluation's results; the server
// answers 400 until it is finished.
func (c *Client) EvaluationResults(ctx context.Context, id string) (*EvaluationResults, error) {
	var out EvaluationResults
	err := c.do(ctx, http.MethodGet, "/evaluations/"+pathID(id)+"/results", nil, nil, &out)
	return &out, err
}

// DownloadEvaluation returns a finished evaluation with every question's
// answer and score.
func (c *Client) DownloadEvaluation(ctx context.Context, id string) (*EvaluationReport, error) {
	var out EvaluationReport
	err := c.do(ctx, http.MethodGet, "/evaluations/"+pathID(id)+"/download", nil, nil, &out)
	return &out, err
}

// ListEvaluations returns one page of the caller's evaluations.
func (c *Client) ListEvaluations(ctx context.Context, f EvaluationFilter) (*EvaluationList, error) {
	q := f.query()
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.ModelID != "" {
		q.Set("model_id", f.ModelID)
	}
	var out EvaluationList
	err := c.do(ctx, http.MethodGet, "/evaluations", q, nil, &out)
	return &out, err
}
