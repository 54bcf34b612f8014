package train

import (
	"math"

	"attune/engine/kernels"
	"attune/engine/lora"
	"attune/engine/qwen2"
)

// net is the training view of a model: the frozen base, the adapter being
// trained, its gradients, and the buffers of one forward and backward pass
// over batches of up to maxRows positions. It is not safe for concurrent
// use.
//
// Dimensions used in the shape comments:
//
//	N = B*T  positions in the batch     C  hidden size
//	H        attention heads            KV key/value heads
//	D        head dimension             Q = H*D, K = KV*D
//	I        intermediate size          V  vocabulary size
//	r        LoRA rank                  L  layers
type net struct {
	m     *qwen2.Model
	ad    *lora.Adapter
	grad  *lora.Adapter // same shape as ad: the gradients, accumulated
	scale float32       // LoRA scaling

	C, H, KV, D, I, V, L int
	eps                  float32
	invFreq              []float64 // [D/2]: rope_theta^(-2i/D)

	dropout     float32
	dropoutSeed uint64 // changes every micro-batch; masks derive from it

	maxRows int
	acts    []layerActs
	xF      []float32 // [N, C]: output of the final norm
	rstdF   []float32 // [N]
	xLast   []float32 // [N, C]: input of the final norm (output of the last layer)

	// Scratch shared by the layers, reused step to step.
	xn   []float32 // [N, C]: a normed input, recomputed in backward
	tmpC []float32 // [N, C]
	dx   []float32 // [N, C]: gradient of the residual stream
	dxn  []float32 // [N, C]
	hI   []float32 // [N, I]: silu(gate) ⊙ up
	dq   []float32 // [N, Q]
	dk   []float32 // [N, K]
	dv   []float32 // [N, K]
	dao  []float32 // [N, Q]
	u    []float32 // [N, r]: LoRA gradient of A x
	xd   []float32 // [N, max(C, I, Q)]: dropped-out LoRA input
	tmpW []float32 // [N, max(C, I, Q)]
	tmpL []float32 // [N, max(C, I, Q)]: the LoRA input gradient under dropout
	tmpR []float32 // [r, max(C, I, Q)]: a LoRA gradient of B, transposed
	tmpB []float32 // [r, max(C, I, Q)]: a LoRA factor B, transposed

	attWork [][]float32 // per worker: [2, T, T] scores and their gradient
	head    headWork

	// stop, when set, is polled between layers and head chunks; once it
	// returns true the passes return early with meaningless results, which
	// the caller discards. It bounds how long a canceled step runs on.
	stop func() bool
}

// stopped reports whether the current pass should be abandoned.
func (n *net) stopped() bool { return n.stop != nil && n.stop() }

// layerActs are the activations of one decoder layer that the backward
// pass reads. Attention probabilities are not kept: the backward recomputes
// them from q, k and the row log-sum-exps, which costs little next to the
// projections and saves B·H·T² values a layer.
type layerActs struct {
	xIn   []float32   // [N, C]: the layer's input (residual stream)
	rstd1 []float32   // [N]: 1/rms of xIn
	q     []float32   // [N, Q]: queries after bias, LoRA and rotary embedding
	k     []float32   // [N, K]: keys after bias, LoRA and rotary embedding
	v     []float32   // [N, K]
	lse   []float32   // [B, H, T]: log-sum-exp of each attention row
	ao    []float32   // [N, Q]: attention output, the input of o_proj
	xMid  []float32   // [N, C]: residual after attention
	rstd2 []float32   // [N]: 1/rms of xMid
	gate  []float32   // [N, I]: gate_proj output (before SiLU)
	up    []float32   // [N, I]: up_proj output
	lu    [][]float32 // per target: [N, r] = dropout(x) Aᵀ, nil when not adapted
}

// newNet allocates the buffers for batches of up to maxB rows of maxT
// positions.
func newNet(m *qwen2.Model, ad *lora.Adapter, maxB, maxT int) *net {
	mc := m.Config
	n := &net{
		m: m, ad: ad, scale: ad.Config.Scaling(),
		C: mc.HiddenSize, H: mc.NumAttentionHeads, KV: mc.NumKeyValueHeads,
		D: lora.HeadDim(mc), I: mc.IntermediateSize, V: mc.VocabSize,
		L: mc.NumHiddenLayers, eps: float32(mc.RMSNormEps),
		dropout: float32(ad.Config.Dropout),
	}
	n.grad = ad.Clone()
	n.zeroGrad()
	n.invFreq = make([]float64, n.D/2)
	for i := range n.invFreq {
		n.invFreq[i] = 1 / math.Pow(mc.RopeTheta, float64(2*i)/float64(n.D))
	}

	N, C, Q, K, I, r := maxB*maxT, n.C, n.H*n.D, n.KV*n.D, n.I, ad.Config.Rank
	n.maxRows = N
	wide := max(C, I, Q)
	n.acts = make([]layerActs, n.L)
	for l := range n.acts {
		a := &n.acts[l]
		a.xIn, a.rstd1 = make([]float32, N*C), make([]float32, N)
		a.q, a.k, a.v = make([]float32, N*Q), make([]float32, N*K), make([]float32, N*K)
		a.lse, a.ao = make([]float32, maxB*n.H*maxT), make([]float32, N*Q)
		a.xMid, a.rstd2 = make([]float32, N*C), make([]float32, N)
		a.gate, a.up = make([]float32, N*I), make([]float32, N*I)
		a.lu = make([][]float32, len(lora.AllTargets))
		for i, f := range ad.Layers[l] {
			if f != nil {
				a.lu[i] = make([]float32, N*r)
			}
		}
	}
	n.xF, n.rstdF, n.xLast = make([]float32, N*C), make([]float32, N), make([]float32, N*C)
	n.xn, n.tmpC, n.dx, n.dxn = make([]float32, N*C), make([]float32, N*C), make([]float32, N*C), make([]float32, N*C)
	n.hI = make([]float32, N*I)
	n.dq, n.dk, n.dv, n.dao = make([]float32, N*Q), make([]float32, N*K), make([]float32, N*K), make([]float32, N*Q)
	n.u = make([]float32, N*r)
	if n.dropout > 0 {
		n.xd, n.tmpL = make([]float32, N*wide), make([]float32, N*wide)
	}
	n.tmpW = make([]float32, N*wide)
	n.tmpR, n.tmpB = make([]float32, r*wide), make([]float32, r*wide)
	n.attWork = make([][]float32, workers())
	for i := range n.attWork {
		n.attWork[i] = make([]float32, 2*maxT*maxT)
	}
	n.head = newHeadWork(n.V, n.C)
	return n
}

// zeroGrad clears the accumulated gradients.
func (n *net) zeroGrad() {
	n.grad.Each(func(_ int, _ qwen2.Target, f *lora.Factors) {
		clear(f.A)
		clear(f.B)
	})
}

// workers returns how many goroutines the element-wise and attention loops
// use: the kernels' threads.
func workers() int { return kernels.Threads() }

// parallel runs fn over [0, n) split into contiguous ranges, one per worker,
// and returns when all are done. Each call gets its worker index. The
// ranges run on the kernels' pool, so that a run started with
// kernels.RunNiced keeps all of its threads at the lower priority.
func parallel(n int, fn func(w, lo, hi int)) {
	nw := min(workers(), n)
	if nw <= 1 {
		fn(0, 0, n)
		return
	}
	kernels.Parallel(nw, func(w int) { fn(w, w*n/nw, (w+1)*n/nw) })
}

// lossAndGrad runs the forward and backward passes over bt and adds the
// gradient of (summed loss / norm) to n.grad. It returns the summed
// cross-entropy of bt's targets and their number.
func (n *net) lossAndGrad(bt *Batch, norm float64) (sum float64, count int) {
	if bt.B*bt.T > n.maxRows {
		panic("train: batch larger than the buffers")
	}
	n.forward(bt)
	dxF := n.tmpC[:bt.B*bt.T*n.C]
	sum, count = n.headLoss(bt, true, norm, dxF)
	n.backward(bt, dxF)
	return sum, count
}

// loss runs the forward pass over bt and returns the summed cross-entropy
// of its targets and their number.
func (n *net) loss(bt *Batch) (sum float64, count int) {
	if bt.B*bt.T > n.maxRows {
		panic("train: batch larger than the buffers")
	}
	n.forward(bt)
	return n.headLoss(bt, false, 1, nil)
}
