package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkLinearQ8Prefill measures the int8 × int8 product of a prefill
// of 256 tokens on the projections of Qwen2-0.5B, in multiply-adds per
// second (GMAC/s), including the rounding of the activations.
func BenchmarkLinearQ8Prefill(b *testing.B) {
	const T = 256
	for _, s := range [][2]int{{4864, 896}, {896, 4864}, {896, 896}} {
		out, in := s[0], s[1]
		b.Run(fmt.Sprintf("out%d_in%d", out, in), func(b *testing.B) {
			w := QuantizeQ8(benchMat(out, in))
			x := randVec(rand.New(rand.NewPCG(1, 1)), T*in)
			y := make([]float32, T*out)
			for b.Loop() {
				Linear(y, x, w, nil, T)
			}
			b.ReportMetric(float64(T*out*in)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}

// BenchmarkQuantizeActs measures the rounding of a prefill's activations.
func BenchmarkQuantizeActs(b *testing.B) {
	const T, K = 256, 896
	x := randVec(rand.New(rand.NewPCG(1, 1)), T*K)
	a := getQActs(T, K)
	b.SetBytes(4 * T * K)
	for b.Loop() {
		quantizeActs(a, x, T)
	}
}

// BenchmarkQ8Tile measures the 2×4 int8 tile kernel on data in cache.
func BenchmarkQ8Tile(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const nb, pairs = 16, 32
	a := randQActs(rng, 2*pairs, nb, []float32{1})
	w := make([]int8, 4*32*nb)
	out := make([]float32, 2*pairs*4)
	for b.Loop() {
		q8Tile(out, 4, a.q, a.ld(), a.scale, nb, nb, pairs, w, 32*nb)
	}
	b.ReportMetric(float64(2*pairs*4*32*nb)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}
