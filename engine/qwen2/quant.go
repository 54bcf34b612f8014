package qwen2

import (
	"strconv"

	"attune/engine/kernels"
)

// QuantizeQ8 switches the model to the fast mode: the weights of every
// projection and of the head are rounded to int8 per output row
// (kernels.Q8), and the matrix products then round their activations to
// int8 in blocks of 32 and multiply in integers (kernels.Linear). A
// decoded token reads about half the bytes it reads in bf16, and prefill
// runs on the CPU's integer multiply-add instructions. The logits move by
// about 1% of their largest value (the reference test states the bound
// it meets). The embedding lookup, norms, biases and attention are
// unchanged.
//
// As each weight is quantized, its file pages are evicted from resident
// memory, so the model ends up holding about a byte a parameter and never
// much more. Call QuantizeQ8 after Load and before the model is shared: it
// must not run concurrently with Forward. Calling it again does nothing.
func (m *Model) QuantizeQ8() {
	if m.Head.DType == kernels.Q8 {
		return
	}
	for i := range m.Layers {
		l := &m.Layers[i]
		p := "model.layers." + strconv.Itoa(i) + "."
		for _, w := range []struct {
			mat  *kernels.Mat
			name string
		}{
			{&l.Q, "self_attn.q_proj"}, {&l.K, "self_attn.k_proj"},
			{&l.V, "self_attn.v_proj"}, {&l.O, "self_attn.o_proj"},
			{&l.Gate, "mlp.gate_proj"}, {&l.Up, "mlp.up_proj"},
			{&l.Down, "mlp.down_proj"},
		} {
			*w.mat = kernels.QuantizeQ8(*w.mat)
			m.evict(p + w.name + ".weight")
		}
	}

	// The head; a tied one reads the whole embedding, whose pages go too
	// (lookups bring back the rows they read).
	m.Head = kernels.QuantizeQ8(m.Head)
	m.evict("model.embed_tokens.weight")
	if !m.Config.TieWordEmbeddings {
		m.evict("lm_head.weight")
	}
}

// evict drops a weight's file pages from resident memory. Failing to
// evict costs memory, not correctness, so errors are ignored.
func (m *Model) evict(name string) {
	if m.weights != nil {
		m.weights.Evict(name)
	}
}
