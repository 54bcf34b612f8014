package attune

import (
	"encoding/json"
	"time"
)

// Evaluation measures one model, or compares two, on a benchmark. Status is
// PROCESSING until it ends READY or FAILED.
type Evaluation struct {
	ID            string // eval_<ulid>
	OwnerID       string
	ModelID       string // a base or aligned model id
	ModelID2      string // the second model in compare mode; empty otherwise
	BenchmarkID   string
	AlignmentID   string // set when the evaluation belongs to an alignment
	JudgeProvider string
	CustomMetrics []string
	Status        Status
	Error         string // why it failed, for a person

	QuestionsCompleted int     // answers judged so far, over both models
	TotalQuestions     int     // answers to judge, over both models
	AvgSecondsPerQ     float64 // measured mean seconds per answer

	// Results is the finished report as the API serves it (metrics,
	// comparison, detailed per-question results); nil until READY.
	Results json.RawMessage

	CreatedAt time.Time
	UpdatedAt time.Time
	StartedAt *time.Time
	EndedAt   *time.Time
}
