package attune

import (
	"context"
	"io"
)

// Page selects a window of a list: at most Limit items after skipping
// Offset. A Limit of 0 or less means no limit. Lists are ordered newest
// first.
type Page struct {
	Limit  int
	Offset int
}

// EvaluationFilter narrows a list of evaluations; empty fields match all.
type EvaluationFilter struct {
	Status  Status
	ModelID string // matches either model of a comparison
}

// WorkKind names a kind of unfinished work found by Store.UnfinishedWork.
type WorkKind string

// The kinds of durable work, one per job kind.
const (
	WorkIngest    WorkKind = "ingest"
	WorkBenchmark WorkKind = "benchmark"
	WorkAlign     WorkKind = "align"
	WorkEvaluate  WorkKind = "evaluate"
	WorkDeploy    WorkKind = "deploy"
	WorkUndeploy  WorkKind = "undeploy"
)

// WorkItem is a resource whose processing has not finished.
type WorkItem struct {
	Kind    WorkKind
	OwnerID string
	ID      string // the document, benchmark, alignment, evaluation or task
}

// Store keeps attune's records. Every method that takes an owner is scoped
// to that user: a record of another user is reported exactly like one that
// does not exist. Errors are attune.Errors where a caller can act on them:
//
//   - KindNotFound: no such record for this owner (or a record a new one
//     refers to is missing or, where noted, not READY).
//   - KindConflict: a uniqueness rule or the record's state forbids the
//     change; a duplicate wraps an *ExistsError naming the existing record.
//   - KindInvalid: a field names something that cannot be used.
//
// Any other error is KindInternal. Create methods fill in CreatedAt and
// UpdatedAt from the store's clock; the caller supplies IDs and owner.
// Update methods read the record, call fn on it, and write it back in one
// transaction; an error from fn aborts the update and is returned as is.
// fn must not change ID, OwnerID or CreatedAt.
type Store interface {
	// InTx runs fn with a Store whose every call is part of one
	// transaction, committed when fn returns nil and rolled back
	// otherwise. Calls to InTx inside fn join the same transaction.
	InTx(ctx context.Context, fn func(Store) error) error

	// EnsureUser returns the user with the given email, creating it if
	// there is none.
	EnsureUser(ctx context.Context, email string) (User, error)
	// UserByEmail returns the user with the given email, or KindNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)
	// CreateAPIKey stores k; its UserID must name an existing user.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByHash returns the key with the given hash and its user,
	// revoked or not, or KindNotFound.
	APIKeyByHash(ctx context.Context, hash string) (User, APIKey, error)
	// ListAPIKeys returns the keys of the user with the given id, or of
	// every user when userID is empty, revoked ones included.
	ListAPIKeys(ctx context.Context, userID string) ([]APIKey, error)
	// RevokeAPIKey revokes the key with the given id; revoking a revoked
	// key is not an error. KindNotFound if there is none.
	RevokeAPIKey(ctx context.Context, id string) error
	// SetAPIKeyRateLimit sets a key's requests per second (0: default).
	SetAPIKeyRateLimit(ctx context.Context, id string, perSecond float64) error

	// CreateUpload stores an upload task and, when d is not nil, its
	// document, together. A document whose filename the owner already
	// uses is KindConflict wrapping an *ExistsError with that document's
	// id, and nothing is stored.
	CreateUpload(ctx context.Context, t *UploadTask, d *Document) error
	// UploadTask returns an upload task.
	UploadTask(ctx context.Context, owner, id string) (UploadTask, error)
	// UpdateUploadTask changes an upload task through fn.
	UpdateUploadTask(ctx context.Context, owner, id string, fn func(*UploadTask) error) (UploadTask, error)
	// Document returns a document.
	Document(ctx context.Context, owner, id string) (Document, error)
	// ListDocuments returns a page of the owner's documents and their total.
	ListDocuments(ctx context.Context, owner string, p Page) ([]Document, int, error)
	// DocumentCategories counts the owner's documents per category.
	DocumentCategories(ctx context.Context, owner string) ([]CategoryCount, error)
	// UpdateDocument changes a document through fn; the upload task that
	// made it follows its status and error.
	UpdateDocument(ctx context.Context, owner, id string, fn func(*Document) error) (Document, error)
	// DeleteDocument deletes a document and returns it. KindConflict while
	// a benchmark being generated or an unfinished alignment uses it.
	DeleteDocument(ctx context.Context, owner, id string) (Document, error)
	// BlobReferenced reports whether any record of any user still refers
	// to the blob with the given sha256, so the caller knows whether it
	// may delete the blob.
	BlobReferenced(ctx context.Context, sha string) (bool, error)

	// CreateBenchmark stores b. Each of its documents must exist for the
	// owner (KindNotFound naming it otherwise) and, for a generated
	// benchmark, be READY.
	CreateBenchmark(ctx context.Context, b *Benchmark) error
	// Benchmark returns a benchmark with its questions.
	Benchmark(ctx context.Context, owner, id string) (Benchmark, error)
	// ListBenchmarks returns a page of the owner's benchmarks, without
	// their questions (NumQuestions is set), and their total.
	ListBenchmarks(ctx context.Context, owner string, p Page) ([]Benchmark, int, error)
	// UpdateBenchmark changes a benchmark through fn.
	UpdateBenchmark(ctx context.Context, owner, id string, fn func(*Benchmark) error) (Benchmark, error)
	// DeleteBenchmark deletes a benchmark. KindConflict while an
	// unfinished alignment or evaluation uses it.
	DeleteBenchmark(ctx context.Context, owner, id string) error

	// CreateAlignment stores a and the aligned model m it will produce.
	// KindInvalid (field "base_model") when the base model is unknown or
	// not alignment-ready; KindNotFound when a document or the benchmark
	// is unknown or not READY.
	CreateAlignment(ctx context.Context, a *Alignment, m *AlignedModel) error
	// Alignment returns an alignment.
	Alignment(ctx context.Context, owner, id string) (Alignment, error)
	// ListAlignments returns a page of the owner's alignments and their total.
	ListAlignments(ctx context.Context, owner string, p Page) ([]Alignment, int, error)
	// UpdateAlignment changes an alignment through fn.
	UpdateAlignment(ctx context.Context, owner, id string, fn func(*Alignment) error) (Alignment, error)
	// DeleteAlignment deletes an alignment with its aligned model,
	// deployment tasks and evaluations. KindConflict while its model is
	// deploying, deployed or undeploying.
	DeleteAlignment(ctx context.Context, owner, id string) error

	// CreateBaseModel stores m. KindConflict if the id is taken.
	CreateBaseModel(ctx context.Context, m *BaseModel) error
	// BaseModel returns a base model; base models belong to no user.
	BaseModel(ctx context.Context, id string) (BaseModel, error)
	// ListBaseModels returns every base model, by id.
	ListBaseModels(ctx context.Context) ([]BaseModel, error)
	// AlignedModel returns an aligned model.
	AlignedModel(ctx context.Context, owner, id string) (AlignedModel, error)
	// ListAlignedModels returns a page of the owner's aligned models and
	// their total.
	ListAlignedModels(ctx context.Context, owner string, p Page) ([]AlignedModel, int, error)
	// UpdateAlignedModel changes an aligned model through fn.
	UpdateAlignedModel(ctx context.Context, owner, id string, fn func(*AlignedModel) error) (AlignedModel, error)
	// DeployedModels returns the aligned models of every user whose
	// deployment status is DEPLOYED or DEPLOYING, so that a starting
	// server can load them again.
	DeployedModels(ctx context.Context) ([]AlignedModel, error)

	// CreateDeploymentTask stores t and moves its model's deployment
	// status in the same transaction: a deploy from UNDEPLOYED to
	// DEPLOYING, an undeploy from DEPLOYED to UNDEPLOYING. Any other
	// starting state is KindConflict, with a message naming the current
	// status; KindNotFound when the model is unknown.
	CreateDeploymentTask(ctx context.Context, t *DeploymentTask) error
	// DeploymentTask returns a deployment task.
	DeploymentTask(ctx context.Context, owner, id string) (DeploymentTask, error)
	// LatestDeploymentTask returns the newest task of kind for a model.
	LatestDeploymentTask(ctx context.Context, owner, modelID string, kind TaskKind) (DeploymentTask, error)
	// UpdateDeploymentTask changes a deployment task through fn.
	UpdateDeploymentTask(ctx context.Context, owner, id string, fn func(*DeploymentTask) error) (DeploymentTask, error)

	// CreateEvaluation stores e. KindNotFound when its benchmark is
	// unknown or not READY, or a model id names neither a base model nor
	// one of the owner's aligned models.
	CreateEvaluation(ctx context.Context, e *Evaluation) error
	// Evaluation returns an evaluation with its results.
	Evaluation(ctx context.Context, owner, id string) (Evaluation, error)
	// ListEvaluations returns a page of the owner's evaluations that
	// match f, without results, and their total.
	ListEvaluations(ctx context.Context, owner string, f EvaluationFilter, p Page) ([]Evaluation, int, error)
	// UpdateEvaluation changes an evaluation through fn.
	UpdateEvaluation(ctx context.Context, owner, id string, fn func(*Evaluation) error) (Evaluation, error)

	// UnfinishedWork lists every record of every user whose processing
	// has not ended: documents, benchmarks and evaluations PROCESSING,
	// alignments not in a final state, deployment tasks PENDING. The job
	// system uses it at start to make sure each has a job.
	UnfinishedWork(ctx context.Context) ([]WorkItem, error)

	// Close releases the store's resources.
	Close() error
}

// Blobs keeps byte content addressed by its SHA-256: document files,
// extracted text, exported artifacts. Content is immutable; writing the same
// bytes twice stores them once.
type Blobs interface {
	// Put stores everything r yields and returns its hex SHA-256 and
	// size. Readers never see a partly written blob.
	Put(ctx context.Context, r io.Reader) (sha string, size int64, err error)
	// Open returns the blob's content, or KindNotFound.
	Open(ctx context.Context, sha string) (io.ReadCloser, error)
	// Has reports whether the blob exists.
	Has(ctx context.Context, sha string) (bool, error)
	// Delete removes the blob; deleting a missing blob is not an error.
	Delete(ctx context.Context, sha string) error
}

// Queue starts and stops the durable work behind the API. Each method
// records the job durably before returning, so the work happens even if the
// process dies right after; enqueuing the same work twice runs it once.
type Queue interface {
	// IngestDocument extracts and chunks a stored document's text.
	IngestDocument(ctx context.Context, owner, documentID string) error
	// GenerateBenchmark builds a PROCESSING benchmark's questions.
	GenerateBenchmark(ctx context.Context, owner, benchmarkID string) error
	// StartAlignment runs an alignment's pipeline: benchmark, training,
	// evaluation.
	StartAlignment(ctx context.Context, owner, alignmentID string) error
	// StopAlignment marks a running alignment STOPPED and stops its job,
	// which keeps its last checkpoint. KindConflict if it has finished.
	StopAlignment(ctx context.Context, owner, alignmentID string) (Alignment, error)
	// Evaluate runs an evaluation.
	Evaluate(ctx context.Context, owner, evaluationID string) error
	// Deploy carries out a deploy task made by Store.CreateDeploymentTask.
	Deploy(ctx context.Context, owner, taskID string) error
	// Undeploy carries out an undeploy task.
	Undeploy(ctx context.Context, owner, taskID string) error
}
