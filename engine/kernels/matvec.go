package kernels

// This file holds the products bound by reading the weights: Linear with
// T = 1 (decoding a token) and with T up to maxBatch (a token for each of a
// few sequences), whose time is the time to read the weights once; Linear
// with very few outputs (LoRA factors); and Gemm with a single row, for
// attention over the key/value cache.

// The machine-specific loops, replaced at start-up where the CPU has
// something faster (see matvec_simd.go).
var (
	// dotRows sets y[i] = x · row r0+i of s, for each i in y.
	dotRows = dotRowsGo
	// axpy adds alpha·x to y.
	axpy = axpyGo
	// batchRows sets y[t·out+o] = xp row t · row o of s for t < T and
	// o in [lo, hi), where xp holds maxBatch rows of len(xp)/maxBatch
	// values.
	batchRows = batchRowsGo
)

// maxBatch is the most rows of x that linearBatch takes in one read of
// the weights.
const maxBatch = 8

// linearBatch computes Linear for 2 ≤ T ≤ maxBatch, as when the server
// decodes a token for each of a few sequences: every weight row is read
// once and multiplied with all T rows of x, so the call costs about what
// one row costs. The rows of w are split among the workers.
func linearBatch(y, x []float32, w Mat, bias []float32, T int) {
	in, out := w.Cols, w.Rows
	s := matSource(w)

	// xp: x padded with zero rows to [maxBatch, in].
	buf := rowBuffers.get(maxBatch * in)
	defer rowBuffers.put(buf)
	xp := *buf
	copy(xp, x[:T*in])
	clear(xp[T*in:])

	chunks := 1
	if out*in >= 1<<16 {
		chunks = max(1, min(out/16, 8*workers.threads()))
	}
	workers.run(chunks, func(i int) {
		lo, hi := split(out/2, chunks, i)
		lo, hi = lo*2, hi*2
		if i == chunks-1 {
			hi = out
		}
		batchRows(y, xp, T, s, lo, hi, out)
		if bias != nil {
			for t := range T {
				yt := y[t*out : (t+1)*out]
				for o := lo; o < hi; o++ {
					yt[o] += bias[o]
				}
			}
		}
	})
}

// batchRowsGo is the portable batchRows.
func batchRowsGo(y, xp []float32, T int, s source, lo, hi, out int) {
	in := len(xp) / maxBatch
	row := make([]float32, in)
	for o := lo; o < hi; o++ {
		s.widenRow(row, o)
		for t := range T {
			v := dotGo(xp[t*in:(t+1)*in], row)
			if s.dtype == Q8 {
				v *= s.scale[o]
			}
			y[t*out+o] = v
		}
	}
}

// matVec computes y = w x (+ bias) for x: [in], w: [out, in], y: [out],
// splitting the rows of w among the workers.
func matVec(y, x []float32, w Mat, bias []float32) {
	matVecSource(y, x, matSource(w), w.Rows, bias)
}

// matVecSource is matVec for a weight source of out rows.
func matVecSource(y, x []float32, s source, out int, bias []float32) {
	in := s.ld
	chunks := 1
	if out*in >= 1<<16 {
		chunks = max(1, min(out/16, 8*workers.threads()))
	}
	workers.run(chunks, func(i int) {
		lo, hi := split(out/4, chunks, i)
		lo, hi = lo*4, hi*4
		if i == chunks-1 {
			hi = out
		}
		dotRows(y[lo:hi], x[:in], s, lo)
		if bias != nil {
			for o := lo; o < hi; o++ {
				y[o] += bias[o]
			}
		}
	})
}

// linearRows computes Linear for a narrow w (few outputs, such as a LoRA
// factor) as T rows of dot products, split among the workers: the blocked
// product would spend more time packing x than multiplying.
func linearRows(y, x []float32, w Mat, bias []float32, T int) {
	in, out := w.Cols, w.Rows
	s := matSource(w)
	chunks := 1
	if T*in*out >= 1<<16 {
		chunks = min(T, 4*workers.threads())
	}
	workers.run(chunks, func(i int) {
		lo, hi := split(T, chunks, i)
		for t := lo; t < hi; t++ {
			yt := y[t*out : (t+1)*out]
			dotRows(yt, x[t*in:(t+1)*in], s, 0)
			if bias != nil {
				for o := range yt {
					yt[o] += bias[o]
				}
			}
		}
	})
}

// gemv computes c = alpha·a·op(B) + beta·c for the single row a: [k],
// op(B): [k, n] (b stored [n, k] with row stride ldb when transB, else
// [k, n]), c: [n], splitting the columns among the workers.
func gemv(transB bool, n, k int, alpha float32, a, b []float32, ldb int, beta float32, c []float32) {
	chunks := 1
	if n*k >= 1<<16 {
		chunks = min(max(n/64, 1), 4*workers.threads())
	}
	workers.run(chunks, func(i int) {
		lo, hi := split(n, chunks, i)
		gemvPart(transB, lo, hi, k, alpha, a, b, ldb, beta, c)
	})
}

// gemvRows computes C = alpha·A·Bᵀ + beta·C row by row, as dot products,
// for A: [m, k] (stride lda), b stored [n, k] (stride ldb) and few columns
// n, where packing A for the blocked product would cost more than the
// product. The rows are split among the workers.
func gemvRows(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	chunks := 1
	if m*n*k >= 1<<16 {
		chunks = min(m, 4*workers.threads())
	}
	workers.run(chunks, func(i int) {
		lo, hi := split(m, chunks, i)
		for r := lo; r < hi; r++ {
			gemvPart(true, 0, n, k, alpha, a[r*lda:r*lda+k], b, ldb, beta, c[r*ldc:r*ldc+n])
		}
	})
}

// gemvPart computes columns [lo, hi) of gemv's product.
func gemvPart(transB bool, lo, hi, k int, alpha float32, a, b []float32, ldb int, beta float32, c []float32) {
	cs := c[lo:hi]
	if !transB {
		scaleOrClear(cs, beta)
		for p := range k {
			axpy(cs, alpha*a[p], b[p*ldb+lo:p*ldb+hi])
		}
		return
	}
	var prev []float32
	if beta != 0 {
		prev = append(prev, cs...)
	}
	if k == 0 {
		clear(cs)
	} else {
		dotRows(cs, a[:k], source{dtype: F32, f32: b, ld: ldb}, lo)
	}
	for j := range cs {
		cs[j] *= alpha
		if beta != 0 {
			cs[j] += beta * prev[j]
		}
	}
}

// scaleOrClear sets c to beta·c, or to zero without reading it when beta
// is 0.
func scaleOrClear(c []float32, beta float32) {
	if beta == 0 {
		clear(c)
		return
	}
	for j := range c {
		c[j] *= beta
	}
}

// dotRowsGo is the portable dotRows.
func dotRowsGo(y, x []float32, s source, r0 int) {
	in := len(x)
	row := make([]float32, in)
	for i := range y {
		r := r0 + i
		if s.dtype == F32 {
			y[i] = dotGo(x, s.f32[r*s.ld:r*s.ld+in])
			continue
		}
		s.widenRow(row, r)
		y[i] = dotGo(x, row)
		if s.dtype == Q8 {
			// The integers are summed, then scaled once, as the
			// fast path does.
			y[i] *= s.scale[r]
		}
	}
}

// widenRow widens the first len(dst) values of row r of s into dst; Q8
// rows are left unscaled.
func (s source) widenRow(dst []float32, r int) {
	off := r * s.ld
	switch s.dtype {
	case BF16:
		for c, b := range s.u16[off : off+len(dst)] {
			dst[c] = BF16ToF32(b)
		}
	case F16:
		for c, b := range s.u16[off : off+len(dst)] {
			dst[c] = F16ToF32(b)
		}
	case Q8:
		for c, q := range s.i8[off : off+len(dst)] {
			dst[c] = float32(q)
		}
	default:
		copy(dst, s.f32[off:off+len(dst)])
	}
}

// dotGo returns x · v with four partial sums.
func dotGo(x, v []float32) float32 {
	v = v[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * v[i]
		s1 += x[i+1] * v[i+1]
		s2 += x[i+2] * v[i+2]
		s3 += x[i+3] * v[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * v[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpyGo is the portable axpy.
func axpyGo(y []float32, alpha float32, x []float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] += alpha * v
	}
}
