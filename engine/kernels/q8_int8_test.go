package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
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

// TestQ8GemmKernelsExact checks q8Kernel, q8PackB and q8QuantRow16 in this
// build's form against the portable ones and against integer sums, to the
// bit: the steps are powers of two and the depth at most 8 blocks, so
// every partial sum is exact in f32.
func TestQ8GemmKernelsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, nb := range []int{1, 3, 8} {
		K := 32 * nb
		ldw := K + 32*rng.IntN(2)
		w := make([]int8, 16*ldw)
		for i := range w {
			w[i] = int8(rng.IntN(255) - 127)
		}
		packed := make([]int16, 512*nb)
		q8PackB(packed, w, ldw, 2*nb)
		packedGo := make([]int16, 512*nb)
		q8PackBGo(packedGo, w, ldw, 2*nb)
		for i := range packed {
			if packed[i] != packedGo[i] {
				t.Fatalf("nb %d: packed[%d] = %d, portable %d", nb, i, packed[i], packedGo[i])
			}
		}
		const lda, lds, ldc = 300, 11, 19
		a := make([]int16, 3*lda)
		s := make([]float32, 3*lds)
		steps := []float32{0.5, 1, 2, 0}
		for tt := range 3 {
			for k := range K {
				a[tt*lda+k] = int16(rng.IntN(255) - 127)
			}
			for b := range nb {
				s[tt*lds+b] = steps[rng.IntN(len(steps))]
			}
		}
		for _, kernel := range []func(int, []int16, int, []float32, int, []int16, []float32, int){q8Kernel, q8KernelGo} {
			c := make([]float32, 3*ldc)
			for i := range c {
				c[i] = float32(i % 7)
			}
			kernel(nb, a, lda, s, lds, packed, c, ldc)
			for i, got := range c {
				tt, j := i/ldc, i%ldc
				want := float64(i % 7)
				if j < 16 {
					for b := range nb {
						var d int64
						for k := 32 * b; k < 32*b+32; k++ {
							d += int64(a[tt*lda+k]) * int64(w[j*ldw+k])
						}
						want += float64(s[tt*lds+b]) * float64(d)
					}
				}
				if float64(got) != want {
					t.Fatalf("nb %d: c[%d][%d] = %v, want %v", nb, tt, j, got, want)
				}
			}
		}
	}

	// Rounding: the assembly and the portable rows agree to the bit, ties
	// included; a non-finite value is refused or handled.
	const nb = 5
	x := randVec(rng, 32*nb)
	x[3] = 2.5 * x[0] // likely ties after scaling
	for i := 64; i < 96; i++ {
		x[i] = 0
	}
	x[100] = 127
	x[101] = 0.5 // 0.5 step: a tie
	q, qGo := make([]int16, 32*nb), make([]int16, 32*nb)
	s, sGo := make([]float32, nb), make([]float32, nb)
	if !q8QuantRow16(q, s, x, nb) {
		t.Fatal("finite row refused")
	}
	q8QuantRow16Go(qGo, sGo, x, nb)
	for i := range q {
		if q[i] != qGo[i] || s[i/32] != sGo[i/32] {
			t.Fatalf("value %d: %d (step %v), portable %d (step %v)", i, q[i], s[i/32], qGo[i], sGo[i/32])
		}
	}
	x[130] = float32(math.NaN())
	if q8QuantRow16(q, s, x, nb) && !math.IsNaN(float64(s[4])) {
		t.Fatalf("row with NaN accepted with step %v for its block", s[4])
	}
	q8QuantRow16Go(qGo, sGo, x, nb)
	if !math.IsNaN(float64(sGo[4])) || sGo[3] != s[3] {
		t.Fatalf("portable: steps %v for a row with NaN in block 4", sGo)
	}
}

// TestLinearQ8Gemm checks Linear's packed product (T ≥ q8GemmMinT) against
// RefLinearQ8 on shapes that cut the tiles and the depth chunks, with the
// AVX512-VNNI loops where the CPU has them and without.
func TestLinearQ8Gemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	vnni := q8VNNI
	defer func() { q8VNNI = vnni }()
	for _, useVNNI := range []bool{false, true} {
		if useVNNI && vnni == nil {
			continue
		}
		q8VNNI = nil
		if useVNNI {
			q8VNNI = vnni
		}
		for _, s := range []struct{ T, in, out int }{
			{q8GemmMinT, 32, 16}, {13, 64, 17}, {40, 288, 50}, {100, 896, 37},
			{15, 32 * (q8KC + 1), 33}, {19, 32 * (q8KCVNNI + 1), 18},
		} {
			for _, withBias := range []bool{false, true} {
				t.Run(fmt.Sprintf("vnni=%v/T%d_in%d_out%d/bias=%v", useVNNI, s.T, s.in, s.out, withBias), func(t *testing.T) {
					w, wv := randMat(rng, Q8, s.out, s.in)
					x := randVec(rng, s.T*s.in)
					var bias, absBias []float32
					if withBias {
						bias = randVec(rng, s.out)
						absBias = abs(bias)
					}
					want := make([]float32, s.T*s.out)
					RefLinearQ8(want, x, w, bias, s.T)
					mag := make([]float32, s.T*s.out)
					RefLinear(mag, abs(x), NewMatF32(s.out, s.in, abs(wv)), absBias, s.T)
					got := make([]float32, s.T*s.out)
					for i := range got {
						got[i] = float32(math.NaN())
					}
					Linear(got, x, w, bias, s.T)
					compare(t, got, want, mag)
				})
			}
		}
	}
}

// TestQ8VNNIExact checks the AVX512-VNNI loops, where the CPU has them,
// against integer sums and the portable rounding, to the bit.
func TestQ8VNNIExact(t *testing.T) {
	v := q8VNNI
	if v == nil {
		t.Skip("no AVX512-VNNI kernels in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(35, 36))
	for _, nb := range []int{1, 3, 8} {
		K := 32 * nb
		ldw := K + 32*rng.IntN(2)
		w := make([]int8, 16*ldw)
		for i := range w {
			w[i] = int8(rng.IntN(255) - 127)
		}
		packed := make([]uint8, 512*nb)
		v.pack(packed, w, ldw, nb)
		const lda, lds, ldc = 300, 11, 19
		x := randVec(rng, 6*lda)
		a := make([]int8, 6*lda)
		s := make([]float32, 6*lds)
		corr := make([]int32, 6*lds)
		steps := []float32{0.5, 1, 2, 0}
		for tt := range 6 {
			aGo, sGo, cGo := make([]int8, K), make([]float32, nb), make([]int32, nb)
			if !v.quant(a[tt*lda:], s[tt*lds:], corr[tt*lds:], x[tt*lda:], nb) {
				t.Fatal("finite row refused")
			}
			q8QuantRow8Go(aGo, sGo, cGo, x[tt*lda:], nb)
			for k := range K {
				if a[tt*lda+k] != aGo[k] || s[tt*lds+k/32] != sGo[k/32] || corr[tt*lds+k/32] != cGo[k/32] {
					t.Fatalf("row %d value %d: %d (step %v, corr %d), portable %d (step %v, corr %d)", tt, k,
						a[tt*lda+k], s[tt*lds+k/32], corr[tt*lds+k/32], aGo[k], sGo[k/32], cGo[k/32])
				}
			}
			for b := range nb { // steps that keep the sums exact
				s[tt*lds+b] = steps[rng.IntN(len(steps))]
			}
		}
		c := make([]float32, 6*ldc)
		for i := range c {
			c[i] = float32(i % 7)
		}
		v.kernel(nb, a, lda, s, corr, lds, packed, c, ldc)
		for i, got := range c {
			tt, j := i/ldc, i%ldc
			want := float64(i % 7)
			if j < 16 {
				for b := range nb {
					var d int64
					for k := 32 * b; k < 32*b+32; k++ {
						d += int64(a[tt*lda+k]) * int64(w[j*ldw+k])
					}
					want += float64(s[tt*lds+b]) * float64(d)
				}
			}
			if float64(got) != want {
				t.Fatalf("nb %d: c[%d][%d] = %v, want %v", nb, tt, j, got, want)
			}
		}
	}
}

// TestQuantRowDotExact checks the assembly rounding of q8Dot's activations
// (where this build has it) against quantizeBlock, to the bit, ties
// included, and that it refuses a row holding an infinity.
func TestQuantRowDotExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	const nb = 6
	x := randVec(rng, 32*nb)
	x[40] = 127
	x[41] = 0.5 // a tie at step 1
	x[42] = -1.5
	for i := 64; i < 96; i++ {
		x[i] = 0
	}
	got := make([]int8, 64*nb)
	s := make([]float32, nb)
	if !q8QuantRowDot(got, s, x, nb) {
		t.Skip("no assembly rounding in this build")
	}
	want := make([]int8, 64)
	for b := range nb {
		ws := quantizeBlock(want, x[32*b:32*b+32])
		if s[b] != ws {
			t.Fatalf("block %d: step %v, want %v", b, s[b], ws)
		}
		for i := range 64 {
			if got[64*b+i] != want[i] {
				t.Fatalf("block %d byte %d: %d, want %d", b, i, got[64*b+i], want[i])
			}
		}
	}
	x[100] = float32(math.Inf(-1))
	if q8QuantRowDot(got, s, x, nb) {
		t.Fatal("row with -Inf accepted")
	}
}

// TestLinearQ8Concurrent runs the three int8 paths (one row, a few rows,
// the packed product) from several goroutines at once, as the server does:
// each result must equal the one computed alone, to the bit.
func TestLinearQ8Concurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(39, 40))
	const K, N = 256, 300
	w, _ := randMat(rng, Q8, N, K)
	x := randVec(rng, 40*K)
	sizes := []int{1, 5, 40}
	want := make([][]float32, len(sizes))
	for i, T := range sizes {
		want[i] = make([]float32, T*N)
		Linear(want[i], x[:T*K], w, nil, T)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 9)
	for g := range 9 {
		wg.Go(func() {
			i := g % len(sizes)
			T := sizes[i]
			for range 5 {
				got := make([]float32, T*N)
				Linear(got, x[:T*K], w, nil, T)
				if d := maxDiff(got, want[i]); d != 0 {
					errs <- fmt.Sprintf("goroutine %d, T %d: differs by %g", g, T, d)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
