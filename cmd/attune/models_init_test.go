package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"attune"
	"attune/engine/qwen2"
)

func TestModelsInit(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "tiny")
	io, stdout, _ := testIO()
	if err := modelsInit(ctx, []string{"--shape", "tiny", "--seed", "3", "--out", out}, io); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "wrote "+out) {
		t.Errorf("output %q does not say where the model went", stdout.String())
	}
	m, err := qwen2.Load(out)
	if err != nil {
		t.Fatalf("the written model does not load: %v", err)
	}
	defer m.Close()
	if want, _ := qwen2.Shape("tiny"); m.Config.HiddenSize != want.HiddenSize || m.Embed.DType.String() != "BF16" {
		t.Errorf("loaded hidden %d dtype %s, want %d BF16", m.Config.HiddenSize, m.Embed.DType, want.HiddenSize)
	}

	tests := []struct {
		name string
		args []string
		kind attune.Kind
	}{
		{"unknown shape", []string{"--shape", "huge", "--out", t.TempDir()}, attune.KindInvalid},
		{"bad dtype", []string{"--shape", "tiny", "--dtype", "q4", "--out", t.TempDir()}, attune.KindInvalid},
		{"no out", []string{"--shape", "tiny"}, attune.KindInvalid},
		{"existing model", []string{"--shape", "tiny", "--out", out}, attune.KindConflict},
	}
	for _, tt := range tests {
		io, _, _ := testIO()
		err := modelsInit(ctx, tt.args, io)
		if err == nil || attune.ErrorKind(err) != tt.kind {
			t.Errorf("%s: err %v, want one of kind %v", tt.name, err, tt.kind)
		}
	}
}
