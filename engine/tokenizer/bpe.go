package tokenizer

import (
	"container/heap"
	"sync"
)

// merge is one BPE merge rule as the encoder uses it: the rank of the pair
// (lower merges first) and the id of the token the pair becomes.
type merge struct {
	rank int32
	id   int32
}

// pairKey packs two adjacent token ids into a map key.
func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bpe holds what encoding a pre-tokenized word needs: the token of each
// byte, the merge rules, and a cache of words already encoded.
type bpe struct {
	byteID [256]int32
	merges map[uint64]merge
	cache  wordCache
}

// naiveLimit is the word length (in bytes) up to which encode scans all
// pairs on every merge; longer words go through a heap, whose bookkeeping
// only pays off on long runs.
const naiveLimit = 48

// encode appends the ids of word (raw bytes) to ids.
func (m *bpe) encode(ids []int, word string) []int {
	if cached, ok := m.cache.get(word); ok {
		return appendIDs(ids, cached)
	}
	sym := make([]int32, len(word))
	for i := 0; i < len(word); i++ {
		sym[i] = m.byteID[word[i]]
	}
	if len(sym) <= naiveLimit {
		sym = m.mergeNaive(sym)
	} else {
		sym = m.mergeHeap(sym)
	}
	m.cache.put(word, sym)
	return appendIDs(ids, sym)
}

func appendIDs(ids []int, sym []int32) []int {
	for _, s := range sym {
		ids = append(ids, int(s))
	}
	return ids
}

// mergeNaive applies merges to sym (at most naiveLimit symbols) in place:
// while some adjacent pair has a rule, it merges the pair of lowest rank,
// the leftmost one on a tie. The rule of each adjacent pair is kept beside
// the symbols, so a merge looks up only the two pairs it changes.
func (m *bpe) mergeNaive(sym []int32) []int32 {
	var rules [naiveLimit]merge // rules[i]: pair (sym[i], sym[i+1]); rank -1 if none
	n := len(sym)
	for i := 0; i+1 < n; i++ {
		rules[i] = m.rule(sym[i], sym[i+1])
	}
	for n > 1 {
		best := -1
		for i := 0; i+1 < n; i++ {
			if r := rules[i].rank; r >= 0 && (best < 0 || r < rules[best].rank) {
				best = i
			}
		}
		if best < 0 {
			break
		}

		// Merge sym[best+1] into sym[best]; the pairs after it move left.
		sym[best] = rules[best].id
		copy(sym[best+1:n-1], sym[best+2:n])
		if best+2 < n {
			copy(rules[best+1:n-2], rules[best+2:n-1])
		}
		n--

		// The pairs on either side of the new symbol are new.
		if best > 0 {
			rules[best-1] = m.rule(sym[best-1], sym[best])
		}
		if best+1 < n {
			rules[best] = m.rule(sym[best], sym[best+1])
		}
	}
	return sym[:n]
}

// rule returns the merge rule of the pair (a, b), with rank -1 if none.
func (m *bpe) rule(a, b int32) merge {
	if mg, ok := m.merges[pairKey(a, b)]; ok {
		return mg
	}
	return merge{rank: -1}
}

// mergeHeap gives the same result as mergeNaive in O(n log n): symbols form
// a linked list, and candidate pairs wait in a heap ordered by (rank,
// position), so stale entries are recognised and skipped when popped.
func (m *bpe) mergeHeap(sym []int32) []int32 {
	n := len(sym)
	prev := make([]int, n)
	next := make([]int, n)
	alive := make([]bool, n)
	for i := range n {
		prev[i], next[i], alive[i] = i-1, i+1, true
	}
	h := &pairHeap{}
	push := func(i int) {
		if i < 0 || next[i] >= n {
			return
		}
		if mg, ok := m.merges[pairKey(sym[i], sym[next[i]])]; ok {
			heap.Push(h, pairEntry{rank: mg.rank, pos: i, left: sym[i], right: sym[next[i]], id: mg.id})
		}
	}
	for i := 0; i+1 < n; i++ {
		push(i)
	}
	for h.Len() > 0 {
		e := heap.Pop(h).(pairEntry)

		// Skip entries whose symbols have since changed.
		j := next[e.pos]
		if !alive[e.pos] || j >= n || sym[e.pos] != e.left || sym[j] != e.right {
			continue
		}

		// Merge the right symbol into the left and queue the new pairs.
		sym[e.pos] = e.id
		alive[j] = false
		next[e.pos] = next[j]
		if next[j] < n {
			prev[next[j]] = e.pos
		}
		push(prev[e.pos])
		push(e.pos)
	}
	out := sym[:0]
	for i := 0; i < n; i = next[i] {
		out = append(out, sym[i])
	}
	return out
}

type pairEntry struct {
	rank        int32
	pos         int
	left, right int32
	id          int32
}

type pairHeap []pairEntry

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairEntry)) }
func (h *pairHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// wordCache remembers the ids of words already encoded. It stops growing at
// cacheLimit entries, which holds the working vocabulary of ordinary text;
// long words are not kept.
type wordCache struct {
	mu sync.RWMutex
	m  map[string][]int32
}

const (
	cacheLimit   = 1 << 16
	cacheWordMax = 64
)

func (c *wordCache) get(word string) ([]int32, bool) {
	c.mu.RLock()
	ids, ok := c.m[word]
	c.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(word string, ids []int32) {
	if len(word) > cacheWordMax {
		return
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string][]int32)
	}
	if len(c.m) < cacheLimit {
		c.m[word] = ids
	}
	c.mu.Unlock()
}

func (c *wordCache) reset() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}
