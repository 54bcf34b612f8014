package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestQuantizeQ8 checks the rounding error of the quantized product
// against the exact one: each weight moves by at most half a step, so an
// output moves by at most Scale[o]/2 · Σ|x| (plus f32 rounding, tol).
func TestQuantizeQ8(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, dt := range []DType{F32, BF16, F16} {
		t.Run(dt.String(), func(t *testing.T) {
			const T, in, out = 3, 300, 50
			w, wv := randMat(rng, dt, out, in)
			for i := 7 * in; i < 8*in; i++ { // an all-zero row
				wv[i] = 0
				if dt != F32 {
					w.U16[i] = 0
				}
			}
			q := QuantizeQ8(w)
			if q.Scale[7] != 0 {
				t.Fatalf("zero row: scale %v, want 0", q.Scale[7])
			}
			x := randVec(rng, T*in)
			got := make([]float32, T*out)
			RefLinear(got, x, q, nil, T)
			want := make([]float32, T*out)
			RefLinear(want, x, NewMatF32(out, in, wv), nil, T)
			mag := make([]float32, T*out)
			RefLinear(mag, abs(x), NewMatF32(out, in, abs(wv)), nil, T)
			for tt := range T {
				var xsum float64
				for _, v := range x[tt*in : (tt+1)*in] {
					xsum += math.Abs(float64(v))
				}
				for o := range out {
					i := tt*out + o
					bound := float64(q.Scale[o])/2*xsum + tol*float64(mag[i])
					if d := math.Abs(float64(got[i] - want[i])); d > bound {
						t.Fatalf("y[%d][%d]: got %v, want %v (|diff| %.3g > %.3g)", tt, o, got[i], want[i], d, bound)
					}
				}
			}
		})
	}
}

// TestQuantizeQ8NonFinite checks that a row holding an infinity or NaN
// gives NaN outputs, as the exact weights would give non-finite ones,
// while the other rows stay finite.
func TestQuantizeQ8NonFinite(t *testing.T) {
	for _, v := range []float32{float32(math.Inf(-1)), float32(math.NaN())} {
		const out, in = 200, 40
		w := make([]float32, out*in)
		for i := range w {
			w[i] = float32(i%7) - 3
		}
		w[137*in+3] = v
		x := make([]float32, in)
		for i := range x {
			x[i] = 1
		}
		y := make([]float32, out)
		Linear(y, x, QuantizeQ8(NewMatF32(out, in, w)), nil, 1)
		for o, got := range y {
			if nan := math.IsNaN(float64(got)); nan != (o == 137) {
				t.Fatalf("weight %v: y[%d] = %v", v, o, got)
			}
		}
	}
}
