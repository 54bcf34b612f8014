package attune

import (
	"math"
	"time"
)

// AlignmentStatus is the state of an alignment project's pipeline.
type AlignmentStatus string

// The alignment states. QUEUED, PROCESSING and EVALUATING are the pipeline
// at work; READY, FAILED and STOPPED are final. An alignment with a
// benchmark reports READY once its evaluation is done (NuGen's clients wait
// for READY), and exposes the evaluation through EvaluationID.
//
// The deployment words (DEPLOYING, DEPLOYED, UNDEPLOYING, UNDEPLOYED) are
// not stored here: they are the DeploymentStatus of the alignment's
// AlignedModel, which the API shows in the alignment's status field once the
// model has been deployed at least once.
const (
	AlignmentQueued     AlignmentStatus = "QUEUED"
	AlignmentProcessing AlignmentStatus = "PROCESSING"
	AlignmentEvaluating AlignmentStatus = "EVALUATING"
	AlignmentReady      AlignmentStatus = "READY"
	AlignmentFailed     AlignmentStatus = "FAILED"
	AlignmentStopped    AlignmentStatus = "STOPPED"
)

// Final reports whether s is a state the pipeline does not leave.
func (s AlignmentStatus) Final() bool {
	return s == AlignmentReady || s == AlignmentFailed || s == AlignmentStopped
}

// Stage names a step of the alignment pipeline; a failed alignment's error
// names the stage it failed in.
type Stage string

// The pipeline stages, in order.
const (
	StageQueued     Stage = "queued"
	StageBenchmark  Stage = "benchmark generation"
	StageTraining   Stage = "training"
	StageEvaluation Stage = "evaluation"
	StageDone       Stage = "done"
)

// Hyperparameters are the training settings of an alignment. Zero fields
// are filled from DefaultHyperparameters by WithDefaults.
type Hyperparameters struct {
	Epochs       int     `json:"epochs"`
	LearningRate float64 `json:"learning_rate"`
	LoRARank     int     `json:"lora_rank"`
	LoRAAlpha    float64 `json:"lora_alpha"`
	BatchSize    int     `json:"batch_size"`
	MaxSeqLen    int     `json:"max_seq_len"`
	Seed         int64   `json:"seed"`
}

// DefaultHyperparameters are the settings an alignment uses for every
// field its request leaves out.
var DefaultHyperparameters = Hyperparameters{
	Epochs:       2,
	LearningRate: 1e-4,
	LoRARank:     8,
	LoRAAlpha:    16,
	BatchSize:    16,
	MaxSeqLen:    512,
	Seed:         42,
}

// WithDefaults returns h with each zero field set to its default.
func (h Hyperparameters) WithDefaults() Hyperparameters {
	d := DefaultHyperparameters
	if h.Epochs == 0 {
		h.Epochs = d.Epochs
	}
	if h.LearningRate == 0 {
		h.LearningRate = d.LearningRate
	}
	if h.LoRARank == 0 {
		h.LoRARank = d.LoRARank
	}
	if h.LoRAAlpha == 0 {
		h.LoRAAlpha = d.LoRAAlpha
	}
	if h.BatchSize == 0 {
		h.BatchSize = d.BatchSize
	}
	if h.MaxSeqLen == 0 {
		h.MaxSeqLen = d.MaxSeqLen
	}
	if h.Seed == 0 {
		h.Seed = d.Seed
	}
	return h
}

// Validate returns a KindInvalid Error naming the first field out of range,
// or nil. Call it after WithDefaults.
func (h Hyperparameters) Validate() error {
	switch {
	case h.Epochs < 1 || h.Epochs > 100:
		return Invalidf("hyperparameters.epochs", "epochs must be between 1 and 100, got %d", h.Epochs)
	case !(h.LearningRate > 0 && h.LearningRate <= 1) || math.IsInf(h.LearningRate, 0):
		return Invalidf("hyperparameters.learning_rate", "learning_rate must be in (0, 1], got %g", h.LearningRate)
	case h.LoRARank < 1 || h.LoRARank > 256:
		return Invalidf("hyperparameters.lora_rank", "lora_rank must be between 1 and 256, got %d", h.LoRARank)
	case !(h.LoRAAlpha > 0 && h.LoRAAlpha <= 1024):
		return Invalidf("hyperparameters.lora_alpha", "lora_alpha must be in (0, 1024], got %g", h.LoRAAlpha)
	case h.BatchSize < 1 || h.BatchSize > 1024:
		return Invalidf("hyperparameters.batch_size", "batch_size must be between 1 and 1024, got %d", h.BatchSize)
	case h.MaxSeqLen < 16 || h.MaxSeqLen > 32768:
		return Invalidf("hyperparameters.max_seq_len", "max_seq_len must be between 16 and 32768, got %d", h.MaxSeqLen)
	case h.Seed < 0:
		return Invalidf("hyperparameters.seed", "seed must not be negative, got %d", h.Seed)
	}
	return nil
}

// PerformanceMetrics compares a model before and after alignment on the
// alignment's benchmark (definitions in DESIGN.md).
type PerformanceMetrics struct {
	AccuracyBefore         float64 `json:"accuracy_before"`
	AccuracyAfter          float64 `json:"accuracy_after"`
	DomainViolationsBefore int     `json:"domain_violations_before"`
	DomainViolationsAfter  int     `json:"domain_violations_after"`
	UncertaintyBefore      float64 `json:"uncertainty_before"`
	UncertaintyAfter       float64 `json:"uncertainty_after"`
}

// Alignment is an alignment project: fine-tuning a base model with LoRA on
// a user's documents, measured on a benchmark before and after.
type Alignment struct {
	ID              string // alignment_<ulid>
	OwnerID         string
	Name            string
	Description     string
	WorkflowID      string // NuGen's optional workflow id, kept as given
	BaseModel       string // a BaseModel id
	DocumentIDs     []string
	BenchmarkID     string // empty when none was given; set once generated
	Hyperparameters Hyperparameters
	ModelID         string // the AlignedModel this alignment produces

	Status   AlignmentStatus
	Stage    Stage
	Progress float64 // 0..100 over the whole pipeline
	// EstimatedCompletion is when the pipeline should end, from measured
	// throughput; nil until there is a measurement.
	EstimatedCompletion *time.Time
	// Error says which stage failed and why, for a person; empty otherwise.
	Error        string
	EvaluationID string // the before/after evaluation, once started

	// TrainingCompleted is nil until training has started, false while it
	// runs or when it did not finish, true once an adapter exists (NuGen's
	// gpu_training_completed).
	TrainingCompleted *bool
	Step              int     // training steps done
	TotalSteps        int     // training steps planned
	Loss              float64 // the latest training loss
	Checkpoint        string  // the newest checkpoint's directory; empty if none
	Metrics           *PerformanceMetrics

	CreatedAt   time.Time
	UpdatedAt   time.Time
	StartedAt   *time.Time // the pipeline started
	CompletedAt *time.Time // the pipeline ended
}
