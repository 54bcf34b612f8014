package qwen2

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"attune"
)

// Architecture is the Hugging Face class name of the models this package
// runs.
const Architecture = "Qwen2ForCausalLM"

// LoadConfig reads dir/config.json, fills in the defaults Hugging Face's
// Qwen2Config uses for absent fields, and validates it. A config of another
// architecture is refused.
func LoadConfig(dir string) (Config, error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return Config{}, fmt.Errorf("qwen2: cannot read config: %w", err)
	}
	return ParseConfig(b)
}

// ParseConfig parses the contents of a config.json, fills in defaults and
// validates it.
func ParseConfig(b []byte) (Config, error) {
	// bos_token_id and eos_token_id are a number or, in some checkpoints,
	// a list of numbers (the first is kept) or null.
	var raw struct {
		Config
		BOS json.RawMessage `json:"bos_token_id"`
		EOS json.RawMessage `json:"eos_token_id"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Config{}, attune.Invalidf("config.json", "qwen2: config.json is not valid: %v", err)
	}
	c := raw.Config
	var err error
	if c.BOSTokenID, err = tokenID("bos_token_id", raw.BOS); err != nil {
		return Config{}, err
	}
	if c.EOSTokenID, err = tokenID("eos_token_id", raw.EOS); err != nil {
		return Config{}, err
	}
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// tokenID reads a token id field that may be a number, a list of numbers
// (the first counts) or absent (-1).
func tokenID(field string, raw json.RawMessage) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return -1, nil
	}
	var id int
	if err := json.Unmarshal(raw, &id); err == nil {
		return id, nil
	}
	var ids []int
	if err := json.Unmarshal(raw, &ids); err != nil || len(ids) == 0 {
		return 0, attune.Invalidf(field, "qwen2: config.json: %s is %s, want a token id or a list of them", field, raw)
	}
	return ids[0], nil
}

// setDefaults fills the fields Hugging Face's Qwen2Config gives a default
// when config.json leaves them out.
func (c *Config) setDefaults() {
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000
	}
	if c.RMSNormEps == 0 {
		c.RMSNormEps = 1e-6
	}
	if c.MaxPositionEmbeddings == 0 {
		c.MaxPositionEmbeddings = 32768
	}
	if c.HiddenAct == "" {
		c.HiddenAct = "silu"
	}
}

// Validate reports the first field of c that this package cannot run, as
// an attune.Error naming the field. It expects defaults to be filled in
// (HeadDim and NumKeyValueHeads set).
func (c Config) Validate() error {
	if c.ModelType != "qwen2" {
		return attune.Invalidf("model_type", "qwen2: model_type is %q, want \"qwen2\": this engine runs only the Qwen2 architecture (Qwen2, Qwen2.5)", c.ModelType)
	}
	if len(c.Architectures) > 0 && !slices.Contains(c.Architectures, Architecture) {
		return attune.Invalidf("architectures", "qwen2: architectures is %v, want %s", c.Architectures, Architecture)
	}
	positive := []struct {
		field string
		v     int
	}{
		{"hidden_size", c.HiddenSize},
		{"intermediate_size", c.IntermediateSize},
		{"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads},
		{"num_key_value_heads", c.NumKeyValueHeads},
		{"head_dim", c.HeadDim},
		{"vocab_size", c.VocabSize},
		{"max_position_embeddings", c.MaxPositionEmbeddings},
	}
	for _, p := range positive {
		if p.v <= 0 {
			return attune.Invalidf(p.field, "qwen2: config.json: %s is %d, want a positive number", p.field, p.v)
		}
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return attune.Invalidf("num_key_value_heads", "qwen2: config.json: num_key_value_heads %d does not divide num_attention_heads %d", c.NumKeyValueHeads, c.NumAttentionHeads)
	}
	if c.HeadDim%2 != 0 {
		return attune.Invalidf("head_dim", "qwen2: config.json: head_dim %d is odd; rotary embeddings need an even head_dim", c.HeadDim)
	}
	if !(c.RopeTheta > 0) {
		return attune.Invalidf("rope_theta", "qwen2: config.json: rope_theta is %v, want a positive number", c.RopeTheta)
	}
	if !(c.RMSNormEps > 0) {
		return attune.Invalidf("rms_norm_eps", "qwen2: config.json: rms_norm_eps is %v, want a positive number", c.RMSNormEps)
	}
	if c.HiddenAct != "silu" {
		return attune.Invalidf("hidden_act", "qwen2: config.json: hidden_act is %q, want \"silu\"", c.HiddenAct)
	}
	if len(c.RopeScaling) > 0 && string(c.RopeScaling) != "null" {
		return attune.Invalidf("rope_scaling", "qwen2: config.json: rope_scaling %s is not supported; remove it to run at the trained context length", c.RopeScaling)
	}
	if c.UseSlidingWindow {
		return attune.Invalidf("use_sliding_window", "qwen2: config.json: use_sliding_window is true; sliding-window attention is not supported")
	}
	return nil
}

// QDim returns the width of the query projection: heads × head_dim.
func (c Config) QDim() int { return c.NumAttentionHeads * c.HeadDim }

// KVDim returns the width of the key and value projections:
// key/value heads × head_dim.
func (c Config) KVDim() int { return c.NumKeyValueHeads * c.HeadDim }
