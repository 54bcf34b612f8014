package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"attune"
	"attune/hub"
)

func init() {
	registerSub("models", "pull", "download a model from the Hugging Face Hub", func(ctx context.Context, args []string) error {
		return modelsPull(ctx, args, osStdio())
	})
}

// modelsPull downloads a Hugging Face model repository into the data
// directory, resuming any earlier partial download.
func modelsPull(ctx context.Context, args []string, io stdio) error {
	fs := newFlags("models pull", "models pull REPO [--revision main] [--data-dir DIR] [--endpoint URL] [--id ID]", io)
	revision := fs.String("revision", "main", "branch, tag or commit to download")
	dataDir := fs.String("data-dir", dataDirDefault(io), "attune data directory (env ATTUNE_DATA_DIR)")
	endpoint := fs.String("endpoint", orEnv(io, "HF_ENDPOINT", hub.DefaultEndpoint), "Hub URL (env HF_ENDPOINT)")
	id := fs.String("id", "", "model id to register it under (default: derived from REPO)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 1); err != nil {
		return err
	}
	repo := pos[0]
	if *id == "" {
		*id = hubModelID(repo)
	}
	dir := filepath.Join(*dataDir, "downloads", strings.ReplaceAll(repo, "/", "--"))

	p := hub.New(*endpoint)
	p.Token = io.getenv("HF_TOKEN")
	bars := map[string]*progressBar{}
	p.OnProgress = func(pr hub.Progress) {
		b := bars[pr.File]
		if b == nil {
			b = newProgressBar(io.out, pr.File)
			bars[pr.File] = b
		}
		if pr.Total >= 0 && pr.Done >= pr.Total {
			b.done("", formatBytes(pr.Total))
			return
		}
		b.update("", fraction(pr.Done, pr.Total), formatBytes(pr.Done))
	}
	fmt.Fprintf(io.out, "pulling %s@%s from %s into %s\n", repo, *revision, *endpoint, dir)
	files, err := p.Pull(ctx, repo, *revision, dir)
	if err != nil {
		return fmt.Errorf("models pull: %w", err)
	}
	fmt.Fprintf(io.out, "downloaded %d files, checksums verified\n", len(files))
	return registerPulled(ctx, io, *dataDir, dir, *id)
}

// registerPulled makes a downloaded directory a base model of the data
// directory, linked rather than copied, since the download already lives
// there. A model already registered under the id is left as it is.
func registerPulled(ctx context.Context, io stdio, dataDir, dir, id string) error {
	m, err := importModel(ctx, dataDir, dir, id, "", true)
	if attune.ErrorKind(err) == attune.KindConflict {
		fmt.Fprintf(io.out, "model %s is already registered; the files in %s are up to date\n", id, dir)
		return nil
	}
	if err != nil {
		return fmt.Errorf("models pull: %w", err)
	}
	fmt.Fprintf(io.out, "registered base model %s (%.1fM parameters, context %d)\n",
		m.ID, float64(m.Parameters)/1e6, m.ContextLength)
	return nil
}

// hubModelID derives an attune model id from a Hub repository name,
// following NuGen's spelling where it has one:
// Qwen/Qwen2.5-0.5B-Instruct becomes qwen-v2p5-0p5b-instruct.
func hubModelID(repo string) string {
	name := repo
	if i := strings.LastIndex(repo, "/"); i >= 0 {
		name = repo[i+1:]
	}
	name = strings.ReplaceAll(strings.ToLower(name), ".", "p")
	name = qwenVersion.ReplaceAllString(name, "qwen-v$1")
	return strings.Trim(nonID.ReplaceAllString(name, "-"), "-")
}

var (
	qwenVersion = regexp.MustCompile(`^qwen(\d)`)
	nonID       = regexp.MustCompile(`[^a-z0-9-]+`)
)

// fraction returns done/total, or -1 when total is unknown.
func fraction(done, total int64) float64 {
	if total <= 0 {
		return -1
	}
	return float64(done) / float64(total)
}

// orEnv returns the environment variable's value, or def when unset.
func orEnv(io stdio, name, def string) string {
	if v := io.getenv(name); v != "" {
		return v
	}
	return def
}

// dataDirDefault is the data directory when --data-dir is not given.
func dataDirDefault(io stdio) string {
	return orEnv(io, "ATTUNE_DATA_DIR", "data")
}
