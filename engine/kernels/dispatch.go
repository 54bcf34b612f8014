package kernels

// Linear computes y = x Wᵀ (+ bias) for x: [T, in], w: [out, in],
// y: [T, out], overwriting y. bias may be nil. It is the forward product of
// every projection in the model, from single-token decoding (T = 1, a
// matrix-vector product bound by reading w) to prefill and training (large
// T, bound by arithmetic).
func Linear(y, x []float32, w Mat, bias []float32, T int) {
	RefLinear(y, x, w, bias, T)
}

// LinearInput computes dx = dy W for dy: [T, out], w: [out, in],
// dx: [T, in], overwriting dx: the gradient of a linear layer's input.
func LinearInput(dx, dy []float32, w Mat, T int) {
	RefLinearInput(dx, dy, w, T)
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C on f32 matrices; see RefGemm
// for the argument conventions. It serves the products whose operands are
// both activations: attention scores, LoRA factors and their gradients.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	RefGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
