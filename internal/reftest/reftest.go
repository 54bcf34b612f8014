// Package reftest lists the reference directories that the engine's
// reference tests check: every directory under the repository's
// testdata/reference/ and every directory named in the environment
// variable ATTUNE_REFERENCE_DIRS (colon-separated). Each holds a Hugging
// Face model with reference.json and reference.safetensors computed by an
// independent PyTorch implementation.
package reftest

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Dirs returns the reference directories, failing t when there are none.
func Dirs(t testing.TB) []string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("reftest: cannot locate the repository")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "reference")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatalf("reftest: cannot list %s: %v", root, err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(root, e.Name()))
		}
	}
	for _, d := range strings.Split(os.Getenv("ATTUNE_REFERENCE_DIRS"), ":") {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	if len(dirs) == 0 {
		t.Fatal("reftest: no reference directories")
	}
	return dirs
}
