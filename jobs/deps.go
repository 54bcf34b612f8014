package jobs

import (
	"context"
	"errors"
	"log/slog"

	"attune"
)

// Deps are what the jobs work with: the records, the bytes, and one step
// implementation per kind of work. A nil step makes its jobs fail with a
// message saying the step is not available in this build, rather than
// pretending to do it.
type Deps struct {
	Store  attune.Store
	Blobs  attune.Blobs
	Logger *slog.Logger // given its component attribute by the caller

	Extractor  Extractor          // ingestion; Ingest is the real one
	Generator  BenchmarkGenerator // benchmark questions from documents
	Trainer    Trainer            // LoRA training; EngineTrainer is the real one
	Evaluator  Evaluator          // answering and judging a benchmark
	Deployer   Deployer           // loading models for serving
	Undeployer Undeployer         // unloading them
}

// Extractor turns an uploaded file into text and counts the chunks it
// splits into. A file that cannot be read is a KindInvalid error whose
// message says why.
type Extractor interface {
	Extract(ctx context.Context, filename string, data []byte) (text string, chunks int, err error)
}

// DocText is a READY document's extracted text, as the generation and
// training steps read it.
type DocText struct {
	ID       string
	Filename string
	Text     string
}

// BenchmarkGenerator writes n questions with reference answers about docs.
type BenchmarkGenerator interface {
	Generate(ctx context.Context, docs []DocText, n int, seed int64) ([]attune.Question, error)
}

// TrainRequest is one alignment's training run.
type TrainRequest struct {
	AlignmentID     string
	BaseModel       attune.BaseModel
	Hyperparameters attune.Hyperparameters
	Documents       []DocText
	// Benchmark holds the questions that must not appear in training
	// data; nil when the alignment has no benchmark.
	Benchmark []attune.Question
	// CheckpointDir holds the run's checkpoints; a run started again with
	// the same directory resumes from the last one.
	CheckpointDir   string
	CheckpointEvery int
	// AdapterDir is where the finished adapter is written.
	AdapterDir string
}

// TrainProgress reports a training run after each step.
type TrainProgress struct {
	Step, TotalSteps int
	Loss             float64
	TokensPerSec     float64
	ETASeconds       float64 // measured time left for training
	Checkpoint       string  // the newest checkpoint's directory, if any
}

// TrainResult is a finished training run.
type TrainResult struct {
	AdapterDir string // the trained adapter in PEFT layout
	Steps      int
	Loss       float64
}

// Trainer trains a LoRA adapter. When ctx is cancelled it saves a
// checkpoint of its last step and returns ctx's error.
type Trainer interface {
	Train(ctx context.Context, req TrainRequest, progress func(TrainProgress)) (TrainResult, error)
}

// EvalRequest is one evaluation: the models to ask and the benchmark.
type EvalRequest struct {
	Evaluation attune.Evaluation
	Benchmark  attune.Benchmark
	// Models are the models in the order they are evaluated: the first,
	// then the second in compare mode.
	Models []EvalModel
}

// EvalModel names a model to evaluate: a base model, and for an aligned
// model the adapter to attach.
type EvalModel struct {
	ID         string
	Base       attune.BaseModel
	AdapterDir string // empty for a base model
}

// EvalReport is an evaluation's outcome.
type EvalReport struct {
	// Results is the report the API serves for the evaluation.
	Results []byte
	// Metrics compare the first model (before) with the second (after)
	// in compare mode; nil otherwise.
	Metrics *attune.PerformanceMetrics
}

// Evaluator answers a benchmark's questions with each model and judges the
// answers. progress reports answers judged so far over all models.
type Evaluator interface {
	Evaluate(ctx context.Context, req EvalRequest, progress func(done, total int)) (EvalReport, error)
}

// Deployer makes an aligned model ready to serve: the base model loaded
// and the adapter at adapterDir attached.
type Deployer interface {
	Deploy(ctx context.Context, m attune.AlignedModel, base attune.BaseModel, adapterDir string) error
}

// Undeployer stops serving an aligned model and frees what it held.
type Undeployer interface {
	Undeploy(ctx context.Context, modelID string) error
}

// errNotBuilt marks the error of a step this build does not have; such a
// job fails at once instead of being retried.
var errNotBuilt = errors.New("not built in")

// unavailable is the error of a job whose step this build does not have.
func unavailable(step string) error {
	return &attune.Error{Kind: attune.KindUnavailable,
		Message: step + " is not available in this build of attune yet", Err: errNotBuilt}
}
