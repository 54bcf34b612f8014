package synth

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"attune/ingest"
)

// FuzzExtractive runs the extractive generator and the training set builder
// on arbitrary text with an arbitrary benchmark question: no panic, no
// empty pair, and no example holding the benchmark question verbatim.
func FuzzExtractive(f *testing.F) {
	f.Add("# FAQ\n\n## 1.1. What is Debian?\n\nDebian is a free operating system.\n", "What is Debian?")
	f.Add("Iron\n\nIron is the chemical element with atomic number 26 and chemical symbol Fe. Its atomic weight is listed as 55.847.\n\n- Symbol: Fe\n\n| Name | Symbol |\n| --- | --- |\n| Gold | Au |", "Which chemical element has the chemical symbol Fe?")
	f.Add("The element was first isolated by Georg Brandt in a small laboratory near the city of Stockholm.", "Why is it so?")
	f.Fuzz(func(t *testing.T, text, question string) {
		if !utf8.ValidString(text) || !utf8.ValidString(question) {
			return // extraction hands the generator valid UTF-8 only
		}
		doc := &ingest.Document{Text: text}
		chunks := ingest.Split("d", doc, ingest.ChunkOptions{MaxTokens: 64})
		pairs, err := Extractive{Seed: 1}.Generate(context.Background(), chunks, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pairs {
			if strings.TrimSpace(p.Question) == "" || strings.TrimSpace(p.Answer) == "" {
				t.Fatalf("empty pair %+v", p)
			}
		}
		ts := BuildTrainingSet(chunks, pairs, []string{question}, TrainingOptions{HoldOut: 0.2})
		q := " " + normalize(question) + " "
		if q == "  " {
			return
		}
		// Each text and each message on its own: a question cannot be
		// asked across two turns of a chat.
		for _, e := range append(ts.Train, ts.HoldOut...) {
			texts := []string{e.Text}
			for _, m := range e.Messages {
				texts = append(texts, m.Content)
			}
			for _, s := range texts {
				if strings.Contains(" "+normalize(s)+" ", q) {
					t.Fatalf("example text %q holds the benchmark question %q", s, question)
				}
			}
		}
	})
}

func FuzzParsePairs(f *testing.F) {
	f.Add(`[{"question": "Q?", "answer": "A"}]`)
	f.Add("text [ {\"question\": 1, \"answer\": null} ] more")
	f.Fuzz(func(t *testing.T, reply string) {
		for _, p := range parsePairs(reply) {
			if p.Question == "" || p.Answer == "" {
				t.Fatalf("empty pair from %q", reply)
			}
		}
	})
}
