package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"attune/engine/lora"
	"attune/engine/qwen2"
	"attune/engine/tokenizer"
	"attune/engine/train"
)

func init() {
	register("train", "fine-tune a LoRA adapter on a JSONL file", trainCmd)
}

// trainCmd trains a LoRA adapter and writes it to --out in PEFT layout,
// with its checkpoints under --out/checkpoints.
func trainCmd(ctx context.Context, args []string) error {
	def := train.DefaultConfig()
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	model := fs.String("model", "", "base model directory (Hugging Face layout)")
	data := fs.String("data", "", `training data: JSONL of {"text": ...} or {"messages": [...]} lines`)
	evalData := fs.String("eval", "", "held-out JSONL for evaluation and early stopping (optional)")
	out := fs.String("out", "", "directory for the adapter and its checkpoints")
	epochs := fs.Int("epochs", def.Epochs, "passes over the data")
	lr := fs.Float64("lr", def.LR, "peak learning rate")
	rank := fs.Int("rank", def.Rank, "LoRA rank")
	alpha := fs.Float64("alpha", def.Alpha, "LoRA alpha (scaling alpha/rank)")
	batch := fs.Int("batch", def.Batch, "sequences per optimizer step")
	micro := fs.Int("micro-batch", 0, "sequences per forward pass (default min(batch, 4)); batch must be a multiple")
	seq := fs.Int("seq", def.MaxSeqLen, "maximum sequence length; examples are packed into rows of this length")
	seed := fs.Uint64("seed", 0, "random seed")
	every := fs.Int("checkpoint-every", 50, "steps between checkpoints")
	evalEvery := fs.Int("eval-every", 0, "steps between evaluations on --eval (default: --checkpoint-every)")
	patience := fs.Int("patience", 0, "evaluations without improvement before stopping (0: never)")
	resume := fs.Bool("resume", false, "continue the run whose checkpoint is in --out")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: attune train --model DIR --data FILE.jsonl --out DIR [--epochs N] [--lr LR] [--rank R] [--alpha A] [--batch B] [--seq T] [--resume]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" || *data == "" || *out == "" {
		fs.Usage()
		return errors.New("train: --model, --data and --out are required")
	}

	if *evalData != "" && *evalEvery == 0 {
		*evalEvery = *every
	}
	cfg := train.Config{Epochs: *epochs, LR: *lr, Rank: *rank, Alpha: *alpha, Batch: *batch,
		MicroBatch: *micro, MaxSeqLen: *seq, Seed: *seed, CheckpointEvery: *every,
		EvalEvery: *evalEvery, Patience: *patience, BaseModel: *model,
		CheckpointDir: filepath.Join(*out, "checkpoints")}
	if last := train.LastCheckpoint(cfg.CheckpointDir); last != "" && !*resume {
		return fmt.Errorf("train: %s holds a checkpoint of an earlier run; pass --resume to continue it, or choose a new --out", *out)
	}

	m, err := qwen2.Load(*model)
	if err != nil {
		return err
	}
	defer m.Close()
	tok, err := tokenizer.Load(*model)
	if err != nil {
		return err
	}
	var ds train.Dataset
	if ds.Train, err = readExamples(*data, tok); err != nil {
		return err
	}
	if *evalData != "" {
		if ds.Eval, err = readExamples(*evalData, tok); err != nil {
			return err
		}
	}

	bar := newProgressBar(os.Stderr, "train")
	start := time.Now()
	res, err := train.Run(ctx, cfg, m, ds, func(p train.Progress) {
		detail := fmt.Sprintf("step %d/%d  loss %.4f  lr %.2e  %.0f tok/s  ETA %s",
			p.Step, p.TotalSteps, p.Loss, p.LR, p.TokensPerSec, p.ETA.Round(time.Second))
		if p.Evaluated {
			detail += fmt.Sprintf("  eval %.4f", p.EvalLoss)
		}
		bar.update(fmt.Sprintf("epoch %d", p.Epoch+1), float64(p.Step)/float64(p.TotalSteps), detail)
	})
	if err != nil {
		if ctx.Err() != nil {
			bar.done("stopped", "")
			return fmt.Errorf("train: stopped; the last checkpoint is in %s, run again with --resume to continue: %w", cfg.CheckpointDir, err)
		}
		return err
	}
	if err := res.Adapter.Save(*out); err != nil {
		return err
	}
	detail := fmt.Sprintf("%d steps, final loss %.4f", res.Steps, res.Loss)
	if !isNaN(res.BestEvalLoss) {
		detail += fmt.Sprintf(", best eval loss %.4f", res.BestEvalLoss)
	}
	bar.done("done", detail)
	fmt.Printf("wrote the adapter (%s and %s) to %s in %s\n", lora.ConfigName, lora.WeightsName, *out,
		time.Since(start).Round(time.Second))
	return nil
}

// readExamples reads a JSONL training file.
func readExamples(path string, tok *tokenizer.Tokenizer) ([]train.Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	es, err := train.ReadJSONL(f, tok)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", path, err)
	}
	return es, nil
}

func isNaN(f float64) bool { return f != f }
