package jobs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"attune"
	"attune/engine/kernels"
	"attune/engine/lora"
	"attune/engine/qwen2"
	"attune/engine/tokenizer"
	"attune/engine/train"
	"attune/ingest"
	"attune/synth"
)

// EngineTrainer is the real Trainer: LoRA training with engine/train on
// the base model. The training set is synth's: the documents cut into
// chunks that fit the sequence length, as text examples, and the
// question/answer pairs synth's extractive generator reads off them, as chat
// examples in several phrasings; no example holds a benchmark question
// verbatim. A tenth of the examples is held out for early stopping when
// there are enough.
type EngineTrainer struct {
	// Nice, when above 0, runs training on threads of that nice value
	// (up to 19), so that a server in the same process keeps answering
	// quickly while a run takes every core: the run gets what the
	// requests leave.
	Nice int
	// Logger reports a priority that could not be lowered; nil for
	// slog's default.
	Logger *slog.Logger
}

// Train runs (or resumes) a training run and saves the adapter.
func (t EngineTrainer) Train(ctx context.Context, req TrainRequest, progress func(TrainProgress)) (TrainResult, error) {
	var res TrainResult
	err, niceErr := kernels.RunNiced(t.Nice, func() (err error) {
		res, err = t.train(ctx, req, progress)
		return err
	})
	if niceErr != nil {
		log := t.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("training runs at normal priority", slog.String("error", niceErr.Error()))
	}
	return res, err
}

func (EngineTrainer) train(ctx context.Context, req TrainRequest, progress func(TrainProgress)) (TrainResult, error) {
	model, err := qwen2.Load(req.BaseModel.Path)
	if err != nil {
		return TrainResult{}, fmt.Errorf("cannot load base model %s: %w", req.BaseModel.ID, err)
	}
	defer model.Close()
	tok, err := tokenizer.Load(req.BaseModel.Path)
	if err != nil {
		return TrainResult{}, fmt.Errorf("cannot load the tokenizer of %s: %w", req.BaseModel.ID, err)
	}
	data, err := trainingSet(ctx, tok, req)
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
	if len(data.Eval) > 0 {
		// Early stopping judges the held-out slice every half epoch (or
		// checkpoint, if rarer) and stops after three such checks without
		// improvement: a model that learns facts one at a time often gets
		// worse on the held-out ones before it gets better, and checks
		// every few steps stopped such runs within their first epoch.
		cfg.EvalEvery, cfg.Patience = max(req.CheckpointEvery, 1, len(data.Train)/max(h.BatchSize, 1)/2), 3
	}

	res, err := train.Run(ctx, cfg, model, data, func(p train.Progress) {
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

// trainingSet builds and tokenises the examples of a run.
func trainingSet(ctx context.Context, tok *tokenizer.Tokenizer, req TrainRequest) (train.Dataset, error) {
	// Chunks sized in the model's own tokens, leaving room for the end token.
	count := func(s string) int { return len(tok.Encode(s)) }
	opts := ingest.ChunkOptions{MaxTokens: req.Hyperparameters.MaxSeqLen - 1, Count: count}
	var chunks []ingest.Chunk
	for _, d := range req.Documents {
		doc := &ingest.Document{Format: ingest.FormatOf(d.Filename), Text: d.Text}
		chunks = append(chunks, ingest.Split(d.ID, doc, opts)...)
	}
	pairs, err := synth.Extractive{Seed: uint64(req.Hyperparameters.Seed)}.Generate(ctx, chunks, 0)
	if err != nil {
		return train.Dataset{}, err
	}
	held := make([]string, len(req.Benchmark))
	for i, q := range req.Benchmark {
		held[i] = q.Question
	}
	set := synth.BuildTrainingSet(chunks, pairs, held, synth.TrainingOptions{Seed: uint64(req.Hyperparameters.Seed)})
	if len(set.Train) >= 20 {
		set = synth.BuildTrainingSet(chunks, pairs, held,
			synth.TrainingOptions{Seed: uint64(req.Hyperparameters.Seed), HoldOut: 0.1})
	}

	var data train.Dataset
	if data.Train, err = tokenise(tok, set.Train); err != nil {
		return data, err
	}
	if data.Eval, err = tokenise(tok, set.HoldOut); err != nil {
		return data, err
	}
	if len(data.Train) == 0 {
		return data, attune.Errorf(attune.KindInvalid, "the documents hold no text to train on")
	}
	return data, nil
}

// tokenise turns synth's examples into training examples: text ones fully
// labelled, chat ones labelled on the assistant's turns.
func tokenise(tok *tokenizer.Tokenizer, exs []synth.Example) ([]train.Example, error) {
	out := make([]train.Example, 0, len(exs))
	for _, ex := range exs {
		var te train.Example
		var err error
		if len(ex.Messages) > 0 {
			msgs := make([]tokenizer.Message, len(ex.Messages))
			for i, m := range ex.Messages {
				msgs[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
			}
			te, err = train.ChatExample(tok, msgs)
		} else {
			te, err = train.TextExample(tok, ex.Text)
		}
		if err != nil {
			return nil, fmt.Errorf("cannot tokenise a training example: %w", err)
		}
		out = append(out, te)
	}
	return out, nil
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
