// Package qwen2 loads and runs models of the Qwen2 architecture (Qwen2 and
// Qwen2.5, 0.5B to 7B): the config, the weights in their stored precision,
// and the forward pass with a KV cache.
//
// Load maps a Hugging Face checkpoint directory; weights stay in the file's
// bf16, f16 or f32 and are widened inside the kernels. Inference goes
// through Model.Forward, which takes one Step per sequence: the sequence's
// Cache, its new tokens, and which outputs it wants (the last position's
// logits by default, every position's, none, and optionally the final-norm
// hidden states for embeddings). One call can prefill several prompts and
// decode a token for other sequences; a Cache can be rewound (Truncate) or
// copied (Clone) so that a prompt is computed once for several
// continuations. An Adapter (LoRA) can be attached per Step.
//
// InitRandom and WriteRandom write random-initialised checkpoints of named
// shapes for tests and benchmarks.
package qwen2

import (
	"encoding/json"
	"sync"

	"attune/engine/kernels"
	"attune/engine/safetensors"
)

// Config is the part of a Hugging Face config.json that the Qwen2
// architecture uses.
type Config struct {
	Architectures         []string `json:"architectures"`
	ModelType             string   `json:"model_type"`
	HiddenSize            int      `json:"hidden_size"`
	IntermediateSize      int      `json:"intermediate_size"`
	NumHiddenLayers       int      `json:"num_hidden_layers"`
	NumAttentionHeads     int      `json:"num_attention_heads"`
	NumKeyValueHeads      int      `json:"num_key_value_heads"`
	HeadDim               int      `json:"head_dim,omitempty"` // hidden/heads when absent
	VocabSize             int      `json:"vocab_size"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	RopeTheta             float64  `json:"rope_theta"`
	RMSNormEps            float64  `json:"rms_norm_eps"`
	TieWordEmbeddings     bool     `json:"tie_word_embeddings"`
	HiddenAct             string   `json:"hidden_act"`
	TorchDtype            string   `json:"torch_dtype"`
	BOSTokenID            int      `json:"bos_token_id"` // -1 when absent
	EOSTokenID            int      `json:"eos_token_id"` // the first when a list; -1 when absent

	// RopeScaling and UseSlidingWindow are read only to refuse what the
	// engine does not implement.
	RopeScaling      json.RawMessage `json:"rope_scaling,omitempty"`
	UseSlidingWindow bool            `json:"use_sliding_window,omitempty"`
}

// Layer holds the weights of one decoder layer. Linear weights are
// [out, in] in their stored precision; norms and biases are widened to f32
// at load (they are small).
type Layer struct {
	AttnNorm []float32   // [C]
	Q        kernels.Mat // [heads*headDim, C]
	K, V     kernels.Mat // [kvHeads*headDim, C]
	O        kernels.Mat // [C, heads*headDim]
	QBias    []float32   // [heads*headDim]
	KBias    []float32   // [kvHeads*headDim]
	VBias    []float32   // [kvHeads*headDim]
	MLPNorm  []float32   // [C]
	Gate, Up kernels.Mat // [I, C]
	Down     kernels.Mat // [C, I]
}

// Model is a loaded Qwen2 model: its config and its weights. A Model is
// read-only once loaded and safe for concurrent use.
type Model struct {
	Config Config
	Embed  kernels.Mat // [V, C]
	Layers []Layer
	Norm   []float32   // [C]
	Head   kernels.Mat // [V, C]; the same matrix as Embed when tied

	weights *safetensors.Dir // the mapping the matrices point into
	scratch sync.Pool        // *scratch buffers reused across Forward calls
}

// Target names a linear projection inside a decoder layer, as PEFT names
// its LoRA target modules.
type Target string

// The projections a LoRA adapter can target.
const (
	TargetQ    Target = "q_proj"
	TargetK    Target = "k_proj"
	TargetV    Target = "v_proj"
	TargetO    Target = "o_proj"
	TargetGate Target = "gate_proj"
	TargetUp   Target = "up_proj"
	TargetDown Target = "down_proj"
)

// Adapter adds a low-rank update to the projections of a model during a
// forward pass. Apply adds the adapter's contribution for (layer, target) to
// y: [T, out], given that projection's input x: [T, in]; it does nothing for
// a projection it does not adapt. engine/lora implements it.
type Adapter interface {
	Apply(layer int, target Target, y, x []float32, T int)
}
