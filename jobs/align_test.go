package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"attune"
	"attune/engine/lora"
	"attune/engine/qwen2"
	"attune/runtime"

	"github.com/riverqueue/river"
)

// ready ingests a document for e's user and returns it READY.
func (e *env) ready(t *testing.T, c *Client, events <-chan *river.Event, filename, text string) attune.Document {
	t.Helper()
	d := e.upload(t, filename, []byte(text))
	if err := c.IngestDocument(context.Background(), e.user.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	waitJob(t, events, "ingest_document")
	if d = e.readDoc(t, d.ID); d.Status != attune.StatusReady {
		t.Fatalf("document %s: %s %q", filename, d.Status, d.Error)
	}
	return d
}

// tinyBase registers the tiny reference model as a base model.
func (e *env) tinyBase(t *testing.T) attune.BaseModel {
	t.Helper()
	path, err := filepath.Abs("../testdata/reference/qwen2-tiny")
	if err != nil {
		t.Fatal(err)
	}
	m := attune.BaseModel{ID: "tiny", Path: path, Architecture: "qwen2", ContextLength: 512, AlignmentReady: true}
	if err := e.store.CreateBaseModel(context.Background(), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// newAlignment stores an alignment of the tiny model over docs, with the
// given benchmark (none when empty).
func (e *env) newAlignment(t *testing.T, h attune.Hyperparameters, benchmark string, docs ...string) (attune.Alignment, attune.AlignedModel) {
	t.Helper()
	a := attune.Alignment{ID: attune.NewID(attune.PrefixAlignment), OwnerID: e.user.ID, Name: "fruit",
		BaseModel: "tiny", DocumentIDs: docs, BenchmarkID: benchmark, Hyperparameters: h.WithDefaults(),
		Status: attune.AlignmentQueued, Stage: attune.StageQueued}
	m := attune.AlignedModel{ID: attune.NewID(attune.PrefixModel), Name: "fruit",
		Status: attune.ModelTraining, DeploymentStatus: attune.Undeployed}
	if err := e.store.CreateAlignment(context.Background(), &a, &m); err != nil {
		t.Fatal(err)
	}
	return a, m
}

// TestAlignTiny runs the alignment pipeline with real training on the tiny
// reference model and a real evaluation through the runtime before and
// after, then deploys and undeploys the result.
func TestAlignTiny(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir())
	rt, err := runtime.New(runtime.Config{MaxTokens: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	c := e.client(t, Deps{Extractor: Ingest{}, Trainer: EngineTrainer{}, Deployer: AdapterCheck{},
		Evaluator: RuntimeEvaluator{Runtime: rt, MaxTokens: 8}})
	events, unsub := c.Subscribe()
	defer unsub()
	start(t, c)
	e.tinyBase(t)
	d := e.ready(t, c, events, "fruit.md", "# Fruit\n\nApples are red. Pears are green. Plums are purple.\n")
	b := attune.Benchmark{ID: attune.NewID(attune.PrefixBenchmark), OwnerID: e.user.ID, Name: "fruit",
		Type: attune.BenchmarkUploaded, DocumentIDs: []string{d.ID}, Status: attune.StatusReady,
		Questions: []attune.Question{{QuestionNum: 1, Question: "What colour are apples?", Answer: "red"},
			{QuestionNum: 2, Question: "What colour are plums?", Answer: "purple"}}}
	if err := e.store.CreateBenchmark(ctx, &b); err != nil {
		t.Fatal(err)
	}

	h := attune.Hyperparameters{Epochs: 1, BatchSize: 1, MaxSeqLen: 32, LoRARank: 2, LoRAAlpha: 4}
	a, m := e.newAlignment(t, h, b.ID, d.ID)
	if err := c.StartAlignment(ctx, e.user.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if ev := waitJob(t, events, "align"); ev.Kind != river.EventKindJobCompleted {
		t.Fatalf("align job ended %s", ev.Kind)
	}

	got, err := e.store.Alignment(ctx, e.user.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != attune.AlignmentReady || got.Progress != 100 || got.TrainingCompleted == nil ||
		!*got.TrainingCompleted || got.Step < 1 || got.CompletedAt == nil || got.Error != "" ||
		got.Metrics == nil || got.EvaluationID == "" {
		t.Fatalf("alignment after the job: %+v", got)
	}
	ev, err := e.store.Evaluation(ctx, e.user.ID, got.EvaluationID)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Method   string            `json:"method"`
		Details  []json.RawMessage `json:"detailed_results"`
		Baseline struct {
			ModelID string `json:"model_id"`
		} `json:"baseline"`
	}
	if err := json.Unmarshal(ev.Results, &res); err != nil || ev.Status != attune.StatusReady ||
		res.Method != "eval-compare" || len(res.Details) != 4 || res.Baseline.ModelID != "tiny" ||
		ev.QuestionsCompleted != 4 {
		t.Fatalf("evaluation %s (%d/%d): %s, %v", ev.Status, ev.QuestionsCompleted, ev.TotalQuestions, ev.Results, err)
	}
	model, err := e.store.AlignedModel(ctx, e.user.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := qwen2.LoadConfig(filepath.Join("..", "testdata", "reference", "qwen2-tiny"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lora.Load(model.AdapterPath, cfg); model.Status != attune.ModelEvaluated || err != nil {
		t.Fatalf("model %s with adapter %q: %v", model.Status, model.AdapterPath, err)
	}
	if _, err := os.Stat(c.checkpointDir(e.user.ID, a.ID)); !os.IsNotExist(err) || got.Checkpoint != "" {
		t.Errorf("checkpoints of a finished alignment remain: %v, %q", err, got.Checkpoint)
	}

	// A user's evaluation of the aligned model alone.
	single := attune.Evaluation{ID: attune.NewID(attune.PrefixEvaluation), OwnerID: e.user.ID,
		ModelID: m.ID, BenchmarkID: b.ID, Status: attune.StatusProcessing}
	if err := e.store.CreateEvaluation(ctx, &single); err != nil {
		t.Fatal(err)
	}
	if err := c.Evaluate(ctx, e.user.ID, single.ID); err != nil {
		t.Fatal(err)
	}
	if ev := waitJob(t, events, "evaluate"); ev.Kind != river.EventKindJobCompleted {
		t.Fatalf("evaluate job ended %s", ev.Kind)
	}
	single, _ = e.store.Evaluation(ctx, e.user.ID, single.ID)
	if err := json.Unmarshal(single.Results, &res); err != nil || single.Status != attune.StatusReady ||
		res.Method != "eval" || len(res.Details) != 2 || single.EndedAt == nil {
		t.Fatalf("single evaluation %s: %s, %v", single.Status, single.Results, err)
	}

	// Deploy, then undeploy.
	for _, kind := range []attune.TaskKind{attune.TaskDeploy, attune.TaskUndeploy} {
		task := attune.DeploymentTask{ID: attune.NewID(attune.PrefixTask), OwnerID: e.user.ID, ModelID: m.ID, Kind: kind}
		if err := e.store.CreateDeploymentTask(ctx, &task); err != nil {
			t.Fatal(err)
		}
		enqueue := c.Deploy
		if kind == attune.TaskUndeploy {
			enqueue = c.Undeploy
		}
		if err := enqueue(ctx, e.user.ID, task.ID); err != nil {
			t.Fatal(err)
		}
		waitJob(t, events, string(kind))
		done, err := e.store.DeploymentTask(ctx, e.user.ID, task.ID)
		if err != nil || done.Status != attune.TaskCompleted || done.EndedAt == nil {
			t.Fatalf("%s task: %+v, %v", kind, done, err)
		}
	}
	if model, _ = e.store.AlignedModel(ctx, e.user.ID, m.ID); model.DeploymentStatus != attune.Undeployed {
		t.Errorf("after undeploy: %s", model.DeploymentStatus)
	}
}

// stall is a Trainer that reports one step with a checkpoint, signals,
// and then reports another step whenever tick says, until its context
// ends, as a long run does.
type stall struct {
	checkpoint string
	started    chan struct{}
	tick       chan struct{}
}

func (s stall) Train(ctx context.Context, req TrainRequest, progress func(TrainProgress)) (TrainResult, error) {
	p := TrainProgress{Step: 1, TotalSteps: 100, Loss: 2.5, ETASeconds: 99, Checkpoint: s.checkpoint}
	progress(p)
	s.started <- struct{}{}
	for {
		select {
		case <-ctx.Done():
			return TrainResult{}, ctx.Err()
		case <-s.tick:
			p.Step++
			progress(p)
		}
	}
}

// TestStopAlignment stops a training alignment and checks that it ends
// STOPPED, keeping its checkpoint for its model, and that stopping twice is
// a conflict.
func TestStopAlignment(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir())
	tr := stall{checkpoint: filepath.Join(t.TempDir(), "last"), started: make(chan struct{}, 1),
		tick: make(chan struct{})}
	c := e.client(t, Deps{Extractor: Ingest{}, Trainer: tr})
	events, unsub := c.Subscribe()
	defer unsub()
	start(t, c)
	e.tinyBase(t)
	d := e.ready(t, c, events, "a.md", "# A\n\nSome text.")
	a, m := e.newAlignment(t, attune.Hyperparameters{}, "", d.ID)
	if err := c.StartAlignment(ctx, e.user.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	<-tr.started

	mid, err := e.store.Alignment(ctx, e.user.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mid.Status != attune.AlignmentProcessing || mid.Stage != attune.StageTraining ||
		mid.EstimatedCompletion == nil || mid.Progress <= progressBenchmark || mid.TrainingCompleted == nil {
		t.Errorf("alignment while training: %+v", mid)
	}

	if _, err := c.StopAlignment(ctx, e.user.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if ev := waitJob(t, events, "align"); ev.Kind != river.EventKindJobCompleted {
		t.Fatalf("stopped align job ended %s, want completed", ev.Kind)
	}
	got, _ := e.store.Alignment(ctx, e.user.ID, a.ID)
	model, _ := e.store.AlignedModel(ctx, e.user.ID, m.ID)
	if got.Status != attune.AlignmentStopped || got.Checkpoint != tr.checkpoint ||
		model.Status != attune.ModelStopped || model.AdapterPath != tr.checkpoint {
		t.Errorf("after stop: alignment %s checkpoint %q, model %s adapter %q",
			got.Status, got.Checkpoint, model.Status, model.AdapterPath)
	}
	if _, err := c.StopAlignment(ctx, e.user.ID, a.ID); attune.ErrorKind(err) != attune.KindConflict {
		t.Errorf("stopping twice: got %v, want KindConflict", err)
	}

	// Stopped while still queued: the job does nothing but stop the model.
	q, qm := e.newAlignment(t, attune.Hyperparameters{}, "", d.ID)
	if _, err := c.StopAlignment(ctx, e.user.ID, q.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.StartAlignment(ctx, e.user.ID, q.ID); err != nil {
		t.Fatal(err)
	}
	if ev := waitJob(t, events, "align"); ev.Kind != river.EventKindJobCompleted {
		t.Fatalf("align job of a stopped alignment ended %s", ev.Kind)
	}
	if model, _ := e.store.AlignedModel(ctx, e.user.ID, qm.ID); model.Status != attune.ModelStopped {
		t.Errorf("model of an alignment stopped while queued: %s, want STOPPED", model.Status)
	}

	// Deleted while training: the job ends quietly and its checkpoints go.
	del, _ := e.newAlignment(t, attune.Hyperparameters{}, "", d.ID)
	ckpt := c.checkpointDir(e.user.ID, del.ID)
	if err := os.MkdirAll(ckpt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := c.StartAlignment(ctx, e.user.ID, del.ID); err != nil {
		t.Fatal(err)
	}
	<-tr.started
	if err := e.store.DeleteAlignment(ctx, e.user.ID, del.ID); err != nil {
		t.Fatal(err)
	}
	tr.tick <- struct{}{} // the next step's progress finds it gone
	if ev := waitJob(t, events, "align"); ev.Kind != river.EventKindJobCompleted {
		t.Fatalf("align job of a deleted alignment ended %s", ev.Kind)
	}
	if _, err := os.Stat(ckpt); !os.IsNotExist(err) {
		t.Errorf("checkpoints of a deleted alignment remain: %v", err)
	}
}

// done is a Trainer that finishes at once, for tests of the pipeline
// around training.
type done struct{}

func (done) Train(ctx context.Context, req TrainRequest, progress func(TrainProgress)) (TrainResult, error) {
	progress(TrainProgress{Step: 3, TotalSteps: 3, Loss: 1})
	return TrainResult{AdapterDir: req.AdapterDir, Steps: 3, Loss: 1}, nil
}

// TestAlignGeneratesBenchmark checks the benchmark stage: an alignment
// without a benchmark gets one generated from its documents, and one whose
// documents hold nothing to ask about still trains and ends READY.
func TestAlignGeneratesBenchmark(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir())
	c := e.client(t, Deps{Extractor: Ingest{}, Generator: Extractive{}, Trainer: done{}})
	events, unsub := c.Subscribe()
	defer unsub()
	start(t, c)
	e.tinyBase(t)
	faq, err := os.ReadFile("../testdata/corpora/debian-faq/documents/01-basic-defs.md")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		text          string
		wantBenchmark bool
	}{
		{"faq", string(faq), true},
		{"nothing to ask", "ok", false},
	}
	for i, tt := range tests {
		d := e.ready(t, c, events, fmt.Sprintf("d%d.md", i), tt.text)
		a, _ := e.newAlignment(t, attune.Hyperparameters{}, "", d.ID)
		if err := c.StartAlignment(ctx, e.user.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		waitJob(t, events, "align")
		got, err := e.store.Alignment(ctx, e.user.ID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != attune.AlignmentReady || (got.BenchmarkID != "") != tt.wantBenchmark {
			t.Fatalf("%s: alignment %s %q with benchmark %q", tt.name, got.Status, got.Error, got.BenchmarkID)
		}
		if !tt.wantBenchmark {
			continue
		}
		b, err := e.store.Benchmark(ctx, e.user.ID, got.BenchmarkID)
		if err != nil || b.Status != attune.StatusReady || len(b.Questions) == 0 || b.Type != attune.BenchmarkGenerated {
			t.Errorf("%s: generated benchmark %+v, %v", tt.name, b, err)
		}
	}
}

// TestEarlyDeploy deploys the newest checkpoint of a running alignment: the
// deploy job serves a copy of it, which survives training replacing its
// checkpoint and the alignment being stopped.
func TestEarlyDeploy(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t.TempDir())

	// A real adapter of the tiny model's shape stands in as the checkpoint.
	cfg, err := qwen2.LoadConfig(filepath.Join("..", "testdata", "reference", "qwen2-tiny"))
	if err != nil {
		t.Fatal(err)
	}
	ad, err := lora.New(lora.Config{Rank: 2}, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(t.TempDir(), "last")
	if err := ad.Save(ckpt); err != nil {
		t.Fatal(err)
	}

	tr := stall{checkpoint: ckpt, started: make(chan struct{}, 1), tick: make(chan struct{})}
	c := e.client(t, Deps{Extractor: Ingest{}, Trainer: tr, Deployer: AdapterCheck{}})
	events, unsub := c.Subscribe()
	defer unsub()
	start(t, c)
	e.tinyBase(t)
	d := e.ready(t, c, events, "a.md", "# A\n\ntext")
	a, m := e.newAlignment(t, attune.Hyperparameters{}, "", d.ID)
	if err := c.StartAlignment(ctx, e.user.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	<-tr.started

	task := attune.DeploymentTask{ID: attune.NewID(attune.PrefixTask), OwnerID: e.user.ID,
		ModelID: m.ID, Kind: attune.TaskDeploy, Early: true}
	if err := e.store.CreateDeploymentTask(ctx, &task); err != nil {
		t.Fatal(err)
	}
	if err := c.Deploy(ctx, e.user.ID, task.ID); err != nil {
		t.Fatal(err)
	}
	waitJob(t, events, "deploy")
	model, _ := e.store.AlignedModel(ctx, e.user.ID, m.ID)
	if model.DeploymentStatus != attune.Deployed || model.AdapterPath != c.adapterDir(e.user.ID, m.ID)+earlySuffix {
		t.Fatalf("early-deployed model: %s with adapter %q", model.DeploymentStatus, model.AdapterPath)
	}

	// Training replaces its checkpoint; the deployed copy stays loadable.
	if err := os.RemoveAll(ckpt); err != nil {
		t.Fatal(err)
	}
	if _, err := lora.Load(model.AdapterPath, cfg); err != nil {
		t.Errorf("the deployed copy does not load: %v", err)
	}
	if _, err := c.StopAlignment(ctx, e.user.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	waitJob(t, events, "align")
	if model, _ = e.store.AlignedModel(ctx, e.user.ID, m.ID); model.AdapterPath != c.adapterDir(e.user.ID, m.ID)+earlySuffix ||
		model.DeploymentStatus != attune.Deployed {
		t.Errorf("after stop: %s with adapter %q", model.DeploymentStatus, model.AdapterPath)
	}
}
