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
// With q8VNNI the panels are bytes and the depth q8KCVNNI: 16 kB of
// weights, and the output tiles read and written a quarter as often.
const (
	q8KC     = 8
	q8KCVNNI = 32
)

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

// q8VNNIKernels are the loops of the packed product on a CPU with
// AVX512-VNNI (set at start-up in q8_simd.go; nil elsewhere). They take
// the activations as int8 rows, six a tile, with corr = -128·Σ of each
// block's values, and the weights packed as [quad][16 rows][4] bytes
// with their sign bits flipped (w+128, unsigned), because VPDPBUSD
// multiplies unsigned bytes by signed ones; corr takes the 128·Σa the
// flip adds back out, so the sums are the same integers as q8Kernel's.
type q8VNNIKernels struct {
	quant  func(dst []int8, s []float32, corr []int32, x []float32, nb int) bool
	pack   func(dst []uint8, w []int8, ldw, nb int)
	kernel func(nb int, a []int8, lda int, s []float32, corr []int32, lds int, b []uint8, c []float32, ldc int)
}

var q8VNNI *q8VNNIKernels

// q8QuantRow8Go rounds a row as q8QuantRow16Go does, to int8, with the
// block corrections of q8VNNIKernels.
func q8QuantRow8Go(dst []int8, s []float32, corr []int32, x []float32, nb int) {
	var q [64]int8
	for b := range nb {
		s[b] = quantizeBlock(q[:], x[32*b:32*b+32])
		var sum int32
		for i := range 32 {
			dst[32*b+i] = q[i]
			sum += int32(q[i])
		}
		corr[b] = -128 * sum
	}
}

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
	a    []int16
	a8   []int8  // with q8VNNI
	corr []int32 // with q8VNNI
	s    []float32
}

var q8GemmPool sync.Pool

// q8Panel holds one worker's packed panel and tail buffers, pooled.
type q8Panel struct {
	b  []int16   // [q8KC·512]
	b8 []uint8   // [q8KCVNNI·512], with q8VNNI
	w  []int8    // 16 weight rows of a last, partial panel
	c  []float32 // [6][16]: a tile cut by the last rows or columns
}

var q8PanelPool = sync.Pool{New: func() any {
	return &q8Panel{b: make([]int16, q8KC*512), b8: make([]uint8, q8KCVNNI*512), c: make([]float32, 96)}
}}

// linearQ8Gemm computes Linear for a Q8 weight, w.Cols a multiple of
// q8Block and T ≥ q8GemmMinT: the activations are rounded to int16 rows,
// the panels of 16 weight rows are split among the workers, and each
// worker, a depth chunk at a time, packs its panels and runs the 3×16
// kernel down all the rows.
func linearQ8Gemm(y, x []float32, w Mat, bias []float32, T int) {
	K, N := w.Cols, w.Rows
	nb := K / q8Block
	vnni := q8VNNI
	mr, kc := 3, q8KC
	if vnni != nil {
		mr, kc = 6, q8KCVNNI
	}
	Tp := (T + mr - 1) / mr * mr
	g, _ := q8GemmPool.Get().(*q8Gemm)
	if g == nil {
		g = &q8Gemm{}
	}
	defer q8GemmPool.Put(g)
	if cap(g.s) < Tp*nb {
		g.s = make([]float32, Tp*nb)
		g.corr = make([]int32, Tp*nb)
	}
	s, corr := g.s[:Tp*nb], g.corr[:Tp*nb]
	clear(s[T*nb:])
	clear(corr[T*nb:])
	var a []int16
	var a8 []int8
	if vnni != nil {
		if cap(g.a8) < Tp*K {
			g.a8 = make([]int8, Tp*K)
		}
		a8 = g.a8[:Tp*K]
		clear(a8[T*K:])
	} else {
		if cap(g.a) < Tp*K {
			g.a = make([]int16, Tp*K)
		}
		a = g.a[:Tp*K]
		clear(a[T*K:])
	}
	qchunks := min(T, 2*workers.threads())
	workers.run(qchunks, func(i int) {
		lo, hi := split(T, qchunks, i)
		for t := lo; t < hi; t++ {
			xt, st := x[t*K:(t+1)*K], s[t*nb:(t+1)*nb]
			if vnni != nil {
				at, ct := a8[t*K:(t+1)*K], corr[t*nb:(t+1)*nb]
				if !vnni.quant(at, st, ct, xt, nb) {
					q8QuantRow8Go(at, st, ct, xt, nb)
				}
			} else if !q8QuantRow16(a[t*K:(t+1)*K], st, xt, nb) {
				q8QuantRow16Go(a[t*K:(t+1)*K], st, xt, nb)
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
		for b0 := 0; b0 < nb; b0 += kc {
			kb := min(kc, nb-b0)
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
				if vnni != nil {
					vnni.pack(pb.b8, src, ldw, kb)
				} else {
					q8PackB(pb.b, src, ldw, 2*kb)
				}
				tile := func(t0 int, c []float32, ldc int) {
					st := s[t0*nb+b0:]
					if vnni != nil {
						vnni.kernel(kb, a8[t0*K+32*b0:], K, st, corr[t0*nb+b0:], nb, pb.b8, c, ldc)
					} else {
						q8Kernel(kb, a[t0*K+32*b0:], K, st, nb, pb.b, c, ldc)
					}
				}
				for t0 := 0; t0 < T; t0 += mr {
					if rows == 16 && t0+mr <= T {
						tile(t0, y[t0*N+o:], N)
						continue
					}
					// A cut tile: through pb.c.
					nt := min(mr, T-t0)
					clear(pb.c)
					for t := range nt {
						copy(pb.c[t*16:t*16+rows], y[(t0+t)*N+o:(t0+t)*N+o+rows])
					}
					tile(t0, pb.c, 16)
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
