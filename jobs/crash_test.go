package jobs

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"attune"
	"attune/blob"
	"attune/store/sqlite"

	"github.com/riverqueue/river"
)

// childEnv names the data directory a re-executed test binary runs jobs
// on, as the process that crashes in TestCrashResume; modeEnv says which
// step hangs: "ingest" (the default) or "train".
const (
	childEnv = "ATTUNE_JOBS_CRASH_CHILD"
	modeEnv  = "ATTUNE_JOBS_CRASH_MODE"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		if err := crashChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		return
	}
	os.Exit(m.Run())
}

// crashChild starts a job client whose extraction, or training after its
// first checkpoint, never finishes: it prints "running" then and waits to
// be killed.
func crashChild(dir string) error {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "attune.db"), sqlite.Options{})
	if err != nil {
		return err
	}
	bl, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		return err
	}
	c, err := New(ctx, Config{Path: filepath.Join(dir, "jobs.db"), WorkDir: filepath.Join(dir, "work"),
		PollInterval: 20 * time.Millisecond, CheckpointEvery: 1},
		Deps{Store: st, Blobs: bl, Extractor: hang{}, Trainer: hangTrainer{}})
	if err != nil {
		return err
	}
	if os.Getenv(modeEnv) == "train" {
		c.deps.Extractor = Ingest{}
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	select {}
}

// hangTrainer trains for real until the first checkpoint is written, then
// announces itself and never returns.
type hangTrainer struct{}

func (hangTrainer) Train(ctx context.Context, req TrainRequest, progress func(TrainProgress)) (TrainResult, error) {
	return EngineTrainer{}.Train(ctx, req, func(p TrainProgress) {
		progress(p)
		if p.Checkpoint != "" {
			fmt.Println("running")
			select {}
		}
	})
}

// hang is an Extractor that announces itself and never returns.
type hang struct{}

func (hang) Extract(ctx context.Context, filename string, data []byte) (string, int, error) {
	fmt.Println("running")
	select {}
}

// TestCrashResume kills a process in the middle of a job and checks that
// the next process on the same data directory runs the job to the end.
func TestCrashResume(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := newEnv(t, dir)
	d := e.upload(t, "a.md", []byte("# Apples\n\nApples grow on trees."))

	// The first process takes the job and dies with it running.
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+dir)
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	c := e.client(t, Deps{Extractor: Ingest{}})
	if err := c.IngestDocument(ctx, e.user.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "running" {
		t.Fatalf("child: got %q, %v; want running", line, err)
	}

	// While it lives, no second process may run jobs on the directory.
	if err := c.Start(ctx); err == nil || !strings.Contains(err.Error(), "another attune process") {
		t.Fatalf("Start beside a live process: got %v, want a lock error", err)
	}
	child.Process.Kill()
	child.Wait()

	// The next process resumes the job at once and finishes it.
	c2 := e.client(t, Deps{Extractor: Ingest{}})
	events, unsub := c2.Subscribe()
	defer unsub()
	start(t, c2)
	if ev := waitJob(t, events, "ingest_document"); ev.Kind != river.EventKindJobCompleted {
		t.Fatalf("resumed job ended %s", ev.Kind)
	}
	if got := e.readDoc(t, d.ID); got.Status != attune.StatusReady {
		t.Errorf("document after the crash: %s %q, want READY", got.Status, got.Error)
	}
}

// block is an Extractor that signals when it starts and returns when its
// context ends, as a step does on shutdown.
type block chan struct{}

func (b block) Extract(ctx context.Context, filename string, data []byte) (string, int, error) {
	close(b)
	<-ctx.Done()
	return "", 0, ctx.Err()
}

// TestShutdownResume stops a client in the middle of a job and checks
// that the job runs again, without using up an attempt, at the next start.
func TestShutdownResume(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir())
	d := e.upload(t, "a.md", []byte("# Pears\n\nPears are sweet."))

	started := make(block)
	c1 := e.client(t, Deps{Extractor: started})
	events1, unsub1 := c1.Subscribe()
	defer unsub1()
	if err := c1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c1.IngestDocument(ctx, e.user.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := c1.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := waitJob(t, events1, "ingest_document"); ev.Kind != river.EventKindJobSnoozed {
		t.Fatalf("interrupted job ended %s, want snoozed", ev.Kind)
	}
	if got := e.readDoc(t, d.ID); got.Status != attune.StatusProcessing {
		t.Fatalf("document after shutdown: %s, want still PROCESSING", got.Status)
	}

	c2 := e.client(t, Deps{Extractor: Ingest{}})
	events2, unsub2 := c2.Subscribe()
	defer unsub2()
	start(t, c2)
	ev := waitJob(t, events2, "ingest_document")
	if ev.Kind != river.EventKindJobCompleted || ev.Job.Attempt != 1 {
		t.Fatalf("resumed job: %s at attempt %d, want completed at attempt 1", ev.Kind, ev.Job.Attempt)
	}
	if got := e.readDoc(t, d.ID); got.Status != attune.StatusReady {
		t.Errorf("document after restart: %s %q, want READY", got.Status, got.Error)
	}
}

// TestCrashDuringTraining kills a process in the middle of training, after
// its first checkpoint, and checks that the next process resumes the
// alignment from that checkpoint and finishes it.
func TestCrashDuringTraining(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := newEnv(t, dir)
	e.tinyBase(t)

	// Ingest a document and store an alignment, without running it yet.
	c := e.client(t, Deps{Extractor: Ingest{}})
	events, unsub := c.Subscribe()
	start(t, c)
	text := "# Fruit\n\nApples are red. Pears are green. Plums are purple. Figs are sweet.\n"
	d := e.ready(t, c, events, "fruit.md", text)
	unsub()
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	h := attune.Hyperparameters{Epochs: 4, BatchSize: 1, MaxSeqLen: 32, LoRARank: 2, LoRAAlpha: 4}
	a, m := e.newAlignment(t, h, "", d.ID)

	// The first process trains until its first checkpoint and dies.
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+dir, modeEnv+"=train")
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	if err := c.StartAlignment(ctx, e.user.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "running" {
		t.Fatalf("child: got %q, %v; want running", line, err)
	}
	child.Process.Kill()
	child.Wait()
	mid, err := e.store.Alignment(ctx, e.user.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mid.Status != attune.AlignmentProcessing || mid.Checkpoint == "" || mid.Step < 1 {
		t.Fatalf("alignment after the crash: %s, checkpoint %q, step %d", mid.Status, mid.Checkpoint, mid.Step)
	}

	// The next process resumes and finishes; the adapter loads.
	c2 := e.client(t, Deps{Extractor: Ingest{}, Trainer: EngineTrainer{}})
	events2, unsub2 := c2.Subscribe()
	defer unsub2()
	start(t, c2)
	if ev := waitJob(t, events2, "align"); ev.Kind != river.EventKindJobCompleted {
		t.Fatalf("resumed align job ended %s", ev.Kind)
	}
	got, err := e.store.Alignment(ctx, e.user.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("crashed at step %d; resumed to step %d of %d", mid.Step, got.Step, got.TotalSteps)
	if got.Status != attune.AlignmentReady || got.Step != got.TotalSteps || got.Step <= mid.Step {
		t.Fatalf("alignment after resuming: %s at step %d of %d (crashed at %d)",
			got.Status, got.Step, got.TotalSteps, mid.Step)
	}
	model, err := e.store.AlignedModel(ctx, e.user.ID, m.ID)
	if err != nil || model.Status != attune.ModelReady || model.AdapterPath == "" {
		t.Fatalf("model after resuming: %+v, %v", model, err)
	}
}
