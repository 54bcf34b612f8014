package qwen2

import (
	"fmt"
	"testing"

	"attune/engine/kernels"
	"attune/internal/reftest"
)

// TestQuantizeQ8Coverage checks that after QuantizeQ8 every projection
// of every layer and the head take the integer product (int8 weights and
// activations), on each reference model: none is left in its stored
// precision or falls back to f32 activations.
func TestQuantizeQ8Coverage(t *testing.T) {
	for _, dir := range reftest.Dirs(t) {
		m, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		m.QuantizeQ8()
		mats := map[string]kernels.Mat{"head": m.Head}
		for i, l := range m.Layers {
			for name, w := range map[string]kernels.Mat{"q": l.Q, "k": l.K, "v": l.V, "o": l.O, "gate": l.Gate, "up": l.Up, "down": l.Down} {
				mats[fmt.Sprintf("layer %d %s", i, name)] = w
			}
		}
		for name, w := range mats {
			if !kernels.IntegerProduct(w) {
				t.Errorf("%s: %v [%d, %d] does not take the integer product", name, w.DType, w.Rows, w.Cols)
			}
		}
	}
}
