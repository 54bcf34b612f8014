// Package lora holds LoRA adapters for Qwen2 models as PEFT defines them:
// for each adapted projection y = W x, a pair of low-rank factors A: [r, in]
// and B: [out, r] that add (alpha / r) · B (A x) to its output.
//
// An Adapter implements qwen2.Adapter, so the inference forward applies it;
// engine/train computes its gradients. Adapters are saved and loaded in
// Hugging Face PEFT layout (adapter_config.json and
// adapter_model.safetensors with PEFT's tensor names), so that transformers,
// vLLM or LoRAX read what attune writes and attune reads what they write,
// and an adapter can be merged into its base model for export.
package lora

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"attune"
	"attune/engine/kernels"
	"attune/engine/qwen2"
)

// AllTargets lists every projection of a decoder layer that an adapter can
// target, in the order PEFT's documentation and attune's files use.
var AllTargets = []qwen2.Target{
	qwen2.TargetQ, qwen2.TargetK, qwen2.TargetV, qwen2.TargetO,
	qwen2.TargetGate, qwen2.TargetUp, qwen2.TargetDown,
}

// Config describes an adapter: its rank, its scale and the projections it
// adapts.
type Config struct {
	// Rank is r, the inner dimension of the factors. Default 8.
	Rank int
	// Alpha scales the update by Alpha / Rank (PEFT's lora_alpha).
	// Default 16.
	Alpha float64
	// Dropout is the probability of zeroing an input element of the adapter
	// path during training (PEFT's lora_dropout); inference ignores it.
	Dropout float64
	// Targets are the adapted projections. Default: all seven.
	Targets []qwen2.Target
	// RSLoRA scales by Alpha / sqrt(Rank) instead (PEFT's use_rslora); it is
	// only set by adapters loaded from elsewhere.
	RSLoRA bool
	// BaseModel is recorded as base_model_name_or_path when saving.
	BaseModel string
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Rank == 0 {
		c.Rank = 8
	}
	if c.Alpha == 0 {
		c.Alpha = 16
	}
	if len(c.Targets) == 0 {
		c.Targets = slices.Clone(AllTargets)
	}
	return c
}

// Validate reports the first bad field of c as a KindInvalid attune.Error.
func (c Config) Validate() error {
	switch {
	case c.Rank < 1 || c.Rank > 1024:
		return attune.Invalidf("rank", "lora rank must be between 1 and 1024, got %d", c.Rank)
	case !(c.Alpha > 0) || math.IsInf(c.Alpha, 0):
		return attune.Invalidf("alpha", "lora alpha must be positive, got %g", c.Alpha)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return attune.Invalidf("dropout", "lora dropout must be in [0, 1), got %g", c.Dropout)
	case len(c.Targets) == 0:
		return attune.Invalidf("targets", "lora needs at least one target projection")
	}
	for _, t := range c.Targets {
		if targetIndex(t) < 0 {
			return attune.Invalidf("targets", "unknown lora target %q (want one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)", t)
		}
	}
	return nil
}

// Scaling returns the factor applied to B A x: Alpha / Rank, or
// Alpha / sqrt(Rank) for rank-stabilised LoRA.
func (c Config) Scaling() float32 {
	if c.RSLoRA {
		return float32(c.Alpha / math.Sqrt(float64(c.Rank)))
	}
	return float32(c.Alpha / float64(c.Rank))
}

// Factors are the two LoRA matrices of one adapted projection, in f32.
type Factors struct {
	In, Out int
	A       []float32 // [r, In]
	B       []float32 // [Out, r]
}

// Adapter is a LoRA adapter for every layer of one model shape. Layers[l][i]
// holds the factors of target AllTargets[i] in layer l, nil when that
// projection is not adapted. An Adapter is safe for concurrent use by
// forward passes while nothing modifies its factors.
type Adapter struct {
	Config Config
	Layers [][]*Factors
}

// New returns an adapter for models of shape mc, initialised as PEFT does:
// A drawn from U(-1/sqrt(in), 1/sqrt(in)) (Kaiming-uniform with a = sqrt(5))
// from a generator seeded with seed, B zero, so that a fresh adapter leaves
// the model unchanged.
func New(cfg Config, mc qwen2.Config, seed uint64) (*Adapter, error) {
	a, err := NewZero(cfg, mc)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x6c6f7261))
	a.Each(func(_ int, _ qwen2.Target, f *Factors) {
		bound := 1 / math.Sqrt(float64(f.In))
		for i := range f.A {
			f.A[i] = float32((2*rng.Float64() - 1) * bound)
		}
	})
	return a, nil
}

// NewZero returns an adapter for models of shape mc with every factor zero.
func NewZero(cfg Config, mc qwen2.Config) (*Adapter, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Adapter{Config: cfg, Layers: make([][]*Factors, mc.NumHiddenLayers)}
	for l := range a.Layers {
		a.Layers[l] = make([]*Factors, len(AllTargets))
		for _, t := range cfg.Targets {
			out, in := ProjShape(mc, t)
			a.Layers[l][targetIndex(t)] = &Factors{
				In: in, Out: out,
				A: make([]float32, cfg.Rank*in),
				B: make([]float32, out*cfg.Rank),
			}
		}
	}
	return a, nil
}

// ProjShape returns the [out, in] shape of projection t in a model of shape
// mc.
func ProjShape(mc qwen2.Config, t qwen2.Target) (out, in int) {
	hd := HeadDim(mc)
	c, q, kv, im := mc.HiddenSize, mc.NumAttentionHeads*hd, mc.NumKeyValueHeads*hd, mc.IntermediateSize
	switch t {
	case qwen2.TargetQ:
		return q, c
	case qwen2.TargetK, qwen2.TargetV:
		return kv, c
	case qwen2.TargetO:
		return c, q
	case qwen2.TargetGate, qwen2.TargetUp:
		return im, c
	case qwen2.TargetDown:
		return c, im
	}
	panic(fmt.Sprintf("lora: unknown target %q", t))
}

// HeadDim returns the attention head dimension of mc: head_dim when the
// config sets it, hidden_size / num_attention_heads otherwise.
func HeadDim(mc qwen2.Config) int {
	if mc.HeadDim > 0 {
		return mc.HeadDim
	}
	return mc.HiddenSize / mc.NumAttentionHeads
}

// targetIndex returns the position of t in AllTargets, or -1.
func targetIndex(t qwen2.Target) int { return slices.Index(AllTargets, t) }

// Factors returns the factors of target t in layer l, or nil when that
// projection is not adapted.
func (a *Adapter) Factors(l int, t qwen2.Target) *Factors {
	i := targetIndex(t)
	if a == nil || l < 0 || l >= len(a.Layers) || i < 0 {
		return nil
	}
	return a.Layers[l][i]
}

// Each calls fn for every adapted projection, layer by layer, targets in the
// order of AllTargets.
func (a *Adapter) Each(fn func(layer int, t qwen2.Target, f *Factors)) {
	for l, row := range a.Layers {
		for i, f := range row {
			if f != nil {
				fn(l, AllTargets[i], f)
			}
		}
	}
}

// NumParams returns the number of trainable values in the adapter.
func (a *Adapter) NumParams() int {
	n := 0
	a.Each(func(_ int, _ qwen2.Target, f *Factors) { n += len(f.A) + len(f.B) })
	return n
}

// Clone returns a deep copy of a.
func (a *Adapter) Clone() *Adapter {
	c := &Adapter{Config: a.Config, Layers: make([][]*Factors, len(a.Layers))}
	c.Config.Targets = slices.Clone(a.Config.Targets)
	for l, row := range a.Layers {
		c.Layers[l] = make([]*Factors, len(row))
		for i, f := range row {
			if f != nil {
				c.Layers[l][i] = &Factors{In: f.In, Out: f.Out, A: slices.Clone(f.A), B: slices.Clone(f.B)}
			}
		}
	}
	return c
}

// Apply adds the adapter's update for (layer, target) to y: [T, out], given
// that projection's input x: [T, in]: y += s · (x Aᵀ) Bᵀ. It implements
// qwen2.Adapter and does nothing for a projection it does not adapt.
func (a *Adapter) Apply(layer int, target qwen2.Target, y, x []float32, T int) {
	f := a.Factors(layer, target)
	if f == nil {
		return
	}
	r, s := a.Config.Rank, a.Config.Scaling()

	// u = x Aᵀ: [T, r]; d = u Bᵀ: [T, out]; y += s · d.
	u := make([]float32, T*r)
	kernels.Linear(u, x[:T*f.In], kernels.NewMatF32(r, f.In, f.A), nil, T)
	d := make([]float32, T*f.Out)
	kernels.Linear(d, u, kernels.NewMatF32(f.Out, r, f.B), nil, T)
	for i, v := range d {
		y[i] += s * v
	}
}

var _ qwen2.Adapter = (*Adapter)(nil)
