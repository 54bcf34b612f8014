package train

import (
	"math"

	"attune/engine/kernels"
)

// Causal self-attention with grouped-query heads over packed rows: query
// position i of a row attends to the positions j of the same row with
// start[i] <= j <= i, where start[i] is the first position of i's segment.
// Query head h reads key/value head h / (H/KV).
//
// The products go by blocks of attBlock query rows, each against only the
// keys its rows may see (from the first segment start in the block to the
// block's last row), so that the masked-out upper triangle is not
// computed: at 256 positions, 10/16 of the full square.

// attBlock is the number of query rows per block; tests lower it.
var attBlock = 64

// keySpan returns the keys [lo, hi) that query rows [i0, i1) of a row
// with segment starts start may attend to.
func keySpan(start []int32, i0, i1 int) (lo, hi int) {
	lo = i1
	for _, s := range start[i0:i1] {
		lo = min(lo, int(s))
	}
	return lo, i1
}

// attentionForward computes ao: [N, Q] from q: [N, Q], k, v: [N, K] and
// keeps the log-sum-exp of every attention row in lse: [B, H, T].
func (n *net) attentionForward(bt *Batch, q, k, v, ao, lse []float32) {
	B, T, H, D := bt.B, bt.T, n.H, n.D
	Q, K, group := H*D, n.KV*D, H/n.KV
	scale := float32(1 / math.Sqrt(float64(D)))
	parallel(B*H, func(w, lo, hi int) {
		s := n.attWork[w][:T*T] // s: [T, T] scores, then probabilities
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			qb := q[b*T*Q+h*D:]
			kb := k[b*T*K+(h/group)*D:]
			vb := v[b*T*K+(h/group)*D:]
			start := bt.Start[b*T : (b+1)*T]

			l := lse[(b*H+h)*T : (b*H+h+1)*T]
			for i0 := 0; i0 < T; i0 += attBlock {
				i1 := min(T, i0+attBlock)
				lo, hi := keySpan(start, i0, i1)
				rows, keys := i1-i0, hi-lo

				// s = scale · q_h k_hᵀ on the block: [rows, keys],
				// row stride T.
				sb := s[i0*T+lo:]
				gemm(false, true, rows, keys, D, scale, qb[i0*Q:], Q, kb[lo*K:], K, 0, sb, T)

				// Row softmax over the allowed keys; zero elsewhere
				// in the block.
				for i := i0; i < i1; i++ {
					l[i] = maskedSoftmax(s[i*T+lo:i*T+hi], int(start[i])-lo, i-lo)
				}

				// ao_h = p v_h on the block: [rows, D].
				gemm(false, false, rows, D, keys, 1, sb, T, vb[lo*K:], K, 0, ao[b*T*Q+i0*Q+h*D:], Q)
			}
		}
	})
}

// maskedSoftmax replaces row[lo..hi] with its softmax, zeroes the rest of
// row, and returns the log-sum-exp of row[lo..hi].
func maskedSoftmax(row []float32, lo, hi int) float32 {
	mx := kernels.MaxOf(row[lo : hi+1])
	sum := kernels.ExpSub(row[lo:hi+1], mx)
	kernels.ScaleBy(row[lo:hi+1], float32(1/sum))
	clear(row[:lo])
	clear(row[hi+1:])
	return mx + float32(math.Log(sum))
}

// attentionBackward computes dq: [N, Q], dk, dv: [N, K] from dao: [N, Q],
// the gradient of the attention output. The probabilities are recomputed
// from q, k and lse. Work is split by (row, key/value head) so that the
// heads sharing a key/value head accumulate into dk and dv in one
// goroutine.
func (n *net) attentionBackward(bt *Batch, a *layerActs, dao, dq, dk, dv []float32) {
	B, T, H, D := bt.B, bt.T, n.H, n.D
	Q, K, group := H*D, n.KV*D, H/n.KV
	scale := float32(1 / math.Sqrt(float64(D)))
	parallel(B*n.KV, func(w, lo, hi int) {
		p, dp := n.attWork[w][:T*T], n.attWork[w][T*T:2*T*T] // [T, T] each
		for bg := lo; bg < hi; bg++ {
			b, g := bg/n.KV, bg%n.KV
			kb, vb := a.k[b*T*K+g*D:], a.v[b*T*K+g*D:]
			dkb, dvb := dk[b*T*K+g*D:], dv[b*T*K+g*D:]
			start := bt.Start[b*T : (b+1)*T]
			for i := range T {
				clear(dkb[i*K : i*K+D])
				clear(dvb[i*K : i*K+D])
			}
			for h := g * group; h < (g+1)*group; h++ {
				qb, dqb, dob := a.q[b*T*Q+h*D:], dq[b*T*Q+h*D:], dao[b*T*Q+h*D:]
				l := a.lse[(b*H+h)*T : (b*H+h+1)*T]

				for i0 := 0; i0 < T; i0 += attBlock {
					i1 := min(T, i0+attBlock)
					lo, hi := keySpan(start, i0, i1)
					rows, keys := i1-i0, hi-lo
					pb, dpb := p[i0*T+lo:], dp[i0*T+lo:]

					// p = exp(scale · q kᵀ - lse) on the allowed keys
					// of the block: [rows, keys], row stride T.
					gemm(false, true, rows, keys, D, scale, qb[i0*Q:], Q, kb[lo*K:], K, 0, pb, T)
					for i := i0; i < i1; i++ {
						row := p[i*T+lo : i*T+hi]
						s := int(start[i]) - lo
						kernels.ExpSub(row[s:i-lo+1], l[i])
						clear(row[:s])
						clear(row[i-lo+1:])
					}

					// dv_g += pᵀ dao_h: [keys, D].
					gemm(true, false, keys, D, rows, 1, pb, T, dob[i0*Q:], Q, 1, dvb[lo*K:], K)

					// dp = dao_h v_gᵀ: [rows, keys].
					gemm(false, true, rows, keys, D, 1, dob[i0*Q:], Q, vb[lo*K:], K, 0, dpb, T)

					// Softmax backward: ds = p ⊙ (dp - Σ_j p dp), in dp.
					for i := i0; i < i1; i++ {
						pr, dr := p[i*T+lo:i*T+hi], dp[i*T+lo:i*T+hi]
						s, e := int(start[i])-lo, i-lo
						kernels.SoftmaxBackward(pr[s:e+1], dr[s:e+1])
						clear(dr[:s])
						clear(dr[e+1:])
					}

					// dq_h = scale · ds k_g; dk_g += scale · dsᵀ q_h.
					gemm(false, false, rows, D, keys, scale, dpb, T, kb[lo*K:], K, 0, dqb[i0*Q:], Q)
					gemm(true, false, keys, D, rows, scale, dpb, T, qb[i0*Q:], Q, 1, dkb[lo*K:], K)
				}
			}
		}
	})
}
