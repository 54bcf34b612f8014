//go:build goexperiment.simd && amd64

package kernels

import "simd/archsimd"

func init() {
	if !haveAVX2 {
		return
	}
	dotRows = dotRowsAVX2
	axpy = axpyAVX2
}

// dotRowsAVX2 takes the rows four at a time so that each load of x serves
// four rows, widening bf16 and f16 weights in registers.
func dotRowsAVX2(y, x []float32, s source, r0 int) {
	in := len(x)
	i := 0
	for ; i+4 <= len(y); i += 4 {
		r := (r0 + i) * s.ld
		switch s.dtype {
		case BF16:
			y[i], y[i+1], y[i+2], y[i+3] = dot4BF16(x,
				s.u16[r:r+in], s.u16[r+s.ld:r+s.ld+in],
				s.u16[r+2*s.ld:r+2*s.ld+in], s.u16[r+3*s.ld:r+3*s.ld+in])
		case F32:
			y[i], y[i+1], y[i+2], y[i+3] = dot4F32(x,
				s.f32[r:r+in], s.f32[r+s.ld:r+s.ld+in],
				s.f32[r+2*s.ld:r+2*s.ld+in], s.f32[r+3*s.ld:r+3*s.ld+in])
		default:
			dotRowsGo(y[i:i+4], x, s, r0+i)
		}
	}
	if i < len(y) {
		dotRowsGo(y[i:], x, s, r0+i)
	}
}

// widenBF16 loads eight bf16 values and widens them to f32: the bf16 bits
// are the high half of the f32 bits.
func widenBF16(w []uint16) archsimd.Float32x8 {
	return archsimd.LoadUint16x8Slice(w).ExtendToUint32().ShiftAllLeft(16).AsFloat32x8()
}

// dot4BF16 returns the dot products of x with four bf16 rows, each as long
// as x.
func dot4BF16(x []float32, w0, w1, w2, w3 []uint16) (s0, s1, s2, s3 float32) {
	n := len(x)
	w0, w1, w2, w3 = w0[:n], w1[:n], w2[:n], w3[:n]
	var a0, a1, a2, a3 archsimd.Float32x8
	i := 0
	for ; i+8 <= n; i += 8 {
		xv := archsimd.LoadFloat32x8Slice(x[i:])
		a0 = widenBF16(w0[i:]).MulAdd(xv, a0)
		a1 = widenBF16(w1[i:]).MulAdd(xv, a1)
		a2 = widenBF16(w2[i:]).MulAdd(xv, a2)
		a3 = widenBF16(w3[i:]).MulAdd(xv, a3)
	}
	s0, s1, s2, s3 = hsum(a0), hsum(a1), hsum(a2), hsum(a3)
	for ; i < n; i++ {
		s0 += x[i] * BF16ToF32(w0[i])
		s1 += x[i] * BF16ToF32(w1[i])
		s2 += x[i] * BF16ToF32(w2[i])
		s3 += x[i] * BF16ToF32(w3[i])
	}
	return s0, s1, s2, s3
}

// dot4F32 returns the dot products of x with four f32 rows.
func dot4F32(x, w0, w1, w2, w3 []float32) (s0, s1, s2, s3 float32) {
	n := len(x)
	w0, w1, w2, w3 = w0[:n], w1[:n], w2[:n], w3[:n]
	var a0, a1, a2, a3 archsimd.Float32x8
	i := 0
	for ; i+8 <= n; i += 8 {
		xv := archsimd.LoadFloat32x8Slice(x[i:])
		a0 = archsimd.LoadFloat32x8Slice(w0[i:]).MulAdd(xv, a0)
		a1 = archsimd.LoadFloat32x8Slice(w1[i:]).MulAdd(xv, a1)
		a2 = archsimd.LoadFloat32x8Slice(w2[i:]).MulAdd(xv, a2)
		a3 = archsimd.LoadFloat32x8Slice(w3[i:]).MulAdd(xv, a3)
	}
	s0, s1, s2, s3 = hsum(a0), hsum(a1), hsum(a2), hsum(a3)
	for ; i < n; i++ {
		s0 += x[i] * w0[i]
		s1 += x[i] * w1[i]
		s2 += x[i] * w2[i]
		s3 += x[i] * w3[i]
	}
	return s0, s1, s2, s3
}

// hsum returns the sum of the eight lanes of v.
func hsum(v archsimd.Float32x8) float32 {
	q := v.GetLo().Add(v.GetHi())
	var a [4]float32
	q.Store(&a)
	return (a[0] + a[1]) + (a[2] + a[3])
}

// axpyAVX2 adds alpha·x to y, eight lanes at a time.
func axpyAVX2(y []float32, alpha float32, x []float32) {
	n := len(y)
	x = x[:n]
	av := archsimd.BroadcastFloat32x8(alpha)
	i := 0
	for ; i+8 <= n; i += 8 {
		yv := archsimd.LoadFloat32x8Slice(y[i:])
		archsimd.LoadFloat32x8Slice(x[i:]).MulAdd(av, yv).StoreSlice(y[i:])
	}
	for ; i < n; i++ {
		y[i] += alpha * x[i]
	}
}
