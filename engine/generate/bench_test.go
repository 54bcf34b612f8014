package generate

import (
	"context"
	"math/rand/v2"
	"testing"
)

// BenchmarkDecodeTiny generates 32 greedy tokens with the tiny model, whose
// cost is mostly the vocabulary: the head and the softmax over 151,936
// logits a token.
func BenchmarkDecodeTiny(b *testing.B) {
	e := tiny(&testing.T{})
	defer e.Close()
	prompt := e.Tokenizer().Encode("The quick brown fox")
	n := 0
	for b.Loop() {
		a, err := e.Generate(context.Background(), Request{Prompt: prompt, Params: Params{MaxTokens: 32}})
		if err != nil {
			b.Fatal(err)
		}
		n += a[0].CompletionTokens
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkScoreTiny scores 4 continuations of 72 tokens after 64.
func BenchmarkScoreTiny(b *testing.B) {
	e := tiny(&testing.T{})
	defer e.Close()
	prompt := make([]int, 64)
	conts := make([][]int, 4)
	for i := range conts {
		conts[i] = make([]int, 72)
		for j := range conts[i] {
			conts[i][j] = (i*72 + j) * 97
		}
	}
	for b.Loop() {
		if _, err := e.Score(context.Background(), prompt, conts, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSample times one token's sampling over Qwen2's vocabulary with
// each kind of setting.
func BenchmarkSample(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, 151936)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 3)
	}
	for _, c := range []struct {
		name string
		p    Params
	}{
		{"greedy", Params{}},
		{"temperature", Params{Temperature: 0.7}},
		{"top_k20", Params{Temperature: 0.7, TopK: 20}},
		{"top_p0.8", Params{Temperature: 0.7, TopP: 0.8}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := newSampler(c.p, 1, 0)
			for b.Loop() {
				s.sample(logits)
			}
		})
	}
}

func BenchmarkLogSumExp(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, 151936)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 3)
	}
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			logSumExp(logits)
		}
	})
	b.Run("ref", func(b *testing.B) {
		for b.Loop() {
			logSumExpRef(logits)
		}
	})
}
