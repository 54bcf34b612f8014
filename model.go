package attune

import "time"

// BaseModel is a model imported into attune that alignments start from and
// that can always serve inference.
type BaseModel struct {
	ID             string // e.g. "qwen-v2p5-0p5b-instruct"
	Description    string
	Path           string // the Hugging Face directory holding its files
	Architecture   string // config.json's model_type, e.g. "qwen2"
	Parameters     int64  // number of weights
	ContextLength  int    // tokens
	AlignmentReady bool   // whether attune can fine-tune it
	CreatedAt      time.Time
}

// ModelStatus is the state of an aligned model.
type ModelStatus string

// The aligned model states.
const (
	ModelTraining  ModelStatus = "TRAINING"  // its alignment is running
	ModelReady     ModelStatus = "READY"     // an adapter exists
	ModelEvaluated ModelStatus = "EVALUATED" // and it has been measured
	ModelFailed    ModelStatus = "FAILED"    // training failed without an adapter
	ModelStopped   ModelStatus = "STOPPED"   // stopped; may hold a checkpoint
)

// DeploymentStatus is whether an aligned model serves inference.
type DeploymentStatus string

// The deployment states. A model starts UNDEPLOYED; deploy moves it through
// DEPLOYING to DEPLOYED, undeploy through UNDEPLOYING back to UNDEPLOYED.
const (
	Undeployed  DeploymentStatus = "UNDEPLOYED"
	Deploying   DeploymentStatus = "DEPLOYING"
	Deployed    DeploymentStatus = "DEPLOYED"
	Undeploying DeploymentStatus = "UNDEPLOYING"
)

// AlignedModel is the model an alignment produces: its base model plus a
// LoRA adapter.
type AlignedModel struct {
	ID               string // aligned-<ulid>; opaque to clients
	OwnerID          string
	AlignmentID      string
	Name             string
	BaseModel        string
	Status           ModelStatus
	DeploymentStatus DeploymentStatus
	// AdapterPath is the directory of the adapter in Hugging Face PEFT
	// layout; empty until training has written one.
	AdapterPath  string
	EvaluationID string
	Metrics      *PerformanceMetrics
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// TaskStatus is the state of a deploy or undeploy task.
type TaskStatus string

// The task states.
const (
	TaskPending   TaskStatus = "PENDING"
	TaskCompleted TaskStatus = "COMPLETED"
	TaskFailed    TaskStatus = "FAILED"
)

// TaskKind says what a deployment task does.
type TaskKind string

// The deployment task kinds.
const (
	TaskDeploy   TaskKind = "deploy"
	TaskUndeploy TaskKind = "undeploy"
)

// DeploymentTask is one deploy or undeploy of an aligned model; the status
// routes answer the newest task of a kind for a model.
type DeploymentTask struct {
	ID        string // task_<ulid>
	OwnerID   string
	ModelID   string
	Kind      TaskKind
	Early     bool // deploy the newest checkpoint of a running alignment
	Status    TaskStatus
	Message   string // what happened, for a person
	Error     string // why it failed, for a person
	StartedAt time.Time
	EndedAt   *time.Time
}
