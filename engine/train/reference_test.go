package train

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"attune/engine/lora"
	"attune/engine/qwen2"
	"attune/engine/safetensors"
	"attune/internal/reftest"
)

// The reference test checks LoRA training against the PyTorch reference
// stored with every directory under the repo's testdata/reference/ and
// every directory of ATTUNE_REFERENCE_DIRS (colon-separated): the loss with
// the recorded adapter, the gradient of every LoRA tensor, and the tensors
// after the recorded AdamW steps, within the tolerances of the reference's
// README.

// loraReference is the part of reference.json this test reads.
type loraReference struct {
	Inputs struct {
		InputIDs [][]int32 `json:"input_ids"`
		Labels   [][]int32 `json:"labels"`
	} `json:"inputs"`
	Lora struct {
		R           int      `json:"r"`
		Alpha       float64  `json:"alpha"`
		Targets     []string `json:"target_modules"`
		TensorNames []string `json:"tensor_names"`
		Loss        float64  `json:"loss"`
	} `json:"lora"`
	AdamW struct {
		LR          float64   `json:"lr"`
		Betas       []float64 `json:"betas"`
		Eps         float64   `json:"eps"`
		WeightDecay float64   `json:"weight_decay"`
		Steps       int       `json:"steps"`
		LossBefore  []float64 `json:"loss_before_each_step"`
		LossAfter   float64   `json:"loss_after"`
	} `json:"adamw"`
	Tolerances struct {
		Loss    float64 `json:"loss_atol"`
		GradRel float64 `json:"lora_grad_atol_rel_to_tensor_max"`
		AdamAbs float64 `json:"adamw_params_atol"`
	} `json:"tolerances"`
}

func TestReferenceLoRA(t *testing.T) {
	for _, dir := range reftest.Dirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) { checkReference(t, dir) })
	}
}

func checkReference(t *testing.T, dir string) {
	var ref loraReference
	b, err := os.ReadFile(filepath.Join(dir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	m, err := qwen2.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tensors, err := safetensors.Open(filepath.Join(dir, "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer tensors.Close()

	// The adapter as recorded (B non-zero on purpose).
	cfg := lora.Config{Rank: ref.Lora.R, Alpha: ref.Lora.Alpha}
	for _, tm := range ref.Lora.Targets {
		cfg.Targets = append(cfg.Targets, qwen2.Target(tm))
	}
	ad, err := lora.NewZero(cfg, m.Config)
	if err != nil {
		t.Fatal(err)
	}
	load := func(prefix string, into *lora.Adapter) {
		into.Each(func(l int, tg qwen2.Target, f *lora.Factors) {
			copy(f.A, refTensor(t, tensors, prefix+lora.TensorName(l, tg, "A"), len(f.A)))
			copy(f.B, refTensor(t, tensors, prefix+lora.TensorName(l, tg, "B"), len(f.B)))
		})
	}
	load("lora_init.", ad)
	if got, want := ad.NumParams(), countParams(t, tensors, "lora_init."); got != want {
		t.Fatalf("adapter has %d values, reference %d", got, want)
	}

	// The batch: B rows of T tokens, positions 0..T-1, no packing.
	B, T := len(ref.Inputs.InputIDs), len(ref.Inputs.InputIDs[0])
	bt := NewBatch(B, T)
	for r := range B {
		bt.Place(r, 0, Example{Tokens: ref.Inputs.InputIDs[r], Labels: ref.Inputs.Labels[r]})
	}
	count := float64(bt.NumTargets())
	n := newNet(m, ad, B, T)

	// Loss and every gradient.
	sum, _ := n.lossAndGrad(bt, count)
	if diff := math.Abs(sum/count - ref.Lora.Loss); diff > ref.Tolerances.Loss {
		t.Errorf("lora loss = %.7f, want %.7f (diff %.2g > %.2g)", sum/count, ref.Lora.Loss, diff, ref.Tolerances.Loss)
	}
	want := ad.Clone()
	load("lora_grad.", want)
	compareAdapters(t, "gradient", n.grad, want, ref.Tolerances.GradRel, true)

	// The recorded AdamW steps on the same batch.
	opt := newAdamW(ad, ref.AdamW.Betas[0], ref.AdamW.Betas[1], ref.AdamW.Eps, ref.AdamW.WeightDecay)
	for s := range ref.AdamW.Steps {
		n.zeroGrad()
		sum, _ := n.lossAndGrad(bt, count)
		if diff := math.Abs(sum/count - ref.AdamW.LossBefore[s]); diff > ref.Tolerances.Loss {
			t.Errorf("loss before step %d = %.7f, want %.7f", s+1, sum/count, ref.AdamW.LossBefore[s])
		}
		opt.step(ad, n.grad, ref.AdamW.LR)
		load("adamw_step"+string(rune('1'+s))+".", want)
		compareAdapters(t, "after AdamW step "+string(rune('1'+s)), ad, want, ref.Tolerances.AdamAbs, false)
	}
	sum, _ = n.loss(bt)
	if diff := math.Abs(sum/count - ref.AdamW.LossAfter); diff > ref.Tolerances.Loss {
		t.Errorf("loss after the AdamW steps = %.7f, want %.7f", sum/count, ref.AdamW.LossAfter)
	}
}

// compareAdapters compares every factor of got with want: within tol × the
// reference tensor's max abs when rel is set, within tol otherwise.
func compareAdapters(t *testing.T, what string, got, want *lora.Adapter, tol float64, rel bool) {
	t.Helper()
	worst := 0.0
	want.Each(func(l int, tg qwen2.Target, w *lora.Factors) {
		g := got.Factors(l, tg)
		for _, pair := range [][2][]float32{{g.A, w.A}, {g.B, w.B}} {
			bound := tol
			if rel {
				bound = tol * maxAbs(pair[1])
			}
			for i := range pair[1] {
				d := math.Abs(float64(pair[0][i] - pair[1][i]))
				worst = max(worst, d/bound)
				if d > bound {
					t.Errorf("%s: layer %d %s: element %d = %.8g, want %.8g (diff %.2g > %.2g)",
						what, l, tg, i, pair[0][i], pair[1][i], d, bound)
					return
				}
			}
		}
	})
	t.Logf("%s: worst diff is %.3f of the tolerance", what, worst)
}

func maxAbs(x []float32) float64 {
	m := 0.0
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

// refTensor returns the named f32 tensor, which must hold n values.
func refTensor(t *testing.T, f *safetensors.File, name string, n int) []float32 {
	t.Helper()
	v, err := f.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	x, err := v.F32()
	if err != nil {
		t.Fatal(err)
	}
	if len(x) != n {
		t.Fatalf("%s has %d values, want %d", name, len(x), n)
	}
	return x
}

// countParams returns the number of values in the tensors under prefix.
func countParams(t *testing.T, f *safetensors.File, prefix string) int {
	n := 0
	for _, name := range f.Names() {
		if strings.HasPrefix(name, prefix) {
			info, _ := f.Info(name)
			n += int(info.Elems())
		}
	}
	return n
}
