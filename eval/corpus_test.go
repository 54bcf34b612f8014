package eval

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"attune/ingest"
	"attune/synth"
)

// TestExtractiveAnswersJudgedCorrect joins the benchmark generator and the
// judge on both corpora: for every gold pair of a corpus's benchmark.json
// that the extractive generator also asks (the same fact of the same
// document, or for the FAQ the same question), the lexical judge accepts
// the generated answer against the gold reference. So the generated
// questions are answerable from the documents with the answer the gold
// set holds, as the evaluation judges answers.
func TestExtractiveAnswersJudgedCorrect(t *testing.T) {
	// The generator's fact questions by the kind qa_full.json names them.
	kindOf := map[string]string{
		"What is the chemical symbol of":                 "symbol",
		"What is the atomic number of":                   "atomic_number",
		"What is the atomic weight of":                   "atomic_weight",
		"Which chemical element has the chemical symbol": "name_from_symbol",
		"Which chemical element has the atomic number":   "name_from_number",
	}
	for _, tc := range []struct {
		corpus     string
		minMatched int // gold pairs the generator must also ask
	}{{"dict-elements", 480}, {"debian-faq", 110}} {
		dir := filepath.Join("..", "testdata", "corpora", tc.corpus)
		paths, err := filepath.Glob(filepath.Join(dir, "documents", "*"))
		if err != nil || len(paths) == 0 {
			t.Fatalf("%s: no documents (%v)", tc.corpus, err)
		}
		var chunks []ingest.Chunk
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := ingest.Extract(filepath.Base(p), data)
			if err != nil {
				t.Fatal(err)
			}
			chunks = append(chunks, ingest.Split("documents/"+filepath.Base(p), doc, ingest.ChunkOptions{})...)
		}
		pairs, err := synth.Extractive{Seed: 1}.Generate(context.Background(), chunks, 0)
		if err != nil {
			t.Fatal(err)
		}
		generated := map[string]synth.Pair{} // by document and kind, and by question
		for _, p := range pairs {
			generated[squash(p.Question)] = p
			for prefix, kind := range kindOf {
				if strings.HasPrefix(p.Question, prefix) {
					generated[p.DocumentID+"/"+kind] = p
				}
			}
		}

		var full []struct {
			goldItem
			Document string `json:"document"`
		}
		data, err := os.ReadFile(filepath.Join(dir, "qa_full.json"))
		if err == nil {
			err = json.Unmarshal(data, &full)
		}
		if err != nil {
			t.Fatal(err)
		}
		var bench []struct{ Question string }
		data, err = os.ReadFile(filepath.Join(dir, "benchmark.json"))
		if err == nil {
			err = json.Unmarshal(data, &bench)
		}
		if err != nil {
			t.Fatal(err)
		}
		inBench := map[string]bool{}
		for _, b := range bench {
			inBench[b.Question] = true
		}

		matched, correct := 0, 0
		for _, g := range full {
			if !inBench[g.Question] {
				continue
			}
			p, ok := generated[g.Document+"/"+g.Kind]
			if !ok {
				p, ok = generated[squash(g.Question)]
			}
			if !ok {
				continue
			}
			matched++
			v, _ := Lexical{}.Judge(context.Background(), g.Question, Reference{Answer: g.Answer, Accept: g.Accept}, p.Answer)
			if v.Correct {
				correct++
			} else {
				t.Logf("%s: gold %q → %.60q; generated %q → %.60q judged wrong", tc.corpus, g.Question, g.Answer, p.Question, p.Answer)
			}
		}
		t.Logf("%s: %d benchmark pairs, %d also generated, %d of them judged correct", tc.corpus, len(bench), matched, correct)
		if matched < tc.minMatched || correct < matched*95/100 {
			t.Errorf("%s: %d gold pairs generated (want %d), %d judged correct (want 95%%)", tc.corpus, matched, tc.minMatched, correct)
		}
	}
}

// squash is a question in lower-case letters and digits, one space apart.
func squash(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}), " ")
}
