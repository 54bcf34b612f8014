package train

import (
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
