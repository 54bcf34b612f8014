package main

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"attune"
	"attune/engine/kernels"
	"attune/engine/lora"
	"attune/engine/qwen2"
	"attune/engine/safetensors"
)

// TestMerge merges a trained-looking adapter (random, non-zero B) into a
// tiny bf16 model and checks that the merged directory loads and computes,
// without an adapter, the logits the base computes with it: within 1e-4 of
// the logit range when merged in f32 (only summation order differs), within
// 2% when rounded to the base's bf16 (a relative 2^-9 per weight).
func TestMerge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	cfg, err := qwen2.Shape("tiny")
	if err != nil {
		t.Fatal(err)
	}
	if err := qwen2.WriteRandom(base, cfg, 5, safetensors.BF16); err != nil {
		t.Fatal(err)
	}
	m, err := qwen2.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ad, err := lora.New(lora.Config{Rank: 4, Alpha: 8, Targets: lora.AllTargets}.WithDefaults(), m.Config, 7)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	ad.Each(func(_ int, _ qwen2.Target, f *lora.Factors) {
		for i := range f.B {
			f.B[i] = float32(rng.NormFloat64() * 0.05)
		}
	})
	adDir := filepath.Join(dir, "adapter")
	if err := ad.Save(adDir); err != nil {
		t.Fatal(err)
	}

	tokens := []int{3, 17, 42, 99, 5, 64, 8, 1}
	logits := func(m *qwen2.Model, a qwen2.Adapter) []float32 {
		st := &qwen2.Step{Cache: m.NewCache(), Tokens: tokens, Want: qwen2.WantAll}
		if a != nil {
			st.Adapter = a
		}
		if err := m.Forward([]*qwen2.Step{st}); err != nil {
			t.Fatal(err)
		}
		return st.Logits
	}
	want, plain := logits(m, ad), logits(m, nil)
	span, moved := 0.0, 0.0
	for i := range want {
		span = max(span, math.Abs(float64(want[i])))
		moved = max(moved, math.Abs(float64(want[i]-plain[i])))
	}
	if moved < 0.05*span {
		t.Fatalf("the adapter moves the logits by only %g (range %g); the test would prove nothing", moved, span)
	}

	for _, tc := range []struct {
		dtype string
		want  kernels.DType
		tol   float64
	}{{"", kernels.BF16, 0.02}, {"f32", kernels.F32, 1e-4}} {
		out := filepath.Join(dir, "merged-"+tc.dtype)
		args := []string{"--model", base, "--adapter", adDir, "--out", out}
		if tc.dtype != "" {
			args = append(args, "--dtype", tc.dtype)
		}
		io, stdout, _ := testIO()
		if err := mergeCmd(ctx, args, io); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stdout.String(), "wrote "+out) {
			t.Errorf("output %q does not say where the model went", stdout.String())
		}
		if _, err := os.Stat(filepath.Join(out, "tokenizer.json")); err != nil {
			t.Errorf("merged model has no tokenizer: %v", err)
		}
		merged, err := qwen2.Load(out)
		if err != nil {
			t.Fatalf("the merged model does not load: %v", err)
		}
		if merged.Layers[0].Q.DType != tc.want {
			t.Errorf("--dtype %q: merged projections are %v, want %v", tc.dtype, merged.Layers[0].Q.DType, tc.want)
		}
		got, worst := logits(merged, nil), 0.0
		merged.Close()
		for i := range want {
			worst = max(worst, math.Abs(float64(got[i]-want[i])))
		}
		if worst > tc.tol*span {
			t.Errorf("--dtype %q: merged logits differ from base+adapter by %g (range %g, tolerance %g)",
				tc.dtype, worst, span, tc.tol*span)
		}
	}

	// An adapter for another shape: one layer more than the model has.
	other := cfg
	other.NumHiddenLayers++
	big, err := lora.New(lora.Config{Rank: 4, Alpha: 8, Targets: lora.AllTargets}.WithDefaults(), other, 7)
	if err != nil {
		t.Fatal(err)
	}
	bigDir := filepath.Join(dir, "adapter-big")
	if err := big.Save(bigDir); err != nil {
		t.Fatal(err)
	}
	// An adapter whose rank-4 factors are stored as rank 2.
	narrowDir := filepath.Join(dir, "adapter-narrow")
	narrow, _ := lora.New(lora.Config{Rank: 2, Alpha: 8, Targets: lora.AllTargets}.WithDefaults(), m.Config, 7)
	if err := narrow.Save(narrowDir); err != nil {
		t.Fatal(err)
	}
	wrongShape := filepath.Join(dir, "adapter-wrong")
	wide := cfg
	wide.IntermediateSize *= 2
	wa, _ := lora.New(lora.Config{Rank: 4, Alpha: 8, Targets: lora.AllTargets}.WithDefaults(), wide, 7)
	if err := wa.Save(wrongShape); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string
		kind attune.Kind
		says string
	}{
		{"missing adapter", []string{"--model", base, "--adapter", filepath.Join(dir, "nope"), "--out", t.TempDir()}, attune.KindNotFound, "holds no LoRA adapter"},
		{"adapter for more layers", []string{"--model", base, "--adapter", bigDir, "--out", t.TempDir()}, attune.KindInvalid, "layer"},
		{"adapter for another width", []string{"--model", base, "--adapter", wrongShape, "--out", t.TempDir()}, attune.KindInvalid, "shape"},
		{"no out", []string{"--model", base, "--adapter", adDir}, attune.KindInvalid, "required"},
		{"out is the model", []string{"--model", base, "--adapter", adDir, "--out", base}, attune.KindInvalid, "new directory"},
		{"out not empty", []string{"--model", base, "--adapter", adDir, "--out", filepath.Join(dir, "merged-")}, attune.KindConflict, "not empty"},
		{"bad dtype", []string{"--model", base, "--adapter", adDir, "--out", t.TempDir(), "--dtype", "q4"}, attune.KindInvalid, "dtype"},
	}
	for _, tt := range tests {
		io, _, _ := testIO()
		err := mergeCmd(ctx, tt.args, io)
		if err == nil || attune.ErrorKind(err) != tt.kind || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: err %v, want one of kind %v saying %q", tt.name, err, tt.kind, tt.says)
		}
	}
	// A narrower adapter of the same model is a different, valid adapter.
	io, _, _ := testIO()
	if err := mergeCmd(ctx, []string{"--model", base, "--adapter", narrowDir, "--out", filepath.Join(dir, "merged-narrow")}, io); err != nil {
		t.Errorf("rank-2 adapter: %v", err)
	}
}
