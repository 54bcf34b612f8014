package ingest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// words counts white-space separated words: a simple, exact counter for
// tests whose budgets are easy to check by eye.
func words(s string) int { return len(strings.Fields(s)) }

func TestSplit(t *testing.T) {
	text := "# Guide\n\nIntro one two.\n\n## Install\n\nStep a b c d.\n\nStep e f g h.\n\n" +
		"Step i j k l.\n\n## Use\n\n" + "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12."
	doc := &Document{Title: "Guide", Text: text}
	got := Split("doc_1", doc, ChunkOptions{MaxTokens: 10, Overlap: 5, Count: words})

	type chunk struct {
		text     string
		headings []string
	}
	want := []chunk{
		{"# Guide\n\nIntro one two.", []string{"Guide"}},
		{"## Install\n\nStep a b c d.", []string{"Guide", "Install"}},
		// The next chunk repeats the previous paragraph (5 words, within
		// the overlap) before the new one.
		{"Step a b c d.\n\nStep e f g h.", []string{"Guide", "Install"}},
		{"Step e f g h.\n\nStep i j k l.", []string{"Guide", "Install"}},
		{"## Use", []string{"Guide", "Use"}},
		// A paragraph over the budget is cut into word windows.
		{"w1 w2 w3 w4 w5 w6 w7 w8 w9 w10", []string{"Guide", "Use"}},
		{"w11 w12.", []string{"Guide", "Use"}},
	}
	if len(got) != len(want) {
		for _, c := range got {
			t.Logf("%q %v", c.Text, c.Headings)
		}
		t.Fatalf("got %d chunks, want %d", len(got), len(want))
	}
	for i, w := range want {
		c := got[i]
		if c.Text != w.text || !slices.Equal(c.Headings, w.headings) {
			t.Errorf("chunk %d: got %q %v, want %q %v", i, c.Text, c.Headings, w.text, w.headings)
		}
		if c.Index != i || c.DocumentID != "doc_1" || c.Title != "Guide" {
			t.Errorf("chunk %d: index %d, document %q, title %q", i, c.Index, c.DocumentID, c.Title)
		}
	}
	// Without a title, Split finds it again in the text.
	for i, c := range Split("doc_1", &Document{Text: text}, ChunkOptions{MaxTokens: 10, Count: words}) {
		if c.Title != "Guide" {
			t.Errorf("chunk %d of a document without title: title %q, want the first heading", i, c.Title)
		}
	}
	plain := Split("d", &Document{Text: "Hydrogen\n\nIt is a gas."}, ChunkOptions{})
	if plain[0].Title != "Hydrogen" {
		t.Errorf("plain text: title %q, want its first line", plain[0].Title)
	}
	if c := got[1]; c.StartLine != 5 || c.EndLine != 7 {
		t.Errorf("chunk 1 lines: got %d..%d, want 5..7", c.StartLine, c.EndLine)
	}
}

func TestApproxTokens(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"", 0},
		{"the", 1},
		{"distribution", 3},     // 12 letters / 4
		{"Hello, world!", 6},    // "Hello" 2, "," 1, "world" 2, "!" 1
		{"1776", 4},             // one token a digit
		{"café", 2},             // "caf"=1, "é"=1
		{"  spaced   out  ", 3}, // "spaced" 2, "out" 1; white space is free
		{"元素周期表", 5},            // one token a CJK character
	}
	for _, tt := range tests {
		if got := ApproxTokens(tt.s); got != tt.want {
			t.Errorf("ApproxTokens(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

// TestSplitCorpora checks the chunk invariants on every corpus document:
// text matches the byte range, budgets hold, lines are right, every
// non-blank byte is covered, and headings are the enclosing path.
func TestSplitCorpora(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/corpora/*/documents/*")
	opts := ChunkOptions{MaxTokens: 128, Overlap: 16}
	sawPath := false
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := Extract(filepath.Base(p), data)
		if err != nil {
			t.Fatal(err)
		}
		chunks := Split(p, doc, opts)
		covered := make([]bool, len(doc.Text))
		for i, c := range chunks {
			if c.Text != doc.Text[c.StartByte:c.EndByte] || c.Index != i {
				t.Fatalf("%s chunk %d: text or index does not match", p, i)
			}
			if c.Tokens > opts.MaxTokens || c.Tokens != ApproxTokens(c.Text) {
				t.Errorf("%s chunk %d: %d tokens (recount %d), budget %d", p, i, c.Tokens, ApproxTokens(c.Text), opts.MaxTokens)
			}
			if want := strings.Count(doc.Text[:c.StartByte], "\n") + 1; c.StartLine != want {
				t.Errorf("%s chunk %d: start line %d, want %d", p, i, c.StartLine, want)
			}
			if want := strings.Count(doc.Text[:c.EndByte], "\n") + 1; c.EndLine != want {
				t.Errorf("%s chunk %d: end line %d, want %d", p, i, c.EndLine, want)
			}
			for b := c.StartByte; b < c.EndByte; b++ {
				covered[b] = true
			}
			if slices.Equal(c.Headings, []string{"Chapter 7. Basics of the Debian package management system",
				"7.2. What is the format of a Debian binary package?"}) {
				sawPath = true
			}
		}
		for b, ok := range covered {
			if !ok && !isSpaceByte(doc.Text[b]) {
				t.Fatalf("%s: byte %d (%q) is in no chunk", p, b, doc.Text[b:min(b+20, len(doc.Text))])
			}
		}
	}
	if !sawPath {
		t.Error("no chunk has the heading path of Debian FAQ section 7.2")
	}
}
