package train

import "attune/engine/kernels"

// gemm is kernels.Gemm, named once here so that the call sites read as the
// math they compute.
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kernels.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
