package jobs

import (
	"github.com/riverqueue/river"
)

// Every job names its owner and its record; the record holds the rest.
// Jobs are unique by their arguments, so enqueuing the same work twice while
// the first is queued, running or done runs it once.

var unique = river.UniqueOpts{ByArgs: true}

// IngestArgs are the arguments of a document ingestion job.
type IngestArgs struct {
	Owner      string `json:"owner"`
	DocumentID string `json:"document_id"`
}

// Kind names the job kind in River.
func (IngestArgs) Kind() string { return "ingest_document" }

// InsertOpts puts ingestion on the default queue.
func (IngestArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueDefault, UniqueOpts: unique}
}

// BenchmarkArgs are the arguments of a benchmark generation job.
type BenchmarkArgs struct {
	Owner       string `json:"owner"`
	BenchmarkID string `json:"benchmark_id"`
}

// Kind names the job kind in River.
func (BenchmarkArgs) Kind() string { return "generate_benchmark" }

// InsertOpts puts generation on the default queue.
func (BenchmarkArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueDefault, UniqueOpts: unique}
}

// AlignArgs are the arguments of an alignment pipeline job.
type AlignArgs struct {
	Owner       string `json:"owner"`
	AlignmentID string `json:"alignment_id"`
}

// Kind names the job kind in River.
func (AlignArgs) Kind() string { return "align" }

// InsertOpts puts alignments on the training queue.
func (AlignArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueTrain, UniqueOpts: unique}
}

// EvaluateArgs are the arguments of an evaluation job.
type EvaluateArgs struct {
	Owner        string `json:"owner"`
	EvaluationID string `json:"evaluation_id"`
}

// Kind names the job kind in River.
func (EvaluateArgs) Kind() string { return "evaluate" }

// InsertOpts puts evaluations on the evaluation queue.
func (EvaluateArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueEval, UniqueOpts: unique}
}

// DeployArgs are the arguments of a deploy job.
type DeployArgs struct {
	Owner  string `json:"owner"`
	TaskID string `json:"task_id"`
}

// Kind names the job kind in River.
func (DeployArgs) Kind() string { return "deploy" }

// InsertOpts puts deploys on the default queue.
func (DeployArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueDefault, UniqueOpts: unique}
}

// UndeployArgs are the arguments of an undeploy job.
type UndeployArgs struct {
	Owner  string `json:"owner"`
	TaskID string `json:"task_id"`
}

// Kind names the job kind in River.
func (UndeployArgs) Kind() string { return "undeploy" }

// InsertOpts puts undeploys on the default queue.
func (UndeployArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueDefault, UniqueOpts: unique}
}
