package qwen2

import (
	"math"

	"attune/engine/kernels"
)

// scratch holds the activation buffers of one forward pass over n tokens.
// Buffers are reused across calls through the model's pool and grow only
// when a call has more tokens than any before it.
type scratch struct {
	n        int
	x, xn, o []float32 // [n, C]: residual stream, normed, block output
	q, att   []float32 // [n, qDim]: queries, attention output
	k, v     []float32 // [n, kvDim]
	gate, up []float32 // [n, I]
	rows     []float32 // [n, C]: the rows that want logits
	cos, sin []float32 // [n, headDim/2]: rotary factors per token
	scores   []float32 // [attendRows, L]: attention probabilities
	qp, op   []float32 // [attendRows, headDim]: packed queries, outputs
	logits   []float32 // [headBlock, V]
}

// getScratch returns buffers for n tokens.
func (m *Model) getScratch(n int) *scratch {
	s, _ := m.scratch.Get().(*scratch)
	if s == nil {
		s = &scratch{}
	}
	cfg := &m.Config
	C, I := cfg.HiddenSize, cfg.IntermediateSize
	qd, kvd, half := cfg.QDim(), cfg.KVDim(), cfg.HeadDim/2
	s.n = n
	for _, b := range []struct {
		buf   *[]float32
		width int
	}{
		{&s.x, C}, {&s.xn, C}, {&s.o, C}, {&s.rows, C},
		{&s.q, qd}, {&s.att, qd}, {&s.k, kvd}, {&s.v, kvd},
		{&s.gate, I}, {&s.up, I}, {&s.cos, half}, {&s.sin, half},
	} {
		*b.buf = grow(*b.buf, n*b.width)
	}
	return s
}

// scoresFor returns the score buffer with room for n values.
func (s *scratch) scoresFor(n int) []float32 {
	s.scores = grow(s.scores, n)
	return s.scores
}

// packFor returns the packed query and output buffers with room for n
// values each.
func (s *scratch) packFor(n int) (qp, op []float32) {
	s.qp, s.op = grow(s.qp, n), grow(s.op, n)
	return s.qp, s.op
}

// logitsFor returns the logits buffer with room for n values.
func (s *scratch) logitsFor(n int) []float32 {
	s.logits = grow(s.logits, n)
	return s.logits
}

// setRope computes the rotary factors of token row r at position pos, as
// Hugging Face computes them in float32: inv_freq[i] = 1/θ^(2i/d),
// angle = pos·inv_freq[i], factors cos(angle) and sin(angle).
func (s *scratch) setRope(cfg *Config, r, pos int) {
	half := cfg.HeadDim / 2
	for i := range half {
		e := float32(2*i) / float32(cfg.HeadDim)
		inv := 1 / float32(math.Pow(cfg.RopeTheta, float64(e)))
		a := float64(float32(pos) * inv)
		s.cos[r*half+i] = float32(math.Cos(a))
		s.sin[r*half+i] = float32(math.Sin(a))
	}
}

// rope rotates each head of x: [n, heads*hd] by its token's factors, the
// rotate_half form on the full head: the first half of a head pairs with
// the second half.
func (s *scratch) rope(x []float32, heads, hd int) {
	half := hd / 2
	for r := range s.n {
		cos, sin := s.cos[r*half:(r+1)*half], s.sin[r*half:(r+1)*half]
		for h := range heads {
			v := x[(r*heads+h)*hd : (r*heads+h+1)*hd]
			for i := range half {
				a, b := v[i], v[i+half]
				v[i] = a*cos[i] - b*sin[i]
				v[i+half] = b*cos[i] + a*sin[i]
			}
		}
	}
}

// add computes dst += src.
func add(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// swiglu computes gate = silu(gate) · up in place.
func swiglu(gate, up []float32) { kernels.SwiGLU(gate, gate, up[:len(gate)]) }
