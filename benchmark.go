package attune

import "time"

// BenchmarkType says where a benchmark's questions came from.
type BenchmarkType string

// The benchmark types.
const (
	BenchmarkGenerated BenchmarkType = "generated" // built from documents
	BenchmarkUploaded  BenchmarkType = "uploaded"  // supplied by the user
)

// Question is one benchmark item: a question about the documents and its
// reference answer. QuestionNum counts from 1.
type Question struct {
	QuestionNum int    `json:"question_num"`
	Question    string `json:"question"`
	Answer      string `json:"answer"`
}

// Benchmark is a held-out set of questions with reference answers about a
// user's documents, used to measure a model before and after alignment.
type Benchmark struct {
	ID           string // benchmark_<ulid>
	OwnerID      string
	Name         string
	Description  string
	Type         BenchmarkType
	DocumentIDs  []string
	NumQuestions int // the number asked for; len(Questions) once READY
	Questions    []Question
	Status       Status
	Error        string // why generation failed, for a person
	CreatedAt    time.Time
	UpdatedAt    time.Time
	StartedAt    *time.Time // generation started
	EndedAt      *time.Time // generation ended, READY or FAILED
}
