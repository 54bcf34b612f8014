package qwen2

import "math"

// expf returns e^x in float32 with a relative error of a few 1e-8, several
// times faster than math.Exp, which computes in float64. The activations
// (SiLU) and attention softmax call it once per value, so in prefill it
// runs tens of millions of times a token batch.
//
// Method: x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial,
// then the exponent n added to the float's bits. Below -87.3 the result
// would be subnormal and is returned as 0; above 88.7 it is +Inf.
func expf(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375 // ln 2 split so that n·ln2hi is exact
		ln2lo = -2.12194440e-4
	)
	switch {
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -87.33654:
		return 0
	case x != x:
		return x
	}
	// n = round(x·log2e): adding 1.5·2²³ leaves no fraction bits, so the
	// sum rounds to an integer (to nearest even); subtracting recovers it.
	const magic = 0x1.8p23
	n := (x*log2e + magic) - magic
	r := x - n*ln2hi - n*ln2lo

	// e^r ≈ 1 + r + r²·p(r), the coefficients of Cephes' expf.
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1

	// Scale by 2^n, in two steps when 2^n alone would not be a normal
	// float (n = -127 or 128 near the bounds).
	switch {
	case n < -126:
		return y * math.Float32frombits(uint32(n+127+64)<<23) * 0x1p-64
	case n > 127:
		return y * math.Float32frombits(uint32(n+127-1)<<23) * 2
	}
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// The vector forms of the element-wise steps, set by exp_simd.go when the
// CPU has them. Each does a prefix of its slice and returns its length;
// the scalar loops finish the rest.
var (
	// swigluFast computes gate = silu(gate) · up.
	swigluFast = func(gate, up []float32) int { return 0 }
	// expSubFast replaces x[i] by exp(x[i] - m) and also returns the sum.
	expSubFast = func(x []float32, m float32) (int, float32) { return 0, 0 }
	// maxFast returns the largest of its prefix (given m, the start).
	maxFast = func(x []float32, m float32) (int, float32) { return 0, m }
	// scaleFast multiplies x by s.
	scaleFast = func(x []float32, s float32) int { return 0 }
)
