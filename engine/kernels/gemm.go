package kernels

import (
	"fmt"
	"slices"
	"sync"
)

// This file holds the packed, cache-blocked matrix product behind Linear
// (T > 1), LinearInput and Gemm: C[m, n] (+)= op(A)[m, k] · op(B)[k, n].
//
// op(A), an f32 activation, is packed once per call (per slab of depth
// for very deep products) into micro-panels of mr rows, [m/mr][k][mr],
// scaled by alpha. op(B), usually a weight in its
// stored precision, is widened and packed by each worker into panels of
// nr columns, [nc/nr][kc][nr], one (kc × nc) block at a time, so that a
// block is widened once and reused by every row of A. The micro-kernel
// then adds an mr × nr tile of products to C, held in registers across
// the depth kc.

// The tile and block sizes. mr × nr = 6 × 16 is twelve AVX2 accumulators;
// kc = 256 keeps a micro-panel of B (16 KiB) and one of A (6 KiB) in L1;
// nc is the narrowest block of columns a chunk packs B for, ncMax the
// widest: a kc × ncMax block of B (256 KiB) and a row block of A (96 KiB)
// share L2.
const (
	mr    = 6
	nr    = 16
	kc    = 256
	nc    = 64
	ncMax = 256
)

// mcBlocks is the number of A micro-panels in a row block: 16 × mr × kc
// floats (96 KiB) stay in L2 while a B micro-panel is used against them.
var mcBlocks = 16

// The machine-specific inner loops. The portable versions below are
// replaced at start-up where the CPU has something faster (see
// gemm_simd.go).
var (
	// microKernel adds the mr×nr product of the packed a [k][mr] and
	// b [k][nr] (row stride ldb) into c, whose row stride is ldc, or
	// stores it there when add is false.
	microKernel = microKernelGo
	// packTrans packs 16 rows of s starting at (r0, c0), 8·k8 columns,
	// transposed into dst [8·k8][16].
	packTrans = packTransGo
	// packStraight packs k rows of s starting at (r0, c0), 16 columns,
	// into dst [k][16].
	packStraight = packStraightGo
	// packRows packs alpha times mr rows of a (stride lda), 8·k8
	// columns, transposed into dst [8·k8][mr].
	packRows = packRowsGo
)

// source is a matrix operand as stored: its precision, data and row
// stride (ld), which may exceed its logical width.
type source struct {
	dtype DType
	f32   []float32
	u16   []uint16
	i8    []int8    // for Q8, with a scale per row
	scale []float32 // for Q8
	ld    int
}

// matSource returns the source of a weight matrix.
func matSource(w Mat) source {
	return source{dtype: w.DType, f32: w.F32, u16: w.U16, i8: w.I8, scale: w.Scale, ld: w.Cols}
}

// at returns element (r, c) widened to f32.
func (s source) at(r, c int) float32 {
	i := r*s.ld + c
	switch s.dtype {
	case BF16:
		return BF16ToF32(s.u16[i])
	case F16:
		return F16ToF32(s.u16[i])
	case Q8:
		return float32(s.i8[i]) * s.scale[r]
	}
	return s.f32[i]
}

// unscaled is at without the row scale of a Q8 source.
func (s source) unscaled(r, c int) float32 {
	if s.dtype == Q8 {
		return float32(s.i8[r*s.ld+c])
	}
	return s.at(r, c)
}

// product describes one call: C[m, n] = alpha·op(A)·op(B) + beta·C, or,
// for Linear, C = op(A)·op(B) + bias.
type product struct {
	m, n, k int
	ap      []float32 // a slab of op(A) packed, [ceil(m/mr)][depth][mr]
	depth   int       // the depth of the slab: columns [k0, k0+depth) of op(A)
	k0      int
	first   bool // the slab is the first, which initialises C
	b       source
	transB  bool // b is stored [n, k]; otherwise [k, n]
	c       []float32
	ldc     int
	beta    float32
	bias    []float32 // [n] or nil; used when beta is 0
	nc      int       // the width of the blocks of columns B is packed in
}

// A bufferPool recycles packing buffers between calls. There is one pool
// for each use, so that a small request does not take (and a large one
// then reallocate) a buffer sized for another.
type bufferPool struct{ pool sync.Pool }

// The pools: packed A slabs (up to maxPacked floats), B panels of a chunk,
// and rows widened before a transposing pack.
var aBuffers, bBuffers, rowBuffers bufferPool

// get returns a buffer of n floats, with arbitrary contents.
func (b *bufferPool) get(n int) *[]float32 {
	if p, ok := b.pool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n)
	return &s
}

// put returns a buffer to the pool.
func (b *bufferPool) put(p *[]float32) { b.pool.Put(p) }

// maxPacked bounds the floats of A packed at once (64 MiB): a deeper
// product is done in slabs of depth, each adding into C. Tests lower it.
var maxPacked = 1 << 24

// gemm computes the product described by p: for each slab of depth it
// packs A, splits the columns (or, when they are few, the rows) of C into
// chunks and runs the chunks on the worker pool.
func gemm(p *product, a []float32, lda int, transA bool, alpha float32) {
	mBlocks := (p.m + mr - 1) / mr
	slab := p.k
	if mBlocks*mr*p.k > maxPacked {
		slab = max(kc, maxPacked/(mBlocks*mr)/kc*kc)
	}
	buf := aBuffers.get(mBlocks * slab * mr)
	defer aBuffers.put(buf)
	p.ap = *buf
	par := p.m*p.n*p.k >= 1<<18 && workers.size > 0
	for k0 := 0; ; k0 += slab {
		p.k0, p.depth, p.first = k0, min(slab, p.k-k0), k0 == 0
		p.slab(a, lda, transA, alpha, mBlocks, par)
		if k0+slab >= p.k {
			break
		}
	}
}

// slab packs the current slab of A and adds its product into C.
func (p *product) slab(a []float32, lda int, transA bool, alpha float32, mBlocks int, par bool) {
	// Pack A in parallel by micro-panels when it is large.
	steps := 1
	if par {
		steps = min(mBlocks, 4*workers.threads())
	}
	workers.run(steps, func(i int) {
		lo, hi := split(mBlocks, steps, i)
		packA(p.ap, a, lda, transA, alpha, p.m, p.k0, p.depth, lo, hi)
	})

	// Chunks of C. Every chunk packs its own columns of B, once for each
	// row group it is split into, and every block of nc columns reads all
	// of A's rows again, reusing each from L2 for its nc/nr panels. So
	// the columns go to chunks as wide as possible (up to ncMax) while
	// still giving each thread about three chunks to balance, in a
	// number of equal chunks that the threads share evenly (no thread
	// idles while another finishes a last chunk); rows are split only
	// when columns are too few for that. Unsplit, the rows of a chunk run
	// in groups whose slice of packed A fits in the shared L3 cache (about
	// 4 MiB).
	perGroup := max(16, (1<<20)/(mr*max(p.depth, 1)))
	nChunks, mChunks, width := 1, (mBlocks+perGroup-1)/perGroup, nc
	panels := (p.n + nr - 1) / nr
	if par {
		nChunks, mChunks = planChunks(panels, mBlocks, workers.threads())
		width = (panels + nChunks - 1) / nChunks * nr
	}
	p.nc = width
	workers.run(nChunks*mChunks, func(i int) {
		n0, n1 := split(p.n, nChunks, i%nChunks)
		if nChunks > 1 {
			q0, q1 := split(panels, nChunks, i%nChunks)
			n0, n1 = q0*nr, min(p.n, q1*nr)
		}
		b0, b1 := split(mBlocks, mChunks, i/nChunks)
		p.chunk(n0, n1, b0, b1)
	})
}

// planChunks splits panels column panels and mBlocks row micro-panels into
// nChunks × mChunks chunks for threads threads. It takes at least enough
// column chunks to keep each at most ncMax wide and to give each thread
// about three, and among up to twice that many it picks the split whose
// chunks, taken in order by whichever thread is free, end soonest (the
// least time a thread idles at the end), the fewest chunks on a tie. So 56
// panels go in 8 chunks of 7 rather than 6 of 9 or 10, where one thread
// would finish two panels after the other. Past sixteen chunks a thread
// the search is not worth its time.
func planChunks(panels, mBlocks, threads int) (nChunks, mChunks int) {
	tasks := 3 * threads
	base := max((panels*nr+ncMax-1)/ncMax, min(panels, tasks))
	if base >= 16*threads {
		return base, 1 // a thread idles at most one chunk in sixteen
	}
	best := -1
	for n := base; n <= min(panels, 2*base); n++ {
		m := 1
		if n < 2*threads {
			m = min(mBlocks, (tasks+n-1)/n)
		}
		if span := makespan(panels, n, mBlocks, m, threads); best < 0 || span < best {
			best, nChunks, mChunks = span, n, m
		}
	}
	return nChunks, mChunks
}

// makespan returns when the last of threads equally fast threads ends
// when they take the chunks of the nChunks × mChunks split in index order
// (as slab runs them), each as soon as it is free; a chunk costs its
// panels times its row micro-panels.
func makespan(panels, nChunks, mBlocks, mChunks, threads int) int {
	var free [64]int
	threads = min(threads, len(free))
	for i := range nChunks * mChunks {
		q0, q1 := split(panels, nChunks, i%nChunks)
		b0, b1 := split(mBlocks, mChunks, i/nChunks)
		t := 0
		for j := 1; j < threads; j++ {
			if free[j] < free[t] {
				t = j
			}
		}
		free[t] += (q1 - q0) * (b1 - b0)
	}
	return slices.Max(free[:threads])
}

// split returns the i-th of parts near-equal contiguous pieces of [0, n).
func split(n, parts, i int) (lo, hi int) {
	return n * i / parts, n * (i + 1) / parts
}

// chunk computes columns [n0, n1) of the rows in micro-panels [b0, b1).
func (p *product) chunk(n0, n1, b0, b1 int) {
	r0, r1 := b0*mr, min(p.m, b1*mr)
	// The first block of depth stores into C instead of adding when C
	// starts from zero; otherwise C is first set to beta·C or the bias.
	fresh := p.first && p.beta == 0 && p.bias == nil && p.depth > 0
	if p.first && !fresh {
		p.initC(r0, r1, n0, n1)
	}
	if p.depth == 0 || r0 >= r1 || n0 >= n1 {
		return
	}
	// Always the widest size, so that the pool's buffers fit any chunk,
	// and room after the panels for an edge tile.
	buf := bBuffers.get(kc*(ncMax+nr) + mr*nr)
	defer bBuffers.put(buf)
	bp := *buf
	tile := (*[mr * nr]float32)(bp[kc*(ncMax+nr):])

	for j0 := n0; j0 < n1; j0 += p.nc {
		w := min(p.nc, n1-j0)
		for p0 := 0; p0 < p.depth; p0 += kc {
			d := min(kc, p.depth-p0)
			p.packB(bp, p.k0+p0, d, j0, w)
			p.block(bp, tile, p0, d, j0, w, b0, b1, !fresh || p0 > 0)
		}
	}
}

// block multiplies the packed panels bp (depth [p0, p0+d) of the slab,
// columns [j0, j0+w)) with micro-panels [b0, b1) of A, adding into C, or
// storing when add is false. The micro-panels go in row blocks of
// mcBlocks, so that the A block stays in L2 while each B panel is in L1.
func (p *product) block(bp []float32, tile *[mr * nr]float32, p0, d, j0, w, b0, b1 int, add bool) {
	for m0 := b0; m0 < b1; m0 += mcBlocks {
		m1 := min(b1, m0+mcBlocks)
		for jb := 0; jb*nr < w; jb++ {
			b, ldb := p.panel(bp, jb, p.k0+p0, d, j0, w)
			cols := min(nr, w-jb*nr)
			for blk := m0; blk < m1; blk++ {
				a := p.ap[(blk*p.depth+p0)*mr:]
				rows := min(mr, p.m-blk*mr)
				c := p.c[blk*mr*p.ldc+j0+jb*nr:]
				if rows == mr && cols == nr {
					microKernel(d, a, b, ldb, c, p.ldc, add)
					continue
				}
				p.edge(tile, d, a, b, ldb, c, rows, cols, add)
			}
		}
	}
}

// edge computes a tile of C smaller than mr × nr through the full-size
// buffer tile.
func (p *product) edge(tile *[mr * nr]float32, d int, a, b []float32, ldb int, c []float32, rows, cols int, add bool) {
	microKernel(d, a, b, ldb, tile[:], nr, false)
	for r := range rows {
		cr := c[r*p.ldc : r*p.ldc+cols]
		for j := range cr {
			if add {
				cr[j] += tile[r*nr+j]
			} else {
				cr[j] = tile[r*nr+j]
			}
		}
	}
}

// initC prepares C[r0:r1, n0:n1] for accumulation: beta·C, or the bias
// (zero without one) when beta is 0.
func (p *product) initC(r0, r1, n0, n1 int) {
	if p.beta == 1 {
		return // C already holds beta·C
	}
	for r := r0; r < r1; r++ {
		c := p.c[r*p.ldc+n0 : r*p.ldc+n1]
		switch {
		case p.beta != 0:
			for j := range c {
				c[j] *= p.beta
			}
		case p.bias != nil:
			copy(c, p.bias[n0:n1])
		default:
			clear(c)
		}
	}
}

// packA packs micro-panels [b0, b1) of alpha·op(A), columns [k0, k0+k),
// into dst [ceil(m/mr)][k][mr], zero-filling rows past m. op(A)[i][p] is
// a[i*lda+p], or a[p*lda+i] when transA.
func packA(dst, a []float32, lda int, transA bool, alpha float32, m, k0, k, b0, b1 int) {
	// Column k0 of op(A) starts at a[k0], or at row k0 when transposed.
	if transA {
		a = a[k0*lda:]
	} else {
		a = a[k0:]
	}
	for blk := b0; blk < b1; blk++ {
		d := dst[blk*k*mr : (blk+1)*k*mr]
		if !transA && (blk+1)*mr <= m {
			// A full micro-panel of untransposed rows: eight columns
			// at a time, then the rest.
			k8 := k / 8
			packRows(d, a[blk*mr*lda:], lda, k8, alpha)
			for i := range mr {
				row := a[(blk*mr+i)*lda:]
				for p := 8 * k8; p < k; p++ {
					d[p*mr+i] = alpha * row[p]
				}
			}
			continue
		}
		rows := min(mr, m-blk*mr)
		if transA && rows == mr {
			// The micro-panel's rows of op(A) are six adjacent columns
			// of a: one bounds check a step of depth.
			for p := range k {
				src := (*[mr]float32)(a[p*lda+blk*mr:])
				dp := (*[mr]float32)(d[p*mr:])
				dp[0], dp[1], dp[2] = alpha*src[0], alpha*src[1], alpha*src[2]
				dp[3], dp[4], dp[5] = alpha*src[3], alpha*src[4], alpha*src[5]
			}
			continue
		}
		if transA {
			// The micro-panel's rows of op(A) are adjacent columns of a.
			for p := range k {
				src := a[p*lda+blk*mr : p*lda+blk*mr+rows]
				dp := d[p*mr : (p+1)*mr]
				for i, v := range src {
					dp[i] = alpha * v
				}
				clear(dp[rows:])
			}
			continue
		}
		for i := range mr {
			if i >= rows {
				for p := range k {
					d[p*mr+i] = 0
				}
				continue
			}
			row := a[(blk*mr+i)*lda : (blk*mr+i)*lda+k]
			for p, v := range row {
				d[p*mr+i] = alpha * v
			}
		}
	}
}

// packB widens and packs rows [p0, p0+d) and columns [j0, j0+w) of op(B)
// into dst [ceil(w/nr)][d][nr], zero-filling columns past w.
func (p *product) packB(dst []float32, p0, d, j0, w int) {
	for jb := 0; jb*nr < w; jb++ {
		panel := dst[jb*d*nr : (jb+1)*d*nr]
		j := j0 + jb*nr
		cols := min(nr, w-jb*nr)
		switch {
		case p.direct(cols):
			// Read in place; see panel.
		case cols < nr:
			p.packEdge(panel, p0, d, j, cols)
		case p.transB:
			k8 := d / 8
			packTrans(panel, p.b, j, p0, k8)
			for q := k8 * 8; q < d; q++ {
				for c := range nr {
					panel[q*nr+c] = p.b.at(j+c, p0+q)
				}
			}
		default:
			packStraight(panel, p.b, p0, j, d)
		}
	}
}

// direct reports whether a panel of cols columns is read from op(B) in
// place rather than packed: a full panel of an untransposed f32 matrix,
// whose rows are already 16 contiguous f32 values.
func (p *product) direct(cols int) bool {
	return cols == nr && !p.transB && p.b.dtype == F32
}

// panel returns panel jb of the block of op(B) at rows [p0, p0+d) and
// columns [j0, j0+w), and its row stride: from the packed buffer bp, or
// from op(B) itself when it is direct.
func (p *product) panel(bp []float32, jb, p0, d, j0, w int) ([]float32, int) {
	if p.direct(min(nr, w-jb*nr)) {
		return p.b.f32[p0*p.b.ld+j0+jb*nr:], p.b.ld
	}
	return bp[jb*d*nr:], nr
}

// packEdge packs a panel of fewer than nr columns, element by element.
func (p *product) packEdge(panel []float32, p0, d, j, cols int) {
	for q := range d {
		row := panel[q*nr : (q+1)*nr]
		for c := range nr {
			switch {
			case c >= cols:
				row[c] = 0
			case p.transB:
				row[c] = p.b.at(j+c, p0+q)
			default:
				row[c] = p.b.at(p0+q, j+c)
			}
		}
	}
}

// packRowsGo is the portable packRows.
func packRowsGo(dst, a []float32, lda, k8 int, alpha float32) {
	for i := range mr {
		row := a[i*lda : i*lda+8*k8]
		for p, v := range row {
			dst[p*mr+i] = alpha * v
		}
	}
}

// packTransGo is the portable packTrans.
func packTransGo(dst []float32, s source, r0, c0, k8 int) {
	for q := range 8 * k8 {
		for c := range nr {
			dst[q*nr+c] = s.at(r0+c, c0+q)
		}
	}
}

// packStraightGo is the portable packStraight.
func packStraightGo(dst []float32, s source, r0, c0, k int) {
	for q := range k {
		for c := range nr {
			dst[q*nr+c] = s.at(r0+q, c0+c)
		}
	}
}

// microKernelGo is the portable micro-kernel: C[mr][nr] += A·B (or = A·B
// when add is false) for a packed [k][mr] and b [k][nr] with row stride
// ldb, and C's row stride ldc.
func microKernelGo(k int, a, b []float32, ldb int, c []float32, ldc int, add bool) {
	var acc [mr][nr]float32
	for p := range k {
		ap := a[p*mr : p*mr+mr]
		bp := b[p*ldb : p*ldb+nr]
		for i, av := range ap {
			row := &acc[i]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	for i := range mr {
		cr := c[i*ldc : i*ldc+nr]
		for j := range cr {
			if add {
				cr[j] += acc[i][j]
			} else {
				cr[j] = acc[i][j]
			}
		}
	}
}

// LinearInputAdd adds dy W to dx for dy: [T, out], w: [out, in], dx:
// [T, in]: LinearInput accumulating, for an input that feeds several
// projections, without a pass through a temporary. Rows are summed in a
// different order than LinearInput then an addition, so the results may
// differ in the last bits.
func LinearInputAdd(dx, dy []float32, w Mat, T int) {
	in, out := w.Cols, w.Rows
	checkLen("LinearInputAdd", "dy", dy, T*out)
	checkLen("LinearInputAdd", "dx", dx, T*in)
	if T == 0 {
		return
	}
	p := product{m: T, n: in, k: out, b: matSource(w), c: dx, ldc: in, beta: 1}
	gemm(&p, dy, out, false, 1)
}

// A LinearOut is one of the products of LinearShared: Y = x Wᵀ (+ Bias).
type LinearOut struct {
	Y    []float32 // [T, W.Rows], overwritten
	W    Mat       // [out, in]
	Bias []float32 // [W.Rows] or nil
}

// LinearShared computes every out's Y = x Wᵀ (+ Bias) for x: [T, in], as
// Linear does one by one, for weights that read the same input (a layer's
// q, k and v, or its gate and up): x is packed once, and the products'
// columns are split into one set of chunks that the threads share, so
// that a narrow product (k and v) does not run alone with too few chunks
// to keep every thread busy. Shapes the packed product does not serve go
// through Linear.
func LinearShared(x []float32, T int, outs ...LinearOut) {
	if len(outs) == 0 {
		return
	}
	in := outs[0].W.Cols
	checkLen("LinearShared", "x", x, T*in)
	mBlocks := (T + mr - 1) / mr
	shared := T > maxBatch && workers.size > 0 && mBlocks*mr*in <= maxPacked
	for _, o := range outs {
		checkLen("LinearShared", "Y", o.Y, T*o.W.Rows)
		if o.Bias != nil {
			checkLen("LinearShared", "Bias", o.Bias, o.W.Rows)
		}
		if o.W.Cols != in {
			panic(fmt.Sprintf("kernels: LinearShared: weights of %d and %d columns", in, o.W.Cols))
		}
		shared = shared && !IntegerProduct(o.W) && o.W.Rows >= 2*nr
	}
	if !shared {
		for _, o := range outs {
			Linear(o.Y, x, o.W, o.Bias, T)
		}
		return
	}

	buf := aBuffers.get(mBlocks * in * mr)
	defer aBuffers.put(buf)
	threads := workers.threads()
	steps := min(mBlocks, 4*threads)
	workers.run(steps, func(i int) {
		lo, hi := split(mBlocks, steps, i)
		packA(*buf, x, in, false, 1, T, 0, in, lo, hi)
	})

	ps := make([]product, len(outs))
	panels := make([]int, len(outs))
	total := 0
	for i, o := range outs {
		ps[i] = product{m: T, n: o.W.Rows, k: in, ap: *buf, depth: in, first: true,
			b: matSource(o.W), transB: true, c: o.Y, ldc: o.W.Rows, bias: o.Bias}
		panels[i] = (o.W.Rows + nr - 1) / nr
		total += panels[i]
	}
	nChunks, mChunks := planChunks(total, mBlocks, threads)
	width := (total + nChunks - 1) / nChunks * nr
	for i := range ps {
		ps[i].nc = width
	}
	// Chunk i covers panels [q0, q1) of the products side by side, in
	// one piece for each product it reaches into.
	workers.run(nChunks*mChunks, func(i int) {
		q0, q1 := split(total, nChunks, i%nChunks)
		b0, b1 := split(mBlocks, mChunks, i/nChunks)
		off := 0
		for j := range ps {
			lo, hi := max(q0, off), min(q1, off+panels[j])
			if lo < hi {
				ps[j].chunk((lo-off)*nr, min(ps[j].n, (hi-off)*nr), b0, b1)
			}
			off += panels[j]
		}
	})
}
