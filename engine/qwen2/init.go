package qwen2

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"unsafe"

	"attune/engine/kernels"
	"attune/engine/safetensors"
	"attune/engine/tokenizer"
)

// shapes are the named model shapes of random initialisation. All use the
// Qwen2.5 vocabulary and tokenizer and tie the head to the embedding.
var shapes = map[string]Config{
	// tiny is the shape of testdata/reference/qwen2-tiny.
	"tiny": {
		HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, MaxPositionEmbeddings: 512,
	},
	// small is big enough to learn something in tests, small enough to
	// train on a laptop CPU in seconds.
	"small": {
		HiddenSize: 256, IntermediateSize: 1024, NumHiddenLayers: 4,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, MaxPositionEmbeddings: 32768,
	},
	// qwen2.5-0.5b has the dimensions of Qwen2.5-0.5B-Instruct.
	"qwen2.5-0.5b": {
		HiddenSize: 896, IntermediateSize: 4864, NumHiddenLayers: 24,
		NumAttentionHeads: 14, NumKeyValueHeads: 2, MaxPositionEmbeddings: 32768,
	},
}

// ShapeNames returns the names Shape accepts, sorted.
func ShapeNames() []string {
	names := make([]string, 0, len(shapes))
	for n := range shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Shape returns the config of a named shape ("tiny", "small",
// "qwen2.5-0.5b").
func Shape(name string) (Config, error) {
	c, ok := shapes[name]
	if !ok {
		return Config{}, fmt.Errorf("qwen2: unknown shape %q, want one of %v", name, ShapeNames())
	}
	c.Architectures = []string{Architecture}
	c.ModelType = "qwen2"
	c.VocabSize = 151936
	c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	c.RopeTheta = 1e6
	c.RMSNormEps = 1e-6
	c.TieWordEmbeddings = true
	c.HiddenAct = "silu"
	c.TorchDtype = "bfloat16"
	c.BOSTokenID = 151643
	c.EOSTokenID = 151645
	return c, nil
}

// InitRandom writes a random-initialised model of the named shape to dir
// in bf16, with the Qwen2.5 tokenizer: see WriteRandom.
func InitRandom(dir, shape string, seed uint64) error {
	cfg, err := Shape(shape)
	if err != nil {
		return err
	}
	return WriteRandom(dir, cfg, seed, safetensors.BF16)
}

// WriteRandom writes a Hugging Face directory for cfg with random weights
// to dir (created if needed): config.json, generation_config.json,
// model.safetensors in dtype (BF16, F16 or F32), tokenizer.json and
// tokenizer_config.json. Linear weights, embeddings and biases are drawn
// from N(0, 0.02), norm weights from 1 + N(0, 0.05), all determined by
// seed, except the final norm's, which centre on FinalNormScale(cfg). The weights are streamed to disk, so memory stays small whatever
// the shape.
func WriteRandom(dir string, cfg Config, seed uint64, dtype safetensors.DType) error {
	return writeRandom(dir, cfg, seed, dtype, true)
}

// writeRandom is WriteRandom, without the tokenizer files unless
// withTokenizer (tests of the engine alone skip their 11 MB).
func writeRandom(dir string, cfg Config, seed uint64, dtype safetensors.DType, withTokenizer bool) error {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	if dtype != safetensors.BF16 && dtype != safetensors.F16 && dtype != safetensors.F32 {
		return fmt.Errorf("qwen2: cannot write weights as %s, want BF16, F16 or F32", dtype)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("qwen2: cannot create %s: %w", dir, err)
	}
	if err := writeConfigs(dir, cfg, dtype); err != nil {
		return err
	}
	if withTokenizer {
		if err := writeTokenizer(dir); err != nil {
			return err
		}
	}
	return writeRandomWeights(filepath.Join(dir, safetensors.SingleName), cfg, seed, dtype)
}

// writeConfigs writes config.json and generation_config.json as Hugging
// Face's Qwen2.5 checkpoints have them.
func writeConfigs(dir string, cfg Config, dtype safetensors.DType) error {
	torchDtype := map[safetensors.DType]string{
		safetensors.BF16: "bfloat16", safetensors.F16: "float16", safetensors.F32: "float32",
	}[dtype]
	config := map[string]any{
		"architectures":           []string{Architecture},
		"model_type":              "qwen2",
		"attention_dropout":       0.0,
		"bos_token_id":            cfg.BOSTokenID,
		"eos_token_id":            cfg.EOSTokenID,
		"hidden_act":              cfg.HiddenAct,
		"hidden_size":             cfg.HiddenSize,
		"initializer_range":       0.02,
		"intermediate_size":       cfg.IntermediateSize,
		"max_position_embeddings": cfg.MaxPositionEmbeddings,
		"max_window_layers":       cfg.NumHiddenLayers,
		"num_attention_heads":     cfg.NumAttentionHeads,
		"num_hidden_layers":       cfg.NumHiddenLayers,
		"num_key_value_heads":     cfg.NumKeyValueHeads,
		"rms_norm_eps":            cfg.RMSNormEps,
		"rope_scaling":            nil,
		"rope_theta":              cfg.RopeTheta,
		"sliding_window":          cfg.MaxPositionEmbeddings,
		"tie_word_embeddings":     cfg.TieWordEmbeddings,
		"torch_dtype":             torchDtype,
		"use_cache":               true,
		"use_sliding_window":      false,
		"vocab_size":              cfg.VocabSize,
	}
	if cfg.HeadDim != cfg.HiddenSize/cfg.NumAttentionHeads {
		config["head_dim"] = cfg.HeadDim
	}
	generation := map[string]any{
		"bos_token_id":       cfg.BOSTokenID,
		"pad_token_id":       cfg.BOSTokenID,
		"eos_token_id":       []int{cfg.EOSTokenID, cfg.BOSTokenID},
		"do_sample":          true,
		"repetition_penalty": 1.1,
		"temperature":        0.7,
		"top_p":              0.8,
		"top_k":              20,
	}
	for name, v := range map[string]any{"config.json": config, "generation_config.json": generation} {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("qwen2: cannot encode %s: %w", name, err)
		}
		if err := writeFileAtomic(filepath.Join(dir, name), append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// writeTokenizer writes the embedded Qwen2.5 tokenizer files.
func writeTokenizer(dir string) error {
	tok, tokConfig, err := tokenizer.Qwen25Files()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "tokenizer.json"), tok); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "tokenizer_config.json"), tokConfig)
}

// writeFileAtomic writes b to path through a temporary file and a rename.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("qwen2: cannot write %s: %w", path, err)
	}
	err = f.Chmod(0o644)
	if err == nil {
		_, err = f.Write(b)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("qwen2: cannot write %s: %w", path, err)
	}
	return nil
}

// randomTensor is one tensor of a random checkpoint and its distribution.
type randomTensor struct {
	name        string
	shape       []int
	mean, stdev float64
}

// FinalNormScale is the mean of a random model's final norm weights:
// 1024/hidden, and at least 1. With N(0, 0.02) embeddings tied to the head,
// a state normalised to norm √C·w reaches a logit of at most about
// 0.02·C·w; at w = 1 and C = 256 that is 5, against ln(151936) ≈ 12 for the
// rest of the vocabulary, so no token could ever pass 0.2% probability, and
// LoRA, which trains neither the norm nor the embeddings, could not teach
// such a model anything it would say with confidence. At 1024/C the bound
// is about 20, as in a trained model's head, while an untrained model's
// random logits stay spread and its answers unsure. The 0.5B shape keeps
// a scale near 1.
func FinalNormScale(cfg Config) float64 {
	return max(1, 1024/float64(cfg.HiddenSize))
}

// randomTensors lists the tensors of cfg with HF names, in file order.
func randomTensors(cfg Config) []randomTensor {
	C, I, V := cfg.HiddenSize, cfg.IntermediateSize, cfg.VocabSize
	q, kv := cfg.QDim(), cfg.KVDim()
	w := func(name string, shape ...int) randomTensor { return randomTensor{name, shape, 0, 0.02} }
	norm := func(name string) randomTensor { return randomTensor{name, []int{C}, 1, 0.05} }

	ts := []randomTensor{w("model.embed_tokens.weight", V, C)}
	for l := range cfg.NumHiddenLayers {
		p := "model.layers." + strconv.Itoa(l) + "."
		ts = append(ts,
			norm(p+"input_layernorm.weight"),
			w(p+"self_attn.q_proj.weight", q, C), w(p+"self_attn.q_proj.bias", q),
			w(p+"self_attn.k_proj.weight", kv, C), w(p+"self_attn.k_proj.bias", kv),
			w(p+"self_attn.v_proj.weight", kv, C), w(p+"self_attn.v_proj.bias", kv),
			w(p+"self_attn.o_proj.weight", C, q),
			norm(p+"post_attention_layernorm.weight"),
			w(p+"mlp.gate_proj.weight", I, C), w(p+"mlp.up_proj.weight", I, C),
			w(p+"mlp.down_proj.weight", C, I),
		)
	}
	fs := FinalNormScale(cfg)
	ts = append(ts, randomTensor{"model.norm.weight", []int{C}, fs, 0.05 * fs})
	if !cfg.TieWordEmbeddings {
		ts = append(ts, w("lm_head.weight", V, C))
	}
	return ts
}

// randomChunk is the number of values drawn from one generator. Each chunk
// of each tensor has its own seeded generator, so chunks can be drawn in
// parallel and the result does not depend on the number of cores.
const randomChunk = 1 << 20

// writeRandomWeights streams the random tensors of cfg to path.
func writeRandomWeights(path string, cfg Config, seed uint64, dtype safetensors.DType) error {
	ts := randomTensors(cfg)
	infos := make([]safetensors.TensorInfo, len(ts))
	for i, t := range ts {
		infos[i] = safetensors.TensorInfo{Name: t.name, DType: dtype, Shape: t.shape}
	}
	w, err := safetensors.Create(path, infos, map[string]string{"format": "pt"})
	if err != nil {
		return fmt.Errorf("qwen2: %w", err)
	}

	workers := runtime.GOMAXPROCS(0)
	bufs := make([][]byte, workers)
	for ti, t := range ts {
		n := int(infos[ti].Elems())
		chunks := (n + randomChunk - 1) / randomChunk

		// Draw up to one chunk per worker at once, then write them in order.
		for c0 := 0; c0 < chunks; c0 += workers {
			var wg sync.WaitGroup
			for j := 0; j < workers && c0+j < chunks; j++ {
				c := c0 + j
				lo, hi := c*randomChunk, min(n, (c+1)*randomChunk)
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(seed, uint64(ti)<<32|uint64(c)))
					bufs[j] = drawChunk(bufs[j], rng, hi-lo, t.mean, t.stdev, dtype)
				})
			}
			wg.Wait()
			for j := 0; j < workers && c0+j < chunks; j++ {
				if _, err := w.Write(bufs[j]); err != nil {
					w.Abort()
					return fmt.Errorf("qwen2: %w", err)
				}
			}
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("qwen2: %w", err)
	}
	return nil
}

// drawChunk fills buf with n values ~ N(mean, stdev) encoded as dtype,
// little-endian.
func drawChunk(buf []byte, rng *rand.Rand, n int, mean, stdev float64, dtype safetensors.DType) []byte {
	size := dtype.Size()
	if cap(buf) < n*size {
		buf = make([]byte, n*size)
	}
	buf = buf[:n*size]
	switch dtype {
	case safetensors.F32:
		out := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(buf))), n)
		for i := range out {
			out[i] = float32(mean + stdev*rng.NormFloat64())
		}
	case safetensors.BF16, safetensors.F16:
		out := unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(buf))), n)
		narrow := kernels.F32ToBF16
		if dtype == safetensors.F16 {
			narrow = f32ToF16
		}
		for i := range out {
			out[i] = narrow(float32(mean + stdev*rng.NormFloat64()))
		}
	}
	return buf
}

// f32ToF16 rounds f to the nearest IEEE half, ties to even, subnormals
// included; values past the half range become infinity. NaN is not
// expected (random initialisation draws none) and becomes infinity.
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case exp >= 31:
		return sign | 0x7c00
	case exp < -10:
		return sign // below half the smallest subnormal
	case exp <= 0:
		// A subnormal half: the 24-bit significand shifted into 10 bits.
		return sign | uint16(roundShift(mant|0x800000, uint32(14-exp)))
	}
	// A normal half: the 23-bit mantissa rounded to 10 bits; a carry rolls
	// into the exponent, which is the right result.
	return sign | uint16(uint32(exp)<<10+roundShift(mant, 13))
}

// roundShift returns m >> s rounded to nearest, ties to even.
func roundShift(m, s uint32) uint32 {
	h, rest, half := m>>s, m&(1<<s-1), uint32(1)<<(s-1)
	if rest > half || (rest == half && h&1 == 1) {
		h++
	}
	return h
}

// ParamCount returns the number of parameters of a model of cfg, counting
// a tied head once.
func ParamCount(cfg Config) int64 {
	var n int64
	for _, t := range randomTensors(cfg) {
		p := int64(1)
		for _, d := range t.shape {
			p *= int64(d)
		}
		n += p
	}
	return n
}
