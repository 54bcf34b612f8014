package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// The fast kernels must equal the reference ones up to rounding. Both
// accumulate in f32 but in different orders, so an element may differ by
// a few ulps of the sum of the magnitudes of its terms; tol bounds the
// difference relative to that sum (Σ|a·b|, plus |bias| or |beta·c|). An
// indexing or packing mistake gives differences of order 1 relative.
const tol = 1e-5

// randMat returns a random [rows, cols] matrix stored as dtype, and its
// exact f32 values.
func randMat(rng *rand.Rand, dtype DType, rows, cols int) (Mat, []float32) {
	vals := make([]float32, rows*cols)
	m := Mat{Rows: rows, Cols: cols, DType: dtype}
	if dtype == BF16 || dtype == F16 {
		m.U16 = make([]uint16, rows*cols)
	}
	if dtype == Q8 {
		f, _ := randMat(rng, F32, rows, cols)
		m = QuantizeQ8(f)
		for r := range rows {
			m.Row(vals[r*cols:(r+1)*cols], r)
		}
		return m, vals
	}
	for i := range vals {
		switch dtype {
		case F32:
			vals[i] = float32(rng.NormFloat64())
		case BF16:
			m.U16[i] = F32ToBF16(float32(rng.NormFloat64()))
			vals[i] = BF16ToF32(m.U16[i])
		case F16:
			m.U16[i] = randF16(rng)
			vals[i] = F16ToF32(m.U16[i])
		}
	}
	if dtype == F32 {
		m.F32 = vals
	}
	return m, vals
}

// randF16 returns random half-precision bits: mostly normal values of
// magnitude 2⁻⁵ to 2⁵, and one in sixteen subnormal.
func randF16(rng *rand.Rand) uint16 {
	sign := uint16(rng.IntN(2)) << 15
	frac := uint16(rng.IntN(1 << 10))
	if rng.IntN(16) == 0 {
		return sign | frac
	}
	return sign | uint16(10+rng.IntN(11))<<10 | frac
}

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func abs(v []float32) []float32 {
	a := make([]float32, len(v))
	for i, x := range v {
		a[i] = float32(math.Abs(float64(x)))
	}
	return a
}

// compare fails the test when got and want differ by more than tol times
// the magnitude mag of each element.
func compare(t *testing.T, got, want, mag []float32) {
	t.Helper()
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if !(d <= tol*float64(mag[i])+1e-30) {
			t.Fatalf("element %d: got %v, want %v (|diff| %.3g > %.3g)", i, got[i], want[i], d, tol*float64(mag[i]))
		}
	}
}

var linearShapes = []struct{ T, in, out int }{
	{0, 5, 5}, {1, 1, 1}, {1, 7, 17}, {1, 33, 100}, {1, 896, 37}, {1, 300, 1200}, {1, 22000, 3},
	{2, 7, 17}, {3, 33, 50}, {4, 300, 37}, {2, 896, 64}, {4, 22000, 3},
	{5, 40, 40}, {6, 100, 70}, {8, 896, 65}, {9, 33, 48}, {5, 33, 19}, {7, 17, 33}, {13, 100, 50}, {6, 16, 16},
	{33, 260, 129}, {64, 264, 80}, {100, 520, 300}, {17, 8, 1000},
}

// dtypes are the precisions every kernel taking a Mat is tested with.
var dtypes = []DType{F32, BF16, F16, Q8}

func TestLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dt := range dtypes {
		for _, s := range linearShapes {
			for _, withBias := range []bool{false, true} {
				name := fmt.Sprintf("%v/T%d_in%d_out%d/bias=%v", dt, s.T, s.in, s.out, withBias)
				t.Run(name, func(t *testing.T) {
					w, wv := randMat(rng, dt, s.out, s.in)
					x := randVec(rng, s.T*s.in)
					var bias, absBias []float32
					if withBias {
						bias = randVec(rng, s.out)
						absBias = abs(bias)
					}
					want := make([]float32, s.T*s.out)
					RefLinearQ8(want, x, w, bias, s.T) // RefLinear but for Q8
					mag := make([]float32, s.T*s.out)
					RefLinear(mag, abs(x), NewMatF32(s.out, s.in, abs(wv)), absBias, s.T)
					got := make([]float32, s.T*s.out)
					for i := range got {
						got[i] = float32(math.NaN()) // must be overwritten
					}
					Linear(got, x, w, bias, s.T)
					compare(t, got, want, mag)
				})
			}
		}
	}
}

func TestLinearInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, dt := range dtypes {
		for _, s := range linearShapes {
			name := fmt.Sprintf("%v/T%d_in%d_out%d", dt, s.T, s.in, s.out)
			t.Run(name, func(t *testing.T) {
				w, wv := randMat(rng, dt, s.out, s.in)
				dy := randVec(rng, s.T*s.out)
				want := make([]float32, s.T*s.in)
				RefLinearInput(want, dy, w, s.T)
				mag := make([]float32, s.T*s.in)
				RefLinearInput(mag, abs(dy), NewMatF32(s.out, s.in, abs(wv)), s.T)
				got := make([]float32, s.T*s.in)
				for i := range got {
					got[i] = float32(math.NaN())
				}
				LinearInput(got, dy, w, s.T)
				compare(t, got, want, mag)
			})
		}
	}
}

// TestLinearInputAdd checks that the accumulating form adds dy W to what
// dx held.
func TestLinearInputAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for _, dt := range dtypes {
		for _, s := range linearShapes {
			name := fmt.Sprintf("%v/T%d_in%d_out%d", dt, s.T, s.in, s.out)
			t.Run(name, func(t *testing.T) {
				w, wv := randMat(rng, dt, s.out, s.in)
				dy := randVec(rng, s.T*s.out)
				start := randVec(rng, s.T*s.in)
				want := make([]float32, s.T*s.in)
				RefLinearInput(want, dy, w, s.T)
				mag := make([]float32, s.T*s.in)
				RefLinearInput(mag, abs(dy), NewMatF32(s.out, s.in, abs(wv)), s.T)
				for i := range want {
					want[i] += start[i]
					mag[i] += abs(start[i : i+1])[0]
				}
				got := append([]float32(nil), start...)
				LinearInputAdd(got, dy, w, s.T)
				compare(t, got, want, mag)
			})
		}
	}
}

// TestLinearShared checks the products sharing one input against Linear
// on each, with the packed path (more than maxBatch rows, every output at
// least 2·nr wide) and the fallback.
func TestLinearShared(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 6))
	for _, dt := range []DType{F32, BF16} {
		for _, s := range []struct{ T, in int }{{3, 40}, {50, 70}, {97, 300}} {
			t.Run(fmt.Sprintf("%v/T%d_in%d", dt, s.T, s.in), func(t *testing.T) {
				x := randVec(rng, s.T*s.in)
				var outs []LinearOut
				var want [][]float32
				for i, rows := range []int{100, 32, 48, 7} {
					w, _ := randMat(rng, dt, rows, s.in)
					var bias []float32
					if i%2 == 0 {
						bias = randVec(rng, rows)
					}
					y := make([]float32, s.T*rows)
					for j := range y {
						y[j] = float32(math.NaN())
					}
					outs = append(outs, LinearOut{Y: y, W: w, Bias: bias})
					ref := make([]float32, s.T*rows)
					Linear(ref, x, w, bias, s.T)
					want = append(want, ref)
				}
				LinearShared(x, s.T, outs[:3]...)
				LinearShared(x, s.T, outs[3:]...)
				for i, o := range outs {
					for j := range o.Y {
						if d := math.Abs(float64(o.Y[j] - want[i][j])); !(d <= 1e-4*(1+math.Abs(float64(want[i][j])))) {
							t.Fatalf("output %d, element %d: %v, Linear gives %v", i, j, o.Y[j], want[i][j])
						}
					}
				}
			})
		}
	}
}

// TestPlanChunks checks that the chunk plan for the training shapes keeps
// chunks at most ncMax wide and leaves no thread a chunk behind the other.
func TestPlanChunks(t *testing.T) {
	for _, panels := range []int{1, 8, 56, 72, 304, 608, 9496} {
		const mBlocks, threads = 171, 2
		n, m := planChunks(panels, mBlocks, threads)
		if w := (panels + n - 1) / n * nr; w > ncMax {
			t.Errorf("%d panels: chunks %d wide, more than %d", panels, w, ncMax)
		}
		span, ideal := makespan(panels, n, mBlocks, m, threads), (panels*mBlocks+threads-1)/threads
		if panels > 1 && span != ideal {
			t.Errorf("%d panels: %d × %d chunks end at %d, the even share is %d", panels, n, m, span, ideal)
		}
	}
}

func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	shapes := []struct{ m, n, k int }{
		{1, 1, 1}, {1, 70, 33}, {1, 200, 300}, {2, 3, 4}, {7, 17, 33},
		{17, 100, 7}, {64, 64, 300}, {100, 130, 64}, {40, 8, 600}, {3, 5, 0},
	}
	for _, s := range shapes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, -0.7}} {
					name := fmt.Sprintf("m%d_n%d_k%d/tA=%v/tB=%v/alpha=%v/beta=%v", s.m, s.n, s.k, ta, tb, ab[0], ab[1])
					t.Run(name, func(t *testing.T) {
						testGemm(t, rng, s.m, s.n, s.k, ta, tb, ab[0], ab[1])
					})
				}
			}
		}
	}
}

// testGemm compares Gemm with RefGemm on random operands whose row strides
// exceed their widths, so that a stride mistake shows.
func testGemm(t *testing.T, rng *rand.Rand, m, n, k int, ta, tb bool, alpha, beta float32) {
	ar, ac := m, k
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	lda, ldb, ldc := ac+3, bc+5, n+2
	a := randVec(rng, max(ar*lda, 1))
	b := randVec(rng, max(br*ldb, 1))
	c0 := randVec(rng, m*ldc)
	want := append([]float32(nil), c0...)
	RefGemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
	mag := abs(c0)
	RefGemm(ta, tb, m, n, k, float32(math.Abs(float64(alpha))), abs(a), lda, abs(b), ldb, float32(math.Abs(float64(beta))), mag, ldc)
	got := append([]float32(nil), c0...)
	if beta == 0 {
		for i := range got {
			got[i] = float32(math.NaN()) // must not be read
		}
	}
	Gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, got, ldc)
	for i := range m {
		r := i * ldc
		compare(t, got[r:r+n], want[r:r+n], mag[r:r+n])
		for j := n; j < ldc && r+j < len(got); j++ {
			if got[r+j] != c0[r+j] && beta != 0 {
				t.Fatalf("C[%d][%d] past n changed: got %v, want %v", i, j, got[r+j], c0[r+j])
			}
		}
	}
}

// TestSlabs runs products deeper than the packing bound, which are done
// in slabs of depth that add into C.
func TestSlabs(t *testing.T) {
	saved := maxPacked
	maxPacked = 6 * 600
	defer func() { maxPacked = saved }()
	rng := rand.New(rand.NewPCG(13, 14))
	t.Run("Linear", func(t *testing.T) {
		const T, in, out = 20, 1100, 40
		w, wv := randMat(rng, BF16, out, in)
		x, bias := randVec(rng, T*in), randVec(rng, out)
		want, mag, got := make([]float32, T*out), make([]float32, T*out), make([]float32, T*out)
		RefLinear(want, x, w, bias, T)
		RefLinear(mag, abs(x), NewMatF32(out, in, abs(wv)), abs(bias), T)
		Linear(got, x, w, bias, T)
		compare(t, got, want, mag)
	})
	for _, ta := range []bool{false, true} {
		t.Run(fmt.Sprintf("Gemm/tA=%v", ta), func(t *testing.T) {
			testGemm(t, rng, 13, 50, 1500, ta, false, 0.5, -1)
		})
	}
}

// TestConcurrent calls the kernels from several goroutines at once, as the
// server does when it decodes for several requests: each result must equal
// the one computed alone.
func TestConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	w, _ := randMat(rng, BF16, 300, 200)
	const T = 40
	x := randVec(rng, T*200)
	want := make([]float32, T*300)
	Linear(want, x, w, nil, T)
	wantVec := make([]float32, 300)
	Linear(wantVec, x[:200], w, nil, 1)

	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for range 5 {
				if g%2 == 0 {
					got := make([]float32, T*300)
					Linear(got, x, w, nil, T)
					if d := maxDiff(got, want); d != 0 {
						errs <- fmt.Sprintf("goroutine %d: prefill differs by %g", g, d)
						return
					}
					continue
				}
				got := make([]float32, 300)
				Linear(got, x[:200], w, nil, 1)
				if d := maxDiff(got, wantVec); d != 0 {
					errs <- fmt.Sprintf("goroutine %d: decode differs by %g", g, d)
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

func maxDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}
