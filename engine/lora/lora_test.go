package lora

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"attune"
	"attune/engine/kernels"
	"attune/engine/qwen2"
	"attune/engine/safetensors"
)

func shape() qwen2.Config {
	return qwen2.Config{HiddenSize: 16, IntermediateSize: 24, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, VocabSize: 40}
}

func TestNewInit(t *testing.T) {
	a, err := New(Config{Rank: 4, Alpha: 8}, shape(), 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(Config{Rank: 4, Alpha: 8}, shape(), 1)
	c, _ := New(Config{Rank: 4, Alpha: 8}, shape(), 2)
	same, differ := true, false
	a.Each(func(l int, tg qwen2.Target, f *Factors) {
		bound := float32(1 / math.Sqrt(float64(f.In)))
		for i, v := range f.A {
			if v < -bound || v > bound {
				t.Fatalf("layer %d %s: A[%d] = %g outside ±%g", l, tg, i, v, bound)
			}
			same = same && v == b.Factors(l, tg).A[i]
			differ = differ || v != c.Factors(l, tg).A[i]
		}
		for _, v := range f.B {
			if v != 0 {
				t.Fatalf("layer %d %s: B is not zero", l, tg)
			}
		}
	})
	if !same || !differ {
		t.Errorf("same seed same factors: %v; other seed other factors: %v", same, differ)
	}
	if got, want := a.NumParams(), 2*(4*16+16*4+2*(4*16+8*4)+(4*16+16*4)+2*(4*16+24*4)+(4*24+16*4)); got != want {
		t.Errorf("NumParams = %d, want %d", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		field string
		cfg   Config
	}{
		{"rank", Config{Rank: -1, Alpha: 1}},
		{"alpha", Config{Rank: 1, Alpha: -1}},
		{"dropout", Config{Rank: 1, Alpha: 1, Dropout: 1}},
		{"targets", Config{Rank: 1, Alpha: 1, Targets: []qwen2.Target{"embed_tokens"}}},
	}
	for _, tt := range tests {
		var e *attune.Error
		if err := tt.cfg.Validate(); !errors.As(err, &e) || e.Field != tt.field {
			t.Errorf("%+v: Validate() = %v, want an error naming %q", tt.cfg, err, tt.field)
		}
	}
}

// TestLoadForeign loads adapters as other tools write them (bf16 factors,
// PEFT's ".default" names) and refuses what attune cannot apply.
func TestLoadForeign(t *testing.T) {
	mc := shape()
	write := func(t *testing.T, config string, tensors []safetensors.Tensor) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ConfigName), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := safetensors.WriteFile(filepath.Join(dir, WeightsName), tensors, nil); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	bits := func(n int, v float32) []uint16 {
		b := make([]uint16, n)
		for i := range b {
			b[i] = kernels.F32ToBF16(v)
		}
		return b
	}
	good := []safetensors.Tensor{
		safetensors.BF16Tensor("base_model.model.model.layers.1.self_attn.v_proj.lora_A.default.weight", []int{2, 16}, bits(32, 0.5)),
		safetensors.BF16Tensor("base_model.model.model.layers.1.self_attn.v_proj.lora_B.default.weight", []int{8, 2}, bits(16, -2)),
	}
	cfg := `{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["v_proj"], "bias": "none"}`

	a, err := Load(write(t, cfg, good), mc)
	if err != nil {
		t.Fatal(err)
	}
	f := a.Factors(1, qwen2.TargetV)
	if f == nil || f.A[5] != 0.5 || f.B[3] != -2 || a.Config.Scaling() != 2 {
		t.Fatalf("loaded adapter: %+v", a.Config)
	}
	// A layer the file leaves out gets zero factors: no update.
	if f0 := a.Factors(0, qwen2.TargetV); f0.A[0] != 0 || f0.B[0] != 0 || a.Factors(0, qwen2.TargetQ) != nil {
		t.Errorf("layer 0: %+v, want zero v_proj factors and no q_proj", f0)
	}

	bad := []struct{ name, config, want string }{
		{"dora", strings.Replace(cfg, `"bias"`, `"use_dora": true, "bias"`, 1), "DoRA"},
		{"fan_in_fan_out", strings.Replace(cfg, `"bias"`, `"fan_in_fan_out": true, "bias"`, 1), "fan_in_fan_out"},
		{"not lora", strings.Replace(cfg, "LORA", "IA3", 1), "IA3"},
		{"rank", strings.Replace(cfg, `"r": 2`, `"r": 3`, 1), "shape"},
		{"json", "{", "JSON"},
	}
	for _, tt := range bad {
		_, err := Load(write(t, tt.config, good), mc)
		if err == nil || !strings.Contains(err.Error(), tt.want) || attune.ErrorKind(err) != attune.KindInvalid {
			t.Errorf("%s: err = %v, want an invalid error mentioning %q", tt.name, err, tt.want)
		}
	}
	extra := append(good, safetensors.F32Tensor("base_model.model.lm_head.weight", []int{1}, []float32{0}))
	if _, err := Load(write(t, cfg, extra), mc); err == nil || !strings.Contains(err.Error(), "lm_head") {
		t.Errorf("extra tensor: err = %v, want one naming it", err)
	}
}

// TestF16Rounding checks f32ToF16 against the exact widening: every f16
// value round-trips, and values between two neighbours go to the nearer.
func TestF16Rounding(t *testing.T) {
	for h := range uint32(1 << 16) {
		v := kernels.F16ToF32(uint16(h))
		if v != v {
			continue
		}
		if got := f32ToF16(v); got != uint16(h) && !(v == 0 && got&0x7fff == 0) {
			t.Fatalf("f32ToF16(%g) = %#04x, want %#04x", v, got, h)
		}
	}
	tests := []struct {
		in   float32
		want uint16
	}{
		{1 + 1.0/2048, 0x3c00}, // a tie rounds to even
		{1 + 3.0/2048, 0x3c02}, // a tie rounds to even, upwards
		{1 + 1.5/2048, 0x3c01}, // above the tie
		{70000, 0x7c00},        // overflow
		{1e-8, 0x0000},         // underflow
		{-3e-5, 0x81f7},        // subnormal, nearest
	}
	for _, tt := range tests {
		if got := f32ToF16(tt.in); got != tt.want {
			t.Errorf("f32ToF16(%g) = %#04x, want %#04x", tt.in, got, tt.want)
		}
	}
}
