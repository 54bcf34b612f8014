package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// randQActs returns T rows of nb random quantized activation blocks with
// steps drawn from steps, laid out as qActs.
func randQActs(rng *rand.Rand, T, nb int, steps []float32) *qActs {
	a := &qActs{q: make([]int8, T*64*nb), scale: make([]float32, T*nb), T: T, nb: nb}
	for t := range T {
		for b := range nb {
			blk := a.q[t*64*nb+64*b:]
			for i := range 32 {
				v := int8(rng.IntN(255) - 127)
				blk[i] = v
				blk[32+i] = int8(math.Abs(float64(v)))
			}
			a.scale[t*nb+b] = steps[rng.IntN(len(steps))]
		}
	}
	return a
}

// refQ8Dot returns out0 + Σ_b s[b]·(a block b · w block b) in f64.
func refQ8Dot(out0 float32, a []int8, s []float32, nb int, w []int8) float64 {
	sum := float64(out0)
	for b := range nb {
		var d int64
		for i := range 32 {
			d += int64(a[64*b+i]) * int64(w[32*b+i])
		}
		sum += float64(s[b]) * float64(d)
	}
	return sum
}

// TestQ8KernelsExact checks q8Dot and q8Tile, in this build's form (AVX2
// where the CPU has it) and the portable one, against integer sums. The
// steps are powers of two and the depth at most 8 blocks, so every
// partial sum is a multiple of 1/2 below 2²³: exact in f32, whatever the
// order of the additions. All three must agree to the bit, which proves
// the integer products (signs, magnitudes, pairing) and the indexing.
func TestQ8KernelsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	steps := []float32{0.5, 1, 2, 0}
	for _, nb := range []int{1, 2, 3, 8} {
		for _, rows := range []int{1, 3, 4, 9} {
			ldw := 32*nb + 32*rng.IntN(2)
			a := randQActs(rng, 6, nb, steps)
			w := make([]int8, rows*ldw+4*ldw)
			for i := range w {
				w[i] = int8(rng.IntN(255) - 127)
			}
			t.Run(fmt.Sprintf("dot/nb%d_rows%d", nb, rows), func(t *testing.T) {
				for _, dot := range []func([]float32, []int8, []float32, int, []int8, int){q8Dot, q8DotGo} {
					out := make([]float32, rows)
					for r := range out {
						out[r] = float32(r) - 2
					}
					dot(out, a.q, a.scale, nb, w, ldw)
					for r, got := range out {
						want := refQ8Dot(float32(r)-2, a.q, a.scale, nb, w[r*ldw:])
						if float64(got) != want {
							t.Fatalf("row %d: got %v, want %v", r, got, want)
						}
					}
				}
			})
			t.Run(fmt.Sprintf("tile/nb%d_pairs%d", nb, rows%4+1), func(t *testing.T) {
				pairs := min(3, rows%4+1)
				const ldo = 7
				lda, lds := a.ld(), nb
				for _, tile := range []func([]float32, int, []int8, int, []float32, int, int, int, []int8, int){q8Tile, q8TileGo} {
					out := make([]float32, 2*pairs*ldo)
					for i := range out {
						out[i] = float32(i % 5)
					}
					tile(out, ldo, a.q, lda, a.scale, lds, nb, pairs, w, ldw)
					for i, got := range out {
						tt, j := i/ldo, i%ldo
						want := float64(i % 5)
						if j < 4 {
							want = refQ8Dot(float32(i%5), a.q[tt*lda:], a.scale[tt*lds:], nb, w[j*ldw:])
						}
						if float64(got) != want {
							t.Fatalf("out[%d][%d]: got %v, want %v", tt, j, got, want)
						}
					}
				}
			})
		}
	}
}

// TestQuantizeActs checks the rounding of activation blocks: each value
// within half a step of its original, the magnitudes beside the values,
// a zero block with step 0, a non-finite block with a NaN step.
func TestQuantizeActs(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	const T, K = 3, 96
	x := randVec(rng, T*K)
	for i := range 32 {
		x[K+32+i] = 0 // row 1, block 1
	}
	x[2*K+70] = float32(math.Inf(1)) // row 2, block 2
	a := getQActs(T, K)
	quantizeActs(a, x, T)
	for tt := range T {
		for b := range K / 32 {
			s := a.scale[tt*3+b]
			blk := a.q[tt*a.ld()+64*b:]
			switch {
			case tt == 1 && b == 1:
				if s != 0 {
					t.Fatalf("zero block: step %v", s)
				}
				continue
			case tt == 2 && b == 2:
				if !math.IsNaN(float64(s)) {
					t.Fatalf("block with +Inf: step %v, want NaN", s)
				}
				continue
			}
			for i := range 32 {
				v := x[tt*K+32*b+i]
				q := blk[i]
				if d := math.Abs(float64(v) - float64(s)*float64(q)); d > float64(s)/2*(1+1e-6) {
					t.Fatalf("x[%d][%d] = %v: q %d, step %v: off by %.3g", tt, 32*b+i, v, q, s, d)
				}
				if int(blk[32+i]) != int(math.Abs(float64(q))) || q == -128 {
					t.Fatalf("magnitude of %d stored as %d", q, blk[32+i])
				}
			}
		}
	}
}

// TestLinearQ8Error bounds the error of the fast mode against the exact
// product of the same int8 weights with f32 activations: each activation
// moves by at most half its block's step, so an output moves by at most
// Scale[o]·Σ_k step(k)/2·|q_w[o][k]| (plus f32 rounding). It also checks
// that a non-finite activation makes NaN outputs.
func TestLinearQ8Error(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	const T, K, N = 5, 256, 40
	w := QuantizeQ8(NewMatF32(N, K, randVec(rng, N*K)))
	x := randVec(rng, T*K)
	x[3] *= 300 // an outlier, confined to its block
	got := make([]float32, T*N)
	Linear(got, x, w, nil, T)
	exact := make([]float32, T*N)
	RefLinear(exact, x, w, nil, T)
	var worst float64
	for tt := range T {
		for o := range N {
			var bound float64
			for k := range K {
				amax := 0.0
				for _, v := range x[tt*K+k/32*32 : tt*K+k/32*32+32] {
					amax = max(amax, math.Abs(float64(v)))
				}
				bound += amax / 127 / 2 * math.Abs(float64(w.I8[o*K+k]))
			}
			bound = bound*float64(w.Scale[o]) + 1e-4
			d := math.Abs(float64(got[tt*N+o] - exact[tt*N+o]))
			if d > bound {
				t.Fatalf("y[%d][%d]: %v, exact %v: |diff| %.3g > %.3g", tt, o, got[tt*N+o], exact[tt*N+o], d, bound)
			}
			worst = max(worst, d/bound)
		}
	}
	t.Logf("worst error %.2f of its bound", worst)

	x[K+5] = float32(math.NaN())
	Linear(got, x, w, nil, T)
	for o := range N {
		if !math.IsNaN(float64(got[N+o])) || math.IsNaN(float64(got[o])) {
			t.Fatalf("NaN activation in row 1: y[1][%d] = %v, y[0][%d] = %v", o, got[N+o], o, got[o])
		}
	}
}
