package train

import (
	"math"

	"attune/engine/kernels"
	"attune/engine/qwen2"
)

// This file is the training forward: the Qwen2 forward pass written out
// layer by layer, keeping what the backward pass needs. It computes what
// the inference forward computes (Hugging Face's Qwen2 semantics) over a
// batch whose rows may hold several packed examples.

// forward runs the decoder layers over bt and leaves the final normed
// hidden states in n.xF: [N, C]. The head and loss follow in head.go.
func (n *net) forward(bt *Batch) {
	N, C := bt.B*bt.T, n.C

	// Embedding: x[i] = Embed[token[i]], widened to f32.
	x := n.acts[0].xIn[:N*C]
	for i, tok := range bt.Tokens {
		n.m.Embed.Row(x[i*C:(i+1)*C], int(tok))
	}

	for l := range n.L {
		if n.stopped() {
			return
		}
		out := n.xLast[:N*C]
		if l+1 < n.L {
			out = n.acts[l+1].xIn[:N*C]
		}
		n.layerForward(l, bt, out)
	}

	// Final norm: xF = rmsnorm(xLast) · Norm.
	rmsNorm(n.xF[:N*C], n.rstdF[:N], n.xLast[:N*C], n.m.Norm, n.eps, N, C)
}

// layerForward runs decoder layer l on n.acts[l].xIn and writes its output
// (the residual stream after the MLP) to out: [N, C].
func (n *net) layerForward(l int, bt *Batch, out []float32) {
	N, C, Q, K, I := bt.B*bt.T, n.C, n.H*n.D, n.KV*n.D, n.I
	w, a := &n.m.Layers[l], &n.acts[l]
	xIn, xn := a.xIn[:N*C], n.xn[:N*C]

	// Attention norm: xn = rmsnorm(xIn) · AttnNorm.
	rmsNorm(xn, a.rstd1[:N], xIn, w.AttnNorm, n.eps, N, C)

	// Projections with their biases and LoRA updates:
	// q: [N, Q], k, v: [N, K].
	// The three read the same xn: one shared product.
	q, k, v := a.q[:N*Q], a.k[:N*K], a.v[:N*K]
	kernels.LinearShared(xn, N, kernels.LinearOut{Y: q, W: w.Q, Bias: w.QBias},
		kernels.LinearOut{Y: k, W: w.K, Bias: w.KBias}, kernels.LinearOut{Y: v, W: w.V, Bias: w.VBias})
	n.projectLoRA(l, qwen2.TargetQ, q, xn, N)
	n.projectLoRA(l, qwen2.TargetK, k, xn, N)
	n.projectLoRA(l, qwen2.TargetV, v, xn, N)

	// Rotary embedding on q and k, by each position's id.
	n.rope(q, bt.Pos, n.H, N, false)
	n.rope(k, bt.Pos, n.KV, N, false)

	// Attention: ao: [N, Q], the heads side by side.
	n.attentionForward(bt, q, k, v, a.ao[:N*Q], a.lse)

	// Output projection and residual: xMid = xIn + o_proj(ao).
	o := n.tmpC[:N*C]
	n.project(l, qwen2.TargetO, o, a.ao[:N*Q], w.O, nil, N)
	xMid := a.xMid[:N*C]
	for i := range xMid {
		xMid[i] = xIn[i] + o[i]
	}

	// MLP norm: xn = rmsnorm(xMid) · MLPNorm.
	rmsNorm(xn, a.rstd2[:N], xMid, w.MLPNorm, n.eps, N, C)

	// SwiGLU: h = silu(gate(xn)) ⊙ up(xn): [N, I].
	gate, up, h := a.gate[:N*I], a.up[:N*I], n.hI[:N*I]
	kernels.LinearShared(xn, N, kernels.LinearOut{Y: gate, W: w.Gate}, kernels.LinearOut{Y: up, W: w.Up})
	n.projectLoRA(l, qwen2.TargetGate, gate, xn, N)
	n.projectLoRA(l, qwen2.TargetUp, up, xn, N)
	parallel(N*I, func(_, lo, hi int) {
		kernels.SwiGLU(h[lo:hi], gate[lo:hi], up[lo:hi])
	})

	// Down projection and residual: out = xMid + down(h).
	d := n.tmpC[:N*C]
	n.project(l, qwen2.TargetDown, d, h, w.Down, nil, N)
	for i := range out {
		out[i] = xMid[i] + d[i]
	}
}

// project computes y = x Wᵀ (+ bias) + s · dropout(x) Aᵀ Bᵀ for x: [N, in],
// y: [N, out], keeping u = dropout(x) Aᵀ: [N, r] for the backward pass.
func (n *net) project(l int, t qwen2.Target, y, x []float32, w kernels.Mat, bias []float32, N int) {
	kernels.Linear(y, x, w, bias, N)
	n.projectLoRA(l, t, y, x, N)
}

// projectLoRA is project's adapter part: it adds s · dropout(x) Aᵀ Bᵀ to
// y and keeps u.
func (n *net) projectLoRA(l int, t qwen2.Target, y, x []float32, N int) {
	f := n.ad.Factors(l, t)
	if f == nil {
		return
	}
	r := n.ad.Config.Rank
	u := n.acts[l].lu[targetIdx(t)][:N*r]
	xa := n.dropped(l, t, x, N*f.In)
	gemm(false, true, N, r, f.In, 1, xa, f.In, f.A, f.In, 0, u, r)
	gemm(false, true, N, f.Out, r, n.scale, u, r, f.B, r, 1, y, f.Out)
}

// dropped returns x with the adapter's dropout applied (a copy in n.xd),
// or x itself when dropout is off. The mask is a function of the
// micro-batch seed, the layer, the target and the element index, so the
// backward pass regenerates the same mask.
func (n *net) dropped(l int, t qwen2.Target, x []float32, size int) []float32 {
	if n.dropout == 0 {
		return x[:size]
	}
	xd := n.xd[:size]
	keep := 1 / (1 - n.dropout)
	seed := mix(n.dropoutSeed ^ uint64(l)<<8 ^ uint64(targetIdx(t)))
	thresh := uint64(float64(n.dropout) * (1 << 53))
	parallel(size, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			if mix(seed+uint64(i))>>11 < thresh {
				xd[i] = 0
			} else {
				xd[i] = x[i] * keep
			}
		}
	})
	return xd
}

// mix is the splitmix64 finaliser: a cheap, well-spread hash of a counter.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// rmsNorm computes out[i] = x[i] · rstd[i] · w for each row of x: [N, C],
// with rstd[i] = 1 / sqrt(mean(x[i]²) + eps), and keeps rstd: [N].
func rmsNorm(out, rstd, x, w []float32, eps float32, N, C int) {
	parallel(N, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			xi, oi := x[i*C:(i+1)*C], out[i*C:(i+1)*C]
			var ss float32
			for _, v := range xi {
				ss += v * v
			}
			rs := float32(1 / math.Sqrt(float64(ss/float32(C)+eps)))
			rstd[i] = rs
			for j, v := range xi {
				oi[j] = v * rs * w[j]
			}
		}
	})
}

// rope applies the rotary embedding (Hugging Face's rotate_half form) to
// x: [N, heads*D] in place, each row by its position id. With inverse set it
// applies the transposed rotation, which is the backward of the forward.
func (n *net) rope(x []float32, pos []int32, heads, N int, inverse bool) {
	D, half := n.D, n.D/2
	parallel(N, func(_, lo, hi int) {
		cos, sin := make([]float32, half), make([]float32, half)
		for i := lo; i < hi; i++ {
			p := float32(pos[i])
			for j, f := range n.invFreq {
				// The angle in f32, as Hugging Face computes it.
				s, c := math.Sincos(float64(p * float32(f)))
				cos[j], sin[j] = float32(c), float32(s)
				if inverse {
					sin[j] = -sin[j]
				}
			}
			for h := range heads {
				xh := x[(i*heads+h)*D : (i*heads+h+1)*D]
				for j := range half {
					a, b := xh[j], xh[j+half]
					xh[j] = a*cos[j] - b*sin[j]
					xh[j+half] = b*cos[j] + a*sin[j]
				}
			}
		}
	})
}

// targetIdx returns the index of t in lora.AllTargets.
func targetIdx(t qwen2.Target) int {
	switch t {
	case qwen2.TargetQ:
		return 0
	case qwen2.TargetK:
		return 1
	case qwen2.TargetV:
		return 2
	case qwen2.TargetO:
		return 3
	case qwen2.TargetGate:
		return 4
	case qwen2.TargetUp:
		return 5
	}
	return 6
}
