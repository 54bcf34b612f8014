package qwen2

import (
	"fmt"
	"math"

	"attune"
	"attune/engine/kernels"
)

// Want says which positions of a Step get logits.
type Want uint8

// The choices of logits. Logits are vocabulary-sized (151,936 floats, 600
// kB, a position for Qwen2), so ask for all positions only when needed.
const (
	WantLast Want = iota // the last new token only: [1, V] (the default)
	WantAll              // every new token: [len(Tokens), V]
	WantNone             // none; only the cache (and States) are filled
)

// Step is one sequence's part of a Forward call: the tokens to append to
// its cache and what to return for them. Prefill is a Step with the whole
// prompt; decoding is a Step with one token. The outputs are written into
// the Step, reusing the memory of the previous call's outputs when it is
// large enough, so a decoding loop that reuses its Step allocates nothing;
// copy them to keep them past the next call with the same Step.
type Step struct {
	Cache  *Cache // the sequence's cache; Forward appends Tokens to it
	Tokens []int  // the new tokens, at positions Cache.Len() onwards
	Want   Want   // which positions get logits
	Hidden bool   // whether to return the final-norm hidden states

	// Adapter, when not nil, adds its low-rank updates to this sequence's
	// projections (q, k, v, o, gate, up, down). Sequences in one Forward
	// call may use different adapters or none.
	Adapter Adapter

	// Logits receives the logits, [1, V] for WantLast and [len(Tokens), V]
	// for WantAll, row-major; empty for WantNone.
	Logits []float32
	// States receives the hidden states after the final norm,
	// [len(Tokens), C], when Hidden is set; empty otherwise.
	States []float32
}

// Forward runs the model on several sequences at once: each Step's tokens
// are appended to its cache, and its logits (and hidden states) written
// into it. Steps may have any number of tokens, so one call can prefill
// prompts of different lengths and decode a token for other sequences.
// The projections run on all the calls' tokens together, which is what
// makes batching pay; attention runs per sequence against its own cache.
//
// Forward checks its input before it computes anything: a token outside
// the vocabulary or a sequence that would exceed max_position_embeddings is
// an attune.Error of kind invalid, and no cache changes. Forward is safe
// for concurrent use by calls with different caches.
func (m *Model) Forward(steps []*Step) error {
	n, err := m.check(steps)
	if err != nil {
		return err
	}
	switch {
	case n == 0:
		for _, st := range steps {
			st.Logits, st.States = st.Logits[:0], st.States[:0]
		}
	case n <= maxPassTokens:
		m.pass(steps)
	default:
		m.forwardInPasses(steps)
	}
	return nil
}

// maxPassTokens bounds the tokens of one pass through the layers: longer
// calls run in several passes, so that the activations of a long prompt
// (its MLP alone is [T, 4864] twice for Qwen2.5-0.5B) stay a few tens of
// megabytes.
const maxPassTokens = 512

// pass runs one forward pass over steps with pooled buffers.
func (m *Model) pass(steps []*Step) {
	n := 0
	for _, st := range steps {
		n += len(st.Tokens)
	}
	s := m.getScratch(n)
	m.forward(steps, s, nil)
	m.scratch.Put(s)
}

// forwardInPasses runs steps of more than maxPassTokens tokens in all as
// successive passes of at most that many, each continuing the caches where
// the last stopped. The passes write their outputs straight into the
// steps' output buffers, sized up front.
func (m *Model) forwardInPasses(steps []*Step) {
	C, V := m.Config.HiddenSize, m.Config.VocabSize
	for _, st := range steps {
		rows := map[Want]int{WantLast: 1, WantAll: len(st.Tokens)}[st.Want]
		st.Logits = grow(st.Logits, rows*V)
		st.States = st.States[:0]
		if st.Hidden {
			st.States = grow(st.States, len(st.Tokens)*C)
		}
	}

	done := make([]int, len(steps)) // tokens of each step already run
	for {
		var part []*Step
		budget := maxPassTokens
		for i, st := range steps {
			k := min(budget, len(st.Tokens)-done[i])
			if k == 0 {
				continue
			}
			part = append(part, m.partStep(st, done[i], k))
			done[i] += k
			budget -= k
		}
		if len(part) == 0 {
			return
		}
		m.pass(part)
	}
}

// partStep returns the Step for tokens [from, from+k) of st, whose outputs
// alias the matching rows of st's output buffers.
func (m *Model) partStep(st *Step, from, k int) *Step {
	C, V := m.Config.HiddenSize, m.Config.VocabSize
	p := &Step{Cache: st.Cache, Tokens: st.Tokens[from : from+k], Adapter: st.Adapter, Want: WantNone}
	switch last := from+k == len(st.Tokens); {
	case st.Want == WantAll:
		p.Want, p.Logits = WantAll, st.Logits[from*V:from*V:(from+k)*V]
	case st.Want == WantLast && last:
		p.Want, p.Logits = WantLast, st.Logits[:0:V]
	}
	if st.Hidden {
		p.Hidden, p.States = true, st.States[from*C:from*C:(from+k)*C]
	}
	return p
}

// Logits runs one sequence's new tokens through the model, appending them
// to c, and returns a fresh copy of the last token's logits: [V].
func (m *Model) Logits(c *Cache, tokens []int) ([]float32, error) {
	st := &Step{Cache: c, Tokens: tokens}
	if err := m.Forward([]*Step{st}); err != nil {
		return nil, err
	}
	return st.Logits, nil
}

// check validates steps and returns their total number of tokens.
func (m *Model) check(steps []*Step) (int, error) {
	cfg := &m.Config
	seen := map[*Cache]bool{}
	n := 0
	for i, st := range steps {
		switch {
		case st.Cache == nil:
			return 0, fmt.Errorf("qwen2: step %d has no cache", i)
		case st.Cache.model != m:
			return 0, fmt.Errorf("qwen2: step %d has a cache of another model", i)
		case seen[st.Cache]:
			return 0, fmt.Errorf("qwen2: step %d shares its cache with an earlier step", i)
		case len(st.Tokens) == 0 && st.Want != WantNone:
			return 0, attune.Invalidf("tokens", "qwen2: step %d has no tokens to compute logits for", i)
		}
		seen[st.Cache] = true
		if end := st.Cache.Len() + len(st.Tokens); end > cfg.MaxPositionEmbeddings {
			return 0, attune.Invalidf("tokens", "qwen2: sequence of %d tokens is longer than the model's context of %d (max_position_embeddings)", end, cfg.MaxPositionEmbeddings)
		}
		for _, t := range st.Tokens {
			if t < 0 || t >= cfg.VocabSize {
				return 0, attune.Invalidf("tokens", "qwen2: token id %d is outside the vocabulary of %d", t, cfg.VocabSize)
			}
		}
		n += len(st.Tokens)
	}
	return n, nil
}

// tracer receives named intermediate activations of a forward pass, for
// the reference test: name is as in reference.safetensors without its
// "act." prefix, data is [N, width] over all steps' tokens.
type tracer func(name string, data []float32)

// forward is the forward pass over the n tokens of steps. Shapes: N tokens
// in all, C hidden, I intermediate, V vocabulary.
func (m *Model) forward(steps []*Step, s *scratch, trace tracer) {
	cfg := &m.Config
	C := cfg.HiddenSize
	N := s.n

	// Embedding and the rotary angles of each token's position.
	x := s.x // [N, C]
	r := 0
	for _, st := range steps {
		for j, tok := range st.Tokens {
			m.Embed.Row(x[r*C:(r+1)*C], tok)
			s.setRope(cfg, r, st.Cache.Len()+j)
			r++
		}
	}
	if trace != nil {
		trace("embed", x)
	}

	for l := range m.Layers {
		m.layer(l, steps, s, trace)
	}

	// Final norm, then the head on the rows that want logits.
	kernels.RMSNorm(s.xn, x, m.Norm, float32(cfg.RMSNormEps), N, C)
	if trace != nil {
		trace("final_norm", s.xn)
	}
	m.outputs(steps, s)

	// The caches now hold the new tokens.
	for _, st := range steps {
		st.Cache.n += len(st.Tokens)
	}
}

// layer runs decoder layer l on the activations s.x: [N, C], in place.
func (m *Model) layer(l int, steps []*Step, s *scratch, trace tracer) {
	cfg := &m.Config
	w := &m.Layers[l]
	C, I, N := cfg.HiddenSize, cfg.IntermediateSize, s.n
	qd, kvd := cfg.QDim(), cfg.KVDim()
	eps := float32(cfg.RMSNormEps)
	tr := func(name string, data []float32) {
		if trace != nil {
			trace(fmt.Sprintf("layer%d.%s", l, name), data)
		}
	}

	// Attention block: xn = norm(x); q, k, v = projections (with biases)
	// q, k: [N, qd], [N, kvd] rotated by position; v: [N, kvd].
	kernels.RMSNorm(s.xn, s.x, w.AttnNorm, eps, N, C)
	tr("attn_norm", s.xn)
	m.project(l, TargetQ, steps, s.q, s.xn, w.Q, w.QBias, N)
	m.project(l, TargetK, steps, s.k, s.xn, w.K, w.KBias, N)
	m.project(l, TargetV, steps, s.v, s.xn, w.V, w.VBias, N)
	s.rope(s.q, cfg.NumAttentionHeads, cfg.HeadDim)
	s.rope(s.k, cfg.NumKeyValueHeads, cfg.HeadDim)
	tr("q_rope", s.q)
	tr("k_rope", s.k)
	tr("v", s.v)

	// Each sequence attends over its cache plus its new tokens.
	r := 0
	for _, st := range steps {
		T := len(st.Tokens)
		keys, values := st.Cache.appendKV(l, s.k[r*kvd:(r+T)*kvd], s.v[r*kvd:(r+T)*kvd])
		m.attend(s, s.att[r*qd:(r+T)*qd], s.q[r*qd:(r+T)*qd], keys, values, st.Cache.Len(), T)
		r += T
	}
	tr("attn_out", s.att)

	// x += o_proj(att)
	m.project(l, TargetO, steps, s.o, s.att, w.O, nil, N)
	tr("o_proj", s.o)
	add(s.x[:N*C], s.o[:N*C])

	// MLP block: x += down(silu(gate(xn)) * up(xn)), xn = norm(x).
	kernels.RMSNorm(s.xn, s.x, w.MLPNorm, eps, N, C)
	tr("mlp_norm", s.xn)
	m.project(l, TargetGate, steps, s.gate, s.xn, w.Gate, nil, N)
	m.project(l, TargetUp, steps, s.up, s.xn, w.Up, nil, N)
	swiglu(s.gate[:N*I], s.up[:N*I])
	m.project(l, TargetDown, steps, s.o, s.gate, w.Down, nil, N)
	tr("mlp_out", s.o)
	add(s.x[:N*C], s.o[:N*C])
	tr("out", s.x)
}

// project computes y = x Wᵀ + bias for all N rows, then lets each step's
// adapter add its update to that step's rows. x: [N, in], y: [N, out].
func (m *Model) project(l int, target Target, steps []*Step, y, x []float32, w kernels.Mat, bias []float32, N int) {
	in, out := w.Cols, w.Rows
	kernels.Linear(y[:N*out], x[:N*in], w, bias, N)
	r := 0
	for _, st := range steps {
		T := len(st.Tokens)
		if st.Adapter != nil && T > 0 {
			st.Adapter.Apply(l, target, y[r*out:(r+T)*out], x[r*in:(r+T)*in], T)
		}
		r += T
	}
}

// attendRows is the number of (token, head) query rows attended at once,
// bounding the score buffer to attendRows × sequence length.
const attendRows = 64

// attend computes causal grouped-query attention for T new tokens at
// positions past..past+T-1 against a cache of past+T positions.
// q: [T, qd] (rotated), keys, values: [past+T, kvd], out: [T, qd].
//
// The query heads that share a key/value head are packed together, so
// each product reads that head's keys and values once for all of them:
// for decoding Qwen2.5-0.5B that turns 28 matrix-vector products a layer
// (scores and output for each of 14 heads) into 4 small matrix products. A block of tokens only multiplies against
// the positions its last token can see.
func (m *Model) attend(s *scratch, out, q, keys, values []float32, past, T int) {
	cfg := &m.Config
	hd, H, KVH := cfg.HeadDim, cfg.NumAttentionHeads, cfg.NumKeyValueHeads
	qd, kvd := cfg.QDim(), cfg.KVDim()
	G := H / KVH               // query heads a key/value head
	tb := max(1, attendRows/G) // tokens a block
	scale := float32(1 / math.Sqrt(float64(hd)))
	qp, op := s.packFor(min(T, tb) * G * hd)
	scores := s.scoresFor(min(T, tb) * G * (past + T))

	for g := range KVH {
		for t0 := 0; t0 < T; t0 += tb {
			nt := min(tb, T-t0)
			rows, L := nt*G, past+t0+nt // L: the positions the block sees

			// qp: [nt·G, hd], row t·G+j is head g·G+j of token t0+t.
			for t := range nt {
				src := q[(t0+t)*qd+g*G*hd:]
				copy(qp[t*G*hd:(t+1)*G*hd], src[:G*hd])
			}

			// scores = qp Kᵀ_g · scale: [rows, L]
			kernels.Gemm(false, true, rows, L, hd, scale,
				qp, hd, keys[g*hd:], kvd, 0, scores, L)

			// Causal softmax: token t0+t sees positions 0..past+t0+t.
			for r := range rows {
				softmaxPrefix(scores[r*L:(r+1)*L], past+t0+r/G+1)
			}

			// op = P V_g: [rows, hd], then back to each token's heads.
			kernels.Gemm(false, false, rows, hd, L, 1,
				scores, L, values[g*hd:], kvd, 0, op, hd)
			for t := range nt {
				dst := out[(t0+t)*qd+g*G*hd:]
				copy(dst[:G*hd], op[t*G*hd:(t+1)*G*hd])
			}
		}
	}
}

// softmaxPrefix replaces row[:n] by its softmax and zeroes row[n:].
func softmaxPrefix(row []float32, n int) {
	p := row[:n]
	kernels.ScaleBy(p, float32(1/kernels.ExpSub(p, kernels.MaxOf(p))))
	clear(row[n:])
}

// headBlock is the number of rows whose logits are computed at once,
// bounding the scratch logits to headBlock × V.
const headBlock = 16

// outputs computes each step's logits and hidden states from the
// final-norm states s.xn: [N, C]. The head runs over the gathered rows
// that want logits, headBlock rows at a time, so that a batch of decoding
// sequences reads the head's weights once.
func (m *Model) outputs(steps []*Step, s *scratch) {
	C, V := m.Config.HiddenSize, m.Config.VocabSize

	// Gather the rows that want logits into s.rows: [R, C], and size each
	// step's outputs.
	R, r := 0, 0
	for _, st := range steps {
		T := len(st.Tokens)
		st.States = st.States[:0]
		if st.Hidden {
			st.States = grow(st.States, T*C)
			copy(st.States, s.xn[r*C:(r+T)*C])
		}
		first, k := r, 0 // the first row wanted and how many
		switch st.Want {
		case WantLast:
			first, k = r+T-1, 1
		case WantAll:
			k = T
		}
		copy(s.rows[R*C:], s.xn[first*C:(first+k)*C])
		st.Logits = grow(st.Logits, k*V)
		R += k
		r += T
	}

	// logits = rows Headᵀ, block by block, scattered to the steps.
	block := s.logitsFor(min(R, headBlock) * V)
	si, off := 0, 0 // the step being filled and its next row
	for b0 := 0; b0 < R; b0 += headBlock {
		nb := min(headBlock, R-b0)
		kernels.Linear(block[:nb*V], s.rows[b0*C:(b0+nb)*C], m.Head, nil, nb)
		for i := 0; i < nb; {
			for len(steps[si].Logits) == off*V {
				si, off = si+1, 0
			}
			dst := steps[si].Logits[off*V:]
			n := min(nb-i, len(dst)/V)
			copy(dst, block[i*V:(i+n)*V])
			i, off = i+n, off+n
		}
	}
}

// grow returns b resized to n values, reusing its memory when it can.
func grow(b []float32, n int) []float32 {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]float32, n)
}
