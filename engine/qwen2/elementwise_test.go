package qwen2

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestElementwiseSteps checks swiglu and softmaxPrefix, on whichever path
// this build and CPU take (vector or scalar), against float64 formulas,
// on lengths that leave a scalar tail and on values past exp's range.
func TestElementwiseSteps(t *testing.T) {
	const tol = 1e-6 // relative to the largest value of the result
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 7, 8, 29, 200} {
		gate, up := make([]float32, n), make([]float32, n)
		want := make([]float64, n)
		for i := range gate {
			gate[i] = float32(rng.NormFloat64() * 4)
			if i%11 == 3 {
				gate[i] = float32(rng.NormFloat64() * 200) // exp(-g) over- or underflows
			}
			up[i] = float32(rng.NormFloat64())
			g := float64(gate[i])
			want[i] = g / (1 + math.Exp(-g)) * float64(up[i])
		}
		swiglu(gate, up)
		if d := relDiff(gate, want); !(d <= tol) {
			t.Errorf("swiglu, %d values: relative diff %.3g, want <= %.3g", n, d, tol)
		}

		row := make([]float32, n+3)
		var mx float64 = math.Inf(-1)
		for i := range row {
			row[i] = float32(rng.NormFloat64() * 30)
			if i < n {
				mx = max(mx, float64(row[i]))
			}
		}
		var sum float64
		for i := range n {
			want[i] = math.Exp(float64(row[i]) - mx)
			sum += want[i]
		}
		for i := range n {
			want[i] /= sum
		}
		softmaxPrefix(row, n)
		if d := relDiff(row[:n], want); !(d <= tol) {
			t.Errorf("softmax of %d values: relative diff %.3g, want <= %.3g", n, d, tol)
		}
		for i, v := range row[n:] {
			if v != 0 {
				t.Errorf("softmax of %d values left %g past the prefix at %d", n, v, n+i)
			}
		}
	}
}

// relDiff returns the largest |got - want| over the largest |want|.
func relDiff(got []float32, want []float64) float64 {
	var d, m float64
	for i := range got {
		d = max(d, math.Abs(float64(got[i])-want[i]))
		m = max(m, math.Abs(want[i]))
	}
	return d / m
}
