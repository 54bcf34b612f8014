//go:build goexperiment.simd && amd64

package kernels

import "simd/archsimd"

func init() {
	if !haveAVX2 {
		return
	}
	dotRows = dotRowsAVX2
	axpy = axpyAVX2
	batchRows = batchRowsAVX2
}

// Implemented in matvec_amd64.s: out[r] = x · row r of w, for rows rows
// of stride ld, over 32·n32 columns.
func rowsBF16(x *float32, w *uint16, ld, n32, rows int, out *float32)
func rowsF16(x *float32, w *uint16, ld, n32, rows int, out *float32)
func rowsF32(x *float32, w *float32, ld, n32, rows int, out *float32)
func rowsQ8(x *float32, w *int8, ld, n32, rows int, out *float32)

// Implemented in matvec_amd64.s: out[4j+t] = x row t · w row j for two
// rows of w (stride ld) and four of x (stride ldx), over 8·n8 columns.
func batch2BF16(x *float32, ldx int, w *uint16, ld, n8 int, out *[8]float32)
func batch2F16(x *float32, ldx int, w *uint16, ld, n8 int, out *[8]float32)
func batch2F32(x *float32, ldx int, w *float32, ld, n8 int, out *[8]float32)
func batch2Q8(x *float32, ldx int, w *int8, ld, n8 int, out *[8]float32)

// Implemented in matvec_amd64.s: out[8r+t] = x row t · w row r for rows
// rows of w (stride ld) and eight of x (stride ldx), over 8·n8 columns.
func batch8BF16(x *float32, ldx int, w *uint16, ld, n8, rows int, out *float32)
func batch8F16(x *float32, ldx int, w *uint16, ld, n8, rows int, out *float32)
func batch8F32(x *float32, ldx int, w *float32, ld, n8, rows int, out *float32)
func batch8Q8(x *float32, ldx int, w *int8, ld, n8, rows int, out *float32)

// batchRowsAVX2 takes, for T ≤ 4, the rows of s two at a time against the
// first four rows of xp; the last columns (fewer than 8) are added in Go,
// and an odd last row is left to the portable loop. Larger T go to
// batch8RowsAVX2.
func batchRowsAVX2(y, xp []float32, T int, s source, lo, hi, out int) {
	if T > maxBatch/2 {
		batch8RowsAVX2(y, xp, T, s, lo, hi, out)
		return
	}
	in := len(xp) / maxBatch
	n8 := in / 8
	_ = xp[maxBatch*in-1]
	var sums [8]float32
	o := lo
	for ; o+2 <= hi && n8 > 0; o += 2 {
		r := o * s.ld
		last := r + s.ld + in - 1
		switch s.dtype {
		case BF16:
			_ = s.u16[last]
			batch2BF16(&xp[0], in, &s.u16[r], s.ld, n8, &sums)
		case F16:
			_ = s.u16[last]
			batch2F16(&xp[0], in, &s.u16[r], s.ld, n8, &sums)
		case Q8:
			_ = s.i8[last]
			batch2Q8(&xp[0], in, &s.i8[r], s.ld, n8, &sums)
		default:
			_ = s.f32[last]
			batch2F32(&xp[0], in, &s.f32[r], s.ld, n8, &sums)
		}
		for j := range 2 {
			scale := float32(1)
			if s.dtype == Q8 {
				scale = s.scale[o+j]
			}
			for t := range T {
				v := sums[4*j+t]
				for c := 8 * n8; c < in; c++ {
					v += xp[t*in+c] * s.unscaled(o+j, c)
				}
				y[t*out+o+j] = v * scale
			}
		}
	}
	if o < hi {
		batchRowsGo(y, xp, T, s, o, hi, out)
	}
}

// batch8RowsAVX2 is batchRowsAVX2 for five to eight rows of x: the rows of
// s go one at a time against all eight rows of xp, 64 rows a call.
func batch8RowsAVX2(y, xp []float32, T int, s source, lo, hi, out int) {
	in := len(xp) / maxBatch
	n8 := in / 8
	if n8 == 0 {
		batchRowsGo(y, xp, T, s, lo, hi, out)
		return
	}
	_ = xp[maxBatch*in-1]
	var sums [64 * maxBatch]float32
	for o0 := lo; o0 < hi; o0 += 64 {
		rows := min(64, hi-o0)
		r := o0 * s.ld
		last := r + (rows-1)*s.ld + in - 1
		switch s.dtype {
		case BF16:
			_ = s.u16[last]
			batch8BF16(&xp[0], in, &s.u16[r], s.ld, n8, rows, &sums[0])
		case F16:
			_ = s.u16[last]
			batch8F16(&xp[0], in, &s.u16[r], s.ld, n8, rows, &sums[0])
		case Q8:
			_ = s.i8[last]
			batch8Q8(&xp[0], in, &s.i8[r], s.ld, n8, rows, &sums[0])
		default:
			_ = s.f32[last]
			batch8F32(&xp[0], in, &s.f32[r], s.ld, n8, rows, &sums[0])
		}
		for j := range rows {
			o := o0 + j
			scale := float32(1)
			if s.dtype == Q8 {
				scale = s.scale[o]
			}
			for t := range T {
				v := sums[maxBatch*j+t]
				for c := 8 * n8; c < in; c++ {
					v += xp[t*in+c] * s.unscaled(o, c)
				}
				y[t*out+o] = v * scale
			}
		}
	}
}

// dotRowsAVX2 reads the rows of s one after another in assembly; the last
// columns (fewer than 32) are added in Go.
func dotRowsAVX2(y, x []float32, s source, r0 int) {
	in := len(x)
	n32 := in / 32
	if n32 == 0 || len(y) == 0 {
		dotRowsGo(y, x, s, r0)
		return
	}
	r := r0 * s.ld
	last := r + (len(y)-1)*s.ld + in - 1
	switch s.dtype {
	case BF16:
		_ = s.u16[last]
		rowsBF16(&x[0], &s.u16[r], s.ld, n32, len(y), &y[0])
	case F16:
		_ = s.u16[last]
		rowsF16(&x[0], &s.u16[r], s.ld, n32, len(y), &y[0])
	case Q8:
		_ = s.i8[last]
		rowsQ8(&x[0], &s.i8[r], s.ld, n32, len(y), &y[0])
	default:
		_ = s.f32[last]
		rowsF32(&x[0], &s.f32[r], s.ld, n32, len(y), &y[0])
	}
	for i := range y {
		for c := 32 * n32; c < in; c++ {
			y[i] += x[c] * s.unscaled(r0+i, c)
		}
		if s.dtype == Q8 {
			y[i] *= s.scale[r0+i]
		}
	}
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
