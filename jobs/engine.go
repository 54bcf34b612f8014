package jobs

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"attune"
	"attune/engine/lora"
	"attune/engine/qwen2"
	"attune/engine/tokenizer"
	"attune/engine/train"
	"attune/ingest"
)

// EngineTrainer is the real Trainer: LoRA training with engine/train on
// the base model, over the alignment's documents cut into chunks that fit
// the sequence length, each chunk a text example.
//
// TODO(synth): add question/answer chat examples from synth's training-set
// generation once it lands; until then the adapter learns the documents'
// text alone.
type EngineTrainer struct{}

// Train runs (or resumes) a training run and saves the adapter.
func (EngineTrainer) Train(ctx context.Context, req TrainRequest, progress func(TrainProgress)) (TrainResult, error) {
	model, err := qwen2.Load(req.BaseModel.Path)
	if err != nil {
		return TrainResult{}, fmt.Errorf("cannot load base model %s: %w", req.BaseModel.ID, err)
	}
	defer model.Close()
	tok, err := tokenizer.Load(req.BaseModel.Path)
	if err != nil {
		return TrainResult{}, fmt.Errorf("cannot load the tokenizer of %s: %w", req.BaseModel.ID, err)
	}
	examples, err := textExamples(tok, req)
	if err != nil {
		return TrainResult{}, err
	}

	h := req.Hyperparameters
	cfg := train.DefaultConfig()
	cfg.Epochs, cfg.LR, cfg.Rank, cfg.Alpha = h.Epochs, h.LearningRate, h.LoRARank, h.LoRAAlpha
	cfg.Batch, cfg.MaxSeqLen, cfg.Seed = h.BatchSize, h.MaxSeqLen, uint64(h.Seed)
	cfg.MicroBatch = min(cfg.Batch, 4)
	cfg.CheckpointDir, cfg.CheckpointEvery = req.CheckpointDir, req.CheckpointEvery
	cfg.BaseModel = req.BaseModel.ID

	res, err := train.Run(ctx, cfg, model, train.Dataset{Train: examples}, func(p train.Progress) {
		progress(TrainProgress{Step: p.Step, TotalSteps: p.TotalSteps, Loss: p.Loss,
			TokensPerSec: p.TokensPerSec, ETASeconds: p.ETA.Seconds(),
			Checkpoint: train.LastCheckpoint(req.CheckpointDir)})
	})
	if err != nil {
		return TrainResult{}, err
	}
	if err := res.Adapter.Save(req.AdapterDir); err != nil {
		return TrainResult{}, fmt.Errorf("cannot save the adapter: %w", err)
	}
	return TrainResult{AdapterDir: req.AdapterDir, Steps: res.Steps, Loss: res.Loss}, nil
}

// textExamples cuts the documents into chunks of at most MaxSeqLen tokens
// and makes each a text example, leaving out any chunk that holds a
// benchmark question word for word, so the benchmark stays held out.
func textExamples(tok *tokenizer.Tokenizer, req TrainRequest) ([]train.Example, error) {
	count := func(s string) int { return len(tok.Encode(s)) }
	opts := ingest.ChunkOptions{MaxTokens: req.Hyperparameters.MaxSeqLen - 1, Count: count}
	var out []train.Example
	for _, d := range req.Documents {
		doc := &ingest.Document{Text: d.Text}
		for _, ch := range ingest.Split(d.ID, doc, opts) {
			if holdsQuestion(ch.Text, req.Benchmark) {
				continue
			}
			ex, err := train.TextExample(tok, ch.Text)
			if err != nil {
				return nil, fmt.Errorf("cannot tokenise %s: %w", d.Filename, err)
			}
			out = append(out, ex)
		}
	}
	if len(out) == 0 {
		return nil, attune.Errorf(attune.KindInvalid, "the documents hold no text to train on")
	}
	return out, nil
}

// holdsQuestion reports whether text contains one of qs's questions.
func holdsQuestion(text string, qs []attune.Question) bool {
	for _, q := range qs {
		if q.Question != "" && strings.Contains(text, q.Question) {
			return true
		}
	}
	return false
}

// AdapterCheck is a Deployer that proves an adapter can be served by
// loading it against its base model's shape. The runtime loads adapters on
// first use, so nothing more is needed to serve.
type AdapterCheck struct{}

// Deploy checks the adapter.
func (d AdapterCheck) Deploy(ctx context.Context, m attune.AlignedModel, base attune.BaseModel, adapterDir string) error {
	cfg, err := qwen2.LoadConfig(base.Path)
	if err != nil {
		return fmt.Errorf("cannot read base model %s: %w", base.ID, err)
	}
	if _, err := lora.Load(adapterDir, cfg); err != nil {
		return attune.Errorf(attune.KindInvalid, "the adapter of %s cannot be loaded: %v", m.ID, err)
	}
	return nil
}

// copyAdapter copies an adapter's two PEFT files from src into a new
// directory dst, through a temporary directory renamed at the end.
func copyAdapter(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".adapter-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, name := range []string{lora.ConfigName, lora.WeightsName} {
		if err := copyFile(filepath.Join(src, name), filepath.Join(tmp, name)); err != nil {
			return fmt.Errorf("cannot copy the adapter: %w", err)
		}
	}
	os.RemoveAll(dst)
	return os.Rename(tmp, dst)
}

// copyFile copies one file and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// Evictor is the part of the serving runtime an undeploy needs;
// *runtime.Runtime has it.
type Evictor interface {
	Evict(modelID string)
}

// RuntimeUndeployer undeploys by evicting the model's adapter from the
// runtime.
type RuntimeUndeployer struct{ Runtime Evictor }

// Undeploy evicts the model.
func (u RuntimeUndeployer) Undeploy(ctx context.Context, modelID string) error {
	u.Runtime.Evict(modelID)
	return nil
}
