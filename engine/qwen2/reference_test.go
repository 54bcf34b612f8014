package qwen2

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"attune/engine/kernels"
	"attune/engine/safetensors"
	"attune/internal/reftest"
)

// The reference test runs the model of every directory under the repo's
// testdata/reference/ and of every directory in ATTUNE_REFERENCE_DIRS
// (colon-separated) and compares it with the PyTorch reference stored
// beside it (reference.json, reference.safetensors).

// reference is the part of reference.json this test reads.
type reference struct {
	Inputs struct {
		InputIDs [][]int `json:"input_ids"`
		Labels   [][]int `json:"labels"`
	} `json:"inputs"`
	Loss struct {
		Value float64 `json:"value"`
	} `json:"loss"`
	Greedy struct {
		PromptIDs    []int `json:"prompt_ids"`
		NewTokens    int   `json:"new_tokens"`
		GeneratedIDs []int `json:"generated_ids"`
		Steps        []struct {
			Position  int     `json:"position"`
			ID        int     `json:"id"`
			Logit     float64 `json:"logit"`
			LogSumExp float64 `json:"logsumexp"`
		} `json:"steps"`
	} `json:"greedy"`
	Tolerances struct {
		Logits    float64 `json:"logits_atol"`
		LogSumExp float64 `json:"logsumexp_atol"`
		ActRel    float64 `json:"act_atol_rel_to_tensor_max"`
		Loss      float64 `json:"loss_atol"`
		StepLogit float64 `json:"greedy_step_logit_atol"`
	} `json:"tolerances"`
}

// setDefaultTolerances fills the tolerances reference.json leaves out
// with those of testdata/reference/qwen2-tiny/README.md, for f32 compute
// from bf16 weights.
func (r *reference) setDefaultTolerances() {
	tol := &r.Tolerances
	for _, d := range []struct {
		v   *float64
		def float64
	}{
		{&tol.Logits, 2e-5}, {&tol.LogSumExp, 5e-5}, {&tol.ActRel, 2e-5},
		{&tol.Loss, 5e-5}, {&tol.StepLogit, 2e-5},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
}

// refData is one reference directory, loaded.
type refData struct {
	model   *Model
	ref     reference
	tensors *safetensors.File
}

func loadReference(t *testing.T, dir string) *refData {
	t.Helper()
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	b, err := os.ReadFile(filepath.Join(dir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatalf("reference.json: %v", err)
	}
	ref.setDefaultTolerances()
	f, err := safetensors.Open(filepath.Join(dir, "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &refData{model: m, ref: ref, tensors: f}
}

// tensor returns a reference tensor as f32.
func (d *refData) tensor(t *testing.T, name string) []float32 {
	t.Helper()
	v, err := d.tensors.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	x, err := v.F32()
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestReference(t *testing.T) {
	for _, dir := range reftest.Dirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			d := loadReference(t, dir)
			t.Run("batch", func(t *testing.T) { testReferenceBatch(t, d) })
			t.Run("greedy", func(t *testing.T) { testReferenceGreedy(t, d) })
			t.Run("rope", func(t *testing.T) { testReferenceRope(t, d) })
			t.Run("q8", func(t *testing.T) { testReferenceQ8(t, dir) })
			t.Run("q8_greedy", func(t *testing.T) { testReferenceQ8Greedy(t, dir) })
		})
	}
}

// testReferenceBatch runs the reference batch as sequences of one Forward
// call and checks logits, log-sum-exp, loss and the intermediates.
func testReferenceBatch(t *testing.T, d *refData) {
	m, ref := d.model, d.ref
	tol := ref.Tolerances
	V := m.Config.VocabSize

	steps := make([]*Step, len(ref.Inputs.InputIDs))
	n := 0
	for i, ids := range ref.Inputs.InputIDs {
		steps[i] = &Step{Cache: m.NewCache(), Tokens: ids, Want: WantAll}
		n += len(ids)
	}
	acts := map[string][]float32{}
	s := m.getScratch(n)
	m.forward(steps, s, func(name string, data []float32) {
		acts[name] = append([]float32(nil), data...)
	})

	// Logits: every position of every sequence.
	var logits []float32
	for _, st := range steps {
		logits = append(logits, st.Logits...)
	}
	wantLogits := d.tensor(t, "logits")
	diff := maxAbsDiff(logits, wantLogits)
	if !(diff <= tol.Logits) {
		t.Errorf("logits: max abs diff %.3g, want <= %.3g", diff, tol.Logits)
	}
	t.Logf("logits: max abs diff %.3g (bound %.3g)", diff, tol.Logits)

	// Log-sum-exp per position, accumulated in f64.
	wantLSE := d.tensor(t, "logsumexp")
	var worst float64
	for p := range len(logits) / V {
		got := kernels.LogSumExp(logits[p*V : (p+1)*V])
		worst = max(worst, math.Abs(got-float64(wantLSE[p])))
	}
	if !(worst <= tol.LogSumExp) {
		t.Errorf("logsumexp: max abs diff %.3g, want <= %.3g", worst, tol.LogSumExp)
	}

	// Loss: the mean NLL of label tokens, shifted as Hugging Face does.
	loss := meanNLL(logits, ref.Inputs.Labels, V)
	if !(math.Abs(loss-ref.Loss.Value) <= tol.Loss) {
		t.Errorf("loss = %.7f, want %.7f ± %.3g", loss, ref.Loss.Value, tol.Loss)
	}
	t.Logf("loss %.7f, reference %.7f", loss, ref.Loss.Value)

	// Intermediates, relative to the reference tensor's largest value.
	names := d.tensors.Names()
	checked := 0
	for _, name := range names {
		key, ok := strings.CutPrefix(name, "act.")
		if !ok || strings.HasPrefix(key, "rope_") {
			continue
		}
		got, ok := acts[key]
		if !ok {
			t.Errorf("forward pass has no intermediate %q", key)
			continue
		}
		want := d.tensor(t, name)
		bound := tol.ActRel * maxAbs(want)
		if diff := maxAbsDiff(got, want); !(diff <= bound) {
			t.Errorf("%s: max abs diff %.3g, want <= %.3g", name, diff, bound)
		}
		checked++
	}
	t.Logf("%d act.* intermediates checked", checked)
}

// q8LogitRel bounds the fast mode's logits: max abs diff <= q8LogitRel ×
// the largest |logit| of the reference. Where it comes from: the fast mode
// rounds every weight to within half a step of 1/127 of its row's largest
// value and every activation entering a product to within half a step of
// 1/127 of its block of 32's largest, so each product is off by at most
// about 1/127 of (row max × block max), in either direction; over the
// 2-layer tiny model the errors add up to 0.75% of the largest logit
// (6.0e-3 of 0.80) in the worst of its 48 positions. The bound doubles
// that. The log-sum-exp moves by no more than the largest logit does, so
// it and the loss (a log-sum-exp minus a logit) get 1× and 2× the bound.
const q8LogitRel = 0.015

// q8Tolerance returns the fast mode's logit bound for a reference.
func q8Tolerance(t *testing.T, d *refData) float64 {
	return q8LogitRel * maxAbs(d.tensor(t, "logits"))
}

// testReferenceQ8 checks the fast mode (int8 weights and activations)
// against the reference with the bounds of q8LogitRel.
func testReferenceQ8(t *testing.T, dir string) {
	d := loadReference(t, dir)
	m, ref := d.model, d.ref
	logitTol := q8Tolerance(t, d)
	m.QuantizeQ8()
	var logits []float32
	for _, ids := range ref.Inputs.InputIDs {
		st := &Step{Cache: m.NewCache(), Tokens: ids, Want: WantAll}
		if err := m.Forward([]*Step{st}); err != nil {
			t.Fatal(err)
		}
		logits = append(logits, st.Logits...)
	}
	diff := maxAbsDiff(logits, d.tensor(t, "logits"))
	if !(diff <= logitTol) {
		t.Errorf("q8 logits: max abs diff %.3g, want <= %.3g", diff, logitTol)
	}
	loss := meanNLL(logits, ref.Inputs.Labels, m.Config.VocabSize)
	if !(math.Abs(loss-ref.Loss.Value) <= 2*logitTol) {
		t.Errorf("q8 loss = %.6f, want %.6f ± %.3g", loss, ref.Loss.Value, 2*logitTol)
	}
	t.Logf("q8 logits: max abs diff %.3g (bound %.3g); loss %.6f (reference %.6f)", diff, logitTol, loss, ref.Loss.Value)
}

// testReferenceQ8Greedy runs the reference's greedy continuation in the
// fast mode, decoding token by token from the KV cache, fed the
// reference's ids (so that one near tie does not end the comparison):
// each step's logit of the reference's choice and log-sum-exp must be
// within the fast mode's bound, and the fast mode's own choice must be the
// reference's, or a near tie with it: a logit within twice the bound.
func testReferenceQ8Greedy(t *testing.T, dir string) {
	d := loadReference(t, dir)
	m, g := d.model, d.ref.Greedy
	if g.NewTokens == 0 || len(g.Steps) < g.NewTokens {
		t.Skip("the reference has no greedy continuation with its steps")
	}
	tol := q8Tolerance(t, d)
	m.QuantizeQ8()
	st := &Step{Cache: m.NewCache(), Tokens: g.PromptIDs}
	same := 0
	for i := range g.NewTokens {
		if err := m.Forward([]*Step{st}); err != nil {
			t.Fatal(err)
		}
		want := g.Steps[i]
		if d := math.Abs(float64(st.Logits[want.ID]) - want.Logit); !(d <= tol) {
			t.Errorf("step %d: logit of %d off by %.3g, want <= %.3g", i, want.ID, d, tol)
		}
		if d := math.Abs(kernels.LogSumExp(st.Logits) - want.LogSumExp); !(d <= tol) {
			t.Errorf("step %d: logsumexp off by %.3g, want <= %.3g", i, d, tol)
		}
		id := argmax(st.Logits)
		if id == want.ID {
			same++
		} else if gap := st.Logits[id] - st.Logits[want.ID]; !(float64(gap) <= 2*tol) {
			t.Errorf("step %d: chose %d, reference %d, %.3g apart (more than %.3g)", i, id, want.ID, gap, 2*tol)
		}
		st.Tokens = []int{want.ID}
	}
	t.Logf("q8 greedy: %d of %d ids as the reference's", same, g.NewTokens)
}

// meanNLL returns the mean of -log p(labels[t+1] | logits[t]) over the
// label tokens that are not -100. logits: [B·T, V].
func meanNLL(logits []float32, labels [][]int, V int) float64 {
	var sum float64
	var n int
	row := 0
	for _, seq := range labels {
		for t := range seq {
			if t+1 < len(seq) && seq[t+1] != -100 {
				l := logits[(row+t)*V : (row+t+1)*V]
				sum += kernels.LogSumExp(l) - float64(l[seq[t+1]])
				n++
			}
		}
		row += len(seq)
	}
	return sum / float64(n)
}

// testReferenceGreedy decodes greedily with the KV cache, one token at a
// time after the prompt, and checks the ids and each step's logit and
// log-sum-exp.
func testReferenceGreedy(t *testing.T, d *refData) {
	m, g, tol := d.model, d.ref.Greedy, d.ref.Tolerances
	if g.NewTokens == 0 {
		t.Skip("the reference has no greedy continuation")
	}
	c := m.NewCache()
	st := &Step{Cache: c, Tokens: g.PromptIDs}
	var got []int
	for i := range g.NewTokens {
		if err := m.Forward([]*Step{st}); err != nil {
			t.Fatal(err)
		}
		id := argmax(st.Logits)
		got = append(got, id)
		if i < len(g.Steps) {
			want := g.Steps[i]
			// The reference gives the position the chosen token will take.
			if c.Len() != want.Position {
				t.Errorf("step %d: position %d, want %d", i, c.Len(), want.Position)
			}
			if d := math.Abs(float64(st.Logits[want.ID]) - want.Logit); !(d <= tol.StepLogit) {
				t.Errorf("step %d: logit of %d off by %.3g, want <= %.3g", i, want.ID, d, tol.StepLogit)
			}
			if d := math.Abs(kernels.LogSumExp(st.Logits) - want.LogSumExp); !(d <= tol.LogSumExp) {
				t.Errorf("step %d: logsumexp off by %.3g, want <= %.3g", i, d, tol.LogSumExp)
			}
		}
		st.Tokens = []int{id}
	}
	if !equalInts(got, g.GeneratedIDs) {
		t.Errorf("greedy ids = %v, want %v", got, g.GeneratedIDs)
	}
}

// testReferenceRope checks the rotary factors against act.rope_cos and
// act.rope_sin: [T, head_dim], each half repeating the other.
func testReferenceRope(t *testing.T, d *refData) {
	cfg := &d.model.Config
	if _, ok := d.tensors.Info("act.rope_cos"); !ok {
		t.Skip("the reference has no act.rope_cos")
	}
	wantCos, wantSin := d.tensor(t, "act.rope_cos"), d.tensor(t, "act.rope_sin")
	hd, half := cfg.HeadDim, cfg.HeadDim/2
	T := len(wantCos) / hd
	s := &scratch{n: T, cos: make([]float32, T*half), sin: make([]float32, T*half)}
	var worst float64
	for p := range T {
		s.setRope(cfg, p, p)
		for i := range hd {
			worst = max(worst,
				math.Abs(float64(s.cos[p*half+i%half]-wantCos[p*hd+i])),
				math.Abs(float64(s.sin[p*half+i%half]-wantSin[p*hd+i])))
		}
	}
	if bound := d.ref.Tolerances.ActRel; !(worst <= bound) {
		t.Errorf("rope factors: max abs diff %.3g, want <= %.3g", worst, bound)
	}
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var worst float64
	for i := range a {
		worst = max(worst, math.Abs(float64(a[i])-float64(b[i])))
	}
	return worst
}

func maxAbs(a []float32) float64 {
	var m float64
	for _, v := range a {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
