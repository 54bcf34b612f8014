package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"attune"
)

const tinyModel = "../../testdata/reference/qwen2-tiny"

func TestModelsImport(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()

	tests := []struct {
		name string
		args []string
		kind attune.Kind // of the error; KindInternal with ok set means success
		ok   bool
	}{
		{"copy", []string{tinyModel, "--id", "tiny", "--data-dir", data}, 0, true},
		{"link", []string{tinyModel, "--id", "tiny-linked", "--link", "--data-dir", data}, 0, true},
		{"same id again", []string{tinyModel, "--id", "tiny", "--data-dir", data}, attune.KindConflict, false},
		{"bad id", []string{tinyModel, "--id", "Tiny Model", "--data-dir", data}, attune.KindInvalid, false},
		{"not a model", []string{t.TempDir(), "--id", "empty", "--data-dir", data}, attune.KindInvalid, false},
	}
	for _, tt := range tests {
		io, _, _ := testIO()
		err := modelsImport(ctx, tt.args, io)
		if tt.ok && err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if !tt.ok && attune.ErrorKind(err) != tt.kind {
			t.Errorf("%s: got %v, want an error of kind %v", tt.name, err, tt.kind)
		}
	}

	// The copy holds the files; the link points at the source.
	copied := filepath.Join(data, "models", "tiny")
	if _, err := os.Stat(filepath.Join(copied, "model.safetensors")); err != nil {
		t.Errorf("copied model: %v", err)
	}
	if fi, err := os.Lstat(filepath.Join(data, "models", "tiny-linked")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("linked model: got %v, %v; want a symlink", fi, err)
	}
	if _, err := os.Stat(filepath.Join(data, "models", "empty")); !os.IsNotExist(err) {
		t.Errorf("a failed import left files: %v", err)
	}

	// list shows both.
	io, out, _ := testIO()
	if err := modelsList(ctx, []string{"--data-dir", data}, io); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tiny ", "tiny-linked", "true"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("models list: %q missing from\n%s", want, out)
		}
	}
}
