package generate

import (
	"context"
	"math"
	"slices"
	"testing"

	"attune/engine/lora"
	"attune/engine/qwen2"
)

// testAdapter returns a LoRA adapter for the tiny model whose B factors are
// not zero, so that it changes the model's outputs.
func testAdapter(t *testing.T, e *Engine) *lora.Adapter {
	t.Helper()
	a, err := lora.New(lora.Config{Rank: 4, Alpha: 8}, e.Model().Config, 5)
	if err != nil {
		t.Fatal(err)
	}
	a.Each(func(l int, _ qwen2.Target, f *lora.Factors) {
		for i := range f.B {
			f.B[i] = float32(math.Sin(float64(i+l))) * 0.5
		}
	})
	return a
}

// TestAdapterReachesTheModel checks that Generate, Score and Embed run
// with the adapter given, against direct forward passes with it.
func TestAdapterReachesTheModel(t *testing.T) {
	e := tiny(t)
	a := testAdapter(t, e)
	m := e.Model()
	prompt := e.Tokenizer().Encode("The quick brown fox")

	// Greedy generation equals a plain greedy loop with the adapter.
	got, err := e.Generate(context.Background(), Request{Prompt: prompt, Params: Params{MaxTokens: 6, Adapter: a}})
	if err != nil {
		t.Fatal(err)
	}
	st := &qwen2.Step{Cache: m.NewCache(), Tokens: prompt, Adapter: a}
	var want []int
	for range 6 {
		if err := m.Forward([]*qwen2.Step{st}); err != nil {
			t.Fatal(err)
		}
		id := argmax(st.Logits)
		want = append(want, id)
		st.Tokens = []int{id}
	}
	if !slices.Equal(got[0].Tokens, want) {
		t.Errorf("greedy with adapter %v, want %v", got[0].Tokens, want)
	}

	// Scores with the adapter differ from those without it.
	cont := [][]int{e.Tokenizer().Encode(" jumps over the lazy dog")}
	with, err := e.Score(context.Background(), prompt, cont, a)
	if err != nil {
		t.Fatal(err)
	}
	without, err := e.Score(context.Background(), prompt, cont, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(with[0].LogProb-without[0].LogProb) < 1e-3 {
		t.Errorf("score with adapter %g is the score without %g", with[0].LogProb, without[0].LogProb)
	}

	// So do embeddings.
	ew, err := e.Embed(context.Background(), [][]int{prompt}, a)
	if err != nil {
		t.Fatal(err)
	}
	eo, err := e.Embed(context.Background(), [][]int{prompt}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(ew[0], eo[0]) {
		t.Error("embedding with the adapter equals the one without")
	}
}
