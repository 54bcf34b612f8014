package qwen2

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"attune"
	"attune/engine/kernels"
	"attune/engine/safetensors"
)

func TestParseConfigRejects(t *testing.T) {
	base := map[string]any{
		"architectures": []string{"Qwen2ForCausalLM"}, "model_type": "qwen2",
		"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100,
	}
	tests := []struct {
		field string
		value any
	}{
		{"model_type", "llama"},
		{"architectures", []string{"LlamaForCausalLM"}},
		{"hidden_size", 0},
		{"num_hidden_layers", -1},
		{"num_key_value_heads", 3},
		{"vocab_size", 0},
		{"head_dim", 7},
		{"rope_theta", -1.0},
		{"hidden_act", "gelu"},
		{"rope_scaling", map[string]any{"type": "yarn", "factor": 4}},
		{"use_sliding_window", true},
		{"eos_token_id", "</s>"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			c := map[string]any{}
			for k, v := range base {
				c[k] = v
			}
			c[tt.field] = tt.value
			b, _ := json.Marshal(c)
			_, err := ParseConfig(b)
			var ae *attune.Error
			if !errors.As(err, &ae) || ae.Field != tt.field {
				t.Errorf("ParseConfig with %s=%v: err %v, want an attune.Error naming %s", tt.field, tt.value, err, tt.field)
			}
		})
	}

	// Token ids may be lists; the first counts.
	for _, eos := range []any{151645, []int{151645, 151643}} {
		c := map[string]any{"eos_token_id": eos}
		for k, v := range base {
			c[k] = v
		}
		b, _ := json.Marshal(c)
		got, err := ParseConfig(b)
		if err != nil || got.EOSTokenID != 151645 {
			t.Errorf("eos_token_id %v: got %d, %v; want 151645", eos, got.EOSTokenID, err)
		}
	}

	// The base config is valid, and absent fields take HF's defaults.
	b, _ := json.Marshal(base)
	c, err := ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if c.BOSTokenID != -1 || c.EOSTokenID != -1 {
		t.Errorf("absent bos/eos: %d %d, want -1 -1", c.BOSTokenID, c.EOSTokenID)
	}
	if c.HeadDim != 8 || c.RopeTheta != 10000 || c.MaxPositionEmbeddings != 32768 || c.RMSNormEps != 1e-6 {
		t.Errorf("defaults: head_dim %d rope_theta %v max_pos %d eps %v", c.HeadDim, c.RopeTheta, c.MaxPositionEmbeddings, c.RMSNormEps)
	}
}

// rewriteWeights loads dir's model.safetensors, lets edit change the
// tensor list, and writes it back.
func rewriteWeights(t *testing.T, dir string, edit func([]safetensors.Tensor) []safetensors.Tensor) {
	t.Helper()
	path := filepath.Join(dir, safetensors.SingleName)
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for _, name := range f.Names() {
		v, _ := f.Tensor(name)
		ts = append(ts, safetensors.Tensor{Name: name, DType: v.DType, Shape: v.Shape, Data: bytes.Clone(v.Data)})
	}
	f.Close()
	if err := safetensors.WriteFile(path, edit(ts), nil); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRejects(t *testing.T) {
	without := func(name string) func([]safetensors.Tensor) []safetensors.Tensor {
		return func(ts []safetensors.Tensor) []safetensors.Tensor {
			var out []safetensors.Tensor
			for _, x := range ts {
				if x.Name != name {
					out = append(out, x)
				}
			}
			return out
		}
	}
	reshape := func(name string, shape ...int) func([]safetensors.Tensor) []safetensors.Tensor {
		return func(ts []safetensors.Tensor) []safetensors.Tensor {
			for i := range ts {
				if ts[i].Name == name {
					ts[i].Shape = shape
				}
			}
			return ts
		}
	}
	extra := func(ts []safetensors.Tensor) []safetensors.Tensor {
		return append(ts, safetensors.F32Tensor("model.layers.2.input_layernorm.weight", []int{1}, []float32{1}))
	}
	asI8 := func(ts []safetensors.Tensor) []safetensors.Tensor {
		for i := range ts {
			if ts[i].Name == "model.norm.weight" {
				ts[i] = safetensors.Tensor{Name: ts[i].Name, DType: safetensors.I8, Shape: []int{32}, Data: make([]byte, 32)}
			}
		}
		return ts
	}
	tests := []struct {
		name string
		edit func([]safetensors.Tensor) []safetensors.Tensor
		want string
	}{
		{"missing tensor", without("model.layers.1.mlp.up_proj.weight"), "model.layers.1.mlp.up_proj.weight"},
		{"missing untied head", without("lm_head.weight"), "lm_head.weight"},
		{"wrong shape", reshape("model.layers.0.self_attn.k_proj.weight", 32, 16), "model.layers.0.self_attn.k_proj.weight"},
		{"extra layer", extra, "model.layers.2.input_layernorm.weight"},
		{"bad dtype", asI8, "model.norm.weight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := writeRandom(dir, testConfig(), 1, safetensors.BF16, false); err != nil {
				t.Fatal(err)
			}
			rewriteWeights(t, dir, tt.edit)
			m, err := Load(dir)
			if err == nil {
				m.Close()
				t.Fatal("Load: no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load: %v, want an error naming %s", err, tt.want)
			}
		})
	}

	t.Run("truncated", func(t *testing.T) {
		dir := t.TempDir()
		if err := writeRandom(dir, testConfig(), 1, safetensors.BF16, false); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, safetensors.SingleName)
		st, _ := os.Stat(path)
		if err := os.Truncate(path, st.Size()-10); err != nil {
			t.Fatal(err)
		}
		if m, err := Load(dir); err == nil || !strings.Contains(err.Error(), "truncated") {
			if m != nil {
				m.Close()
			}
			t.Errorf("Load of a truncated file: %v, want an error saying truncated", err)
		}
	})
}

func TestWriteRandom(t *testing.T) {
	cfg := testConfig()
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	for i, seed := range []uint64{5, 5, 6} {
		if err := writeRandom(dirs[i], cfg, seed, safetensors.BF16, i == 0); err != nil {
			t.Fatal(err)
		}
	}
	read := func(dir string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, safetensors.SingleName))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if !bytes.Equal(read(dirs[0]), read(dirs[1])) {
		t.Error("the same seed wrote different weights")
	}
	if bytes.Equal(read(dirs[0]), read(dirs[2])) {
		t.Error("different seeds wrote the same weights")
	}
	for _, name := range []string{"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"} {
		if _, err := os.Stat(filepath.Join(dirs[0], name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	// The written config reads back as cfg, and the weights have the
	// distribution asked for: stdev 0.02 for matrices, mean 1 for norms.
	m, err := Load(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Config.HiddenSize != cfg.HiddenSize || m.Config.TieWordEmbeddings || m.Config.VocabSize != cfg.VocabSize {
		t.Errorf("config read back as %+v", m.Config)
	}
	mean, sd := matStats(m.Embed)
	if !(math.Abs(mean) < 2e-3 && math.Abs(sd-0.02) < 1e-3) {
		t.Errorf("embedding mean %.4f stdev %.4f, want 0 and 0.02", mean, sd)
	}
	mean, sd = matStats(kernels.NewMatF32(1, len(m.Layers[0].MLPNorm), m.Layers[0].MLPNorm))
	if !(math.Abs(mean-1) < 0.03 && sd > 0.02 && sd < 0.08) {
		t.Errorf("norm mean %.4f stdev %.4f, want 1 and 0.05", mean, sd)
	}
}

func TestShapes(t *testing.T) {
	tests := []struct {
		shape  string
		params int64 // with the tied head counted once
	}{
		{"tiny", 151936*32 + 2*(2*32+32*32+32+2*(16*32+16)+32*32+3*32*64) + 32},
		{"qwen2.5-0.5b", 494032768}, // Qwen2.5-0.5B-Instruct's count
	}
	for _, tt := range tests {
		cfg, err := Shape(tt.shape)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", tt.shape, err)
		}
		if got := ParamCount(cfg); got != tt.params {
			t.Errorf("%s: %d parameters, want %d", tt.shape, got, tt.params)
		}
	}
	if _, err := Shape("qwen9"); err == nil {
		t.Error("Shape of an unknown name: no error")
	}
}

func TestF32ToF16(t *testing.T) {
	for _, f := range []float32{0, 1, -2.5, 0.02, 1e-4, 65504, 3.14159, -0.0001234} {
		got := kernels.F16ToF32(f32ToF16(f))
		if d := math.Abs(float64(got - f)); d > math.Abs(float64(f))/1024 {
			t.Errorf("f16 round trip of %g gave %g", f, got)
		}
	}
	// Every half that is not NaN survives a round trip through f32.
	for h := range 1 << 16 {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue
		}
		if got := f32ToF16(kernels.F16ToF32(uint16(h))); got != uint16(h) {
			t.Fatalf("f32ToF16(F16ToF32(%#04x)) = %#04x", h, got)
		}
	}

	// Subnormal halves are steps of 2^-24; the rounding is to the nearest.
	for _, f := range []float32{1e-6, -3e-5, 6e-5, 0x1p-24, 0x1p-25 * 1.01} {
		got := kernels.F16ToF32(f32ToF16(f))
		if d := math.Abs(float64(got - f)); d > 0x1p-25 {
			t.Errorf("f16 round trip of subnormal %g gave %g", f, got)
		}
	}
	if got := f32ToF16(1e6); got != 0x7c00 {
		t.Errorf("f32ToF16(1e6) = %#x, want +inf", got)
	}
}

// matStats returns the mean and standard deviation of m's values.
func matStats(m kernels.Mat) (mean, sd float64) {
	row := make([]float32, m.Cols)
	var s, ss float64
	for r := range m.Rows {
		m.Row(row, r)
		for _, v := range row {
			s += float64(v)
			ss += float64(v) * float64(v)
		}
	}
	n := float64(m.Rows * m.Cols)
	mean = s / n
	return mean, math.Sqrt(ss/n - mean*mean)
}

func TestLoadSharded(t *testing.T) {
	dir := t.TempDir()
	if err := writeRandom(dir, testConfig(), 1, safetensors.BF16, false); err != nil {
		t.Fatal(err)
	}
	single, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer single.Close()

	// Split the weights over two shards named by an index, as Hugging Face
	// does for large checkpoints, in a second directory.
	sharded := t.TempDir()
	cfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	os.WriteFile(filepath.Join(sharded, "config.json"), cfg, 0o644)
	f, err := safetensors.Open(filepath.Join(dir, safetensors.SingleName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	shards := [2][]safetensors.Tensor{}
	weightMap := map[string]string{}
	for i, name := range f.Names() {
		v, _ := f.Tensor(name)
		shards[i%2] = append(shards[i%2], safetensors.Tensor{Name: name, DType: v.DType, Shape: v.Shape, Data: v.Data})
		weightMap[name] = []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i%2]
	}
	for i, ts := range shards {
		name := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i]
		if err := safetensors.WriteFile(filepath.Join(sharded, name), ts, nil); err != nil {
			t.Fatal(err)
		}
	}
	index, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": weightMap})
	os.WriteFile(filepath.Join(sharded, safetensors.IndexName), index, 0o644)

	m, err := Load(sharded)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ids := []int{1, 2, 3, 250}
	want, _ := single.Logits(single.NewCache(), ids)
	got, err := m.Logits(m.NewCache(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(got, want); !(d <= orderTol) {
		t.Errorf("sharded checkpoint: logits differ by %.3g", d)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"model_type":"qwen2","hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":100}`))
	f.Add([]byte(`{"model_type":"qwen2","eos_token_id":[1,2],"head_dim":6,"hidden_size":1,"intermediate_size":1,"num_hidden_layers":1,"num_attention_heads":3,"vocab_size":1}`))
	f.Add([]byte(`{"model_type":"llama"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		// Whatever is accepted can be run: its shapes are consistent.
		if c.Validate() != nil || c.QDim() <= 0 || c.KVDim() <= 0 ||
			c.NumAttentionHeads%c.NumKeyValueHeads != 0 || c.HeadDim%2 != 0 {
			t.Fatalf("accepted an unrunnable config %+v", c)
		}
	})
}
