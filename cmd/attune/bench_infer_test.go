package main

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
)

// TestInferJSONKeys holds bench infer's --json line to the keys the
// engine issue names.
func TestInferJSONKeys(t *testing.T) {
	b, err := json.Marshal(inferResult{})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(maps.Keys(m))
	want := []string{"decode_tok_s", "load_s", "peak_rss_mb", "prefill_tok_s", "score_s"}
	if !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
}

func TestRSSHighWater(t *testing.T) {
	if got := rssHighWaterMB(); got <= 0 || got > 1<<20 {
		t.Errorf("rssHighWaterMB = %g, want a plausible size in MB", got)
	}
}
