package lora

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"attune"
	"attune/engine/kernels"
	"attune/engine/qwen2"
	"attune/engine/safetensors"
)

// The files of an adapter directory in PEFT layout.
const (
	ConfigName  = "adapter_config.json"
	WeightsName = "adapter_model.safetensors"
)

// peftConfig is the part of PEFT's adapter_config.json that attune writes
// and reads.
type peftConfig struct {
	PeftType          string          `json:"peft_type"`
	TaskType          string          `json:"task_type"`
	BaseModel         string          `json:"base_model_name_or_path"`
	R                 int             `json:"r"`
	LoraAlpha         float64         `json:"lora_alpha"`
	LoraDropout       float64         `json:"lora_dropout"`
	Bias              string          `json:"bias"`
	TargetModules     json.RawMessage `json:"target_modules"`
	FanInFanOut       bool            `json:"fan_in_fan_out"`
	UseRSLoRA         bool            `json:"use_rslora"`
	UseDoRA           bool            `json:"use_dora"`
	InitLoraWeights   bool            `json:"init_lora_weights"`
	InferenceMode     bool            `json:"inference_mode"`
	ModulesToSave     json.RawMessage `json:"modules_to_save"`
	RankPattern       map[string]any  `json:"rank_pattern"`
	AlphaPattern      map[string]any  `json:"alpha_pattern"`
	LayersToTransform json.RawMessage `json:"layers_to_transform"`
}

// TensorName returns PEFT's name for factor "A" or "B" of target t in layer
// l, e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight.
func TensorName(l int, t qwen2.Target, factor string) string {
	block := "self_attn"
	if t == qwen2.TargetGate || t == qwen2.TargetUp || t == qwen2.TargetDown {
		block = "mlp"
	}
	return fmt.Sprintf("base_model.model.model.layers.%d.%s.%s.lora_%s.weight", l, block, t, factor)
}

// Save writes a to dir in PEFT layout: adapter_config.json and
// adapter_model.safetensors (f32), each atomically. dir is created if
// needed.
func (a *Adapter) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("lora: cannot save adapter: %w", err)
	}
	var tensors []safetensors.Tensor
	r := a.Config.Rank
	a.Each(func(l int, t qwen2.Target, f *Factors) {
		tensors = append(tensors,
			safetensors.F32Tensor(TensorName(l, t, "A"), []int{r, f.In}, f.A),
			safetensors.F32Tensor(TensorName(l, t, "B"), []int{f.Out, r}, f.B))
	})
	meta := map[string]string{"format": "pt"}
	if err := safetensors.WriteFile(filepath.Join(dir, WeightsName), tensors, meta); err != nil {
		return fmt.Errorf("lora: cannot save adapter: %w", err)
	}

	targets := make([]string, len(a.Config.Targets))
	for i, t := range a.Config.Targets {
		targets[i] = string(t)
	}
	tm, _ := json.Marshal(targets)
	pc := peftConfig{
		PeftType: "LORA", TaskType: "CAUSAL_LM", BaseModel: a.Config.BaseModel,
		R: r, LoraAlpha: a.Config.Alpha, LoraDropout: a.Config.Dropout, Bias: "none",
		TargetModules: tm, UseRSLoRA: a.Config.RSLoRA, InitLoraWeights: true,
		InferenceMode: true, ModulesToSave: json.RawMessage("null"),
		RankPattern: map[string]any{}, AlphaPattern: map[string]any{},
		LayersToTransform: json.RawMessage("null"),
	}
	b, err := json.MarshalIndent(pc, "", "  ")
	if err != nil {
		return fmt.Errorf("lora: cannot save adapter: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, ConfigName), append(b, '\n')); err != nil {
		return fmt.Errorf("lora: cannot save adapter: %w", err)
	}
	return nil
}

// Load reads a PEFT LoRA adapter from dir for a model of shape mc: written
// by attune or by PEFT itself (f32, bf16 or f16 factors; names with or
// without PEFT's ".default" adapter name). The targets are the projections
// the file holds factors for. An adapter that is not LoRA, uses features
// attune does not implement (DoRA, fan_in_fan_out, per-module ranks, extra
// trained modules, biases), or does not fit mc is refused with a
// KindInvalid error saying why.
func Load(dir string, mc qwen2.Config) (*Adapter, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigName))
	if err != nil {
		return nil, fmt.Errorf("lora: cannot load adapter %s: %w", dir, err)
	}
	var pc peftConfig
	if err := json.Unmarshal(b, &pc); err != nil {
		return nil, invalid(dir, "%s is not valid JSON: %v", ConfigName, err)
	}
	if err := pc.check(); err != nil {
		return nil, invalid(dir, "%v", err)
	}

	f, err := safetensors.Open(filepath.Join(dir, WeightsName))
	if err != nil {
		return nil, fmt.Errorf("lora: cannot load adapter %s: %w", dir, err)
	}
	defer f.Close()
	tensors, err := peftTensors(f.Names(), mc.NumHiddenLayers)
	if err != nil {
		return nil, invalid(dir, "%v", err)
	}

	cfg := Config{Rank: pc.R, Alpha: pc.LoraAlpha, Dropout: pc.LoraDropout,
		RSLoRA: pc.UseRSLoRA, BaseModel: pc.BaseModel}
	for _, t := range AllTargets {
		if slices.ContainsFunc(tensors, func(p peftName) bool { return p.target == t }) {
			cfg.Targets = append(cfg.Targets, t)
		}
	}
	if len(cfg.Targets) == 0 {
		return nil, invalid(dir, "%s holds no LoRA factors", WeightsName)
	}
	a, err := NewZero(cfg, mc)
	if err != nil {
		return nil, invalid(dir, "%v", err)
	}
	for _, p := range tensors {
		if err := a.readFactor(f, p); err != nil {
			return nil, invalid(dir, "%v", err)
		}
	}
	return a, nil
}

// check refuses the configurations attune cannot apply exactly.
func (pc peftConfig) check() error {
	switch {
	case pc.PeftType != "LORA":
		return fmt.Errorf("peft_type is %q, not LORA", pc.PeftType)
	case pc.R < 1:
		return fmt.Errorf("r is %d", pc.R)
	case pc.FanInFanOut:
		return errors.New("fan_in_fan_out adapters (GPT-2 style Conv1D) are not supported")
	case pc.UseDoRA:
		return errors.New("DoRA adapters are not supported")
	case pc.Bias != "" && pc.Bias != "none":
		return fmt.Errorf("bias %q is not supported (only \"none\")", pc.Bias)
	case len(pc.RankPattern) > 0 || len(pc.AlphaPattern) > 0:
		return errors.New("per-module ranks or alphas (rank_pattern, alpha_pattern) are not supported")
	}
	if m := strings.TrimSpace(string(pc.ModulesToSave)); m != "" && m != "null" && m != "[]" {
		return fmt.Errorf("modules_to_save %s is not supported", m)
	}
	return nil
}

// peftName is a parsed PEFT tensor name.
type peftName struct {
	name   string
	layer  int
	target qwen2.Target
	factor string // "A" or "B"
}

var peftNameRE = regexp.MustCompile(`^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)\.lora_(A|B)(?:\.default)?\.weight$`)

// peftTensors parses every tensor name of an adapter file; any name that is
// not a LoRA factor of a layer below layers is an error.
func peftTensors(names []string, layers int) ([]peftName, error) {
	var out []peftName
	for _, n := range names {
		m := peftNameRE.FindStringSubmatch(n)
		if m == nil {
			return nil, fmt.Errorf("tensor %q is not a LoRA factor of a Qwen2 projection", n)
		}
		l, _ := strconv.Atoi(m[1])
		if l >= layers {
			return nil, fmt.Errorf("tensor %q is for layer %d; the model has %d layers", n, l, layers)
		}
		out = append(out, peftName{name: n, layer: l, target: qwen2.Target(m[3]), factor: m[4]})
	}
	return out, nil
}

// readFactor copies the factor p names from f into a, widening to f32.
func (a *Adapter) readFactor(f *safetensors.File, p peftName) error {
	fac := a.Factors(p.layer, p.target)
	dst, rows, cols := fac.A, a.Config.Rank, fac.In
	if p.factor == "B" {
		dst, rows, cols = fac.B, fac.Out, a.Config.Rank
	}
	v, err := f.Tensor(p.name)
	if err != nil {
		return err
	}
	if !slices.Equal(v.Shape, []int{rows, cols}) {
		return fmt.Errorf("tensor %q has shape %v, want [%d %d]", p.name, v.Shape, rows, cols)
	}
	switch v.DType {
	case safetensors.F32:
		src, err := v.F32()
		if err != nil {
			return err
		}
		copy(dst, src)
	case safetensors.BF16, safetensors.F16:
		src, err := v.U16()
		if err != nil {
			return err
		}
		widen := kernels.BF16ToF32
		if v.DType == safetensors.F16 {
			widen = kernels.F16ToF32
		}
		for i, b := range src {
			dst[i] = widen(b)
		}
	default:
		return fmt.Errorf("tensor %q has dtype %s; want F32, BF16 or F16", p.name, v.DType)
	}
	return nil
}

// invalid returns a KindInvalid error about the adapter in dir.
func invalid(dir, format string, args ...any) error {
	return attune.Errorf(attune.KindInvalid, "lora: adapter %s: %s", dir, fmt.Sprintf(format, args...))
}

// writeFileAtomic writes b to path through a synced temporary file renamed
// into place.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
