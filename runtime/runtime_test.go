package runtime

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"attune/engine/kernels"
	"attune/engine/lora"
	"attune/engine/qwen2"
)

// tinyDir is the tiny reference Qwen2 model (random weights).
var tinyDir = filepath.Join("..", "testdata", "reference", "qwen2-tiny")

// shared is one runtime for the package's tests, with one slot, so that
// the tokenizer and model load once.
var shared struct {
	once sync.Once
	rt   *Runtime
	err  error
}

func newRuntime(t *testing.T) *Runtime {
	t.Helper()
	shared.once.Do(func() { shared.rt, shared.err = New(Config{Slots: 1}, nil) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.rt
}

var tinyBase = Target{BaseID: "tiny", BaseDir: tinyDir}

func chatReq(t Target) Request {
	return Request{
		Target:   t,
		Messages: []Message{{Role: "user", Content: "What is hydrogen?"}},
		Sampling: Sampling{MaxTokens: 6, Temperature: 0},
		Key:      "k",
	}
}

// TestGenerateStreams checks that the streamed pieces add up to the
// answer and that a greedy answer is the same every time.
func TestGenerateStreams(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	var streamed strings.Builder
	res, err := rt.Generate(ctx, chatReq(tinyBase), func(i int, text string) error {
		if i != 0 {
			t.Errorf("piece for answer %d of 1", i)
		}
		streamed.WriteString(text)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("got %d results, want 1", len(res))
	}
	r := res[0]
	if got := streamed.String(); got != r.Text {
		t.Errorf("streamed %q, answer %q", got, r.Text)
	}
	if r.CompletionTokens < 1 || r.CompletionTokens > 6 || r.PromptTokens < 5 {
		t.Errorf("tokens: prompt %d, completion %d; want prompt >= 5, completion 1..6", r.PromptTokens, r.CompletionTokens)
	}
	if r.FinishReason != "stop" && r.FinishReason != "length" {
		t.Errorf("finish reason %q", r.FinishReason)
	}
	if !(r.Confidence > 0 && r.Confidence <= 1) || r.TTFT <= 0 || r.Total < r.TTFT {
		t.Errorf("confidence %g, ttft %v, total %v", r.Confidence, r.TTFT, r.Total)
	}

	again, err := rt.Generate(ctx, chatReq(tinyBase), nil)
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Text != r.Text || math.Abs(again[0].Confidence-r.Confidence) > 1e-6 {
		t.Errorf("greedy answers differ: %q (%g) then %q (%g)", r.Text, r.Confidence, again[0].Text, again[0].Confidence)
	}
}

// TestAdaptersShareBase deploys two adapters of the same base: the base
// loads once, and an adapter changes what the model says.
func TestAdaptersShareBase(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	mc, err := qwen2.LoadConfig(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	a1 := Target{BaseID: "tiny", BaseDir: tinyDir, ModelID: "aligned-1", AdapterDir: writeAdapter(t, mc, 1)}
	a2 := Target{BaseID: "tiny", BaseDir: tinyDir, ModelID: "aligned-2", AdapterDir: writeAdapter(t, mc, 2)}

	base, err := rt.Generate(ctx, chatReq(tinyBase), nil)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := rt.Generate(ctx, chatReq(a1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Generate(ctx, chatReq(a2), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(rt.bases); n != 1 {
		t.Errorf("%d base models loaded, want 1 shared", n)
	}
	if rt.adapters["aligned-1"] == nil || rt.adapters["aligned-2"] == nil {
		t.Errorf("the two adapters are not both loaded")
	}
	// The adapter's factors are large, so its answer's confidence moves
	// far beyond float noise (1e-6).
	if math.Abs(base[0].Confidence-r1[0].Confidence) < 1e-6 && base[0].Text == r1[0].Text {
		t.Errorf("the adapter changed nothing: %q (%g)", r1[0].Text, r1[0].Confidence)
	}

	rt.Evict("aligned-1")
	if rt.adapters["aligned-1"] != nil || rt.adapters["aligned-2"] == nil {
		t.Errorf("evicting aligned-1 did not drop just it")
	}
}

// writeAdapter saves an adapter with non-zero factors to a new directory.
func writeAdapter(t *testing.T, mc qwen2.Config, seed uint64) string {
	t.Helper()
	a, err := lora.New(lora.Config{Rank: 4, Alpha: 8}, mc, seed)
	if err != nil {
		t.Fatal(err)
	}
	x := float32(seed)
	a.Each(func(_ int, _ qwen2.Target, f *lora.Factors) {
		for i := range f.B {
			x = float32(math.Mod(float64(x)*1.618+0.37, 1))
			f.B[i] = 0.5 * (x - 0.5)
		}
	})
	dir := t.TempDir()
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestGenerateCancel stops a streaming generation from its callback, as
// the HTTP layer does when the client goes away, and checks that the
// slot is free again.
func TestGenerateCancel(t *testing.T) {
	rt := newRuntime(t)
	ctx, cancel := context.WithCancel(context.Background())
	req := chatReq(tinyBase)
	req.MaxTokens = 400
	req.Temperature = 1
	gone := errors.New("client went away")
	pieces := 0
	_, err := rt.Generate(ctx, req, func(int, string) error {
		pieces++
		cancel()
		return gone
	})
	if !errors.Is(err, gone) {
		t.Fatalf("err = %v, want the callback's error", err)
	}
	if pieces != 1 {
		t.Errorf("%d pieces after the callback failed, want 1", pieces)
	}
	if _, err := rt.Generate(context.Background(), chatReq(tinyBase), nil); err != nil {
		t.Fatalf("the slot was not released: %v", err)
	}
}

func TestEmbed(t *testing.T) {
	rt := newRuntime(t)
	vecs, n, err := rt.Embed(context.Background(), tinyBase, "k", []string{"hydrogen", "helium is a gas"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != 2 || len(vecs[0]) != 32 || n < 3 {
		t.Fatalf("got %d vectors of %d, %d tokens; want 2 of 32 (hidden size), >= 3 tokens", len(vecs), len(vecs[0]), n)
	}
}

// TestQ8ServesQuantized checks that a runtime configured for the fast
// mode loads its base models quantized and still answers.
func TestQ8ServesQuantized(t *testing.T) {
	rt, err := New(Config{Slots: 1, Q8: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ctx := context.Background()
	res, err := rt.Generate(ctx, chatReq(tinyBase), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].CompletionTokens == 0 {
		t.Fatalf("answers %+v, want one with tokens", res)
	}
	b, err := rt.base(ctx, tinyBase)
	if err != nil {
		t.Fatal(err)
	}
	if dt := b.eng.Model().Head.DType; dt != kernels.Q8 {
		t.Fatalf("the served model's head is %v, want Q8", dt)
	}
	exact, err := newRuntime(t).base(ctx, tinyBase)
	if err != nil {
		t.Fatal(err)
	}
	if dt := exact.eng.Model().Head.DType; dt == kernels.Q8 {
		t.Fatal("a runtime without Q8 serves a quantized model")
	}
}
