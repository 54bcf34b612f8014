package kernels

import "math"

// This file holds the element-wise steps around the products that call
// exponentials: softmax (attention, the head's loss), SiLU and SwiGLU,
// forward and backward. The forward pass and training take hundreds of
// millions of exponentials a step and their results are f32, so they use
// Exp32 rather than math.Exp.

// Exp32 returns e^x to within 2 f32 ulps: x = k·ln2 + r with |r| <= ln2/2,
// e^r by its Taylor series to degree 7 (truncation below 6e-9 relative),
// and 2^k put into the exponent.
func Exp32(x float32) float32 {
	switch {
	case x > 88.72:
		return float32(math.Inf(1))
	case x < -87.33:
		return 0
	case x != x:
		return x
	}
	const log2e = 1.44269504088896341
	const ln2Hi, ln2Lo = 0.693359375, -2.12194440e-4 // ln2Hi has 9 significant bits, so k·ln2Hi is exact
	t := x * log2e
	if t < 0 {
		t -= 0.5
	} else {
		t += 0.5
	}
	k := int32(t) // round half away from zero
	fk := float32(k)
	r := (x - fk*ln2Hi) - fk*ln2Lo

	p := float32(1.0 / 5040)
	p = p*r + 1.0/720
	p = p*r + 1.0/120
	p = p*r + 1.0/24
	p = p*r + 1.0/6
	p = p*r + 0.5
	p = p*r + 1
	p = p*r + 1
	if k > 127 { // 2^128 is not an f32; 2^127 · 2 is, as a product
		return p * math.Float32frombits(uint32(k+126)<<23) * 2
	}
	return p * math.Float32frombits(uint32(k+127)<<23)
}

// The vector loops over exponentials. The portable versions below use
// Exp32 one value at a time; elementwise_simd.go replaces them where the CPU has
// AVX2 and FMA with versions that take eight values at a time. Both are
// deterministic: a value's result does not depend on its position in the
// slice, so a run gives the same numbers however its rows are split.
var (
	expSub      = expSubGo
	maxOf       = maxOfGo
	scaleBy     = scaleByGo
	swiglu      = swigluGo
	swigluBack  = swigluBackGo
	softmaxGrad = softmaxGradGo
)

// ExpSub replaces x[i] by e^(x[i]-m) and returns their sum, added up in
// float64 (in f32 over at most 256 values at a time).
func ExpSub(x []float32, m float32) float64 { return expSub(x, m) }

// MaxOf returns the largest value of x, which must not be empty.
func MaxOf(x []float32) float32 { return maxOf(x) }

// ScaleBy multiplies every x[i] by s.
func ScaleBy(x []float32, s float32) { scaleBy(x, s) }

// SwiGLU writes h[i] = silu(g[i]) · u[i]; h may be g.
func SwiGLU(h, g, u []float32) { swiglu(h, g, u) }

// SwiGLUBackward recomputes h = silu(g) ⊙ u and, given dh, the gradient
// of h, overwrites g with dh ⊙ u ⊙ silu'(g) and u with dh ⊙ silu(g).
func SwiGLUBackward(h, g, u, dh []float32) { swigluBack(h, g, u, dh) }

// SoftmaxBackward overwrites d with p ⊙ (d - Σ_j p_j d_j), the gradient
// of a softmax's input given that of its output p.
func SoftmaxBackward(p, d []float32) { softmaxGrad(p, d) }

func softmaxGradGo(p, d []float32) {
	var dot float32
	for j, v := range p {
		dot += v * d[j]
	}
	for j, v := range p {
		d[j] = v * (d[j] - dot)
	}
}

func expSubGo(x []float32, m float32) float64 {
	var s float64
	for i, v := range x {
		e := Exp32(v - m)
		x[i] = e
		s += float64(e)
	}
	return s
}

func maxOfGo(x []float32) float32 {
	mx := x[0]
	for _, v := range x {
		mx = max(mx, v)
	}
	return mx
}

func scaleByGo(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// silu is x·sigmoid(x) by Exp32.
func silu(x float32) float32 { return x / (1 + Exp32(-x)) }

func swigluGo(h, g, u []float32) {
	for i := range h {
		h[i] = silu(g[i]) * u[i]
	}
}

func swigluBackGo(h, g, u, dh []float32) {
	for i := range h {
		gi, ui, d := g[i], u[i], dh[i]
		sg := 1 / (1 + Exp32(-gi))
		h[i] = gi * sg * ui
		g[i] = d * ui * sg * (1 + gi*(1-sg))
		u[i] = d * gi * sg
	}
}
