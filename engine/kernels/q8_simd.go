//go:build goexperiment.simd && amd64

package kernels

import "simd/archsimd"

func init() {
	if !haveAVX2 {
		return
	}
	if archsimd.X86.AVX512() && archsimd.X86.AVX512VNNI() {
		q8VNNI = &q8VNNIKernels{quant: q8QuantRow8AVX, pack: q8PackBU8AVX, kernel: q8KernelVNNI}
	}
	q8Dot = q8DotAVX2
	q8Tile = q8TileAVX2
	q8Kernel = q8KernelAVX2
	q8PackB = q8PackBAVX2
	q8QuantRow16 = q8QuantRow16AVX2
	q8QuantRowDot = q8QuantRowDotAVX2
}

// Implemented in q8_amd64.s; the arguments are q8Dot's and q8Tile's
// (q8_int8.go) as pointers.
func q8DotRows(a *int8, s *float32, nb int, w *int8, ldw, rows int, out *float32)
func q8Tile2x4(out *float32, ldo int, a *int8, lda int, s *float32, lds, nb, pairs int, w *int8, ldw int)

// q8DotAVX2 checks the bounds the assembly relies on and calls it.
func q8DotAVX2(out []float32, a []int8, s []float32, nb int, w []int8, ldw int) {
	if len(out) == 0 || nb == 0 {
		return
	}
	_ = a[64*nb-1]
	_ = s[nb-1]
	_ = w[(len(out)-1)*ldw+32*nb-1]
	q8DotRows(&a[0], &s[0], nb, &w[0], ldw, len(out), &out[0])
}

// q8TileAVX2 checks the bounds the assembly relies on and calls it.
func q8TileAVX2(out []float32, ldo int, a []int8, lda int, s []float32, lds, nb, pairs int, w []int8, ldw int) {
	if pairs == 0 || nb == 0 {
		return
	}
	_ = out[(2*pairs-1)*ldo+3]
	_ = a[(2*pairs-1)*lda+64*nb-1]
	_ = s[(2*pairs-1)*lds+nb-1]
	_ = w[3*ldw+32*nb-1]
	q8Tile2x4(&out[0], ldo, &a[0], lda, &s[0], lds, nb, pairs, &w[0], ldw)
}

// Implemented in q8_gemm_amd64.s; the arguments are those of q8Kernel,
// q8PackB and q8QuantRow16 (q8_gemm.go) as pointers.
func q8Kernel3x16(nb int, a *int16, lda int, s *float32, lds int, b *int16, c *float32, ldc int)
func q8PackB16(dst *int16, w *int8, ldw, n8 int)
func q8QuantRow16AVX(dst *int16, s *float32, x *float32, nb int) bool

// q8KernelAVX2 checks the bounds the assembly relies on and calls it.
func q8KernelAVX2(nb int, a []int16, lda int, s []float32, lds int, b []int16, c []float32, ldc int) {
	_ = c[2*ldc+15]
	if nb == 0 {
		return
	}
	_ = a[2*lda+32*nb-1]
	_ = s[2*lds+nb-1]
	_ = b[512*nb-1]
	q8Kernel3x16(nb, &a[0], lda, &s[0], lds, &b[0], &c[0], ldc)
}

// q8PackBAVX2 checks the bounds the assembly relies on and calls it.
func q8PackBAVX2(dst []int16, w []int8, ldw, n8 int) {
	if n8 == 0 {
		return
	}
	_ = dst[256*n8-1]
	_ = w[15*ldw+16*n8-1]
	q8PackB16(&dst[0], &w[0], ldw, n8)
}

// q8QuantRow16AVX2 checks the bounds the assembly relies on and calls it.
func q8QuantRow16AVX2(dst []int16, s []float32, x []float32, nb int) bool {
	if nb == 0 {
		return true
	}
	_ = dst[32*nb-1]
	_ = s[nb-1]
	_ = x[32*nb-1]
	return q8QuantRow16AVX(&dst[0], &s[0], &x[0], nb)
}

// Implemented in q8_vnni_amd64.s; see q8VNNIKernels (q8_gemm.go).
func q8Kernel6x16VNNI(nb int, a *int8, lda int, s *float32, corr *int32, lds int, b *uint8, c *float32, ldc int)
func q8PackBU8(dst *uint8, w *int8, ldw, nb int)
func q8QuantRow8(dst *int8, s *float32, corr *int32, x *float32, nb int) bool

// q8KernelVNNI checks the bounds the assembly relies on and calls it.
func q8KernelVNNI(nb int, a []int8, lda int, s []float32, corr []int32, lds int, b []uint8, c []float32, ldc int) {
	_ = c[5*ldc+15]
	if nb == 0 {
		return
	}
	_ = a[5*lda+32*nb-1]
	_ = s[5*lds+nb-1]
	_ = corr[5*lds+nb-1]
	_ = b[512*nb-1]
	q8Kernel6x16VNNI(nb, &a[0], lda, &s[0], &corr[0], lds, &b[0], &c[0], ldc)
}

// q8PackBU8AVX checks the bounds the assembly relies on and calls it.
func q8PackBU8AVX(dst []uint8, w []int8, ldw, nb int) {
	if nb == 0 {
		return
	}
	_ = dst[512*nb-1]
	_ = w[15*ldw+32*nb-1]
	q8PackBU8(&dst[0], &w[0], ldw, nb)
}

// q8QuantRow8AVX checks the bounds the assembly relies on and calls it.
func q8QuantRow8AVX(dst []int8, s []float32, corr []int32, x []float32, nb int) bool {
	if nb == 0 {
		return true
	}
	_ = dst[32*nb-1]
	_ = s[nb-1]
	_ = corr[nb-1]
	_ = x[32*nb-1]
	return q8QuantRow8(&dst[0], &s[0], &corr[0], &x[0], nb)
}

// Implemented in q8_vnni_amd64.s (AVX2 only).
func q8QuantRowDotAVX(dst *int8, s *float32, x *float32, nb int) bool

// q8QuantRowDotAVX2 checks the bounds the assembly relies on and calls it.
func q8QuantRowDotAVX2(dst []int8, s, x []float32, nb int) bool {
	if nb == 0 {
		return true
	}
	_ = dst[64*nb-1]
	_ = s[nb-1]
	_ = x[32*nb-1]
	return q8QuantRowDotAVX(&dst[0], &s[0], &x[0], nb)
}
