package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"attune"
	"attune/blob"
	"attune/store/sqlite"

	"github.com/riverqueue/river"
)

// env is a data directory with a real store, blob store and job queue.
type env struct {
	dir   string
	store *sqlite.Store
	blobs *blob.Dir
	user  attune.User
}

// newEnv opens a fresh data directory, or an existing one.
func newEnv(t *testing.T, dir string) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "attune.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bl, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.EnsureUser(ctx, "user@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return &env{dir: dir, store: st, blobs: bl, user: u}
}

// client makes a job client on e's data directory with the given steps.
func (e *env) client(t *testing.T, deps Deps) *Client {
	t.Helper()
	return e.clientWith(t, Config{}, deps)
}

// clientWith is client with some settings of cfg.
func (e *env) clientWith(t *testing.T, cfg Config, deps Deps) *Client {
	t.Helper()
	deps.Store, deps.Blobs = e.store, e.blobs
	if testing.Verbose() {
		deps.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg.Path, cfg.WorkDir = filepath.Join(e.dir, "jobs.db"), filepath.Join(e.dir, "work")
	cfg.PollInterval, cfg.ProgressEvery = 20*time.Millisecond, time.Nanosecond
	c, err := New(context.Background(), cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// start starts c and stops it at the end of the test.
func start(t *testing.T, c *Client) {
	t.Helper()
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(context.Background()) })
}

// upload stores a file as a PROCESSING document.
func (e *env) upload(t *testing.T, filename string, data []byte) attune.Document {
	t.Helper()
	ctx := context.Background()
	sha, size, err := e.blobs.Put(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	d := attune.Document{ID: attune.NewID(attune.PrefixDocument), OwnerID: e.user.ID,
		Filename: filename, Type: filepath.Ext(filename)[1:], Size: size, SHA256: sha,
		Status: attune.StatusProcessing}
	task := attune.UploadTask{ID: attune.NewID(""), OwnerID: e.user.ID, Filename: filename,
		Status: attune.StatusProcessing}
	if err := e.store.CreateUpload(ctx, &task, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// waitJob waits for River to report that a job of kind finished, and
// returns its event. It fails the test after a generous bound (training
// under the race detector is slow) instead of hanging CI.
func waitJob(t *testing.T, events <-chan *river.Event, kind string) *river.Event {
	t.Helper()
	timeout := time.After(5 * time.Minute)
	for {
		select {
		case ev := <-events:
			if ev.Job.Kind == kind {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s job finished within 5 minutes", kind)
		}
	}
}

// readDoc fails the test unless owner's document can be read.
func (e *env) readDoc(t *testing.T, id string) attune.Document {
	t.Helper()
	d, err := e.store.Document(context.Background(), e.user.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestIngest(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir())
	c := e.client(t, Deps{Extractor: Ingest{}})
	events, unsub := c.Subscribe()
	defer unsub()
	start(t, c)

	faq, err := os.ReadFile("../testdata/corpora/debian-faq/documents/01-basic-defs.md")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		filename string
		data     []byte
		want     attune.Status
		state    river.EventKind
	}{
		{"markdown", "faq.md", faq, attune.StatusReady, river.EventKindJobCompleted},
		{"binary named .txt", "x.txt", []byte("\x00\x01\x02\xff\xfe binary"), attune.StatusFailed, river.EventKindJobCancelled},
	}
	for _, tt := range tests {
		d := e.upload(t, tt.filename, tt.data)
		if err := c.IngestDocument(ctx, e.user.ID, d.ID); err != nil {
			t.Fatal(err)
		}
		if ev := waitJob(t, events, "ingest_document"); ev.Kind != tt.state {
			t.Errorf("%s: job ended %s, want %s", tt.name, ev.Kind, tt.state)
		}
		got := e.readDoc(t, d.ID)
		if got.Status != tt.want {
			t.Fatalf("%s: document %s (%s), want %s", tt.name, got.Status, got.Error, tt.want)
		}
		if tt.want == attune.StatusFailed {
			if got.Error == "" {
				t.Errorf("%s: a failed document must say why", tt.name)
			}
			continue
		}
		if got.Chunks < 2 || got.TextSHA256 == "" {
			t.Errorf("%s: got %d chunks, text blob %q", tt.name, got.Chunks, got.TextSHA256)
		}
		text, err := c.readBlob(ctx, got.TextSHA256)
		if err != nil || !bytes.Contains(text, []byte("What is this FAQ?")) {
			t.Errorf("%s: extracted text %.80q, %v", tt.name, text, err)
		}
	}

	// Enqueuing done work again runs nothing: the document stays READY.
	counts, err := c.Counts(ctx)
	if err != nil || counts["completed"] != 1 || counts["cancelled"] != 1 {
		t.Errorf("job counts: got %v, %v; want one completed and one cancelled", counts, err)
	}
}

// TestMissingStep checks that a job whose step this build lacks fails its
// record with a message saying so, and is not retried.
func TestMissingStep(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir())
	c := e.client(t, Deps{})
	events, unsub := c.Subscribe()
	defer unsub()
	start(t, c)

	d := e.upload(t, "a.md", []byte("# A\n\ntext"))
	if err := c.IngestDocument(ctx, e.user.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	if ev := waitJob(t, events, "ingest_document"); ev.Kind != river.EventKindJobCancelled {
		t.Errorf("job ended %s, want cancelled", ev.Kind)
	}
	if got := e.readDoc(t, d.ID); got.Status != attune.StatusFailed ||
		got.Error != "cannot read the file: text extraction is not available in this build of attune yet" {
		t.Errorf("document: %s %q", got.Status, got.Error)
	}
}

// TestReconcile checks that Start enqueues the work of records stored by a
// process that died before enqueuing it.
func TestReconcile(t *testing.T) {
	e := newEnv(t, t.TempDir())
	d := e.upload(t, "a.md", []byte("# A\n\nSome text about apples."))
	c := e.client(t, Deps{Extractor: Ingest{}})
	events, unsub := c.Subscribe()
	defer unsub()
	start(t, c)
	waitJob(t, events, "ingest_document")
	if got := e.readDoc(t, d.ID); got.Status != attune.StatusReady {
		t.Errorf("document after Start: %s %q, want READY", got.Status, got.Error)
	}
}

// flaky is an Extractor that fails with a transient error a given number
// of times, then extracts for real.
type flaky struct{ failures *atomic.Int32 }

func (f flaky) Extract(ctx context.Context, filename string, data []byte) (string, int, error) {
	if f.failures.Add(-1) >= 0 {
		return "", 0, errors.New("disk busy")
	}
	return Ingest{}.Extract(ctx, filename, data)
}

// TestRetry checks that a transient failure is retried with backoff, and
// that the record fails, saying why, only when the last attempt does.
func TestRetry(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		failures int
		attempts int
		want     attune.Status
		events   []river.EventKind
	}{
		{"recovers", 1, 3, attune.StatusReady, []river.EventKind{river.EventKindJobFailed, river.EventKindJobCompleted}},
		{"gives up", 5, 2, attune.StatusFailed, []river.EventKind{river.EventKindJobFailed, river.EventKindJobFailed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, t.TempDir())
			var failures atomic.Int32
			failures.Store(int32(tt.failures))
			c := e.clientWith(t, Config{MaxAttempts: tt.attempts}, Deps{Extractor: flaky{&failures}})
			events, unsub := c.Subscribe()
			defer unsub()
			start(t, c)
			d := e.upload(t, "a.md", []byte("# A\n\nSome text."))
			if err := c.IngestDocument(ctx, e.user.ID, d.ID); err != nil {
				t.Fatal(err)
			}
			for i, want := range tt.events {
				if ev := waitJob(t, events, "ingest_document"); ev.Kind != want {
					t.Fatalf("attempt %d ended %s, want %s", i+1, ev.Kind, want)
				}
			}
			got := e.readDoc(t, d.ID)
			if got.Status != tt.want {
				t.Fatalf("document: %s %q, want %s", got.Status, got.Error, tt.want)
			}
			if tt.want == attune.StatusFailed && !strings.Contains(got.Error, "failed 2 times") {
				t.Errorf("failure message %q does not say it was retried", got.Error)
			}
		})
	}
}

// TestGenerateBenchmark generates a benchmark from a real document with
// the extractive generator, and fails one from a document with nothing to
// ask about.
func TestGenerateBenchmark(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir())
	c := e.client(t, Deps{Extractor: Ingest{}, Generator: Extractive{}})
	events, unsub := c.Subscribe()
	defer unsub()
	start(t, c)

	faq, err := os.ReadFile("../testdata/corpora/debian-faq/documents/01-basic-defs.md")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		text string
		want attune.Status
	}{
		{"faq", string(faq), attune.StatusReady},
		{"nothing to ask", "ok", attune.StatusFailed},
	}
	for i, tt := range tests {
		d := e.ready(t, c, events, fmt.Sprintf("d%d.md", i), tt.text)
		b := attune.Benchmark{ID: attune.NewID(attune.PrefixBenchmark), OwnerID: e.user.ID,
			Type: attune.BenchmarkGenerated, DocumentIDs: []string{d.ID}, NumQuestions: 5,
			Status: attune.StatusProcessing}
		if err := e.store.CreateBenchmark(ctx, &b); err != nil {
			t.Fatal(err)
		}
		if err := c.GenerateBenchmark(ctx, e.user.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		waitJob(t, events, "generate_benchmark")
		got, err := e.store.Benchmark(ctx, e.user.ID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != tt.want || got.EndedAt == nil {
			t.Fatalf("%s: benchmark %s %q", tt.name, got.Status, got.Error)
		}
		if tt.want == attune.StatusReady && (len(got.Questions) != 5 || got.NumQuestions != 5 ||
			got.Questions[4].QuestionNum != 5 || got.Questions[0].Answer == "") {
			t.Errorf("%s: questions %+v", tt.name, got.Questions)
		}
		if tt.want == attune.StatusFailed && got.Error == "" {
			t.Errorf("%s: a failed benchmark must say why", tt.name)
		}
	}
}

// TestSweepWork checks that Start removes the work files of deleted
// records and keeps those of live ones.
func TestSweepWork(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir())
	c := e.client(t, Deps{Extractor: Ingest{}})
	events, unsub := c.Subscribe()
	defer unsub()
	start(t, c)
	e.tinyBase(t)
	d := e.ready(t, c, events, "a.md", "# A\n\ntext")
	live, liveModel := e.newAlignment(t, attune.Hyperparameters{}, "", d.ID)
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	dirs := map[string]bool{ // path → whether it must survive
		c.checkpointDir(e.user.ID, live.ID):                              true,
		c.adapterDir(e.user.ID, liveModel.ID):                            true,
		c.adapterDir(e.user.ID, liveModel.ID) + earlySuffix:              true,
		c.checkpointDir(e.user.ID, attune.NewID(attune.PrefixAlignment)): false,
		c.adapterDir(e.user.ID, attune.NewID(attune.PrefixModel)):        false,
		c.adapterDir("user_gone", attune.NewID(attune.PrefixModel)):      false,
	}
	for dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c2 := e.client(t, Deps{})
	start(t, c2)
	for dir, keep := range dirs {
		_, err := os.Stat(dir)
		if got := err == nil; got != keep {
			t.Errorf("%s: kept %v, want %v", dir, got, keep)
		}
	}
}
