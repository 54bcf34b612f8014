package qwen2

import "fmt"

// Cache holds the keys and values of one sequence's tokens in every layer,
// so that each new token attends to the sequence without recomputing it.
// Forward appends to it. Truncate rewinds it to a prefix, so the cache of a
// prompt can serve several continuations in turn; Clone copies it, so they
// can run side by side. A Cache belongs to the model that made it and must
// not be used by two Forward calls at once.
type Cache struct {
	model *Model
	n     int         // tokens held
	k, v  [][]float32 // per layer: [n, kvDim], position-major
}

// NewCache returns an empty cache for one sequence.
func (m *Model) NewCache() *Cache {
	L := len(m.Layers)
	return &Cache{model: m, k: make([][]float32, L), v: make([][]float32, L)}
}

// Len returns the number of tokens the cache holds: the position of the
// next token.
func (c *Cache) Len() int { return c.n }

// Truncate rewinds the cache to its first n tokens, keeping its memory. It
// panics if n is negative or beyond Len.
func (c *Cache) Truncate(n int) {
	if n < 0 || n > c.n {
		panic(fmt.Sprintf("qwen2: Cache.Truncate(%d) on a cache of %d tokens", n, c.n))
	}
	c.n = n
}

// Reset empties the cache, keeping its memory.
func (c *Cache) Reset() { c.n = 0 }

// Clone returns an independent copy of the cache.
func (c *Cache) Clone() *Cache {
	d := c.model.NewCache()
	d.n = c.n
	w := c.n * c.model.Config.KVDim()
	for l := range c.k {
		d.k[l] = append([]float32(nil), c.k[l][:w]...)
		d.v[l] = append([]float32(nil), c.v[l][:w]...)
	}
	return d
}

// Bytes returns the memory the cache's keys and values hold.
func (c *Cache) Bytes() int64 {
	var n int64
	for l := range c.k {
		n += 4 * int64(cap(c.k[l])+cap(c.v[l]))
	}
	return n
}

// appendKV stores the keys and values of T new tokens for layer l after
// the cache's n tokens and returns the layer's keys and values for all
// n+T positions: [n+T, kvDim] each. Len does not change until the whole
// forward pass is done.
func (c *Cache) appendKV(l int, k, v []float32) (keys, values []float32) {
	w := c.n * c.model.Config.KVDim()
	c.k[l] = append(c.k[l][:w], k...)
	c.v[l] = append(c.v[l][:w], v...)
	return c.k[l], c.v[l]
}
