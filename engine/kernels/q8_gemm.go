package kernels

import "sync"

// This file holds the int8 × int8 product of prefill (many activation
// rows against a Q8 weight). The dot products of q8_int8.go cost two
// conversions a block for every (row, column) pair; here the product is
// an outer one, as in gemm.go: a tile of 3 activation rows × 16 weight
// rows accumulates each block of 32 in int32 registers with 16-bit
// pairwise multiply-adds (VPMADDWD: 16 multiply-adds an instruction
// against 8 for an f32 FMA), and only then converts the 48 sums and
// scales them by the block's steps. The weights are packed per call,
// 16 rows and q8KC blocks at a time, into [pair][16 rows][2] int16 so
// that a pair of depth of 16 rows is two registers; the activations are
// rounded straight to int16 rows, whose pairs the kernel broadcasts.

// q8GemmMinT is the number of activation rows from which Linear takes the
// packed product rather than q8_int8.go's tiles, which read each weight
// once without packing.
const q8GemmMinT = 12

// q8KC is the depth, in blocks of 32, of a packed weight panel: 16 rows
// are then 8 kB of int16, and the activations of 256 rows for that depth
// 128 kB, which the second-level cache holds while the panels go by.
const q8KC = 8

// The packed product's loops, replaced at start-up where the CPU has
// something faster (q8_simd.go).
var (
	// q8Kernel adds to c[t·ldc+j], t < 3, j < 16, the product of
	// activation rows a[t·lda:] (int16, steps s[t·lds:]) with a packed
	// panel b, over nb blocks.
	q8Kernel = q8KernelGo
	// q8PackB packs 16 rows of w (stride ldw), 16·n8 columns, into dst
	// as [pair][16 rows][2].
	q8PackB = q8PackBGo
	// q8QuantRow16 rounds nb blocks of x into dst and steps s as
	// quantizeBlock does; it may return false for a row holding an
	// infinity or NaN, which is then left to q8QuantRow16Go.
	q8QuantRow16 = q8QuantRow16Go
)

// q8KernelGo is the portable q8Kernel.
func q8KernelGo(nb int, a []int16, lda int, s []float32, lds int, b []int16, c []float32, ldc int) {
	for blk := range nb {
		bb := b[blk*512 : (blk+1)*512]
		for t := range 3 {
			at := a[t*lda+32*blk : t*lda+32*blk+32]
			st := s[t*lds+blk]
			for j := range 16 {
				var d int32
				for p := range 16 {
					d += int32(at[2*p])*int32(bb[p*32+2*j]) + int32(at[2*p+1])*int32(bb[p*32+2*j+1])
				}
				c[t*ldc+j] += float32(d) * st
			}
		}
	}
}

// q8PackBGo is the portable q8PackB.
func q8PackBGo(dst []int16, w []int8, ldw, n8 int) {
	for p := range 8 * n8 {
		for r := range 16 {
			dst[p*32+2*r] = int16(w[r*ldw+2*p])
			dst[p*32+2*r+1] = int16(w[r*ldw+2*p+1])
		}
	}
}

// q8QuantRow16Go is the portable q8QuantRow16; it handles every row.
func q8QuantRow16Go(dst []int16, s []float32, x []float32, nb int) bool {
	var q [64]int8
	for b := range nb {
		s[b] = quantizeBlock(q[:], x[32*b:32*b+32])
		for i := range 32 {
			dst[32*b+i] = int16(q[i])
		}
	}
	return true
}

// q8Gemm holds the buffers of one packed product, pooled.
type q8Gemm struct {
	a []int16
	s []float32
}

var q8GemmPool sync.Pool

// q8Panel holds one worker's packed panel and tail buffers, pooled.
type q8Panel struct {
	b []int16   // [q8KC·512]
	w []int8    // 16 weight rows of a last, partial panel
	c []float32 // [3][16]: a tile cut by the last rows or columns
}

var q8PanelPool = sync.Pool{New: func() any {
	return &q8Panel{b: make([]int16, q8KC*512), c: make([]float32, 48)}
}}

// linearQ8Gemm computes Linear for a Q8 weight, w.Cols a multiple of
// q8Block and T ≥ q8GemmMinT: the activations are rounded to int16 rows,
// the panels of 16 weight rows are split among the workers, and each
// worker, a depth chunk at a time, packs its panels and runs the 3×16
// kernel down all the rows.
func linearQ8Gemm(y, x []float32, w Mat, bias []float32, T int) {
	K, N := w.Cols, w.Rows
	nb := K / q8Block
	Tp := (T + 2) / 3 * 3
	g, _ := q8GemmPool.Get().(*q8Gemm)
	if g == nil {
		g = &q8Gemm{}
	}
	defer q8GemmPool.Put(g)
	if cap(g.a) < Tp*K {
		g.a = make([]int16, Tp*K)
	}
	if cap(g.s) < Tp*nb {
		g.s = make([]float32, Tp*nb)
	}
	a, s := g.a[:Tp*K], g.s[:Tp*nb]
	clear(a[T*K:])
	clear(s[T*nb:])
	qchunks := min(T, 2*workers.threads())
	workers.run(qchunks, func(i int) {
		lo, hi := split(T, qchunks, i)
		for t := lo; t < hi; t++ {
			if !q8QuantRow16(a[t*K:(t+1)*K], s[t*nb:(t+1)*nb], x[t*K:(t+1)*K], nb) {
				q8QuantRow16Go(a[t*K:(t+1)*K], s[t*nb:(t+1)*nb], x[t*K:(t+1)*K], nb)
			}
		}
	})

	panels := (N + 15) / 16
	chunks := min(panels, 4*workers.threads())
	workers.run(chunks, func(i int) {
		p0, p1 := split(panels, chunks, i)
		c0, c1 := p0*16, min(N, p1*16)
		for t := range T {
			clear(y[t*N+c0 : t*N+c1])
		}
		pb := q8PanelPool.Get().(*q8Panel)
		defer q8PanelPool.Put(pb)
		for b0 := 0; b0 < nb; b0 += q8KC {
			kb := min(q8KC, nb-b0)
			for p := p0; p < p1; p++ {
				o := p * 16
				rows := min(16, N-o)
				src, ldw := w.I8[o*K+32*b0:], K
				if rows < 16 {
					pb.w = append(pb.w[:0], make([]int8, 16*32*kb)...)
					for r := range rows {
						copy(pb.w[r*32*kb:(r+1)*32*kb], w.I8[(o+r)*K+32*b0:])
					}
					src, ldw = pb.w, 32*kb
				}
				q8PackB(pb.b, src, ldw, 2*kb)
				for t0 := 0; t0 < T; t0 += 3 {
					at, st := a[t0*K+32*b0:], s[t0*nb+b0:]
					if rows == 16 && t0+3 <= T {
						q8Kernel(kb, at, K, st, nb, pb.b, y[t0*N+o:], N)
						continue
					}
					// A cut tile: through pb.c.
					nt := min(3, T-t0)
					clear(pb.c)
					for t := range nt {
						copy(pb.c[t*16:t*16+rows], y[(t0+t)*N+o:(t0+t)*N+o+rows])
					}
					q8Kernel(kb, at, K, st, nb, pb.b, pb.c, 16)
					for t := range nt {
						copy(y[(t0+t)*N+o:(t0+t)*N+o+rows], pb.c[t*16:t*16+rows])
					}
				}
			}
		}
		for t := range T {
			yt := y[t*N : (t+1)*N]
			for o := c0; o < c1; o++ {
				v := yt[o] * w.Scale[o]
				if bias != nil {
					v += bias[o]
				}
				yt[o] = v
			}
		}
	})
}
