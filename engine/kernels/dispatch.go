package kernels

import "fmt"

// Linear computes y = x Wᵀ (+ bias) for x: [T, in], w: [out, in],
// y: [T, out], overwriting y. bias may be nil. It is the forward product of
// every projection in the model, from single-token decoding (T = 1, a
// matrix-vector product bound by reading w) to prefill and training (large
// T, bound by arithmetic).
func Linear(y, x []float32, w Mat, bias []float32, T int) {
	in, out := w.Cols, w.Rows
	checkLen("Linear", "x", x, T*in)
	checkLen("Linear", "y", y, T*out)
	if bias != nil {
		checkLen("Linear", "bias", bias, out)
	}
	switch {
	case T == 0:
		return
	case IntegerProduct(w):
		linearQ8(y, x, w, bias, T) // int8 activations too (q8_int8.go)
		return
	case T == 1:
		matVec(y, x, w, bias)
		return
	}
	if T <= maxBatch {
		linearBatch(y, x, w, bias, T)
		return
	}
	if out < 2*nr {
		linearRows(y, x, w, bias, T)
		return
	}
	p := product{m: T, n: out, k: in, b: matSource(w), transB: true, c: y, ldc: out, bias: bias}
	gemm(&p, x, in, false, 1)
}

// LinearInput computes dx = dy W for dy: [T, out], w: [out, in],
// dx: [T, in], overwriting dx: the gradient of a linear layer's input.
func LinearInput(dx, dy []float32, w Mat, T int) {
	in, out := w.Cols, w.Rows
	checkLen("LinearInput", "dy", dy, T*out)
	checkLen("LinearInput", "dx", dx, T*in)
	p := product{m: T, n: in, k: out, b: matSource(w), c: dx, ldc: in}
	gemm(&p, dy, out, false, 1)
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C on f32 matrices; see RefGemm
// for the argument conventions. It serves the products whose operands are
// both activations: attention scores, LoRA factors and their gradients.
// When beta is 0, C is overwritten without being read.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if m == 1 && !transA {
		gemv(transB, n, k, alpha, a, b, ldb, beta, c)
		return
	}
	if n < 2*nr && transB && !transA {
		gemvRows(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	p := product{m: m, n: n, k: k, b: source{dtype: F32, f32: b, ld: ldb}, transB: transB, c: c, ldc: ldc, beta: beta}
	gemm(&p, a, lda, transA, alpha)
}

// checkLen panics when a buffer is shorter than its shape requires: a
// programming error in the caller, named here rather than deep inside an
// assembly loop.
func checkLen(fn, name string, s []float32, n int) {
	if len(s) < n {
		panic(fmt.Sprintf("kernels: %s: %s has %d values, need %d", fn, name, len(s), n))
	}
}
