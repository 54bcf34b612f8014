//go:build goexperiment.simd && amd64

package qwen2

import "simd/archsimd"

func init() {
	if archsimd.X86.AVX2() && archsimd.X86.FMA() {
		swigluFast = swigluAVX2
		expSubFast = expSubAVX2
		maxFast = maxAVX2
		scaleFast = scaleAVX2
	}
}

// exp8 is expf on eight lanes, by the same method, with the input clamped
// to [-87.3, 88]: results below 2^-126 come out as about 1e-38 instead of
// 0, and the top lane stays finite.
func exp8(x archsimd.Float32x8) archsimd.Float32x8 {
	x = x.Max(archsimd.BroadcastFloat32x8(-87.33654)).Min(archsimd.BroadcastFloat32x8(88))
	n := x.Mul(archsimd.BroadcastFloat32x8(1.44269504088896341)).RoundToEven()
	r := n.MulAdd(archsimd.BroadcastFloat32x8(-0.693359375), x)
	r = n.MulAdd(archsimd.BroadcastFloat32x8(2.12194440e-4), r)

	p := archsimd.BroadcastFloat32x8(1.9875691500e-4)
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(1.3981999507e-3))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(8.3334519073e-3))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(4.1665795894e-2))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(1.6666665459e-1))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(5.0000001201e-1))
	one := archsimd.BroadcastFloat32x8(1)
	y := p.Mul(r).MulAdd(r, r.Add(one))

	// 2^n from the exponent bits: (n + 127) << 23.
	scale := n.ConvertToInt32().Add(archsimd.BroadcastInt32x8(127)).ShiftAllLeft(23).AsFloat32x8()
	return y.Mul(scale)
}

// swigluAVX2 computes gate = silu(gate) · up eight values at a time and
// returns how many it did.
func swigluAVX2(gate, up []float32) int {
	one := archsimd.BroadcastFloat32x8(1)
	zero := archsimd.BroadcastFloat32x8(0)
	i := 0
	for ; i+8 <= len(gate); i += 8 {
		g := archsimd.LoadFloat32x8Slice(gate[i:])
		u := archsimd.LoadFloat32x8Slice(up[i:])
		e := exp8(zero.Sub(g))
		g.Div(one.Add(e)).Mul(u).StoreSlice(gate[i:])
	}
	return i
}

// expSubAVX2 replaces x[i] by exp(x[i] - m) eight values at a time and
// returns how many it did and their sum.
func expSubAVX2(x []float32, m float32) (int, float32) {
	mv := archsimd.BroadcastFloat32x8(m)
	acc := archsimd.BroadcastFloat32x8(0)
	i := 0
	for ; i+8 <= len(x); i += 8 {
		e := exp8(archsimd.LoadFloat32x8Slice(x[i:]).Sub(mv))
		e.StoreSlice(x[i:])
		acc = acc.Add(e)
	}
	var lanes [8]float32
	acc.Store(&lanes)
	var sum float32
	for _, v := range lanes {
		sum += v
	}
	return i, sum
}

// maxAVX2 returns the largest of m and x's values, eight at a time, and
// how many it read. NaN is not propagated (as Go's max would): the
// softmax of a row holding NaN is NaN either way, through the exponentials.
func maxAVX2(x []float32, m float32) (int, float32) {
	if len(x) < 8 {
		return 0, m
	}
	acc := archsimd.BroadcastFloat32x8(m)
	i := 0
	for ; i+8 <= len(x); i += 8 {
		acc = acc.Max(archsimd.LoadFloat32x8Slice(x[i:]))
	}
	var lanes [8]float32
	acc.Store(&lanes)
	for _, v := range lanes {
		m = max(m, v)
	}
	return i, m
}

// scaleAVX2 multiplies x by s eight values at a time and returns how many
// it did.
func scaleAVX2(x []float32, s float32) int {
	sv := archsimd.BroadcastFloat32x8(s)
	i := 0
	for ; i+8 <= len(x); i += 8 {
		archsimd.LoadFloat32x8Slice(x[i:]).Mul(sv).StoreSlice(x[i:])
	}
	return i
}
