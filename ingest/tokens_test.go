package ingest

import (
	"os"
	"path/filepath"
	"testing"

	"attune/engine/tokenizer"
)

// TestApproxTokensAgainstQwen measures ApproxTokens against the real
// Qwen2.5 tokenizer on the corpora: it must overestimate (so that chunks
// cut with it fit the model's budget), by less than 60 %, and no chunk cut
// with it may exceed the budget in real tokens.
func TestApproxTokensAgainstQwen(t *testing.T) {
	j, c, err := tokenizer.Qwen25Files()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Parse(j, c)
	if err != nil {
		t.Fatal(err)
	}
	const budget = 256
	for _, corpus := range []string{"debian-faq", "dict-elements"} {
		paths, _ := filepath.Glob("../testdata/corpora/" + corpus + "/documents/*")
		real, approx := 0, 0
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := Extract(filepath.Base(p), data)
			if err != nil {
				t.Fatal(err)
			}
			real += len(tok.Encode(doc.Text))
			approx += ApproxTokens(doc.Text)
			for _, ch := range Split(p, doc, ChunkOptions{MaxTokens: budget}) {
				if n := len(tok.Encode(ch.Text)); n > budget {
					t.Errorf("%s chunk %d: %d Qwen2.5 tokens, over the budget of %d", p, ch.Index, n, budget)
				}
			}
		}
		ratio := float64(approx) / float64(real)
		t.Logf("%s: %d Qwen2.5 tokens, ApproxTokens %d, ratio %.2f", corpus, real, approx, ratio)
		if ratio < 1 || ratio > 1.6 {
			t.Errorf("%s: ApproxTokens/real = %.2f, want within [1, 1.6]", corpus, ratio)
		}
	}
}
