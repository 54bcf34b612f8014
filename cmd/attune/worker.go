package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"attune/blob"
	"attune/jobs"
	"attune/runtime"
	"attune/store/sqlite"
)

// dataLayout names the parts of a data directory:
//
//	attune.db     the store (SQLite)
//	jobs.db       the job queue (River on SQLite), apart so that the
//	              queue's frequent small writes never wait on the store's
//	blobs/        document bytes and extracted text, by SHA-256
//	models/ID/    imported base models
//	work/         checkpoints and adapters the jobs write
type dataLayout struct {
	Root   string
	Store  string
	Jobs   string
	Blobs  string
	Models string
	Work   string
}

// layoutOf returns the layout of the data directory dir.
func layoutOf(dir string) dataLayout {
	return dataLayout{
		Root:   dir,
		Store:  filepath.Join(dir, "attune.db"),
		Jobs:   filepath.Join(dir, "jobs.db"),
		Blobs:  filepath.Join(dir, "blobs"),
		Models: filepath.Join(dir, "models"),
		Work:   filepath.Join(dir, "work"),
	}
}

// openStore opens (creating if needed) the data directory's store.
func openStore(ctx context.Context, dir string, log *slog.Logger) (*sqlite.Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the data directory: %w", err)
	}
	return sqlite.Open(ctx, layoutOf(dir).Store, sqlite.Options{Logger: log})
}

// openBlobs opens the data directory's blob store.
func openBlobs(dir string) (*blob.Dir, error) {
	return blob.Open(layoutOf(dir).Blobs)
}

func init() {
	register("worker", "run the job workers of a data directory without the API", func(ctx context.Context, args []string) error {
		return worker(ctx, args, osStdio())
	})
}

// worker runs the jobs of a data directory until ctx ends: ingestion,
// benchmarks, training and evaluation (through a runtime of its own). On SQLite one process at a time runs
// a directory's jobs, so this is for a directory no server is running on;
// with PostgreSQL (a later issue) many workers will share one queue.
//
// Deploys run here only as far as a worker can take them: the adapter is
// checked, and the server that later serves the model loads it on first
// use.
func worker(ctx context.Context, args []string, io stdio) error {
	fs := newFlags("worker", "worker [--data-dir DIR] [--workers N] [--train-workers N] [--log-json]", io)
	dataDir := fs.String("data-dir", dataDirDefault(io), "attune data directory (env ATTUNE_DATA_DIR)")
	workers := fs.Int("workers", 4, "ingest, benchmark and deploy jobs that run at once")
	trainWorkers := fs.Int("train-workers", 1, "alignments that train at once")
	grace := fs.Duration("shutdown-grace", 30*time.Second, "time running jobs get to checkpoint on shutdown")
	logJSON := fs.Bool("log-json", false, "write logs as JSON lines instead of text")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 0); err != nil {
		return err
	}
	var h slog.Handler = slog.NewTextHandler(io.errw, nil)
	if *logJSON {
		h = slog.NewJSONHandler(io.errw, nil)
	}
	log := slog.New(h)

	// The store, the blobs and the queue of the data directory.
	st, err := openStore(ctx, *dataDir, log.With(slog.String("component", "store")))
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer st.Close()
	blobs, err := openBlobs(*dataDir)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	rt, err := runtime.New(runtime.Config{}, log.With(slog.String("component", "runtime")))
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer rt.Close()
	layout := layoutOf(*dataDir)
	q, err := jobs.New(ctx, jobs.Config{
		Path: layout.Jobs, WorkDir: layout.Work, Workers: *workers, TrainWorkers: *trainWorkers,
	}, jobs.Deps{
		Store: st, Blobs: blobs, Logger: log.With(slog.String("component", "jobs")),
		Extractor: jobs.Ingest{}, Generator: jobs.Extractive{}, Trainer: jobs.EngineTrainer{},
		Evaluator: jobs.RuntimeEvaluator{Runtime: rt}, Deployer: jobs.AdapterCheck{},
	})
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer q.Close()

	// Run until told to stop, then let running jobs checkpoint.
	if err := q.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	log.Info("attune worker is running", slog.String("data_dir", *dataDir))
	<-ctx.Done()
	log.Info("shutting down: checkpointing running jobs")
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	return q.Stop(sctx)
}
