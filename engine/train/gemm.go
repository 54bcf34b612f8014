package train

import "attune/engine/kernels"

// gemm is kernels.Gemm.
//
// TODO(kernels): kernels.RefGemm reads a[i*lda+p] and b[p*ldb+j] before it
// looks at transA/transB, so a transposed operand whose untransposed
// reading runs past its slice panics. Until that is fixed there, a
// transposed operand is copied out transposed and passed untransposed.
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if transA {
		a, lda = transpose(a, lda, k, m), k
	}
	if transB {
		b, ldb = transpose(b, ldb, n, k), n
	}
	kernels.Gemm(false, false, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// transpose returns the [cols, rows] transpose of the [rows, cols] matrix
// stored in x with row stride ld.
func transpose(x []float32, ld, rows, cols int) []float32 {
	t := make([]float32, rows*cols)
	for i := range rows {
		for j := range cols {
			t[j*rows+i] = x[i*ld+j]
		}
	}
	return t
}
