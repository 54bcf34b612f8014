package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"attune/engine/kernels"
	"attune/engine/lora"
	"attune/engine/qwen2"
)

// tinyConfig is a model shape small enough for finite differences.
func tinyConfig(tied bool) qwen2.Config {
	return qwen2.Config{
		ModelType: "qwen2", HiddenSize: 16, IntermediateSize: 24, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, VocabSize: 40, MaxPositionEmbeddings: 64,
		RopeTheta: 10000, RMSNormEps: 1e-6, TieWordEmbeddings: tied, HiddenAct: "silu",
	}
}

// randomModel returns a model of shape mc with f32 weights ~ N(0, std).
func randomModel(mc qwen2.Config, seed uint64, std float64) *qwen2.Model {
	rng := rand.New(rand.NewPCG(seed, 1))
	vec := func(n int, mean float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(mean + std*rng.NormFloat64())
		}
		return v
	}
	mat := func(rows, cols int) kernels.Mat { return kernels.NewMatF32(rows, cols, vec(rows*cols, 0)) }
	C, I, D := mc.HiddenSize, mc.IntermediateSize, lora.HeadDim(mc)
	Q, K := mc.NumAttentionHeads*D, mc.NumKeyValueHeads*D
	m := &qwen2.Model{Config: mc, Embed: mat(mc.VocabSize, C), Norm: vec(C, 1)}
	m.Head = m.Embed
	if !mc.TieWordEmbeddings {
		m.Head = mat(mc.VocabSize, C)
	}
	for range mc.NumHiddenLayers {
		m.Layers = append(m.Layers, qwen2.Layer{
			AttnNorm: vec(C, 1), Q: mat(Q, C), K: mat(K, C), V: mat(K, C), O: mat(C, Q),
			QBias: vec(Q, 0), KBias: vec(K, 0), VBias: vec(K, 0),
			MLPNorm: vec(C, 1), Gate: mat(I, C), Up: mat(I, C), Down: mat(C, I),
		})
	}
	return m
}

// randomAdapter returns an adapter with A and B both random, so that every
// gradient is non-zero.
func randomAdapter(t testing.TB, mc qwen2.Config, cfg lora.Config, seed uint64) *lora.Adapter {
	ad, err := lora.New(cfg, mc, seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	ad.Each(func(_ int, _ qwen2.Target, f *lora.Factors) {
		for i := range f.B {
			f.B[i] = float32(0.3 * rng.NormFloat64())
		}
	})
	return ad
}

// randomExamples returns n examples of lengths in [lo, hi] with random
// tokens, every label set but a random prefix.
func randomExamples(n, lo, hi, vocab int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 3))
	var es []Example
	for range n {
		l := lo + rng.IntN(hi-lo+1)
		e := Example{Tokens: make([]int32, l), Labels: make([]int32, l)}
		skip := rng.IntN(l / 2)
		for i := range l {
			e.Tokens[i] = int32(rng.IntN(vocab))
			e.Labels[i] = e.Tokens[i]
			if i < skip {
				e.Labels[i] = IgnoreLabel
			}
		}
		es = append(es, e)
	}
	return es
}

// TestGradFiniteDifference checks the LoRA gradient of each target type,
// which flows through every layer type above it (head, final norm, MLP,
// attention with RoPE, GQA and the packed causal mask, RMSNorm), against a
// central finite difference of the loss along a random direction.
func TestGradFiniteDifference(t *testing.T) {
	for _, tied := range []bool{true, false} {
		mc := tinyConfig(tied)
		m := randomModel(mc, 7, 0.3)
		bt := Pack(randomExamples(5, 3, 9, mc.VocabSize, 11), 2, 12, true)[0]
		for _, target := range lora.AllTargets {
			for _, part := range []string{"A", "B"} {
				t.Run(fmt.Sprintf("tied=%v/%s/%s", tied, target, part), func(t *testing.T) {
					ad := randomAdapter(t, mc, lora.Config{Rank: 3, Alpha: 6}, 5)
					n := newNet(m, ad, bt.B, bt.T)
					checkDirectional(t, n, bt, target, part, 1e-2)
				})
			}
		}
	}
}

// TestGradDropout checks the gradient with adapter dropout on: the masks
// are a function of the micro-batch seed, so the finite differences see
// the same ones.
func TestGradDropout(t *testing.T) {
	mc := tinyConfig(true)
	m := randomModel(mc, 17, 0.3)
	bt := Pack(randomExamples(5, 3, 9, mc.VocabSize, 18), 2, 12, true)[0]
	for _, target := range []qwen2.Target{qwen2.TargetQ, qwen2.TargetDown} {
		for _, part := range []string{"A", "B"} {
			t.Run(fmt.Sprintf("%s/%s", target, part), func(t *testing.T) {
				ad := randomAdapter(t, mc, lora.Config{Rank: 3, Alpha: 6, Dropout: 0.3}, 19)
				n := newNet(m, ad, bt.B, bt.T)
				n.dropoutSeed = 12345
				checkDirectional(t, n, bt, target, part, 2e-3)
			})
		}
	}
}

// checkDirectional compares g·d with (L(θ+εd) - L(θ-εd)) / 2ε for a random
// direction d over the part (A or B) of every layer's target factors.
func checkDirectional(t *testing.T, n *net, bt *Batch, target qwen2.Target, part string, eps float32) {
	t.Helper()
	count := float64(bt.NumTargets())
	n.zeroGrad()
	n.lossAndGrad(bt, count)

	rng := rand.New(rand.NewPCG(99, 4))
	var params, grads, dirs [][]float32
	for l := range n.L {
		f, g := n.ad.Factors(l, target), n.grad.Factors(l, target)
		p, gp := f.A, g.A
		if part == "B" {
			p, gp = f.B, g.B
		}
		d := make([]float32, len(p))
		for i := range d {
			d[i] = float32(rng.NormFloat64())
		}
		params, grads, dirs = append(params, p), append(grads, gp), append(dirs, d)
	}
	base := make([][]float32, len(params))
	for i, p := range params {
		base[i] = append([]float32(nil), p...)
	}
	var analytic float64
	for i := range params {
		for j := range params[i] {
			analytic += float64(grads[i][j]) * float64(dirs[i][j])
		}
	}

	// Central differences at eps and eps/2, combined by Richardson
	// extrapolation to cancel the O(eps²) curvature term.
	central := func(eps float32) float64 {
		at := func(s float32) float64 {
			for i := range params {
				for j := range params[i] {
					params[i][j] = base[i][j] + s*dirs[i][j]
				}
			}
			sum, _ := n.loss(bt)
			return sum / count
		}
		d := (at(eps) - at(-eps)) / (2 * float64(eps))
		at(0)
		return d
	}
	numeric := (4*central(eps/2) - central(eps)) / 3
	t.Logf("analytic %.6g numeric %.6g", analytic, numeric)

	// f32 forward: the loss carries ~1e-7 relative noise, which eps/2
	// turns into ~1e-5 on the derivative; the extrapolation leaves
	// O(eps⁴), larger where dropout's 1/(1-p) sharpens the curvature
	// (hence its smaller eps).
	if diff := math.Abs(numeric - analytic); diff > 1e-3*math.Max(1, math.Abs(analytic)) {
		t.Errorf("directional derivative: analytic %.6g, numeric %.6g, diff %.3g", analytic, numeric, diff)
	}
}

// TestAttentionBlocks checks that attention by blocks of query rows, each
// against only the keys it may see, gives the loss and gradients of the
// whole square at once: rows of 23 packed positions, with segments that
// start inside blocks and blocks of 5 rows that do not divide the row.
func TestAttentionBlocks(t *testing.T) {
	mc := tinyConfig(false)
	m := randomModel(mc, 27, 0.3)
	bt := Pack(randomExamples(6, 3, 11, mc.VocabSize, 28), 2, 23, true)[0]
	count := float64(bt.NumTargets())
	run := func(block int) (float64, *lora.Adapter) {
		defer func(b int) { attBlock = b }(attBlock)
		attBlock = block
		n := newNet(m, randomAdapter(t, mc, lora.Config{Rank: 3, Alpha: 6}, 29), bt.B, bt.T)
		n.zeroGrad()
		loss, _ := n.lossAndGrad(bt, count)
		return loss, n.grad
	}
	wantLoss, want := run(bt.T)
	gotLoss, got := run(5)
	if math.Abs(gotLoss-wantLoss) > 1e-6*math.Abs(wantLoss) {
		t.Errorf("loss by blocks %.8f, whole %.8f", gotLoss, wantLoss)
	}
	if d, scale := adapterDiff(got, want), adapterNorm(want); d > 1e-5*scale || scale == 0 {
		t.Errorf("gradients by blocks differ by %g (norm %g)", d, scale)
	}
}

// adapterNorm returns the largest magnitude of a's factors.
func adapterNorm(a *lora.Adapter) float64 {
	m := 0.0
	a.Each(func(_ int, _ qwen2.Target, f *lora.Factors) {
		for _, v := range f.A {
			m = max(m, math.Abs(float64(v)))
		}
		for _, v := range f.B {
			m = max(m, math.Abs(float64(v)))
		}
	})
	return m
}

// TestHeadChunks checks that the head and loss computed a few rows at a
// time, in chunks of equal size, give the loss and gradients of one chunk.
func TestHeadChunks(t *testing.T) {
	mc := tinyConfig(false)
	m := randomModel(mc, 37, 0.3)
	bt := Pack(randomExamples(6, 3, 11, mc.VocabSize, 38), 2, 23, true)[0]
	count := float64(bt.NumTargets())
	run := func(rows int) (float64, *lora.Adapter) {
		defer func(b int) { headChunkBytes = b }(headChunkBytes)
		headChunkBytes = 4 * mc.VocabSize * rows
		n := newNet(m, randomAdapter(t, mc, lora.Config{Rank: 3, Alpha: 6}, 39), bt.B, bt.T)
		n.zeroGrad()
		loss, _ := n.lossAndGrad(bt, count)
		return loss, n.grad
	}
	wantLoss, want := run(bt.B * bt.T)
	gotLoss, got := run(4)
	if math.Abs(gotLoss-wantLoss) > 1e-6*math.Abs(wantLoss) {
		t.Errorf("loss in chunks %.8f, in one %.8f", gotLoss, wantLoss)
	}
	if d, scale := adapterDiff(got, want), adapterNorm(want); d > 1e-5*scale || scale == 0 {
		t.Errorf("gradients in chunks differ by %g (norm %g)", d, scale)
	}
}
