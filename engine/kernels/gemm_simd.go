//go:build goexperiment.simd && amd64

package kernels

import "simd/archsimd"

// Implemented in gemm_amd64.s.
func kernel6x16(k int, a, b *float32, ldb int, c *float32, ldc int, add bool)
func packT16BF16(dst *float32, src *uint16, ld, k8 int)
func packT16F16(dst *float32, src *uint16, ld, k8 int)
func packT16F32(dst *float32, src *float32, ld, k8 int)
func packN16BF16(dst *float32, src *uint16, ld, k int)
func packN16F16(dst *float32, src *uint16, ld, k int)
func widenQ8(dst *float32, src *int8, n8 int, scale float32)
func packA6(dst, src *float32, lda, k8 int, alpha float32)

// haveAVX2 reports whether the CPU runs the AVX2 and FMA paths. Every CPU
// with AVX2 also has F16C (VCVTPH2PS), which the f16 packs use.
var haveAVX2 = archsimd.X86.AVX2() && archsimd.X86.FMA()

func init() {
	if !haveAVX2 {
		return
	}
	microKernel = microKernelAVX2
	packTrans = packTransAVX2
	packStraight = packStraightAVX2
	packRows = packRowsAVX2
}

// packRowsAVX2 checks the bounds the assembly relies on and calls it.
func packRowsAVX2(dst, a []float32, lda, k8 int, alpha float32) {
	if k8 == 0 {
		return
	}
	_ = dst[k8*8*mr-1]
	_ = a[(mr-1)*lda+8*k8-1]
	packA6(&dst[0], &a[0], lda, k8, alpha)
}

// microKernelAVX2 checks the bounds the assembly relies on and calls it.
func microKernelAVX2(k int, a, b []float32, ldb int, c []float32, ldc int, add bool) {
	_ = c[(mr-1)*ldc+nr-1]
	if k == 0 {
		if !add {
			for i := range mr {
				clear(c[i*ldc : i*ldc+nr])
			}
		}
		return
	}
	_ = a[k*mr-1]
	_ = b[(k-1)*ldb+nr-1]
	kernel6x16(k, &a[0], &b[0], ldb, &c[0], ldc, add)
}

func packTransAVX2(dst []float32, s source, r0, c0, k8 int) {
	if k8 == 0 {
		return
	}
	_ = dst[k8*8*nr-1]
	first, last := r0*s.ld+c0, (r0+nr-1)*s.ld+c0+8*k8-1
	switch s.dtype {
	case BF16:
		_ = s.u16[last]
		packT16BF16(&dst[0], &s.u16[first], s.ld, k8)
	case F16:
		_ = s.u16[last]
		packT16F16(&dst[0], &s.u16[first], s.ld, k8)
	case Q8:
		// Widen the 16 rows, scaled, then transpose them as f32.
		_ = s.i8[last]
		buf := rowBuffers.get(nr * 8 * k8)
		defer rowBuffers.put(buf)
		tmp := *buf
		for r := range nr {
			widenQ8(&tmp[r*8*k8], &s.i8[first+r*s.ld], k8, s.scale[r0+r])
		}
		packT16F32(&dst[0], &tmp[0], 8*k8, k8)
	default:
		_ = s.f32[last]
		packT16F32(&dst[0], &s.f32[first], s.ld, k8)
	}
}

func packStraightAVX2(dst []float32, s source, r0, c0, k int) {
	if k == 0 {
		return
	}
	_ = dst[k*nr-1]
	first, last := r0*s.ld+c0, (r0+k-1)*s.ld+c0+nr-1
	switch s.dtype {
	case BF16:
		_ = s.u16[last]
		packN16BF16(&dst[0], &s.u16[first], s.ld, k)
	case F16:
		_ = s.u16[last]
		packN16F16(&dst[0], &s.u16[first], s.ld, k)
	case Q8:
		_ = s.i8[last]
		for q := range k {
			widenQ8(&dst[q*nr], &s.i8[first+q*s.ld], nr/8, s.scale[r0+q])
		}
	default:
		for q := range k {
			copy(dst[q*nr:(q+1)*nr], s.f32[first+q*s.ld:])
		}
	}
}
