//go:build goexperiment.simd && amd64

package kernels

import "simd/archsimd"

func init() {
	if archsimd.X86.AVX2() && archsimd.X86.FMA() {
		expSub = expSubAVX2
		maxOf = maxOfAVX2
		scaleBy = scaleByAVX2
		swiglu = swigluAVX2
		swigluBack = swigluBackAVX2
		softmaxGrad = softmaxGradAVX2
	}
}

// exp8 is e^x on eight lanes by the method of Exp32: x = n·ln2 + r with
// |r| <= ln2/2, e^r by a degree-7 Taylor polynomial, 2^n put into the
// exponent. Inputs are clamped to [-87.33, 88.37]; lanes below -87.33
// come out as 0, as Exp32 gives.
func exp8(x archsimd.Float32x8) archsimd.Float32x8 {
	keep := x.GreaterEqual(archsimd.BroadcastFloat32x8(-87.33))
	x = x.Max(archsimd.BroadcastFloat32x8(-87.33)).Min(archsimd.BroadcastFloat32x8(88.37))
	n := x.Mul(archsimd.BroadcastFloat32x8(1.44269504088896341)).RoundToEven()
	r := n.MulAdd(archsimd.BroadcastFloat32x8(-0.693359375), x)
	r = n.MulAdd(archsimd.BroadcastFloat32x8(2.12194440e-4), r)

	p := archsimd.BroadcastFloat32x8(1.0 / 5040)
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(1.0/720))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(1.0/120))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(1.0/24))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(1.0/6))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(0.5))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(1))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(1))

	// 2^n from the exponent bits, (n + 127) << 23; n <= 127 after the
	// clamp, and n >= -126.
	scale := n.ConvertToInt32().Add(archsimd.BroadcastInt32x8(127)).ShiftAllLeft(23).AsFloat32x8()
	return p.Mul(scale).Masked(keep)
}

// sigmoid8 is 1 / (1 + e^-g).
func sigmoid8(g archsimd.Float32x8) archsimd.Float32x8 {
	one := archsimd.BroadcastFloat32x8(1)
	return one.Div(one.Add(exp8(archsimd.BroadcastFloat32x8(0).Sub(g))))
}

// sum8 adds the lanes of v in float64.
func sum8(v archsimd.Float32x8) float64 {
	var lanes [8]float32
	v.Store(&lanes)
	var s float64
	for _, x := range lanes {
		s += float64(x)
	}
	return s
}

func expSubAVX2(x []float32, m float32) float64 {
	mv := archsimd.BroadcastFloat32x8(m)
	var s float64
	i := 0
	for i+8 <= len(x) {
		acc := archsimd.BroadcastFloat32x8(0)
		end := min(len(x)&^7, i+256)
		for ; i < end; i += 8 {
			e := exp8(archsimd.LoadFloat32x8Slice(x[i:]).Sub(mv))
			e.StoreSlice(x[i:])
			acc = acc.Add(e)
		}
		s += sum8(acc)
	}
	if i < len(x) {
		tail := x[i:]
		exp8(archsimd.LoadFloat32x8SlicePart(tail).Sub(mv)).StoreSlicePart(tail)
		for _, e := range tail {
			s += float64(e)
		}
	}
	return s
}

func maxOfAVX2(x []float32) float32 {
	mx := x[0]
	i := 0
	if len(x) >= 8 {
		acc := archsimd.LoadFloat32x8Slice(x)
		for i = 8; i+8 <= len(x); i += 8 {
			acc = acc.Max(archsimd.LoadFloat32x8Slice(x[i:]))
		}
		var lanes [8]float32
		acc.Store(&lanes)
		for _, v := range lanes {
			mx = max(mx, v)
		}
	}
	for _, v := range x[i:] {
		mx = max(mx, v)
	}
	return mx
}

func scaleByAVX2(x []float32, s float32) {
	sv := archsimd.BroadcastFloat32x8(s)
	i := 0
	for ; i+8 <= len(x); i += 8 {
		archsimd.LoadFloat32x8Slice(x[i:]).Mul(sv).StoreSlice(x[i:])
	}
	for ; i < len(x); i++ {
		x[i] *= s
	}
}

func swigluAVX2(h, g, u []float32) {
	n := len(h)
	g, u = g[:n], u[:n]
	i := 0
	for ; i+8 <= n; i += 8 {
		gv := archsimd.LoadFloat32x8Slice(g[i:])
		uv := archsimd.LoadFloat32x8Slice(u[i:])
		gv.Mul(sigmoid8(gv)).Mul(uv).StoreSlice(h[i:])
	}
	if i < n {
		gv := archsimd.LoadFloat32x8SlicePart(g[i:])
		uv := archsimd.LoadFloat32x8SlicePart(u[i:])
		gv.Mul(sigmoid8(gv)).Mul(uv).StoreSlicePart(h[i:])
	}
}

func swigluBackAVX2(h, g, u, dh []float32) {
	n := len(h)
	g, u, dh = g[:n], u[:n], dh[:n]
	one := archsimd.BroadcastFloat32x8(1)
	step := func(gv, uv, dv archsimd.Float32x8) (hv, dg, du archsimd.Float32x8) {
		sg := sigmoid8(gv)
		gs := gv.Mul(sg)
		hv = gs.Mul(uv)
		// silu'(g) = sg · (1 + g·(1 - sg)).
		dg = dv.Mul(uv).Mul(sg).Mul(gv.Mul(one.Sub(sg)).Add(one))
		du = dv.Mul(gs)
		return
	}
	i := 0
	for ; i+8 <= n; i += 8 {
		hv, dg, du := step(archsimd.LoadFloat32x8Slice(g[i:]), archsimd.LoadFloat32x8Slice(u[i:]),
			archsimd.LoadFloat32x8Slice(dh[i:]))
		hv.StoreSlice(h[i:])
		dg.StoreSlice(g[i:])
		du.StoreSlice(u[i:])
	}
	if i < n {
		hv, dg, du := step(archsimd.LoadFloat32x8SlicePart(g[i:]), archsimd.LoadFloat32x8SlicePart(u[i:]),
			archsimd.LoadFloat32x8SlicePart(dh[i:]))
		hv.StoreSlicePart(h[i:])
		dg.StoreSlicePart(g[i:])
		du.StoreSlicePart(u[i:])
	}
}

func softmaxGradAVX2(p, d []float32) {
	n := len(p)
	d = d[:n]
	acc := archsimd.BroadcastFloat32x8(0)
	i := 0
	for ; i+8 <= n; i += 8 {
		acc = archsimd.LoadFloat32x8Slice(p[i:]).MulAdd(archsimd.LoadFloat32x8Slice(d[i:]), acc)
	}
	dot := float32(sum8(acc))
	for j := i; j < n; j++ {
		dot += p[j] * d[j]
	}
	dv := archsimd.BroadcastFloat32x8(dot)
	for i = 0; i+8 <= n; i += 8 {
		pv := archsimd.LoadFloat32x8Slice(p[i:])
		pv.Mul(archsimd.LoadFloat32x8Slice(d[i:]).Sub(dv)).StoreSlice(d[i:])
	}
	for ; i < n; i++ {
		d[i] = p[i] * (d[i] - dot)
	}
}
