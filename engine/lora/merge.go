package lora

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	"attune/engine/kernels"
	"attune/engine/qwen2"
	"attune/engine/safetensors"
)

// Merge returns a model whose adapted projections are W + s · B A, so that
// it computes without an adapter what m computes with a. The merged
// matrices are new, in dtype (F32 keeps the merge exact; BF16 or F16
// round it to a stored precision); every other weight is shared with m.
func Merge(m *qwen2.Model, a *Adapter, dtype kernels.DType) *qwen2.Model {
	out := &qwen2.Model{Config: m.Config, Embed: m.Embed, Norm: m.Norm, Head: m.Head,
		Layers: make([]qwen2.Layer, len(m.Layers))}
	s := a.Config.Scaling()
	for l, layer := range m.Layers {
		for _, t := range AllTargets {
			w := projection(&layer, t)
			if f := a.Factors(l, t); f != nil {
				*w = mergeOne(*w, f, a.Config.Rank, s, dtype)
			}
		}
		out.Layers[l] = layer
	}
	return out
}

// projection returns a pointer to the weight of target t in layer.
func projection(layer *qwen2.Layer, t qwen2.Target) *kernels.Mat {
	switch t {
	case qwen2.TargetQ:
		return &layer.Q
	case qwen2.TargetK:
		return &layer.K
	case qwen2.TargetV:
		return &layer.V
	case qwen2.TargetO:
		return &layer.O
	case qwen2.TargetGate:
		return &layer.Gate
	case qwen2.TargetUp:
		return &layer.Up
	}
	return &layer.Down
}

// mergeOne returns w + s · B A: [out, in] in dtype.
func mergeOne(w kernels.Mat, f *Factors, r int, s float32, dtype kernels.DType) kernels.Mat {
	// delta = s · B A: [out, in].
	delta := make([]float32, f.Out*f.In)
	kernels.Gemm(false, false, f.Out, f.In, r, s, f.B, r, f.A, f.In, 0, delta, f.In)
	row := make([]float32, f.In)
	for o := range f.Out {
		w.Row(row, o)
		d := delta[o*f.In : (o+1)*f.In]
		for i, v := range row {
			d[i] += v
		}
	}
	switch dtype {
	case kernels.BF16, kernels.F16:
		bits := make([]uint16, len(delta))
		for i, v := range delta {
			bits[i] = narrow(v, dtype)
		}
		return kernels.Mat{Rows: f.Out, Cols: f.In, DType: dtype, U16: bits}
	}
	return kernels.NewMatF32(f.Out, f.In, delta)
}

// narrow rounds v to bf16 or f16 bits.
func narrow(v float32, dtype kernels.DType) uint16 {
	if dtype == kernels.BF16 {
		return kernels.F32ToBF16(v)
	}
	return f32ToF16(v)
}

// SaveModel writes m to dir as a Hugging Face checkpoint: config.json and
// model.safetensors with Hugging Face's tensor names, each matrix in its
// stored precision. The tokenizer files are not part of a Model; copy them
// from the base model's directory. The weights are streamed, not gathered
// in memory, and both files appear atomically.
func SaveModel(dir string, m *qwen2.Model) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("lora: cannot save model: %w", err)
	}
	type item struct {
		name  string
		shape []int
		mat   *kernels.Mat
		vec   []float32
	}
	var items []item
	addMat := func(name string, w kernels.Mat) {
		items = append(items, item{name: name, shape: []int{w.Rows, w.Cols}, mat: &w})
	}
	addVec := func(name string, v []float32) {
		if v != nil {
			items = append(items, item{name: name, shape: []int{len(v)}, vec: v})
		}
	}
	addMat("model.embed_tokens.weight", m.Embed)
	for l, ly := range m.Layers {
		p := fmt.Sprintf("model.layers.%d.", l)
		addVec(p+"input_layernorm.weight", ly.AttnNorm)
		addMat(p+"self_attn.q_proj.weight", ly.Q)
		addVec(p+"self_attn.q_proj.bias", ly.QBias)
		addMat(p+"self_attn.k_proj.weight", ly.K)
		addVec(p+"self_attn.k_proj.bias", ly.KBias)
		addMat(p+"self_attn.v_proj.weight", ly.V)
		addVec(p+"self_attn.v_proj.bias", ly.VBias)
		addMat(p+"self_attn.o_proj.weight", ly.O)
		addVec(p+"post_attention_layernorm.weight", ly.MLPNorm)
		addMat(p+"mlp.gate_proj.weight", ly.Gate)
		addMat(p+"mlp.up_proj.weight", ly.Up)
		addMat(p+"mlp.down_proj.weight", ly.Down)
	}
	addVec("model.norm.weight", m.Norm)
	if !m.Config.TieWordEmbeddings {
		addMat("lm_head.weight", m.Head)
	}

	// Norms and biases are kept in f32 in memory; store them in the
	// embedding's precision, as Hugging Face checkpoints do.
	vecType := m.Embed.DType
	infos := make([]safetensors.TensorInfo, len(items))
	for i, it := range items {
		dt := vecType
		if it.mat != nil {
			dt = it.mat.DType
		}
		infos[i] = safetensors.TensorInfo{Name: it.name, DType: safetensors.DType(dt.String()), Shape: it.shape}
	}
	w, err := safetensors.Create(filepath.Join(dir, safetensors.SingleName), infos, map[string]string{"format": "pt"})
	if err != nil {
		return fmt.Errorf("lora: cannot save model: %w", err)
	}
	for _, it := range items {
		var b []byte
		if it.mat != nil {
			b = matBytes(*it.mat)
		} else {
			b = vecBytes(it.vec, vecType)
		}
		if _, err := w.Write(b); err != nil {
			w.Abort()
			return fmt.Errorf("lora: cannot save model: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("lora: cannot save model: %w", err)
	}

	cfg := m.Config
	cfg.TorchDtype = map[kernels.DType]string{kernels.F32: "float32", kernels.BF16: "bfloat16", kernels.F16: "float16"}[vecType]
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("lora: cannot save model: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "config.json"), append(b, '\n')); err != nil {
		return fmt.Errorf("lora: cannot save model: %w", err)
	}
	return nil
}

// matBytes returns the raw little-endian bytes of w (no copy).
func matBytes(w kernels.Mat) []byte {
	if w.DType == kernels.F32 {
		return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w.F32))), 4*len(w.F32))
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w.U16))), 2*len(w.U16))
}

// vecBytes returns v in dtype as little-endian bytes.
func vecBytes(v []float32, dtype kernels.DType) []byte {
	if dtype == kernels.F32 {
		return matBytes(kernels.NewMatF32(1, len(v), v))
	}
	bits := make([]uint16, len(v))
	for i, x := range v {
		bits[i] = narrow(x, dtype)
	}
	return matBytes(kernels.Mat{Rows: 1, Cols: len(v), DType: dtype, U16: bits})
}

// f32ToF16 rounds f to the nearest IEEE half-precision value, ties to
// even, with overflow to infinity and gradual underflow.
func f32ToF16(f float32) uint16 {
	b := *(*uint32)(unsafe.Pointer(&f))
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case b&0x7fffffff > 0x7f800000: // NaN
		return sign | 0x7e00
	case exp >= 0x1f: // overflow or inf
		return sign | 0x7c00
	case exp <= 0: // subnormal or zero
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		half := uint32(1) << (shift - 1)
		r := mant >> shift
		if rem := mant & (1<<shift - 1); rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(exp)<<10 | mant>>13
	if rem := mant & 0x1fff; rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++
	}
	return sign | uint16(r)
}

// ExportMerged writes the base model m with adapter a merged in to outDir
// as a Hugging Face checkpoint that needs no adapter: the merged weights in
// the precision the base stores its projections in, config.json, and the
// tokenizer and generation files copied from baseDir (those it has).
func ExportMerged(outDir, baseDir string, m *qwen2.Model, a *Adapter) error {
	dtype := kernels.F32
	if len(m.Layers) > 0 {
		dtype = m.Layers[0].Q.DType
	}
	return ExportMergedAs(outDir, baseDir, m, a, dtype)
}

// ExportMergedAs is ExportMerged with the merged projections stored in
// dtype: F32 keeps the merge exact, BF16 and F16 round it. A dtype other
// than those three (an int8 base) is stored as F32.
func ExportMergedAs(outDir, baseDir string, m *qwen2.Model, a *Adapter, dtype kernels.DType) error {
	if dtype != kernels.BF16 && dtype != kernels.F16 {
		dtype = kernels.F32
	}
	if err := SaveModel(outDir, Merge(m, a, dtype)); err != nil {
		return err
	}
	for _, name := range []string{"tokenizer.json", "tokenizer_config.json", "generation_config.json",
		"vocab.json", "merges.txt", "special_tokens_map.json"} {
		b, err := os.ReadFile(filepath.Join(baseDir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("lora: cannot export merged model: %w", err)
		}
		if err := writeFileAtomic(filepath.Join(outDir, name), b); err != nil {
			return fmt.Errorf("lora: cannot export merged model: %w", err)
		}
	}
	return nil
}
