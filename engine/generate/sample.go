package generate

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"slices"
)

// sampler picks the next token from a row of logits.
type sampler struct {
	temperature float64
	topK        int
	topP        float64
	rng         *rand.Rand

	cand  []int32   // candidate ids, most likely first
	probs []float64 // their unnormalised probabilities

	// The repetition penalty and the ids it applies to.
	penalty float64
	seen    map[int32]bool
	seenIDs []int32
	saved   []float32 // their raw logits while penalised
}

func newSampler(p Params, seed uint64, index int) *sampler {
	s := &sampler{
		temperature: p.Temperature,
		topK:        p.TopK,
		topP:        p.TopP,
		rng:         rand.New(rand.NewPCG(seed, uint64(index))),
	}
	if p.RepetitionPenalty > 0 && p.RepetitionPenalty != 1 {
		s.penalty, s.seen = p.RepetitionPenalty, map[int32]bool{}
	}
	return s
}

// see records tokens of the prompt or the answer for the repetition
// penalty.
func (s *sampler) see(ids ...int) {
	if s.seen == nil {
		return
	}
	for _, id := range ids {
		if !s.seen[int32(id)] {
			s.seen[int32(id)] = true
			s.seenIDs = append(s.seenIDs, int32(id))
		}
	}
}

// penalise applies the repetition penalty to logits in place, saving the
// raw values for restore.
func (s *sampler) penalise(logits []float32) {
	s.saved = s.saved[:0]
	p := float32(s.penalty)
	for _, id := range s.seenIDs {
		l := logits[id]
		s.saved = append(s.saved, l)
		if l < 0 {
			logits[id] = l * p
		} else {
			logits[id] = l / p
		}
	}
}

func (s *sampler) restore(logits []float32) {
	for i, id := range s.seenIDs {
		logits[id] = s.saved[i]
	}
}

// sample returns the chosen id and its probability under the softmax of the
// raw logits (temperature 1, no penalty, no filtering). logits: [V]; they
// are left as they came.
func (s *sampler) sample(logits []float32) (id int, prob float64) {
	lse := logSumExp(logits)
	if s.seen != nil {
		s.penalise(logits)
	}
	if s.temperature == 0 {
		id = argmax(logits)
	} else {
		id = s.draw(logits)
	}
	if s.seen != nil {
		s.restore(logits)
		s.see(id)
	}
	return id, math.Exp(float64(logits[id]) - lse)
}

// argmax returns the index of the largest logit, the lowest on a tie.
func argmax(logits []float32) int {
	best := 0
	for i, l := range logits {
		if l > logits[best] {
			best = i
		}
	}
	return best
}

// draw samples in the order Hugging Face applies the settings: the logits
// are divided by the temperature, cut to the top K, then to the nucleus of
// probability TopP, and one token is drawn from what is left.
func (s *sampler) draw(logits []float32) int {
	v := len(logits)
	nucleus := s.topP > 0 && s.topP < 1
	top := float64(logits[argmax(logits)])
	inv := 1 / s.temperature

	// With top-k, the candidates are the K most likely and the softmax is
	// over them alone.
	var z float64
	if s.topK > 0 && s.topK < v {
		z = s.candidates(logits, s.topK, top, inv)
	} else {
		// Otherwise it is over the whole vocabulary.
		if inv == 1 {
			z = sumExp(logits, float32(top))
		} else {
			for _, l := range logits {
				z += expShifted((float64(l) - top) * inv)
			}
		}
		if !nucleus {
			return s.drawAll(logits, top, inv, z)
		}
		s.nucleus(logits, top, inv, z)
		return int(s.cand[s.pick(s.probs)])
	}
	if nucleus {
		s.cutNucleus(z)
	}
	return int(s.cand[s.pick(s.probs)])
}

// candidates sets cand to the m most likely ids and probs to their
// unnormalised tempered probabilities, and returns their sum.
func (s *sampler) candidates(logits []float32, m int, top, inv float64) float64 {
	s.cand = topIndices(logits, m, s.cand[:0])
	s.probs = s.probs[:0]
	var sum float64
	for _, id := range s.cand {
		p := math.Exp((float64(logits[id]) - top) * inv)
		s.probs = append(s.probs, p)
		sum += p
	}
	return sum
}

// cutNucleus keeps the shortest prefix of the candidates whose probability
// (out of z) reaches TopP; the most likely token always stays.
func (s *sampler) cutNucleus(z float64) {
	var cum float64
	for i, p := range s.probs {
		cum += p
		if cum >= s.topP*z {
			s.cand, s.probs = s.cand[:i+1], s.probs[:i+1]
			return
		}
	}
}

// Nucleus buckets: tokens are binned by how far below the top their
// tempered log-probability lies, bucketWidth nats a bucket, the last bucket
// holding everything further down.
const (
	buckets     = 4096
	bucketWidth = 1.0 / 64
)

// nucleus sets cand and probs to the top-p nucleus of the whole vocabulary
// in O(V): bucket masses are summed from the top down to the bucket where
// the mass reaches TopP; every token above that bucket is in, and that
// bucket alone is sorted to find where the nucleus ends. The set equals
// the shortest prefix of the fully sorted vocabulary; cand is in bucket
// order rather than sorted, which sampling does not need.
func (s *sampler) nucleus(logits []float32, top, inv, z float64) {
	bucketOf := func(l float32) int {
		return min(int((top-float64(l))*inv/bucketWidth), buckets-1)
	}
	var mass [buckets]float64
	for _, l := range logits {
		mass[bucketOf(l)] += expShifted((float64(l) - top) * inv)
	}
	var cum float64
	edge := 0
	for ; edge < buckets-1 && cum+mass[edge] < s.topP*z; edge++ {
		cum += mass[edge]
	}

	// Tokens above the edge bucket, then the edge bucket's in order.
	s.cand, s.probs = s.cand[:0], s.probs[:0]
	var edgeIDs []int32
	for i, l := range logits {
		switch b := bucketOf(l); {
		case b < edge:
			s.cand = append(s.cand, int32(i))
			s.probs = append(s.probs, expShifted((float64(l)-top)*inv))
		case b == edge:
			edgeIDs = append(edgeIDs, int32(i))
		}
	}
	slices.SortFunc(edgeIDs, func(a, b int32) int {
		if logits[a] > logits[b] || (logits[a] == logits[b] && a < b) {
			return -1
		}
		return 1
	})
	for _, id := range edgeIDs {
		p := expShifted((float64(logits[id]) - top) * inv)
		s.cand, s.probs = append(s.cand, id), append(s.probs, p)
		if cum += p; cum >= s.topP*z {
			break
		}
	}
}

// pick draws an index with probability proportional to w.
func (s *sampler) pick(w []float64) int {
	var total float64
	for _, p := range w {
		total += p
	}
	u := s.rng.Float64() * total
	for i, p := range w {
		u -= p
		if u < 0 {
			return i
		}
	}
	return len(w) - 1
}

// drawAll draws from the tempered softmax of the whole vocabulary.
func (s *sampler) drawAll(logits []float32, top, inv, z float64) int {
	u := s.rng.Float64() * z
	for i, l := range logits {
		u -= expShifted((float64(l) - top) * inv)
		if u < 0 {
			return i
		}
	}
	return len(logits) - 1
}

// topIndices appends to dst the ids of the m largest logits, largest first,
// the lower id first on a tie.
func topIndices(logits []float32, m int, dst []int32) []int32 {
	before := func(a, b int32) bool {
		return logits[a] > logits[b] || (logits[a] == logits[b] && a < b)
	}
	if m*4 >= len(logits) {
		for i := range logits {
			dst = append(dst, int32(i))
		}
		slices.SortFunc(dst, func(a, b int32) int {
			if before(a, b) {
				return -1
			}
			return 1
		})
		return dst[:m]
	}

	// A min-heap of the m best so far: its root is the worst kept.
	h := &idHeap{before: before}
	h.ids = dst
	for i := range logits {
		id := int32(i)
		if len(h.ids) < m {
			heap.Push(h, id)
		} else if before(id, h.ids[0]) {
			h.ids[0] = id
			heap.Fix(h, 0)
		}
	}
	out := h.ids
	slices.SortFunc(out, func(a, b int32) int {
		if before(a, b) {
			return -1
		}
		return 1
	})
	return out
}

type idHeap struct {
	ids    []int32
	before func(a, b int32) bool
}

func (h *idHeap) Len() int           { return len(h.ids) }
func (h *idHeap) Less(i, j int) bool { return h.before(h.ids[j], h.ids[i]) }
func (h *idHeap) Swap(i, j int)      { h.ids[i], h.ids[j] = h.ids[j], h.ids[i] }
func (h *idHeap) Push(x any)         { h.ids = append(h.ids, x.(int32)) }
func (h *idHeap) Pop() any {
	x := h.ids[len(h.ids)-1]
	h.ids = h.ids[:len(h.ids)-1]
	return x
}
