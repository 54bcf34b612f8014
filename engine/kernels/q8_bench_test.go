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

// BenchmarkQ8Kernel measures the 3×16 packed kernel on data in cache.
func BenchmarkQ8Kernel(b *testing.B) {
	const nb = q8KC
	a := make([]int16, 3*32*nb)
	s := make([]float32, 3*nb)
	pb := make([]int16, 512*nb)
	c := make([]float32, 48)
	for b.Loop() {
		q8Kernel(nb, a, 32*nb, s, nb, pb, c, 16)
	}
	b.ReportMetric(float64(3*16*32*nb)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

// BenchmarkQ8KernelVNNI measures the 6×16 VNNI kernel on data in cache.
func BenchmarkQ8KernelVNNI(b *testing.B) {
	v := q8VNNI
	if v == nil {
		b.Skip("no AVX512-VNNI")
	}
	const nb = q8KC
	a := make([]int8, 6*32*nb)
	s := make([]float32, 6*nb)
	corr := make([]int32, 6*nb)
	pb := make([]uint8, 512*nb)
	c := make([]float32, 96)
	for b.Loop() {
		v.kernel(nb, a, 32*nb, s, corr, nb, pb, c, 16)
	}
	b.ReportMetric(float64(6*16*32*nb)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}
