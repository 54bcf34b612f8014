package train

import (
	"math/rand/v2"
	"testing"

	"attune/engine/lora"
)

// BenchmarkStep times one training step (forward, head and loss, backward)
// on a random model of the "small" shape with a 32k vocabulary, rank 8 on
// all projections, 2 rows of 128 tokens; it reports tokens per second.
func BenchmarkStep(b *testing.B) {
	mc := tinyConfig(true)
	mc.HiddenSize, mc.IntermediateSize, mc.NumHiddenLayers, mc.VocabSize = 256, 1024, 4, 32768
	m := randomModel(mc, 1, 0.02)
	ad, err := lora.New(lora.Config{Rank: 8, Alpha: 16}, mc, 1)
	if err != nil {
		b.Fatal(err)
	}
	bt := Pack(randomExamples(2, 128, 128, mc.VocabSize, 2), 2, 128, false)[0]
	n := newNet(m, ad, bt.B, bt.T)
	count := float64(bt.NumTargets())
	b.ResetTimer()
	for b.Loop() {
		n.zeroGrad()
		n.lossAndGrad(bt, count)
	}
	b.ReportMetric(float64(b.N*bt.B*bt.T)/b.Elapsed().Seconds(), "tok/s")
}

// BenchmarkAttention times one layer's attention forward and backward at
// Qwen2.5-0.5B's shape (14 query heads, 2 key/value heads of 64) over 4
// rows of 256 positions, and reports the GFLOP/s of the seven products'
// causal halves.
func BenchmarkAttention(b *testing.B) {
	mc := tinyConfig(true)
	mc.HiddenSize, mc.NumAttentionHeads, mc.NumKeyValueHeads, mc.MaxPositionEmbeddings = 896, 14, 2, 256
	m := randomModel(mc, 1, 0.02)
	ad, err := lora.New(lora.Config{Rank: 8, Alpha: 16}, mc, 1)
	if err != nil {
		b.Fatal(err)
	}
	const B, T = 4, 256
	bt := Pack(randomExamples(B, T, T, mc.VocabSize, 2), B, T, false)[0]
	n := newNet(m, ad, B, T)
	a := &n.acts[0]
	rng := rand.New(rand.NewPCG(3, 3))
	for _, s := range [][]float32{a.q, a.k, a.v, n.dao} {
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
	}
	b.ResetTimer()
	for b.Loop() {
		n.attentionForward(bt, a.q, a.k, a.v, a.ao, a.lse)
		n.attentionBackward(bt, a, n.dao, n.dq, n.dk, n.dv)
	}
	flops := 7 * 2 * float64(T*(T+1)/2) * float64(n.D*n.H*B)
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
