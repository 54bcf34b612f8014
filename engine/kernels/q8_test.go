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
