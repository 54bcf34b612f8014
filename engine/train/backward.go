package train

import (
	"attune/engine/kernels"
	"attune/engine/qwen2"
)

// This file is the backward pass, the forward of forward.go read in
// reverse. The base weights are frozen: only input gradients flow through
// them (dx = dy W), and gradients are accumulated for the LoRA factors
// alone.

// backward propagates dxF: [N, C], the gradient of the loss with respect
// to the final norm's output, down through every layer, adding the LoRA
// gradients into n.grad.
func (n *net) backward(bt *Batch, dxF []float32) {
	N, C := bt.B*bt.T, n.C

	// Final norm: dx = rmsnorm'(xLast) dxF.
	dx := n.dx[:N*C]
	clear(dx)
	rmsNormBackward(dx, dxF[:N*C], n.xLast[:N*C], n.rstdF[:N], n.m.Norm, N, C)

	for l := n.L - 1; l >= 0; l-- {
		if n.stopped() {
			return
		}
		n.layerBackward(l, bt, dx, l > 0)
	}
	// The embedding is frozen and not adapted: the gradient stops here.
}

// layerBackward turns dx: [N, C], the gradient of layer l's output, into
// the gradient of its input, in place. With needInput false (the first
// layer, whose input is the frozen embedding) it skips the input gradients
// that only the embedding would read.
func (n *net) layerBackward(l int, bt *Batch, dx []float32, needInput bool) {
	N, C, Q, K, I := bt.B*bt.T, n.C, n.H*n.D, n.KV*n.D, n.I
	w, a := &n.m.Layers[l], &n.acts[l]
	xn, dxn := n.xn[:N*C], n.dxn[:N*C]

	// --- MLP. out = xMid + down(silu(gate) ⊙ up); dx flows to xMid as is.

	// down_proj: dh = dx Down (+ the LoRA path's share): [N, I]. Its LoRA
	// gradient for A needs h, the input of down_proj, which comes next.
	gate, up, h := a.gate[:N*I], a.up[:N*I], n.hI[:N*I]
	dh := n.tmpW[:N*I]
	kernels.LinearInput(dh, dx, w.Down, N)
	n.loraOut(l, qwen2.TargetDown, dx, dh, N)

	// SwiGLU, one pass with one exponential an element: recompute
	// h = silu(gate) ⊙ up, and write dgate = dh ⊙ up ⊙ silu'(gate) and
	// dup = dh ⊙ silu(gate) over gate and up, which are not needed after.
	parallel(N*I, func(_, lo, hi int) {
		kernels.SwiGLUBackward(h[lo:hi], gate[lo:hi], up[lo:hi], dh[lo:hi])
	})
	n.loraA(l, qwen2.TargetDown, h, N)
	dgate, dup := gate, up

	// gate_proj and up_proj: dxn = dgate Gate + dup Up (+ LoRA): [N, C].
	rmsNormApply(xn, a.xMid[:N*C], a.rstd2[:N], w.MLPNorm, N, C)
	kernels.LinearInput(dxn, dgate, w.Gate, N)
	n.loraBackward(l, qwen2.TargetGate, dgate, xn, dxn, N)
	n.addLinearInput(dxn, dup, w.Up, N)
	n.loraBackward(l, qwen2.TargetUp, dup, xn, dxn, N)

	// MLP norm: dxMid = dx + rmsnorm'(xMid) dxn.
	rmsNormBackward(dx, dxn, a.xMid[:N*C], a.rstd2[:N], w.MLPNorm, N, C)

	// --- Attention. xMid = xIn + o_proj(attention(q, k, v)).

	// o_proj: dao = dxMid O (+ LoRA): [N, Q].
	dao := n.dao[:N*Q]
	kernels.LinearInput(dao, dx, w.O, N)
	n.loraBackward(l, qwen2.TargetO, dx, a.ao[:N*Q], dao, N)

	// Attention: dq: [N, Q], dk, dv: [N, K], then back through the rotary
	// embedding (its transpose) on dq and dk.
	dq, dk, dv := n.dq[:N*Q], n.dk[:N*K], n.dv[:N*K]
	n.attentionBackward(bt, a, dao, dq, dk, dv)
	n.rope(dq, bt.Pos, n.H, N, true)
	n.rope(dk, bt.Pos, n.KV, N, true)

	// q, k, v projections: dxn = dq Wq + dk Wk + dv Wv (+ LoRA), with the
	// LoRA gradients from the recomputed xn; the biases are frozen. The
	// first layer needs only the LoRA gradients.
	rmsNormApply(xn, a.xIn[:N*C], a.rstd1[:N], w.AttnNorm, N, C)
	if !needInput {
		n.loraBackward(l, qwen2.TargetQ, dq, xn, nil, N)
		n.loraBackward(l, qwen2.TargetK, dk, xn, nil, N)
		n.loraBackward(l, qwen2.TargetV, dv, xn, nil, N)
		return
	}
	kernels.LinearInput(dxn, dq, w.Q, N)
	n.loraBackward(l, qwen2.TargetQ, dq, xn, dxn, N)
	n.addLinearInput(dxn, dk, w.K, N)
	n.loraBackward(l, qwen2.TargetK, dk, xn, dxn, N)
	n.addLinearInput(dxn, dv, w.V, N)
	n.loraBackward(l, qwen2.TargetV, dv, xn, dxn, N)

	// Attention norm: dxIn = dxMid + rmsnorm'(xIn) dxn.
	rmsNormBackward(dx, dxn, a.xIn[:N*C], a.rstd1[:N], w.AttnNorm, N, C)
}

// addLinearInput adds dy W to dx: [N, in].
func (n *net) addLinearInput(dx, dy []float32, w kernels.Mat, N int) {
	kernels.LinearInputAdd(dx[:N*w.Cols], dy, w, N)
}

// loraBackward accumulates the LoRA gradients of (l, t) given dy:
// [N, out], the gradient of the projection's output, and x: [N, in], its
// input, and adds the adapter path's share of the input gradient to dx:
// [N, in] unless dx is nil. It does nothing for a projection that is not
// adapted.
func (n *net) loraBackward(l int, t qwen2.Target, dy, x, dx []float32, N int) {
	n.loraOut(l, t, dy, dx, N)
	n.loraA(l, t, x, N)
}

// loraOut is the part of loraBackward that does not need x: it
// accumulates dB, leaves du = s · dy B: [N, r] in n.u for loraA, and adds
// the input gradient (du A, through the dropout mask) to dx unless nil.
func (n *net) loraOut(l int, t qwen2.Target, dy, dx []float32, N int) {
	f, g := n.ad.Factors(l, t), n.grad.Factors(l, t)
	if f == nil {
		return
	}
	r := n.ad.Config.Rank
	u := n.acts[l].lu[targetIdx(t)][:N*r]
	du := n.u[:N*r]

	// dB += s · dyᵀ u: [out, r], computed as its transpose s · uᵀ dy:
	// [r, out], which reads dy in place where dyᵀ u would first copy all
	// of it into packed panels.
	dBt := n.tmpR[:r*f.Out]
	gemm(true, false, r, f.Out, N, n.scale, u, r, dy, f.Out, 0, dBt, f.Out)
	for o := range f.Out {
		gb := g.B[o*r : (o+1)*r]
		for j := range gb {
			gb[j] += dBt[j*f.Out+o]
		}
	}

	// du = s · dy B: [N, r], as dy (Bᵀ)ᵀ with Bᵀ: [r, out] copied out,
	// so that the product takes r dot products a row of dy, reading dy
	// once in place, rather than packing all of dy for r columns.
	bT := n.tmpB[:r*f.Out]
	for o := range f.Out {
		for j, v := range f.B[o*r : (o+1)*r] {
			bT[j*f.Out+o] = v
		}
	}
	gemm(false, true, N, r, f.Out, n.scale, dy, f.Out, bT, f.Out, 0, du, r)
	if dx == nil {
		return
	}

	// dx += (du A) ⊙ mask, the mask scaling the gradient as it scaled the
	// input; without dropout straight into dx.
	if n.dropout == 0 {
		gemm(false, false, N, f.In, r, 1, du, r, f.A, f.In, 1, dx, f.In)
		return
	}
	tmp := n.tmpL[:N*f.In]
	gemm(false, false, N, f.In, r, 1, du, r, f.A, f.In, 0, tmp, f.In)
	ones := n.xd[:N*f.In]
	for i := range ones {
		ones[i] = 1
	}
	mask := n.dropped(l, t, ones, N*f.In)
	for i, m := range mask {
		dx[i] += tmp[i] * m
	}
}

// loraA accumulates dA += duᵀ dropout(x): [r, in] from the du that loraOut
// left in n.u for the same (l, t) and the projection's input x: [N, in].
func (n *net) loraA(l int, t qwen2.Target, x []float32, N int) {
	f, g := n.ad.Factors(l, t), n.grad.Factors(l, t)
	if f == nil {
		return
	}
	r := n.ad.Config.Rank
	xa := n.dropped(l, t, x, N*f.In)
	gemm(true, false, r, f.In, N, 1, n.u[:N*r], r, xa, f.In, 1, g.A, f.In)
}

// rmsNormApply recomputes out = x · rstd · w for x: [N, C] from the kept
// rstd: [N].
func rmsNormApply(out, x, rstd, w []float32, N, C int) {
	parallel(N, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			xi, oi, rs := x[i*C:(i+1)*C], out[i*C:(i+1)*C], rstd[i]
			for j, v := range xi {
				oi[j] = v * rs * w[j]
			}
		}
	})
}

// rmsNormBackward adds to dx: [N, C] the gradient through y = x · rstd · w
// given dy: [N, C]:
//
//	dx = rstd · (dy ⊙ w) - x · rstd³ · mean(dy ⊙ w ⊙ x).
func rmsNormBackward(dx, dy, x, rstd, w []float32, N, C int) {
	parallel(N, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			xi, dyi, dxi, rs := x[i*C:(i+1)*C], dy[i*C:(i+1)*C], dx[i*C:(i+1)*C], rstd[i]
			var dot float32
			for j, v := range xi {
				dot += dyi[j] * w[j] * v
			}
			c := rs * rs * rs * dot / float32(C)
			for j, v := range xi {
				dxi[j] += rs*dyi[j]*w[j] - v*c
			}
		}
	})
}
