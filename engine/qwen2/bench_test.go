package qwen2

import (
	"testing"

	"attune/engine/safetensors"
)

// benchModel writes and loads a random model of the named shape. The
// "small" shape keeps the full Qwen2.5 vocabulary, so the head is a large
// part of each token's work, as it is for the 0.5B shape.
func benchModel(b *testing.B, shape string) *Model {
	b.Helper()
	cfg, err := Shape(shape)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := writeRandom(dir, cfg, 1, safetensors.BF16, false); err != nil {
		b.Fatal(err)
	}
	m, err := Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

func benchTokens(n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = (i*7919 + 13) % 150000
	}
	return ids
}

// BenchmarkPrefill runs a 128-token prompt; tokens/s is 128·N/time.
func BenchmarkPrefill(b *testing.B) {
	m := benchModel(b, "small")
	ids := benchTokens(128)
	st := &Step{Cache: m.NewCache(), Tokens: ids}
	for b.Loop() {
		st.Cache.Reset()
		if err := m.Forward([]*Step{st}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(ids))/b.Elapsed().Seconds(), "tok/s")
}

// BenchmarkDecode decodes one token after a 128-token prompt, rewinding
// the cache each time; it should not allocate.
func BenchmarkDecode(b *testing.B) {
	m := benchModel(b, "small")
	c := m.NewCache()
	if _, err := m.Logits(c, benchTokens(128)); err != nil {
		b.Fatal(err)
	}
	st := &Step{Cache: c, Tokens: []int{42}}
	b.ReportAllocs()
	for b.Loop() {
		c.Truncate(128)
		if err := m.Forward([]*Step{st}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
}
