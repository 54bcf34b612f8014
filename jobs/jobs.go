// Package jobs runs attune's durable work on River: document ingestion,
// benchmark generation, alignment (training), evaluation, deploy and
// undeploy. A job is a row in River's database before Enqueue returns, so
// it happens even if the process dies right after; a job interrupted by a
// crash or a shutdown runs again, and an alignment resumes training from its
// last checkpoint.
//
// The queue lives in its own SQLite file beside the store's (River asks for
// a single-connection pool on SQLite, and its frequent small writes should
// not queue behind the store's), so enqueuing is not in the same transaction
// as the record it works on. Two things close that gap: every job is unique
// by its arguments, so enqueuing twice runs once, and Start enqueues a job
// for every unfinished record (Store.UnfinishedWork) that has none. The
// record in the store, not the job, is the source of truth: a worker reads
// it first and does nothing for a record that has finished, was stopped or
// was deleted.
//
// Crash recovery on one machine: Start takes an exclusive lock on the
// queue's database, so no other process runs its jobs; any job it finds
// "running" was therefore left by a process that died, and is made
// available again at once instead of waiting for River's stuck-job rescuer.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"attune"
	"attune/store/sqlite"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// Config configures the job system. Zero fields take the defaults listed.
type Config struct {
	// Path is the queue's SQLite database file. Required.
	Path string
	// WorkDir is where jobs write checkpoints and adapters. Required.
	WorkDir string
	// Workers is how many ingest, benchmark and deploy jobs run at once;
	// default 4.
	Workers int
	// TrainWorkers is how many alignments train at once; default 1, as one
	// training run uses every core.
	TrainWorkers int
	// EvalWorkers is how many evaluations run at once; default 1.
	EvalWorkers int
	// MaxAttempts is how many times a job runs before it is given up on;
	// default 5. Only transient failures are retried.
	MaxAttempts int
	// PollInterval is how often idle workers look for new jobs; SQLite has
	// no notifications, so this bounds the delay before a job starts.
	// Default 200 ms.
	PollInterval time.Duration
	// RescueAfter is how long a job may run before River's rescuer takes
	// it for stuck and runs it again. On one machine Start already
	// recovers a dead process's jobs, so this is a backstop and must exceed
	// the longest training run; default 72 h.
	RescueAfter time.Duration
	// ProgressEvery is the least time between two progress writes to the
	// store from a running job; default 1 s.
	ProgressEvery time.Duration
	// CheckpointEvery is the number of training steps between
	// checkpoints; default 10.
	CheckpointEvery int
	// Now is the clock for times the jobs record; time.Now when nil.
	Now func() time.Time
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Workers, 4)
	def(&c.TrainWorkers, 1)
	def(&c.EvalWorkers, 1)
	def(&c.MaxAttempts, 5)
	def(&c.CheckpointEvery, 10)
	if c.PollInterval == 0 {
		c.PollInterval = 200 * time.Millisecond
	}
	if c.RescueAfter == 0 {
		c.RescueAfter = 72 * time.Hour
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate returns a KindInvalid Error naming the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Path == "":
		return attune.Invalidf("Path", "jobs: the queue database path is required")
	case c.WorkDir == "":
		return attune.Invalidf("WorkDir", "jobs: the work directory is required")
	case c.Workers < 0 || c.TrainWorkers < 0 || c.EvalWorkers < 0:
		return attune.Invalidf("Workers", "jobs: worker counts must not be negative")
	case c.MaxAttempts < 0:
		return attune.Invalidf("MaxAttempts", "jobs: MaxAttempts must not be negative")
	case c.PollInterval < 0 || c.RescueAfter < 0 || c.ProgressEvery < 0:
		return attune.Invalidf("PollInterval", "jobs: durations must not be negative")
	}
	return nil
}

// The queues: training and evaluation each use the whole machine, so they
// get queues of their own with few workers.
const (
	queueDefault = river.QueueDefault
	queueTrain   = "train"
	queueEval    = "eval"
)

// Client enqueues and runs attune's jobs. It implements attune.Queue.
type Client struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	db    *sql.DB
	river *river.Client[*sql.Tx]
	lock  func() // releases the queue's exclusive lock; nil until Start

	mu      sync.Mutex
	running map[string]context.CancelCauseFunc // alignment id → its job's cancel
}

var _ attune.Queue = (*Client)(nil)

// New opens the queue's database, migrates River's schema and returns a
// client ready to enqueue. Call Start to also run jobs.
func New(ctx context.Context, cfg Config, deps Deps) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Store == nil || deps.Blobs == nil {
		return nil, errors.New("jobs: Deps.Store and Deps.Blobs are required")
	}
	cfg = cfg.withDefaults()
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, deps: deps, log: log,
		running: map[string]context.CancelCauseFunc{}}

	// River on SQLite wants one connection: it serialises its own work.
	db, err := sql.Open("sqlite", sqlite.DSN(cfg.Path, 10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("jobs: cannot open %s: %w", cfg.Path, err)
	}
	db.SetMaxOpenConns(1)
	c.db = db
	if err := c.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if c.river, err = river.NewClient(riversqlite.New(db), c.riverConfig()); err != nil {
		db.Close()
		return nil, fmt.Errorf("jobs: cannot make the River client: %w", err)
	}
	return c, nil
}

// migrate brings River's tables up to date. Processes opening the same
// queue take turns, as River's migrations on SQLite must not interleave.
func (c *Client) migrate(ctx context.Context) error {
	unlock, err := waitLock(c.cfg.Path + ".migrate.lock")
	if err != nil {
		return fmt.Errorf("jobs: cannot lock for migration: %w", err)
	}
	defer unlock()
	m, err := rivermigrate.New(riversqlite.New(c.db), &rivermigrate.Config{Logger: c.log})
	if err != nil {
		return fmt.Errorf("jobs: cannot migrate: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("jobs: cannot migrate: %w", err)
	}
	if len(res.Versions) > 0 {
		c.log.Info("job queue migrated", "versions", len(res.Versions))
	}
	return nil
}

// riverConfig is River's configuration for this client.
func (c *Client) riverConfig() *river.Config {
	workers := river.NewWorkers()
	river.AddWorker(workers, &ingestWorker{c: c})
	river.AddWorker(workers, &benchmarkWorker{c: c})
	river.AddWorker(workers, &alignWorker{c: c})
	river.AddWorker(workers, &evaluateWorker{c: c})
	river.AddWorker(workers, &deployWorker{c: c})
	river.AddWorker(workers, &undeployWorker{c: c})
	return &river.Config{
		Queues: map[string]river.QueueConfig{
			queueDefault: {MaxWorkers: c.cfg.Workers},
			queueTrain:   {MaxWorkers: c.cfg.TrainWorkers},
			queueEval:    {MaxWorkers: c.cfg.EvalWorkers},
		},
		Workers:              workers,
		MaxAttempts:          c.cfg.MaxAttempts,
		FetchPollInterval:    c.cfg.PollInterval,
		FetchCooldown:        c.cfg.PollInterval / 4,
		RescueStuckJobsAfter: c.cfg.RescueAfter,
		JobTimeout:           -1, // each worker sets its own Timeout
		Logger:               c.log,
		ErrorHandler:         &errorHandler{log: c.log},
	}
}

// Start recovers jobs a dead process left running, makes sure every
// unfinished record has a job, and starts working. The client holds the
// queue's exclusive lock until Stop.
func (c *Client) Start(ctx context.Context) error {
	unlock, err := lockFile(c.cfg.Path + ".lock")
	if err != nil {
		return fmt.Errorf("jobs: another attune process is running jobs on %s: %w", c.cfg.Path, err)
	}
	c.lock = unlock
	if err := c.recoverOrphans(ctx); err != nil {
		return err
	}
	if err := c.sweepWork(ctx); err != nil {
		c.log.Warn("cannot sweep the work directory", "error", err)
	}
	if err := c.river.Start(ctx); err != nil {
		return fmt.Errorf("jobs: cannot start: %w", err)
	}
	if err := c.reconcile(ctx); err != nil {
		return err
	}
	c.log.Info("jobs started", "workers", c.cfg.Workers, "train_workers", c.cfg.TrainWorkers)
	return nil
}

// Stop stops fetching jobs and cancels the running ones, which save what
// they have (training writes a checkpoint) and are run again at the next
// Start. It returns when they have, or when ctx ends.
func (c *Client) Stop(ctx context.Context) error {
	err := c.river.StopAndCancel(ctx)
	if c.lock != nil {
		c.lock()
		c.lock = nil
	}
	if err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	c.log.Info("jobs stopped")
	return nil
}

// Close closes the queue's database. Call it after Stop.
func (c *Client) Close() error { return c.db.Close() }

// Subscribe returns River's events for finished jobs (completed, failed,
// cancelled), for tests and metrics, and a function to unsubscribe.
func (c *Client) Subscribe() (<-chan *river.Event, func()) {
	return c.river.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
		river.EventKindJobCancelled, river.EventKindJobSnoozed)
}

// Counts returns the number of jobs in each River state, for /metrics.
func (c *Client) Counts(ctx context.Context) (map[string]int, error) {
	rows, err := c.db.QueryContext(ctx, "SELECT state, COUNT(*) FROM river_job GROUP BY state")
	if err != nil {
		return nil, fmt.Errorf("jobs: cannot count: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// insert enqueues args unless an equal job is already queued or running.
func (c *Client) insert(ctx context.Context, args river.JobArgs) error {
	res, err := c.river.Insert(ctx, args, nil)
	if err != nil {
		return fmt.Errorf("jobs: cannot enqueue %s: %w", args.Kind(), err)
	}
	if !res.UniqueSkippedAsDuplicate {
		c.log.Debug("job enqueued", "kind", args.Kind(), "job_id", res.Job.ID)
	}
	return nil
}

// errorHandler logs job failures once, where River handles them.
type errorHandler struct{ log *slog.Logger }

func (h *errorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.log.Warn("job failed", "kind", job.Kind, "job_id", job.ID, "attempt", job.Attempt, "error", err)
	return nil
}

func (h *errorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, v any, trace string) *river.ErrorHandlerResult {
	h.log.Error("job panicked", "kind", job.Kind, "job_id", job.ID, "panic", fmt.Sprint(v), "trace", trace)
	return nil
}
