package kernels

import (
	"math"
	"sync"
)

// This file holds the int8 × int8 products of the fast mode. When Linear
// gets a Q8 weight whose depth is a multiple of q8Block, the activations
// are rounded to int8 too, in blocks of q8Block values along the depth,
// each with its own f32 step (as ggml's Q8_0 does), and the products are
// summed in integers: 32 products of two int8 values fit an int32 (and an
// f32) exactly, so the only rounding is the two quantizations and the f32
// sum of the blocks.
//
// Why blocks and not one step per token: the activations of real models
// hold a few channels hundreds of times larger than the rest; with one
// step a token those channels would leave the others a handful of
// levels. A block of 32 confines an outlier to its own 31 neighbours, at
// the cost of one f32 multiply-add per block in the kernel.
//
// Output (t, o) is Scale[o]·Σ_b s[t][b]·Σ_{k in b} q[t][k]·w[o][k]. The
// integer products use the AVX2 pairwise instructions where available
// (q8_simd.go): VPSIGNB moves the activation's sign onto the weight,
// VPMADDUBSW multiplies |q| (unsigned) by it in pairs, which cannot
// saturate since both are at most 127, and VPMADDWD sums pairs of pairs
// into int32.

// q8Block is the number of activation values that share one step.
const q8Block = 32

// qActs is a [T, K] matrix of activations rounded to int8 by rows in
// blocks of q8Block: row t is at q[t·ld:], block b at q[t·ld+64b:], as
// the 32 values and then their 32 magnitudes (what VPMADDUBSW takes), so
// ld = 2K; the step of block b of row t is scale[t·nb+b].
type qActs struct {
	q     []int8
	scale []float32
	T, nb int
}

// ld returns the row stride of a.q.
func (a *qActs) ld() int { return 64 * a.nb }

var qActsPool sync.Pool

// getQActs returns a buffer for T rows of K values (K a multiple of
// q8Block), from the pool when one is large enough.
func getQActs(T, K int) *qActs {
	nb := K / q8Block
	a, _ := qActsPool.Get().(*qActs)
	if a == nil {
		a = &qActs{}
	}
	if cap(a.q) < T*64*nb {
		a.q = make([]int8, T*64*nb)
	}
	if cap(a.scale) < T*nb {
		a.scale = make([]float32, T*nb)
	}
	a.q, a.scale, a.T, a.nb = a.q[:T*64*nb], a.scale[:T*nb], T, nb
	return a
}

// quantizeActs rounds the rows of x: [T, K] into a, a block at a time:
// the step is max|x|/127 over the block, each value is rounded to the
// nearest step, ties to even (as VCVTPS2DQ rounds). A zero block gets step 0; a block holding an infinity or
// NaN gets a NaN step (and zero values), so that the outputs it touches
// are NaN, as with the exact activations, rather than silently finite.
func quantizeActs(a *qActs, x []float32, rows int) {
	nb := a.nb
	K := nb * q8Block
	for t := range rows {
		if q8QuantRowDot(a.q[t*64*nb:(t+1)*64*nb], a.scale[t*nb:(t+1)*nb], x[t*K:(t+1)*K], nb) {
			continue
		}
		for b := range nb {
			blk := x[t*K+b*q8Block : t*K+(b+1)*q8Block]
			dst := a.q[t*64*nb+64*b : t*64*nb+64*b+64]
			a.scale[t*nb+b] = quantizeBlock(dst, blk)
		}
	}
}

// quantizeBlock rounds the q8Block values of blk to int8 steps into
// dst[:32], their magnitudes into dst[32:64], and returns the step.
func quantizeBlock(dst []int8, blk []float32) float32 {
	var amax float32
	for _, v := range blk {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	if !(amax > 0) || math.IsInf(float64(amax), 0) {
		clear(dst[:64])
		if amax == 0 {
			return 0
		}
		return float32(math.NaN())
	}
	scale := amax / 127
	inv := 127 / amax
	for i, v := range blk {
		q := int8(max(-127, min(127, math.RoundToEven(float64(v*inv)))))
		dst[i] = q
		if q < 0 {
			q = -q
		}
		dst[32+i] = q
	}
	return scale
}

// The int8 kernels, replaced at start-up where the CPU has something
// faster (q8_simd.go).
var (
	// q8Dot adds to out[r] the product of one quantized activation row
	// (a: nb blocks as laid out in qActs, steps s[:nb]) with weight row
	// r of w (stride ldw), for each r in out.
	q8Dot = q8DotGo
	// q8Tile adds to out[t·ldo+j] the product of quantized activation
	// row t (a[t·lda:], steps s[t·lds:]) with weight row j (w[j·ldw:]),
	// for t < 2·pairs and j < 4, over nb blocks.
	q8Tile = q8TileGo
)

// q8QuantRowDot rounds one row of nb blocks into the qActs layout as
// quantizeBlock does and reports whether it did; the portable form
// leaves every row to quantizeActs' loop, the assembly one a row holding
// an infinity or NaN.
var q8QuantRowDot = func(dst []int8, s, x []float32, nb int) bool { return false }

// q8DotGo is the portable q8Dot.
func q8DotGo(out []float32, a []int8, s []float32, nb int, w []int8, ldw int) {
	for r := range out {
		out[r] += q8RowDot(a, s, nb, w[r*ldw:])
	}
}

// q8TileGo is the portable q8Tile.
func q8TileGo(out []float32, ldo int, a []int8, lda int, s []float32, lds, nb, pairs int, w []int8, ldw int) {
	for t := range 2 * pairs {
		for j := range 4 {
			out[t*ldo+j] += q8RowDot(a[t*lda:], s[t*lds:], nb, w[j*ldw:])
		}
	}
}

// q8RowDot returns Σ_b s[b]·(block b of a · block b of w): the integer
// sums exact, the blocks added in f32.
func q8RowDot(a []int8, s []float32, nb int, w []int8) float32 {
	var sum float32
	for b := range nb {
		qa, qw := a[64*b:64*b+32], w[32*b:32*b+32]
		var d int32
		for i, v := range qa {
			d += int32(v) * int32(qw[i])
		}
		sum += float32(d) * s[b]
	}
	return sum
}

// q8KBlocks is the depth, in blocks, of one pass of q8Tile over the
// activations of a row block: 16 blocks (512 values) of 64 rows are 64 kB
// with their magnitudes, which stay in the second-level cache while every
// weight row of the chunk passes by.
const q8KBlocks = 16

// q8TRows is the number of activation rows a chunk takes at once.
const q8TRows = 64

// linearQ8 computes Linear for a Q8 weight with w.Cols a multiple of
// q8Block, rounding the activations to int8 blocks first; from
// q8GemmMinT rows on, with the packed product of q8_gemm.go. The rows of w
// are split among the workers.
func linearQ8(y, x []float32, w Mat, bias []float32, T int) {
	if T >= q8GemmMinT {
		linearQ8Gemm(y, x, w, bias, T)
		return
	}
	K, N := w.Cols, w.Rows
	nb := K / q8Block
	a := getQActs(T, K)
	defer qActsPool.Put(a)
	qrows := 1
	if T*K >= 1<<14 {
		qrows = max(1, min(T, 2*workers.threads()))
	}
	workers.run(qrows, func(i int) {
		lo, hi := split(T, qrows, i)
		sub := qActs{q: a.q[lo*a.ld():], scale: a.scale[lo*nb:], T: hi - lo, nb: nb}
		quantizeActs(&sub, x[lo*K:], hi-lo)
	})

	chunks := 1
	if T*N*K >= 1<<16 {
		chunks = max(1, min(N/16, 8*workers.threads()))
	}
	workers.run(chunks, func(i int) {
		lo, hi := split(N/4, chunks, i)
		lo, hi = lo*4, hi*4
		if i == chunks-1 {
			hi = N
		}
		for t := range T {
			clear(y[t*N+lo : t*N+hi])
		}
		if T == 1 {
			q8Dot(y[lo:hi], a.q, a.scale, nb, w.I8[lo*K:], K)
		} else {
			linearQ8Tiles(y, a, w, T, lo, hi)
		}
		for t := range T {
			yt := y[t*N : (t+1)*N]
			for o := lo; o < hi; o++ {
				v := yt[o] * w.Scale[o]
				if bias != nil {
					v += bias[o]
				}
				yt[o] = v
			}
		}
	})
}

// linearQ8Tiles adds the products of the T quantized rows of a with rows
// [lo, hi) of w into y: two activation rows by four weight rows a tile,
// blocked so that the activations of q8TRows rows and q8KBlocks blocks
// stay in cache while the weight rows stream past. An odd last row and
// the last hi-lo mod 4 weight rows go through q8Dot.
func linearQ8Tiles(y []float32, a *qActs, w Mat, T, lo, hi int) {
	K, N, nb, lda := w.Cols, w.Rows, a.nb, a.ld()
	quadEnd := lo + (hi-lo)/4*4
	for t0 := 0; t0 < T; t0 += q8TRows {
		nt := min(q8TRows, T-t0)
		pairs := nt / 2
		for o := lo; o < quadEnd; o += 4 {
			for b0 := 0; b0 < nb; b0 += q8KBlocks {
				kb := min(q8KBlocks, nb-b0)
				if pairs > 0 {
					q8Tile(y[t0*N+o:], N, a.q[t0*lda+64*b0:], lda, a.scale[t0*nb+b0:], nb, kb, pairs, w.I8[o*K+32*b0:], K)
				}
			}
		}
		if nt%2 == 1 && quadEnd > lo {
			t := t0 + nt - 1
			q8Dot(y[t*N+lo:t*N+quadEnd], a.q[t*lda:], a.scale[t*nb:], nb, w.I8[lo*K:], K)
		}
	}
	if quadEnd < hi {
		for t := range T {
			q8Dot(y[t*N+quadEnd:t*N+hi], a.q[t*lda:], a.scale[t*nb:], nb, w.I8[quadEnd*K:], K)
		}
	}
}

// RefLinearQ8 is the reference for Linear with a Q8 weight: where
// Linear rounds the activations to int8 blocks (w.Cols a multiple of 32),
// it rounds them the same way and sums every product in f64; otherwise it
// is RefLinear.
func RefLinearQ8(y, x []float32, w Mat, bias []float32, T int) {
	K, N := w.Cols, w.Rows
	if w.DType != Q8 || K%q8Block != 0 {
		RefLinear(y, x, w, bias, T)
		return
	}
	nb := K / q8Block
	q := make([]int8, 64)
	for t := range T {
		qs := make([]int8, K)
		ss := make([]float32, nb)
		for b := range nb {
			ss[b] = quantizeBlock(q, x[t*K+b*q8Block:t*K+(b+1)*q8Block])
			copy(qs[b*q8Block:], q[:32])
		}
		for o := range N {
			var sum float64
			for k, v := range qs {
				sum += float64(ss[k/q8Block]) * float64(v) * float64(w.I8[o*K+k])
			}
			sum *= float64(w.Scale[o])
			if bias != nil {
				sum += float64(bias[o])
			}
			y[t*N+o] = float32(sum)
		}
	}
}

// IntegerProduct reports whether Linear multiplies w in integers, rounding
// its input to int8: w is Q8 and its depth a multiple of 32. Other Q8
// weights are widened to f32 against f32 activations.
func IntegerProduct(w Mat) bool { return w.DType == Q8 && w.Cols%q8Block == 0 }
