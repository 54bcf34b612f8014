package train

import (
	"math"
	"testing"

	"attune/engine/kernels"
	"attune/engine/lora"
	"attune/engine/qwen2"
)

// logitsOf runs tokens through the inference forward (engine/qwen2) with
// adapter ad (may be nil) and returns the logits of every position:
// [len(tokens), V].
func logitsOf(t *testing.T, m *qwen2.Model, ad qwen2.Adapter, tokens []int32) []float32 {
	t.Helper()
	ids := make([]int, len(tokens))
	for i, v := range tokens {
		ids[i] = int(v)
	}
	st := &qwen2.Step{Cache: m.NewCache(), Tokens: ids, Want: qwen2.WantAll}
	if ad != nil {
		st.Adapter = ad
	}
	if err := m.Forward([]*qwen2.Step{st}); err != nil {
		t.Fatal(err)
	}
	return st.Logits
}

// onDisk writes m with lora.SaveModel and loads it back with qwen2.Load,
// which sets up what the inference forward needs.
func onDisk(t *testing.T, m *qwen2.Model) *qwen2.Model {
	t.Helper()
	dir := t.TempDir()
	m.Config.Architectures = []string{qwen2.Architecture}
	if err := lora.SaveModel(dir, m); err != nil {
		t.Fatal(err)
	}
	loaded, err := qwen2.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { loaded.Close() })
	return loaded
}

// exampleLoss returns the summed cross-entropy of e's shifted labels from
// the inference forward.
func exampleLoss(t *testing.T, m *qwen2.Model, ad qwen2.Adapter, e Example) float64 {
	V := m.Config.VocabSize
	logits := logitsOf(t, m, ad, e.Tokens)
	var sum float64
	for i := 0; i+1 < len(e.Tokens); i++ {
		if l := e.Labels[i+1]; l != IgnoreLabel {
			row := append([]float32(nil), logits[i*V:(i+1)*V]...)
			sum += softmaxInPlace(row) - float64(logits[i*V+int(l)])
		}
	}
	return sum
}

// TestPackedEqualsSeparate checks the training forward on packed rows
// against the inference forward run on each example alone: packing must
// change no example's loss.
func TestPackedEqualsSeparate(t *testing.T) {
	mc := tinyConfig(false)
	m := randomModel(mc, 21, 0.3)
	ad := randomAdapter(t, mc, lora.Config{Rank: 4, Alpha: 8}, 22)
	examples := randomExamples(7, 2, 7, mc.VocabSize, 23)

	var want float64
	im := onDisk(t, m)
	for _, e := range examples {
		want += exampleLoss(t, im, ad, e)
	}
	var got float64
	n := newNet(m, ad, 2, 16)
	for _, bt := range Pack(examples, 2, 16, true) {
		s, _ := n.loss(bt)
		got += s
	}
	if math.Abs(got-want) > 1e-5*math.Abs(want) {
		t.Errorf("packed training loss %.7f, separate inference loss %.7f", got, want)
	}
}

// TestPEFTRoundTrip saves an adapter, loads it back, and checks identical
// factors and identical logits through the inference forward.
func TestPEFTRoundTrip(t *testing.T) {
	mc := tinyConfig(true)
	m := randomModel(mc, 31, 0.3)
	ad := randomAdapter(t, mc, lora.Config{Rank: 4, Alpha: 8, Targets: []qwen2.Target{"q_proj", "v_proj", "down_proj"}}, 32)
	dir := t.TempDir()
	if err := ad.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := lora.Load(dir, mc)
	if err != nil {
		t.Fatal(err)
	}
	if d := adapterDiff(back, ad); d != 0 || back.NumParams() != ad.NumParams() {
		t.Fatalf("loaded adapter differs by %g (%d vs %d values)", d, back.NumParams(), ad.NumParams())
	}
	if back.Config.Scaling() != ad.Config.Scaling() {
		t.Fatalf("scaling %g, want %g", back.Config.Scaling(), ad.Config.Scaling())
	}
	tokens := randomExamples(1, 9, 9, mc.VocabSize, 33)[0].Tokens
	im := onDisk(t, m)
	a, b := logitsOf(t, im, ad, tokens), logitsOf(t, im, back, tokens)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("logit %d: %g after the round trip, %g before", i, b[i], a[i])
		}
	}
}

// TestMerge checks that the merged model without an adapter computes what
// the base computes with it, in memory and after SaveModel and qwen2.Load.
func TestMerge(t *testing.T) {
	mc := tinyConfig(false)
	m := onDisk(t, randomModel(mc, 41, 0.3))
	ad := randomAdapter(t, mc, lora.Config{Rank: 4, Alpha: 8}, 42)
	tokens := randomExamples(1, 9, 9, mc.VocabSize, 43)[0].Tokens
	want := logitsOf(t, m, ad, tokens)

	merged := lora.Merge(m, ad, kernels.F32)
	check := func(what string, got []float32) {
		t.Helper()
		worst := 0.0
		for i := range want {
			worst = max(worst, math.Abs(float64(got[i]-want[i])))
		}
		// Reassociation only: (W + sBA)x against Wx + sB(Ax), in f32.
		if worst > 1e-4 {
			t.Errorf("%s: logits differ from the adapted base by %g", what, worst)
		}
	}
	dir := t.TempDir()
	if err := lora.SaveModel(dir, merged); err != nil {
		t.Fatal(err)
	}
	loaded, err := qwen2.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	check("saved and loaded", logitsOf(t, loaded, nil, tokens))

	// Export in the base's bf16: the rounding of the merged weights (a
	// relative 2^-9) moves the logits by far less than 2% of their range.
	bf := randomModel(mc, 41, 0.3)
	for l := range bf.Layers {
		ly := &bf.Layers[l]
		for _, w := range []*kernels.Mat{&ly.Q, &ly.K, &ly.V, &ly.O, &ly.Gate, &ly.Up, &ly.Down} {
			bits := make([]uint16, len(w.F32))
			for i, v := range w.F32 {
				bits[i] = kernels.F32ToBF16(v)
			}
			*w = kernels.Mat{Rows: w.Rows, Cols: w.Cols, DType: kernels.BF16, U16: bits}
		}
	}
	out := t.TempDir()
	if err := lora.ExportMerged(out, dir, bf, ad); err != nil {
		t.Fatal(err)
	}
	exported, err := qwen2.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	defer exported.Close()
	if exported.Layers[0].Q.DType != kernels.BF16 {
		t.Errorf("exported projections are %v, want BF16", exported.Layers[0].Q.DType)
	}
	got, span, worst := logitsOf(t, exported, nil, tokens), 0.0, 0.0
	for i := range want {
		span = max(span, math.Abs(float64(want[i])))
		worst = max(worst, math.Abs(float64(got[i]-want[i])))
	}
	if worst > 0.02*span {
		t.Errorf("bf16 export: logits differ by %g (range %g)", worst, span)
	}
}
