package qwen2

import (
	"math"
	"testing"
)

func TestExpf(t *testing.T) {
	// Relative error against float64 exp over the range softmax and SiLU
	// use; f32 itself rounds at 6e-8.
	const tol = 3e-7
	var worst float64
	for i := -870000; i <= 887000; i += 7 {
		x := float32(i) / 10000
		got, want := float64(expf(x)), math.Exp(float64(x))
		if want < 1.2e-38 {
			continue // subnormal results are flushed to 0
		}
		worst = max(worst, math.Abs(got-want)/want)
	}
	if worst > tol {
		t.Errorf("expf: max relative error %.3g, want <= %.3g", worst, tol)
	}
	tests := []struct{ x, want float32 }{
		{0, 1}, {-100, 0}, {100, float32(math.Inf(1))}, {float32(math.Inf(-1)), 0},
	}
	for _, tt := range tests {
		if got := expf(tt.x); got != tt.want {
			t.Errorf("expf(%g) = %g, want %g", tt.x, got, tt.want)
		}
	}
	if got := expf(float32(math.NaN())); got == got {
		t.Errorf("expf(NaN) = %g, want NaN", got)
	}
}

func BenchmarkExpf(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%200)/10 - 10
	}
	for b.Loop() {
		for i, v := range x {
			x[i] = expf(v) - expf(v) + v
		}
	}
}

func BenchmarkMathExp(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%200)/10 - 10
	}
	for b.Loop() {
		for i, v := range x {
			x[i] = float32(math.Exp(float64(v))-math.Exp(float64(v))) + v
		}
	}
}
