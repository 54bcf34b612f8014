package kernels

import "math"

// This file holds the weights of the fast mode: rounded to int8 per row
// (DType Q8), which halves the bytes a token reads compared with bf16.
// Linear then rounds the activations to int8 too, in blocks of 32, and
// multiplies in integers (q8_int8.go, q8_gemm.go): decoding, bound by
// reading the weights, runs up to twice as fast as bf16, and prefill,
// bound by arithmetic, at the integer units' rate. The error is the two
// roundings, about 1% of a product's size. The exact path stays the
// default; a caller opts in by replacing a weight with QuantizeQ8(w),
// which every kernel taking a Mat accepts (the others widen it to f32).

// QuantizeQ8 returns w rounded to nearest int8 per row, as a Q8 Mat:
// element (o, i) is Scale[o]·I8[o·Cols+i] with Scale[o] = max_i |w[o][i]|
// / 127. The rows are quantized in parallel. A row holding an infinity or
// NaN gets a NaN scale, so that its outputs are NaN, as they would be
// (or infinite) with the exact weights, rather than silently finite.
func QuantizeQ8(w Mat) Mat {
	q := Mat{Rows: w.Rows, Cols: w.Cols, DType: Q8, I8: make([]int8, w.Rows*w.Cols), Scale: make([]float32, w.Rows)}
	chunks := max(1, min(w.Rows/64, 4*workers.threads()))
	workers.run(chunks, func(i int) {
		lo, hi := split(w.Rows, chunks, i)
		row := make([]float32, w.Cols)
		for o := lo; o < hi; o++ {
			w.Row(row, o)
			q.Scale[o] = quantizeRow(q.I8[o*w.Cols:(o+1)*w.Cols], row)
		}
	})
	return q
}

// quantizeRow rounds row to int8 steps of max|row|/127 into dst and
// returns the step: 0 for a zero row, NaN for a row holding an infinity
// or NaN.
func quantizeRow(dst []int8, row []float32) float32 {
	var amax float32
	for _, v := range row {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	if amax == 0 || math.IsInf(float64(amax), 0) || math.IsNaN(float64(amax)) {
		clear(dst)
		if amax == 0 {
			return 0
		}
		return float32(math.NaN())
	}
	scale := amax / 127
	inv := 1 / scale
	for i, v := range row {
		dst[i] = int8(max(-127, min(127, math.Round(float64(v*inv)))))
	}
	return scale
}
