package train

import (
	"math"

	"attune/engine/kernels"
)

// The head and the loss, fused with the head's backward. Logits for a whole
// batch would be [N, V] in f32 (600 MB at N = 1024 for Qwen2's 151,936
// tokens), so they are computed a chunk of rows at a time: logits, the
// cross-entropy of each row, the gradient of the logits, and that gradient
// through the head, before the next chunk reuses the buffer. Rows with no
// target are skipped altogether.

// headChunkBytes bounds the f32 logits of one chunk. Larger chunks read
// (and widen) the head matrix fewer times, once per chunk forward and
// once backward; at Qwen2.5's vocabulary 320 MiB holds 552 rows, so a
// batch of 1024 positions takes two chunks of 512.
var headChunkBytes = 320 << 20 // tests lower it

// headWork holds the buffers of one chunk.
type headWork struct {
	rows   int
	x      []float32 // [rows, C]: gathered final hidden states
	logits []float32 // [rows, V], then their gradient
	dx     []float32 // [rows, C]
	idx    []int     // [rows]: the position of each gathered row
}

func newHeadWork(V, C int) headWork {
	rows := max(1, headChunkBytes/(4*V))
	return headWork{rows: rows, x: make([]float32, rows*C), logits: make([]float32, rows*V),
		dx: make([]float32, rows*C), idx: make([]int, rows)}
}

// headLoss computes the summed cross-entropy of the targets of bt from
// n.xF: [N, C], and returns it with the number of targets. With backward
// set it also writes the gradient of (sum / norm) with respect to n.xF
// into dxF: [N, C] (zero on rows without a target).
func (n *net) headLoss(bt *Batch, backward bool, norm float64, dxF []float32) (sum float64, count int) {
	C, hw := n.C, &n.head
	if backward {
		clear(dxF[:bt.B*bt.T*C])
	}
	// The targets go in chunks of equal size, as few as the buffer
	// allows.
	targets := bt.NumTargets()
	chunks := max(1, (targets+hw.rows-1)/hw.rows)
	per := (targets + chunks - 1) / chunks
	rows := 0
	flush := func() {
		if n.stopped() {
			rows = 0
			return
		}
		s := n.headChunk(bt, rows, backward, norm)
		sum += s
		if backward {
			for r, i := range hw.idx[:rows] {
				copy(dxF[i*C:(i+1)*C], hw.dx[r*C:(r+1)*C])
			}
		}
		count += rows
		rows = 0
	}
	for i, t := range bt.Targets {
		if t == IgnoreLabel {
			continue
		}
		copy(hw.x[rows*C:(rows+1)*C], n.xF[i*C:(i+1)*C])
		hw.idx[rows] = i
		rows++
		if rows == per {
			flush()
		}
	}
	if rows > 0 {
		flush()
	}
	return sum, count
}

// headChunk computes the logits of the gathered rows, returns the sum of
// their cross-entropies, and with backward set leaves the gradient of
// (sum / norm) with respect to the gathered rows in hw.dx.
func (n *net) headChunk(bt *Batch, rows int, backward bool, norm float64) float64 {
	C, V, hw := n.C, n.V, &n.head
	logits := hw.logits[:rows*V]

	// logits = x Headᵀ: [rows, V].
	kernels.Linear(logits, hw.x[:rows*C], n.m.Head, nil, rows)

	// Cross-entropy per row: lse - logit[target]; the gradient of the
	// normalised sum is (softmax - onehot(target)) / norm.
	losses := make([]float64, rows)
	inv := 1 / norm
	parallel(rows, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			row := logits[r*V : (r+1)*V]
			t := bt.Targets[hw.idx[r]]
			logit := row[t]
			if !backward {
				mx := kernels.MaxOf(row)
				losses[r] = math.Log(kernels.ExpSub(row, mx)) + float64(mx) - float64(logit)
				continue
			}
			lse := softmaxScaled(row, inv)
			losses[r] = lse - float64(logit)
			row[t] -= float32(inv)
		}
	})
	var sum float64
	for _, l := range losses {
		sum += l
	}

	// dx = dlogits Head: [rows, C].
	if backward {
		kernels.LinearInput(hw.dx[:rows*C], logits, n.m.Head, rows)
	}
	return sum
}

// softmaxInPlace replaces x with softmax(x) and returns log Σ exp(x); the
// sum is accumulated in f64.
func softmaxInPlace(x []float32) float64 {
	return softmaxScaled(x, 1)
}

// softmaxScaled replaces x with c · softmax(x) and returns log Σ exp(x).
func softmaxScaled(x []float32, c float64) float64 {
	mx := kernels.MaxOf(x)
	s := kernels.ExpSub(x, mx)
	kernels.ScaleBy(x, float32(c/s))
	return math.Log(s) + float64(mx)
}
