package kernels

import "math"

// This file holds the reference kernels: plain loops, written for clarity,
// that define what the fast kernels must compute. Accumulation is in f32
// except where a comment says otherwise.

// RefLinear computes y = x Wᵀ (+ bias) for x: [T, in], w: [out, in],
// y: [T, out]. bias may be nil.
func RefLinear(y, x []float32, w Mat, bias []float32, T int) {
	in, out := w.Cols, w.Rows
	row := make([]float32, in)
	for o := 0; o < out; o++ {
		w.Row(row, o)
		for t := 0; t < T; t++ {
			xt := x[t*in : (t+1)*in]
			var s float32
			for i, v := range row {
				s += xt[i] * v
			}
			if bias != nil {
				s += bias[o]
			}
			y[t*out+o] = s
		}
	}
}

// RefLinearInput computes dx = dy W for dy: [T, out], w: [out, in],
// dx: [T, in], overwriting dx. It is the input gradient of a linear layer.
func RefLinearInput(dx, dy []float32, w Mat, T int) {
	in, out := w.Cols, w.Rows
	clear(dx[:T*in])
	row := make([]float32, in)
	for o := 0; o < out; o++ {
		w.Row(row, o)
		for t := 0; t < T; t++ {
			g := dy[t*out+o]
			dxt := dx[t*in : (t+1)*in]
			for i, v := range row {
				dxt[i] += g * v
			}
		}
	}
}

// RefGemm computes C = alpha·op(A)·op(B) + beta·C on f32 matrices, where
// op(X) is X or Xᵀ. op(A) is [m, k], op(B) is [k, n], C is [m, n]; lda,
// ldb and ldc are the row strides of A, B and C as stored.
func RefGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				s += a[ai] * b[bi]
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

// RMSNorm computes out[t] = x[t] / sqrt(mean(x[t]²) + eps) · w for each of
// the T rows of x: [T, C]. out may alias x.
func RMSNorm(out, x, w []float32, eps float32, T, C int) {
	for t := 0; t < T; t++ {
		xt := x[t*C : (t+1)*C]
		var ss float32
		for _, v := range xt {
			ss += v * v
		}
		inv := float32(1 / math.Sqrt(float64(ss/float32(C)+eps)))
		ot := out[t*C : (t+1)*C]
		for i, v := range xt {
			ot[i] = v * inv * w[i]
		}
	}
}

// SiLU returns x·sigmoid(x).
func SiLU(x float32) float32 { return x / (1 + float32(math.Exp(float64(-x)))) }

// Softmax replaces x with softmax(x) in place, subtracting the maximum
// first, and returns log(sum(exp(x - max))) + max, the log-sum-exp. The sum
// is accumulated in f64 so that vocabulary-sized rows stay exact.
func Softmax(x []float32) float64 {
	mx := x[0]
	for _, v := range x {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v - mx))
		x[i] = float32(e)
		sum += e
	}
	inv := 1 / sum
	for i := range x {
		x[i] = float32(float64(x[i]) * inv)
	}
	return math.Log(sum) + float64(mx)
}

// LogSumExp returns log(sum(exp(x))) accumulated in f64.
func LogSumExp(x []float32) float64 {
	mx := x[0]
	for _, v := range x {
		mx = max(mx, v)
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v - mx))
	}
	return math.Log(sum) + float64(mx)
}
