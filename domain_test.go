package attune

import (
	"strings"
	"testing"
)

func TestNewID(t *testing.T) {
	prefixes := []string{PrefixDocument, PrefixBenchmark, PrefixAlignment, PrefixEvaluation,
		PrefixModel, PrefixUser, PrefixKey, PrefixTask, ""}
	for _, p := range prefixes {
		a, b := NewID(p), NewID(p)
		if !ValidID(p, a) || !strings.HasPrefix(a, p) || len(a) != len(p)+26 {
			t.Errorf("NewID(%q) = %q: not a valid id", p, a)
		}
		if a >= b {
			t.Errorf("NewID(%q): %q then %q, want increasing", p, a, b)
		}
	}
	bad := []struct{ prefix, id string }{
		{PrefixDocument, "benchmark_01J0000000000000000000000"},
		{PrefixDocument, "doc_"},
		{PrefixDocument, "doc_01J" + strings.Repeat("0", 24)},       // 27 characters
		{PrefixDocument, "doc_01J" + strings.Repeat("0", 22) + "!"}, // not Crockford base32
		{PrefixDocument, "doc_../../../../etc/passwd000000"},        // path characters
	}
	for _, tt := range bad {
		if ValidID(tt.prefix, tt.id) {
			t.Errorf("ValidID(%q, %q) = true, want false", tt.prefix, tt.id)
		}
	}
}

func TestHyperparameters(t *testing.T) {
	if got := (Hyperparameters{}).WithDefaults(); got != DefaultHyperparameters {
		t.Errorf("zero WithDefaults: got %+v, want the defaults", got)
	}
	if got := (Hyperparameters{Epochs: 5, LoRARank: 4}).WithDefaults(); got.Epochs != 5 || got.LoRARank != 4 || got.BatchSize != 16 {
		t.Errorf("WithDefaults kept or filled wrong: %+v", got)
	}
	if err := DefaultHyperparameters.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(h *Hyperparameters)
		field string
	}{
		{"epochs", func(h *Hyperparameters) { h.Epochs = 0 }, "hyperparameters.epochs"},
		{"learning rate", func(h *Hyperparameters) { h.LearningRate = -1 }, "hyperparameters.learning_rate"},
		{"learning rate too big", func(h *Hyperparameters) { h.LearningRate = 3 }, "hyperparameters.learning_rate"},
		{"rank", func(h *Hyperparameters) { h.LoRARank = 1000 }, "hyperparameters.lora_rank"},
		{"alpha", func(h *Hyperparameters) { h.LoRAAlpha = 0 }, "hyperparameters.lora_alpha"},
		{"batch", func(h *Hyperparameters) { h.BatchSize = -2 }, "hyperparameters.batch_size"},
		{"sequence", func(h *Hyperparameters) { h.MaxSeqLen = 8 }, "hyperparameters.max_seq_len"},
		{"seed", func(h *Hyperparameters) { h.Seed = -1 }, "hyperparameters.seed"},
	}
	for _, tt := range tests {
		h := DefaultHyperparameters
		tt.edit(&h)
		err := h.Validate()
		e, ok := err.(*Error)
		if !ok || e.Kind != KindInvalid || e.Field != tt.field {
			t.Errorf("%s: got %v, want KindInvalid naming %s", tt.name, err, tt.field)
		}
	}
}

func TestAPIKey(t *testing.T) {
	k1, h1, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, h2, _ := NewAPIKey()
	if !strings.HasPrefix(k1, APIKeyPrefix) || len(k1) != len(APIKeyPrefix)+43 || k1 == k2 || h1 == h2 {
		t.Errorf("NewAPIKey: %q and %q", k1, k2)
	}
	if h1 != HashAPIKey(k1) || len(h1) != 64 || strings.Contains(h1, k1) {
		t.Errorf("hash %q is not the key's SHA-256", h1)
	}
}

func TestAlignmentStatusFinal(t *testing.T) {
	for s, want := range map[AlignmentStatus]bool{
		AlignmentQueued: false, AlignmentProcessing: false, AlignmentEvaluating: false,
		AlignmentReady: true, AlignmentFailed: true, AlignmentStopped: true,
	} {
		if got := s.Final(); got != want {
			t.Errorf("%s.Final() = %v, want %v", s, got, want)
		}
	}
}
