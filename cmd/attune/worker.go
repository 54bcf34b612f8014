package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"attune/blob"
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
