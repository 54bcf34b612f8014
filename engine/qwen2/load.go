package qwen2

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"attune"
	"attune/engine/kernels"
	"attune/engine/safetensors"
)

// Load opens the Hugging Face checkpoint in dir: config.json and the
// weights of model.safetensors or a sharded model-*.safetensors with its
// index. Linear weights stay memory-mapped in their stored precision;
// norms and biases are widened to f32. A tensor that is missing, has the
// wrong shape or an unsupported dtype, or belongs to a layer the config
// does not have, is refused with an error naming it. Close the model to
// unmap its weights.
func Load(dir string) (*Model, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	w, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("qwen2: cannot load %s: %w", dir, err)
	}
	m, err := fromWeights(cfg, w)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("qwen2: cannot load %s: %w", dir, err)
	}
	m.weights = w
	return m, nil
}

// Close unmaps the model's weights. The model must not be used afterwards.
func (m *Model) Close() error {
	if m.weights == nil {
		return nil
	}
	err := m.weights.Close()
	m.weights = nil
	return err
}

// tensors is the part of a checkpoint Load reads from: a safetensors.Dir.
type tensors interface {
	Names() []string
	Tensor(name string) (safetensors.View, error)
}

// fromWeights builds a Model from the tensors of a checkpoint, checking
// each against cfg.
func fromWeights(cfg Config, w tensors) (*Model, error) {
	if err := checkLayerNames(cfg, w.Names()); err != nil {
		return nil, err
	}
	C, V := cfg.HiddenSize, cfg.VocabSize
	r := reader{w: w}
	m := &Model{Config: cfg}
	m.Embed = r.mat("model.embed_tokens.weight", V, C)
	m.Norm = r.vec("model.norm.weight", C)
	m.Head = m.Embed
	if !cfg.TieWordEmbeddings {
		m.Head = r.mat("lm_head.weight", V, C)
	}
	m.Layers = make([]Layer, cfg.NumHiddenLayers)
	for i := range m.Layers {
		m.Layers[i] = r.layer(cfg, i)
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}

// checkLayerNames refuses a checkpoint with layers beyond the config's.
func checkLayerNames(cfg Config, names []string) error {
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, "model.layers.")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 || n >= cfg.NumHiddenLayers {
			return attune.Invalidf("num_hidden_layers", "tensor %q is not in any of the %d layers config.json declares", name, cfg.NumHiddenLayers)
		}
	}
	return nil
}

// reader looks up tensors and checks their shapes, keeping the first error
// so that building a model reads as a list of its weights.
type reader struct {
	w   tensors
	err error
}

// view returns the named tensor after checking its shape.
func (r *reader) view(name string, shape ...int) (safetensors.View, bool) {
	if r.err != nil {
		return safetensors.View{}, false
	}
	v, err := r.w.Tensor(name)
	if err != nil {
		r.err = attune.Invalidf(name, "checkpoint lacks tensor %q", name)
		return v, false
	}
	if !slices.Equal(v.Shape, shape) {
		r.err = attune.Invalidf(name, "tensor %q has shape %v, config.json implies %v", name, v.Shape, shape)
		return v, false
	}
	return v, true
}

// mat returns the named [rows, cols] matrix in its stored precision.
func (r *reader) mat(name string, rows, cols int) kernels.Mat {
	v, ok := r.view(name, rows, cols)
	if !ok {
		return kernels.Mat{}
	}
	return r.matOf(v, rows, cols)
}

// matOf wraps a view whose shape is checked as a [rows, cols] matrix.
func (r *reader) matOf(v safetensors.View, rows, cols int) kernels.Mat {
	name := v.Name
	m := kernels.Mat{Rows: rows, Cols: cols}
	var err error
	switch v.DType {
	case safetensors.F32:
		m.DType = kernels.F32
		m.F32, err = v.F32()
	case safetensors.BF16:
		m.DType = kernels.BF16
		m.U16, err = v.U16()
	case safetensors.F16:
		m.DType = kernels.F16
		m.U16, err = v.U16()
	default:
		err = fmt.Errorf("dtype %s is not supported, want BF16, F16 or F32", v.DType)
	}
	if err != nil {
		r.err = attune.Invalidf(name, "tensor %q: %v", name, err)
	}
	return m
}

// vec returns the named vector of n values widened to f32, in memory of
// its own.
func (r *reader) vec(name string, n int) []float32 {
	v, ok := r.view(name, n)
	if !ok {
		return nil
	}
	m := r.matOf(v, 1, n)
	if r.err != nil {
		return nil
	}
	out := make([]float32, n)
	m.Row(out, 0)
	return out
}

// layer reads the weights of decoder layer i.
func (r *reader) layer(cfg Config, i int) Layer {
	C, I := cfg.HiddenSize, cfg.IntermediateSize
	q, kv := cfg.QDim(), cfg.KVDim()
	p := "model.layers." + strconv.Itoa(i) + "."
	return Layer{
		AttnNorm: r.vec(p+"input_layernorm.weight", C),
		Q:        r.mat(p+"self_attn.q_proj.weight", q, C),
		K:        r.mat(p+"self_attn.k_proj.weight", kv, C),
		V:        r.mat(p+"self_attn.v_proj.weight", kv, C),
		O:        r.mat(p+"self_attn.o_proj.weight", C, q),
		QBias:    r.vec(p+"self_attn.q_proj.bias", q),
		KBias:    r.vec(p+"self_attn.k_proj.bias", kv),
		VBias:    r.vec(p+"self_attn.v_proj.bias", kv),
		MLPNorm:  r.vec(p+"post_attention_layernorm.weight", C),
		Gate:     r.mat(p+"mlp.gate_proj.weight", I, C),
		Up:       r.mat(p+"mlp.up_proj.weight", I, C),
		Down:     r.mat(p+"mlp.down_proj.weight", C, I),
	}
}
