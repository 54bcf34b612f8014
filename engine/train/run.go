package train

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"

	"attune"
	"attune/engine/lora"
	"attune/engine/qwen2"
)

// Run trains a LoRA adapter for m on data and returns it. See the package
// documentation for batching, resume and cancellation. progress, which may
// be nil, is called after every optimizer step and evaluation from Run's
// goroutine.
//
// Errors: a KindInvalid attune.Error for a bad Config field or a bad
// example, a KindConflict one when the checkpoint in cfg.CheckpointDir was
// made with other settings or data, ctx's error (wrapped) when canceled,
// and I/O errors from checkpointing.
func Run(ctx context.Context, cfg Config, m *qwen2.Model, data Dataset, progress func(Progress)) (*Result, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkData(data, m.Config.VocabSize); err != nil {
		return nil, err
	}
	r, err := newRunner(cfg, m, data)
	if err != nil {
		return nil, err
	}
	return r.run(ctx, progress)
}

// checkData validates every example and requires something to train on.
func checkData(data Dataset, vocab int) error {
	for name, set := range map[string][]Example{"train": data.Train, "eval": data.Eval} {
		for i, e := range set {
			if err := e.Validate(vocab); err != nil {
				return attune.Invalidf("data", "%s example %d: %v", name, i, err)
			}
		}
	}
	for _, e := range data.Train {
		if e.trainable() > 0 {
			return nil
		}
	}
	return attune.Invalidf("data", "no training example has a labelled token to learn")
}

// runner is one training run in progress.
type runner struct {
	cfg    Config
	m      *qwen2.Model
	data   Dataset
	ad     *lora.Adapter
	opt    *adamW
	net    *net
	epochs [][][]Example // per epoch, the packed rows in training order
	starts []int         // first global step of each epoch, then the total
	warmup int
	st     state
	best   *lora.Adapter // the adapter at the best evaluation
}

// state is what a checkpoint records besides the adapter and moments.
type state struct {
	Step        int     `json:"step"`          // optimizer steps completed
	AdamSteps   int     `json:"adam_steps"`    // AdamW's t
	Epoch       int     `json:"epoch"`         // epoch of the next step
	Row         int     `json:"row"`           // data position: first row of the next step within its epoch
	Seed        uint64  `json:"seed"`          // the run's seed; shuffles and dropout masks derive from (seed, epoch, step)
	Loss        float64 `json:"loss"`          // loss of the last step
	BestEval    float64 `json:"best_eval"`     // best held-out loss so far; +Inf before any
	BestStep    int     `json:"best_step"`     // step of the best evaluation
	BadEvals    int     `json:"bad_evals"`     // evaluations since the best
	Stopped     bool    `json:"stopped_early"` // early stopping ended the run
	Fingerprint string  `json:"fingerprint"`   // settings and data the run was started with
}

func newRunner(cfg Config, m *qwen2.Model, data Dataset) (*runner, error) {
	ad, err := lora.New(cfg.loraConfig(), m.Config, cfg.Seed)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, m: m, data: data, ad: ad,
		opt: newAdamW(ad, cfg.Beta1, cfg.Beta2, cfg.Eps, cfg.WeightDecay)}
	r.st = state{Seed: cfg.Seed, BestEval: math.Inf(1), Fingerprint: fingerprint(cfg, data)}

	// Lay out every epoch now: the schedule needs the total step count.
	for e := range cfg.Epochs {
		order := shuffled(data.Train, cfg.Seed, e)
		rows := packRows(order, cfg.MaxSeqLen, !cfg.NoPack)
		r.starts = append(r.starts, r.total())
		r.epochs = append(r.epochs, rows)
	}
	r.starts = append(r.starts, r.total())
	r.warmup = int(math.Ceil(cfg.WarmupRatio * float64(r.total())))
	return r, nil
}

// total returns the number of optimizer steps of the epochs laid out so
// far.
func (r *runner) total() int {
	n := 0
	for _, rows := range r.epochs {
		n += (len(rows) + r.cfg.Batch - 1) / r.cfg.Batch
	}
	return n
}

// shuffled returns the examples in the order of epoch e: a permutation
// drawn from (seed, e).
func shuffled(es []Example, seed uint64, e int) []Example {
	out := append([]Example(nil), es...)
	rng := rand.New(rand.NewPCG(seed, 0x7368756666+uint64(e)))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// fingerprint hashes the settings that shape a run and its data, so that a
// resume with other ones is refused rather than silently mixed.
func fingerprint(cfg Config, data Dataset) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d %g %d %g %g %v %d %d %d %v %g %g %g %g %g %g %d|",
		cfg.Epochs, cfg.LR, cfg.Rank, cfg.Alpha, cfg.Dropout, cfg.Targets, cfg.Batch,
		cfg.MicroBatch, cfg.MaxSeqLen, cfg.NoPack, cfg.WarmupRatio, cfg.WeightDecay,
		cfg.Beta1, cfg.Beta2, cfg.Eps, cfg.MaxGradNorm, cfg.Seed)
	for _, set := range [][]Example{data.Train, data.Eval} {
		for _, e := range set {
			fmt.Fprint(h, e.Tokens, e.Labels)
		}
		fmt.Fprint(h, "|")
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

func (r *runner) run(ctx context.Context, progress func(Progress)) (*Result, error) {
	res := &Result{TotalSteps: r.total(), BestEvalLoss: math.NaN()}
	resumed, err := r.resume()
	if err != nil {
		return nil, err
	}
	res.Resumed = resumed
	r.net = newNet(r.m, r.ad, r.cfg.MicroBatch, r.cfg.MaxSeqLen)
	r.net.stop = func() bool { return ctx.Err() != nil }

	start, startStep, tokens := time.Now(), r.st.Step, 0
	for r.st.Step < res.TotalSteps && !r.st.Stopped {
		p, n, err := r.step(ctx)
		if err != nil {
			if ctx.Err() != nil && r.cfg.CheckpointDir != "" {
				err = errors.Join(err, r.saveLast())
			}
			return nil, fmt.Errorf("train: stopped at step %d: %w", r.st.Step, err)
		}
		tokens += n

		// Throughput and ETA over the steps of this invocation.
		el := time.Since(start)
		done := r.st.Step - startStep
		p.TokensPerSec = float64(tokens) / el.Seconds()
		p.ETA = time.Duration(float64(el) / float64(done) * float64(res.TotalSteps-r.st.Step))

		if r.cfg.EvalEvery > 0 && len(r.data.Eval) > 0 && (r.st.Step%r.cfg.EvalEvery == 0 || r.st.Step == res.TotalSteps) {
			if err := r.evaluate(ctx, &p); err != nil {
				return nil, err
			}
		}
		if progress != nil {
			progress(p)
		}
		if every := r.cfg.CheckpointEvery; r.cfg.CheckpointDir != "" && every > 0 && r.st.Step%every == 0 && r.st.Step < res.TotalSteps {
			if err := r.saveLast(); err != nil {
				return nil, err
			}
		}
	}
	if r.cfg.CheckpointDir != "" {
		if err := r.saveLast(); err != nil {
			return nil, err
		}
	}

	res.Adapter, res.Steps, res.Loss, res.StoppedEarly = r.ad, r.st.Step, r.st.Loss, r.st.Stopped
	if !math.IsInf(r.st.BestEval, 1) {
		res.BestEvalLoss = r.st.BestEval
		if r.best != nil {
			res.Adapter = r.best
		}
	}
	return res, nil
}

// step runs one optimizer step: the micro-batches of its rows, forward and
// backward with the gradient of the mean token loss over all of them, then
// clipping and AdamW. It returns the step's progress and the number of
// tokens (padding excluded) it ran through the model.
func (r *runner) step(ctx context.Context) (Progress, int, error) {
	cfg := r.cfg
	rows := r.epochs[r.st.Epoch]
	lo := r.st.Row
	hi := min(lo+cfg.Batch, len(rows))
	var micro []*Batch
	count, tokens := 0, 0
	for _, row := range rows[lo:hi] {
		for _, e := range row {
			tokens += len(e.Tokens)
		}
	}
	for i := lo; i < hi; i += cfg.MicroBatch {
		bt := batchOf(rows[i:min(i+cfg.MicroBatch, hi)], cfg.MaxSeqLen)
		micro = append(micro, bt)
		count += bt.NumTargets()
	}

	// Accumulate the gradient of (summed loss / count) over the
	// micro-batches, so the step optimises the mean over all its tokens.
	r.net.zeroGrad()
	var sum float64
	for i, bt := range micro {
		if err := ctx.Err(); err != nil {
			return Progress{}, 0, err
		}
		if bt.NumTargets() == 0 {
			continue
		}
		r.net.dropoutSeed = mix(cfg.Seed ^ uint64(r.st.Step)<<20 ^ uint64(i))
		s, _ := r.net.lossAndGrad(bt, float64(count))
		sum += s
	}
	if err := ctx.Err(); err != nil {
		return Progress{}, 0, err
	}

	lr := learningRate(cfg.LR, r.st.Step, r.warmup, r.total())
	var norm float64
	if count > 0 {
		norm = clipGrad(r.net.grad, cfg.MaxGradNorm)
		r.opt.step(r.ad, r.net.grad, lr)
		r.st.Loss = sum / float64(count)
	}
	p := Progress{Step: r.st.Step + 1, TotalSteps: r.total(), Epoch: r.st.Epoch,
		Loss: r.st.Loss, LR: lr, GradNorm: norm}

	// Advance the data position.
	r.st.Step++
	r.st.AdamSteps = r.opt.t
	r.st.Row = hi
	if hi >= len(rows) {
		r.st.Epoch++
		r.st.Row = 0
	}
	return p, tokens, nil
}

// evaluate measures the held-out loss, keeps the best adapter, and decides
// on early stopping.
func (r *runner) evaluate(ctx context.Context, p *Progress) error {
	loss, err := r.evalLoss(ctx)
	if err != nil {
		return fmt.Errorf("train: evaluation at step %d: %w", r.st.Step, err)
	}
	p.EvalLoss, p.Evaluated = loss, true
	if loss < r.st.BestEval {
		r.st.BestEval, r.st.BestStep, r.st.BadEvals = loss, r.st.Step, 0
		r.best = r.ad.Clone()
		if r.cfg.CheckpointDir != "" {
			if err := r.saveBest(); err != nil {
				return err
			}
		}
		return nil
	}
	r.st.BadEvals++
	if r.cfg.Patience > 0 && r.st.BadEvals >= r.cfg.Patience {
		r.st.Stopped = true
	}
	return nil
}

// evalLoss returns the mean token loss over the held-out examples.
func (r *runner) evalLoss(ctx context.Context) (float64, error) {
	var sum float64
	count := 0
	for _, bt := range Pack(r.data.Eval, r.cfg.MicroBatch, r.cfg.MaxSeqLen, !r.cfg.NoPack) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		s, n := r.net.loss(bt)
		sum, count = sum+s, count+n
	}
	if count == 0 {
		return math.Inf(1), nil
	}
	return sum / float64(count), nil
}
