package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"attune"
	"attune/engine/lora"
	"attune/engine/qwen2"
)

// smallRun is a configuration small enough to run many steps in a test.
func smallRun(dir string) Config {
	return Config{Epochs: 2, LR: 5e-3, Rank: 4, Alpha: 8, Batch: 4, MicroBatch: 2,
		MaxSeqLen: 16, Seed: 3, CheckpointDir: dir, CheckpointEvery: 2, Dropout: 0.1,
		WeightDecay: 0.01, WarmupRatio: 0.2}
}

// TestResumeEqualsUninterrupted kills a run (a panic out of its progress
// callback, so nothing gets to clean up) after various steps, starts it
// again, and compares the final adapter with a run never interrupted.
func TestResumeEqualsUninterrupted(t *testing.T) {
	mc := tinyConfig(true)
	m := randomModel(mc, 7, 0.3)
	data := Dataset{Train: randomExamples(20, 3, 9, mc.VocabSize, 11)}

	ref, err := Run(context.Background(), smallRun(t.TempDir()), m, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Steps != ref.TotalSteps || ref.Steps < 6 {
		t.Fatalf("reference run took %d of %d steps", ref.Steps, ref.TotalSteps)
	}

	for _, killAt := range []int{1, 3, 4, ref.TotalSteps - 1} {
		dir := t.TempDir()
		cfg := smallRun(dir)
		func() {
			defer func() { recover() }()
			Run(context.Background(), cfg, m, data, func(p Progress) {
				if p.Step == killAt {
					panic("killed")
				}
			})
		}()
		res, err := Run(context.Background(), cfg, m, data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Resumed && killAt >= cfg.CheckpointEvery {
			t.Errorf("kill at %d: the second run did not resume", killAt)
		}
		if d := adapterDiff(res.Adapter, ref.Adapter); d > 0 {
			t.Errorf("kill at %d: adapter differs from the uninterrupted run by %g", killAt, d)
		}
	}
}

// TestCancelKeepsCheckpoint cancels a run and checks that it stops with
// ctx's error, keeps a checkpoint of its last step, and resumes from it to
// the uninterrupted result; and that a crash between the checkpoint's two
// renames still resumes.
func TestCancelKeepsCheckpoint(t *testing.T) {
	mc := tinyConfig(false)
	m := randomModel(mc, 8, 0.3)
	data := Dataset{Train: randomExamples(20, 3, 9, mc.VocabSize, 12)}
	ref, err := Run(context.Background(), smallRun(""), m, data, nil)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cfg := smallRun(dir)
	cfg.CheckpointEvery = 0 // only the cancel and the end save
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Run(ctx, cfg, m, data, func(p Progress) {
		if p.Step == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled run: err = %v, want context.Canceled", err)
	}
	st, err := readState(LastCheckpoint(dir))
	if err != nil || st.Step != 3 {
		t.Fatalf("checkpoint after cancel: step %d, err %v; want step 3", st.Step, err)
	}

	// A crash after "last" was moved aside and before the new one arrived.
	if err := os.Rename(filepath.Join(dir, lastName), filepath.Join(dir, asideName)); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), cfg, m, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed {
		t.Error("did not resume from the aside checkpoint")
	}
	if d := adapterDiff(res.Adapter, ref.Adapter); d > 0 {
		t.Errorf("adapter differs from the uninterrupted run by %g", d)
	}

	// Other settings must not silently continue this checkpoint.
	cfg.LR *= 2
	if _, err := Run(context.Background(), cfg, m, data, nil); attune.ErrorKind(err) != attune.KindConflict {
		t.Errorf("resume with another lr: err = %v, want a conflict", err)
	}
}

// TestOverfit learns a few examples to near-zero loss.
func TestOverfit(t *testing.T) {
	mc := tinyConfig(true)
	m := randomModel(mc, 9, 0.3)
	// The final norm bounds the hidden state, and with it how far the
	// logits can move; widen it so that near-zero loss is reachable.
	for i := range m.Norm {
		m.Norm[i] *= 10
	}
	data := Dataset{Train: randomExamples(3, 6, 8, mc.VocabSize, 13)}
	cfg := Config{Epochs: 150, LR: 2e-2, Rank: 8, Alpha: 16, Batch: 3, MicroBatch: 3,
		MaxSeqLen: 8, NoPack: true, WarmupRatio: 0.05, Seed: 1}
	var first, last float64
	res, err := Run(context.Background(), cfg, m, data, func(p Progress) {
		if p.Step == 1 {
			first = p.Loss
		}
		last = p.Loss
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loss %.4f -> %.4f over %d steps", first, last, res.Steps)
	if last > 0.05 {
		t.Errorf("final loss %.4f, want < 0.05 (started at %.4f)", last, first)
	}
}

// TestEarlyStopping checks that evaluation keeps the best adapter and
// stops after Patience evaluations without improvement.
func TestEarlyStopping(t *testing.T) {
	mc := tinyConfig(true)
	m := randomModel(mc, 10, 0.3)
	data := Dataset{Train: randomExamples(4, 6, 8, mc.VocabSize, 14),
		Eval: randomExamples(4, 6, 8, mc.VocabSize, 15)}
	dir := t.TempDir()
	cfg := Config{Epochs: 200, LR: 3e-2, Rank: 8, Batch: 4, MaxSeqLen: 8, Seed: 2,
		EvalEvery: 2, Patience: 3, CheckpointDir: dir}
	best, sinceBest := math.Inf(1), 0
	res, err := Run(context.Background(), cfg, m, data, func(p Progress) {
		if !p.Evaluated {
			return
		}
		if p.EvalLoss < best {
			best, sinceBest = p.EvalLoss, 0
		} else {
			sinceBest++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.StoppedEarly || sinceBest != cfg.Patience {
		t.Fatalf("stopped early %v with %d evaluations since the best; want true and %d", res.StoppedEarly, sinceBest, cfg.Patience)
	}
	if res.BestEvalLoss != best {
		t.Errorf("best eval loss %g, want %g", res.BestEvalLoss, best)
	}

	// The returned adapter is the best one, as is the best checkpoint.
	cfg = cfg.WithDefaults()
	n := newNet(m, res.Adapter, cfg.MicroBatch, cfg.MaxSeqLen)
	r := &runner{cfg: cfg, data: data, net: n}
	if got, _ := r.evalLoss(context.Background()); math.Abs(got-best) > 1e-6 {
		t.Errorf("returned adapter's eval loss %g, want the best %g", got, best)
	}
	saved, err := lora.Load(BestCheckpoint(dir), mc)
	if err != nil {
		t.Fatal(err)
	}
	if d := adapterDiff(saved, res.Adapter); d > 0 {
		t.Errorf("best checkpoint differs from the returned adapter by %g", d)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		field string
		edit  func(*Config)
	}{
		{"epochs", func(c *Config) { c.Epochs = -1 }},
		{"lr", func(c *Config) { c.LR = 2 }},
		{"micro_batch", func(c *Config) { c.MicroBatch = 3 }},
		{"max_seq_len", func(c *Config) { c.MaxSeqLen = 1 }},
		{"rank", func(c *Config) { c.Rank = -4 }},
		{"targets", func(c *Config) { c.Targets = []qwen2.Target{"lm_head"} }},
		{"patience", func(c *Config) { c.Patience = -1 }},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.edit(&c)
		var e *attune.Error
		if err := c.Validate(); !errors.As(err, &e) || e.Field != tt.field {
			t.Errorf("%s: Validate() = %v, want an error naming %q", tt.field, err, tt.field)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// adapterDiff returns the largest absolute difference between two
// adapters' factors.
func adapterDiff(a, b *lora.Adapter) float64 {
	d := 0.0
	a.Each(func(l int, tg qwen2.Target, f *lora.Factors) {
		g := b.Factors(l, tg)
		for i := range f.A {
			d = max(d, math.Abs(float64(f.A[i]-g.A[i])))
		}
		for i := range f.B {
			d = max(d, math.Abs(float64(f.B[i]-g.B[i])))
		}
	})
	return d
}

// TestStopAbandonsPass checks that a pass polls its stop function and does
// no more work once it says stop: no gradient is accumulated.
func TestStopAbandonsPass(t *testing.T) {
	mc := tinyConfig(true)
	m := randomModel(mc, 5, 0.3)
	ad := randomAdapter(t, mc, lora.Config{Rank: 2, Alpha: 4}, 6)
	bt := Pack(randomExamples(4, 4, 8, mc.VocabSize, 7), 2, 8, false)[0]
	n := newNet(m, ad, bt.B, bt.T)
	polls := 0
	n.stop = func() bool { polls++; return true }
	n.lossAndGrad(bt, 1)
	if polls == 0 {
		t.Fatal("the pass never polled stop")
	}
	if norm := gradNorm(n.grad); norm != 0 {
		t.Errorf("gradient norm %g after a stopped pass, want 0", norm)
	}
}
