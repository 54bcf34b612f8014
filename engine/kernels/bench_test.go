package kernels

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// The benchmarks use the shapes of Qwen2-0.5B: hidden 896, MLP 4864,
// vocabulary 151936, bf16 weights.

// benchWeights caches random bf16 weights by shape: the vocabulary head
// alone is 272 MB.
var benchWeights = map[[2]int]Mat{}

func benchMat(out, in int) Mat {
	if w, ok := benchWeights[[2]int{out, in}]; ok {
		return w
	}
	rng := rand.New(rand.NewPCG(uint64(out), uint64(in)))
	u := make([]uint16, out*in)
	for i := range u {
		u[i] = F32ToBF16(float32(rng.NormFloat64()) * 0.02)
	}
	w := Mat{Rows: out, Cols: in, DType: BF16, U16: u}
	benchWeights[[2]int{out, in}] = w
	return w
}

// BenchmarkLinearDecode measures the matrix-vector product of decoding; the
// bytes per second are those of the weights read.
func BenchmarkLinearDecode(b *testing.B) {
	for _, s := range [][2]int{{4864, 896}, {896, 4864}, {151936, 896}} {
		out, in := s[0], s[1]
		b.Run(fmt.Sprintf("out%d_in%d", out, in), func(b *testing.B) {
			w := benchMat(out, in)
			x := randVec(rand.New(rand.NewPCG(1, 1)), in)
			y := make([]float32, out)
			b.SetBytes(int64(2 * out * in))
			startCPU(b)
			for b.Loop() {
				Linear(y, x, w, nil, 1)
			}
			reportBytes(b, 2*out*in)
		})
	}
}

// BenchmarkLinearQ8Decode is BenchmarkLinearDecode in the int8 fast mode;
// the bytes are the int8 weights read.
func BenchmarkLinearQ8Decode(b *testing.B) {
	for _, s := range [][2]int{{4864, 896}, {896, 4864}, {151936, 896}} {
		out, in := s[0], s[1]
		b.Run(fmt.Sprintf("out%d_in%d", out, in), func(b *testing.B) {
			w := QuantizeQ8(benchMat(out, in))
			x := randVec(rand.New(rand.NewPCG(1, 1)), in)
			y := make([]float32, out)
			b.SetBytes(int64(out * in))
			startCPU(b)
			for b.Loop() {
				Linear(y, x, w, nil, 1)
			}
			reportBytes(b, out*in)
		})
	}
}

// BenchmarkLinearBatch measures decoding several sequences at once (T
// tokens, one a sequence), which should still cost about one read of the
// weights.
func BenchmarkLinearBatch(b *testing.B) {
	for _, T := range []int{2, 4, 8} {
		const out, in = 4864, 896
		b.Run(fmt.Sprintf("T%d_out%d_in%d", T, out, in), func(b *testing.B) {
			w := benchMat(out, in)
			x := randVec(rand.New(rand.NewPCG(1, 1)), T*in)
			y := make([]float32, T*out)
			b.SetBytes(int64(2 * out * in))
			startCPU(b)
			for b.Loop() {
				Linear(y, x, w, nil, T)
			}
			reportBytes(b, 2*out*in)
		})
	}
}

// BenchmarkMicroKernel measures the 6×16 micro-kernel alone on panels that
// stay in L1: the ceiling the blocked product approaches, to be compared
// with the FMA peak of one core (2 FMA × 8 lanes × 2 flops a cycle).
func BenchmarkMicroKernel(b *testing.B) {
	const k = kc
	rng := rand.New(rand.NewPCG(1, 1))
	a, bp := randVec(rng, k*mr), randVec(rng, k*nr)
	c := make([]float32, mr*nr)
	startCPU(b)
	for b.Loop() {
		microKernel(k, a, bp, nr, c, nr, true)
	}
	reportFlops(b, 2*mr*nr*k)
}

var prefillShapes = []struct{ T, out, in int }{
	{256, 4864, 896}, {1024, 4864, 896}, {256, 896, 4864}, {1024, 896, 4864},
	{128, 151936, 896},
}

// BenchmarkLinearPrefill measures Linear with many tokens, in GFLOP/s.
func BenchmarkLinearPrefill(b *testing.B) {
	for _, s := range prefillShapes {
		b.Run(fmt.Sprintf("T%d_out%d_in%d", s.T, s.out, s.in), func(b *testing.B) {
			w := benchMat(s.out, s.in)
			x := randVec(rand.New(rand.NewPCG(1, 1)), s.T*s.in)
			y := make([]float32, s.T*s.out)
			startCPU(b)
			for b.Loop() {
				Linear(y, x, w, nil, s.T)
			}
			reportFlops(b, 2*s.T*s.out*s.in)
		})
	}
}

// BenchmarkLinearInput measures the input gradient, in GFLOP/s.
func BenchmarkLinearInput(b *testing.B) {
	for _, s := range prefillShapes[:4] {
		b.Run(fmt.Sprintf("T%d_out%d_in%d", s.T, s.out, s.in), func(b *testing.B) {
			w := benchMat(s.out, s.in)
			dy := randVec(rand.New(rand.NewPCG(1, 1)), s.T*s.out)
			dx := make([]float32, s.T*s.in)
			startCPU(b)
			for b.Loop() {
				LinearInput(dx, dy, w, s.T)
			}
			reportFlops(b, 2*s.T*s.out*s.in)
		})
	}
}

// BenchmarkGemm measures the activation products: attention scores and
// values for one head of dimension 64, and LoRA factors of rank 16.
func BenchmarkGemm(b *testing.B) {
	cases := []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"scores_T512", false, true, 512, 512, 64},
		{"values_T512", false, false, 512, 64, 512},
		{"lora_down_T512_r16", false, true, 512, 16, 896},
		{"lora_up_T512_r16", false, false, 512, 4864, 16},
		{"lora_grad_T512_r16", true, false, 16, 896, 512},
		{"decode_scores_T1024", false, true, 1, 1024, 64},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			a := randVec(rng, c.m*c.k)
			bm := randVec(rng, c.k*c.n)
			out := make([]float32, c.m*c.n)
			lda, ldb := c.k, c.n
			if c.transA {
				lda = c.m
			}
			if c.transB {
				ldb = c.k
			}
			startCPU(b)
			for b.Loop() {
				Gemm(c.transA, c.transB, c.m, c.n, c.k, 1, a, lda, bm, ldb, 0, out, c.n)
			}
			reportFlops(b, 2*c.m*c.n*c.k)
		})
	}
}

// reportFlops reports the arithmetic rate by the wall clock, and by the
// CPU time of the process (GFLOP/cpu-s): on a machine shared with other
// work the second shows what a core delivers while it is ours.
func reportFlops(b *testing.B, flops int) {
	total := float64(flops) * float64(b.N) / 1e9
	b.ReportMetric(total/b.Elapsed().Seconds(), "GFLOP/s")
	b.ReportMetric(total/cpuSince(b).Seconds(), "GFLOP/cpu-s")
}

// reportBytes reports the bytes read per CPU second, beside SetBytes'
// wall-clock rate.
func reportBytes(b *testing.B, bytes int) {
	total := float64(bytes) * float64(b.N) / 1e9
	b.ReportMetric(total/cpuSince(b).Seconds(), "GB/cpu-s")
}

// cpuStart holds the process CPU time when the running benchmark started
// timing; startCPU sets it.
var cpuStart = map[*testing.B]time.Duration{}

func startCPU(b *testing.B) { cpuStart[b] = processCPU() }

func cpuSince(b *testing.B) time.Duration { return processCPU() - cpuStart[b] }

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
