package kernels

import (
	"math"
	"testing"
)

// TestExp32 compares Exp32 with math.Exp over its whole finite range.
func TestExp32(t *testing.T) {
	worst := 0.0
	for x := float32(-87.3); x < 88.7; x += 0.000731 {
		got, want := float64(Exp32(x)), math.Exp(float64(x))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
			if rel > 4e-7 { // 2 f32 ulps at worst is 2.4e-7; leave room for the f32 input of want
				t.Fatalf("Exp32(%g) = %g, want %g (relative error %.2g)", x, got, want, rel)
			}
		}
	}
	t.Logf("worst relative error %.3g", worst)
	for _, tt := range []struct{ in, want float32 }{{-100, 0}, {0, 1}, {float32(math.Inf(-1)), 0}} {
		if got := Exp32(tt.in); got != tt.want {
			t.Errorf("Exp32(%g) = %g, want %g", tt.in, got, tt.want)
		}
	}
	if got := Exp32(100); !math.IsInf(float64(got), 1) {
		t.Errorf("Exp32(100) = %g, want +Inf", got)
	}
	if got := Exp32(float32(math.NaN())); got == got {
		t.Errorf("Exp32(NaN) = %g, want NaN", got)
	}
}

// TestVectorLoops checks the loops over exponentials that the CPU may run
// eight values at a time against Exp32 and the portable loops, at lengths
// that leave every possible tail.
func TestVectorLoops(t *testing.T) {
	for n := 1; n <= 300; n += 7 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i%37)*4.7 - 90 + float32(n%5)*0.13 // spans underflow to e^79
		}
		want := 0.0
		for _, v := range x {
			want += float64(Exp32(v - 1))
		}
		got := append([]float32(nil), x...)
		sum := ExpSub(got, 1)
		for i, v := range x {
			e := math.Exp(float64(v - 1))
			if e < 1e-38 && got[i] != 0 && got[i] > 2e-38 || math.Abs(float64(got[i])-e) > 4e-7*e+1e-38 {
				t.Fatalf("n=%d: ExpSub gives e^%g = %g, want %g", n, v-1, got[i], e)
			}
		}
		if math.Abs(sum-want) > 1e-6*want {
			t.Errorf("n=%d: ExpSub sum %g, want %g", n, sum, want)
		}
		if mx, want := MaxOf(x), maxOfGo(x); mx != want {
			t.Errorf("n=%d: MaxOf %g, want %g", n, mx, want)
		}

		g, u, dh := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range g {
			g[i] = float32(i%23)*0.9 - 10
			u[i] = float32(i%11)*0.3 - 1.5
			dh[i] = float32(i%7)*0.2 - 0.6
		}
		h, hWant := make([]float32, n), make([]float32, n)
		SwiGLU(h, g, u)
		swigluGo(hWant, g, u)
		g2, u2, h2 := append([]float32(nil), g...), append([]float32(nil), u...), make([]float32, n)
		gW, uW, h2W := append([]float32(nil), g...), append([]float32(nil), u...), make([]float32, n)
		SwiGLUBackward(h2, g2, u2, dh)
		swigluBackGo(h2W, gW, uW, dh)
		for i := range h {
			for _, c := range []struct {
				what      string
				got, want float32
			}{{"SwiGLU", h[i], hWant[i]}, {"SwiGLUBackward h", h2[i], h2W[i]}, {"SwiGLUBackward dgate", g2[i], gW[i]}, {"SwiGLUBackward dup", u2[i], uW[i]}} {
				if d := math.Abs(float64(c.got - c.want)); d > 1e-6*math.Abs(float64(c.want))+1e-7 {
					t.Fatalf("n=%d i=%d: %s = %g, want %g", n, i, c.what, c.got, c.want)
				}
			}
		}
	}
}

// TestSoftmaxGrad checks the vector softmax backward against the portable
// loop at lengths that leave every possible tail.
func TestSoftmaxGrad(t *testing.T) {
	for n := 1; n <= 70; n += 3 {
		p, d := make([]float32, n), make([]float32, n)
		for i := range p {
			p[i] = float32(i%5+1) / float32(3*n)
			d[i] = float32(i%7) - 3
		}
		want := append([]float32(nil), d...)
		softmaxGradGo(p, want)
		SoftmaxBackward(p, d)
		for i := range d {
			if math.Abs(float64(d[i]-want[i])) > 1e-6*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("n=%d: SoftmaxBackward[%d] = %g, want %g", n, i, d[i], want[i])
			}
		}
	}
}
