package train

import (
	"math"
)

// Causal self-attention with grouped-query heads over packed rows: query
// position i of a row attends to the positions j of the same row with
// start[i] <= j <= i, where start[i] is the first position of i's segment.
// Query head h reads key/value head h / (H/KV).

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

			// s = scale · q_h k_hᵀ: [T, T].
			gemm(false, true, T, T, D, scale, qb, Q, kb, K, 0, s, T)

			// Row softmax over the allowed keys; zero elsewhere.
			l := lse[(b*H+h)*T : (b*H+h+1)*T]
			for i := range T {
				l[i] = maskedSoftmax(s[i*T:(i+1)*T], int(start[i]), i)
			}

			// ao_h = p v_h: [T, D].
			gemm(false, false, T, D, T, 1, s, T, vb, K, 0, ao[b*T*Q+h*D:], Q)
		}
	})
}

// maskedSoftmax replaces row[lo..hi] with its softmax, zeroes the rest of
// row, and returns the log-sum-exp of row[lo..hi].
func maskedSoftmax(row []float32, lo, hi int) float32 {
	mx := maxOf(row[lo : hi+1])
	sum := expSub(row[lo:hi+1], mx)
	scaleBy(row[lo:hi+1], float32(1/sum))
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

				// p = exp(scale · q kᵀ - lse) on the allowed keys: [T, T].
				gemm(false, true, T, T, D, scale, qb, Q, kb, K, 0, p, T)
				for i := range T {
					row := p[i*T : (i+1)*T]
					expSub(row[start[i]:i+1], l[i])
					clear(row[:start[i]])
					clear(row[i+1:])
				}

				// dv_g += pᵀ dao_h: [T, D].
				gemm(true, false, T, D, T, 1, p, T, dob, Q, 1, dvb, K)

				// dp = dao_h v_gᵀ: [T, T].
				gemm(false, true, T, T, D, 1, dob, Q, vb, K, 0, dp, T)

				// Softmax backward: ds = p ⊙ (dp - Σ_j p dp), in dp.
				for i := range T {
					pr, dr := p[i*T:(i+1)*T], dp[i*T:(i+1)*T]
					var dot float32
					for j := int(start[i]); j <= i; j++ {
						dot += pr[j] * dr[j]
					}
					for j := int(start[i]); j <= i; j++ {
						dr[j] = pr[j] * (dr[j] - dot)
					}
					clear(dr[:start[i]])
					clear(dr[i+1:])
				}

				// dq_h = scale · ds k_g; dk_g += scale · dsᵀ q_h.
				gemm(false, false, T, D, T, scale, dp, T, kb, K, 0, dqb, Q)
				gemm(true, false, T, D, T, scale, dp, T, qb, Q, 1, dkb, K)
			}
		}
	})
}
