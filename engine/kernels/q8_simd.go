//go:build goexperiment.simd && amd64

package kernels

func init() {
	if !haveAVX2 {
		return
	}
	q8Dot = q8DotAVX2
	q8Tile = q8TileAVX2
	q8Kernel = q8KernelAVX2
	q8PackB = q8PackBAVX2
	q8QuantRow16 = q8QuantRow16AVX2
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
