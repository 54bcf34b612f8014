// Package train fine-tunes LoRA adapters on Qwen2 models: a training
// forward pass that keeps its activations, the backward pass down to the
// LoRA factors with the base weights frozen, mean token cross-entropy with
// label masking, AdamW with warm-up and cosine decay, gradient clipping and
// accumulation, packed batches, atomic checkpoints with exact resume, and
// early stopping on held-out loss.
//
// The entry point is Run:
//
//	cfg := train.DefaultConfig()
//	cfg.CheckpointDir = dir
//	res, err := train.Run(ctx, cfg, model, train.Dataset{Train: examples}, progress)
//
// Run resumes from the last checkpoint in cfg.CheckpointDir when there is
// one, so a killed run started again with the same arguments ends with the
// same adapter as a run never interrupted. Canceling ctx stops a run after
// saving a checkpoint of its last completed step.
//
// Batches: examples are packed into rows of MaxSeqLen positions in the
// order of a seeded per-epoch shuffle. Each packed example keeps its own
// position ids (restarting at 0) and attends only to itself, so packing
// changes no example's loss; it only saves the padding. NoPack gives every
// example a row of its own.
//
// Data: ReadJSONL reads {"text": …} and {"messages": […]} lines;
// TextExample and ChatExample build examples from text and conversations
// directly (a conversation trains only on the assistant's turns).
//
// Loss: each optimizer step minimises the mean cross-entropy over all the
// labelled tokens of its Batch rows, however they split into micro-batches
// (gradient accumulation divides by the step's token count, not by the
// number of micro-batches).
package train

import (
	"math"
	"slices"
	"time"

	"attune"
	"attune/engine/lora"
	"attune/engine/qwen2"
)

// Config configures a training run. Start from DefaultConfig; a zero field
// of a Config passed to Run takes its default too, except where a comment
// says zero means off.
type Config struct {
	Epochs  int     // passes over the training set; default 2
	LR      float64 // peak learning rate; default 1e-4
	Rank    int     // LoRA rank r; default 8
	Alpha   float64 // LoRA alpha (scaling alpha / r); default 16
	Dropout float64 // LoRA dropout on the adapter input; 0 (default) is off
	// Targets are the adapted projections; default all seven.
	Targets []qwen2.Target

	Batch      int  // rows (sequences) per optimizer step; default 16
	MicroBatch int  // rows per forward pass; Batch must be a multiple; default min(Batch, 4)
	MaxSeqLen  int  // positions per row; longer examples are cut; default 512
	NoPack     bool // give every example a row of its own instead of packing

	WarmupRatio float64 // share of the steps spent warming up; default 0.03
	WeightDecay float64 // decoupled weight decay; 0 (default) is off
	Beta1       float64 // default 0.9
	Beta2       float64 // default 0.999
	Eps         float64 // default 1e-8
	MaxGradNorm float64 // clip the global gradient norm to this; default 1; negative is off

	Seed uint64 // seeds the adapter init, the shuffle and the dropout masks

	// CheckpointDir holds the checkpoints ("last", and "best" when
	// evaluating); empty keeps nothing on disk and cannot resume.
	CheckpointDir   string
	CheckpointEvery int // steps between checkpoints; 0 saves only at the end

	EvalEvery int // steps between held-out evaluations; 0 is off
	Patience  int // evaluations without improvement before stopping; 0 never stops

	// BaseModel is recorded in the adapter's config as
	// base_model_name_or_path.
	BaseModel string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{}.WithDefaults() }

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	def := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	defInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defInt(&c.Epochs, 2)
	def(&c.LR, 1e-4)
	defInt(&c.Rank, 8)
	def(&c.Alpha, 16)
	defInt(&c.Batch, 16)
	defInt(&c.MicroBatch, min(c.Batch, 4))
	defInt(&c.MaxSeqLen, 512)
	def(&c.WarmupRatio, 0.03)
	def(&c.Beta1, 0.9)
	def(&c.Beta2, 0.999)
	def(&c.Eps, 1e-8)
	def(&c.MaxGradNorm, 1)
	if len(c.Targets) == 0 {
		c.Targets = slices.Clone(lora.AllTargets)
	}
	return c
}

// Validate reports the first bad field of c as a KindInvalid attune.Error
// naming it. It expects defaults applied.
func (c Config) Validate() error {
	bad := attune.Invalidf
	switch {
	case c.Epochs < 1 || c.Epochs > 1000:
		return bad("epochs", "epochs must be between 1 and 1000, got %d", c.Epochs)
	case !(c.LR > 0 && c.LR < 1):
		return bad("lr", "learning rate must be in (0, 1), got %g", c.LR)
	case c.Batch < 1:
		return bad("batch", "batch must be at least 1, got %d", c.Batch)
	case c.MicroBatch < 1 || c.Batch%c.MicroBatch != 0:
		return bad("micro_batch", "micro batch must divide the batch of %d, got %d", c.Batch, c.MicroBatch)
	case c.MaxSeqLen < 2 || c.MaxSeqLen > 1<<17:
		return bad("max_seq_len", "max sequence length must be between 2 and 131072, got %d", c.MaxSeqLen)
	case !(c.WarmupRatio >= 0 && c.WarmupRatio < 1):
		return bad("warmup_ratio", "warm-up ratio must be in [0, 1), got %g", c.WarmupRatio)
	case !(c.WeightDecay >= 0 && c.WeightDecay < 1):
		return bad("weight_decay", "weight decay must be in [0, 1), got %g", c.WeightDecay)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return bad("beta1", "beta1 must be in [0, 1), got %g", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return bad("beta2", "beta2 must be in [0, 1), got %g", c.Beta2)
	case !(c.Eps > 0):
		return bad("eps", "eps must be positive, got %g", c.Eps)
	case math.IsNaN(c.MaxGradNorm):
		return bad("max_grad_norm", "max grad norm is NaN")
	case c.CheckpointEvery < 0:
		return bad("checkpoint_every", "checkpoint interval must not be negative, got %d", c.CheckpointEvery)
	case c.EvalEvery < 0:
		return bad("eval_every", "eval interval must not be negative, got %d", c.EvalEvery)
	case c.Patience < 0:
		return bad("patience", "patience must not be negative, got %d", c.Patience)
	}
	return c.loraConfig().Validate()
}

// loraConfig returns the adapter configuration of c.
func (c Config) loraConfig() lora.Config {
	return lora.Config{Rank: c.Rank, Alpha: c.Alpha, Dropout: c.Dropout,
		Targets: c.Targets, BaseModel: c.BaseModel}
}

// Dataset is what Run trains on: tokenised examples, and optionally
// held-out ones for evaluation and early stopping.
type Dataset struct {
	Train []Example
	Eval  []Example
}

// Progress reports a training run's state after each optimizer step and
// each evaluation.
type Progress struct {
	Step, TotalSteps int
	Epoch            int     // 0-based epoch of the step
	Loss             float64 // mean token loss of the step's batch
	LR               float64 // learning rate the step used
	GradNorm         float64 // global gradient norm before clipping
	TokensPerSec     float64 // tokens (padding excluded) through forward and backward a second, over this invocation
	ETA              time.Duration
	EvalLoss         float64 // held-out loss, when Evaluated
	Evaluated        bool    // an evaluation ran after this step
}

// Result is the outcome of a run.
type Result struct {
	// Adapter is the trained adapter: the best on held-out loss when
	// evaluation ran, else the last.
	Adapter      *lora.Adapter
	Steps        int     // optimizer steps taken in all (resumed ones included)
	TotalSteps   int     // steps the full schedule has
	Loss         float64 // loss of the last step
	BestEvalLoss float64 // NaN when evaluation did not run
	StoppedEarly bool    // early stopping ended the run
	Resumed      bool    // the run continued from a checkpoint
}
