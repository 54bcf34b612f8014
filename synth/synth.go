// Package synth makes question/answer pairs and training sets from a
// user's documents.
//
// A Generator turns chunks (package ingest) into pairs. Extractive, the
// default, needs no model: it takes FAQ-style question headings with their
// answers, definitions ("X is a …"), attribute facts ("… with atomic number
// 26 and chemical symbol Fe", "Symbol: Fe", table rows) and cloze questions
// on salient terms from the text itself. LLM asks any OpenAI-compatible
// chat endpoint to write pairs and keeps only those whose answer the chunk
// supports. Generated pairs become a benchmark (the first Generate call) or
// training pairs (BuildTrainingSet), never both with the same wording.
package synth

import (
	"context"
	"strings"
	"unicode"

	"attune"
	"attune/ingest"
)

// Kind says which rule produced a pair.
type Kind string

// The kinds of pairs.
const (
	KindFAQ        Kind = "faq"        // a question heading and its section
	KindDefinition Kind = "definition" // "X is a …" → What is X?
	KindFact       Kind = "fact"       // an attribute of a subject → its value
	KindReverse    Kind = "reverse"    // an identifying value → its subject
	KindTable      Kind = "table"      // a table cell, by row and column
	KindCloze      Kind = "cloze"      // a sentence with a salient term blanked
	KindLLM        Kind = "llm"        // written by a language model
)

// Pair is one question with its answer and where it came from.
type Pair struct {
	Question   string `json:"question"`
	Answer     string `json:"answer"`
	Kind       Kind   `json:"kind"`
	DocumentID string `json:"document_id"`
	ChunkIndex int    `json:"chunk_index"`
}

// Generator makes question/answer pairs answerable from chunks.
//
// Generate returns at most n pairs (all it finds when n <= 0), spread
// evenly over the chunks' documents, with no two questions alike. It
// returns an error only when it cannot work at all (a model endpoint that
// fails, a cancelled context); too few pairs is not an error, and callers
// compare len(pairs) with n.
type Generator interface {
	Generate(ctx context.Context, chunks []ingest.Chunk, n int) ([]Pair, error)
}

// normalize lower-cases s, drops punctuation and collapses white space:
// the form in which questions are compared for duplicates and overlap.
func normalize(s string) string {
	var b strings.Builder
	space := true
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
			space = false
		case !space:
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(b.String())
}

// Questions turns pairs into benchmark questions numbered from 1, the form
// a benchmark stores and the API serves.
func Questions(pairs []Pair) []attune.Question {
	qs := make([]attune.Question, len(pairs))
	for i, p := range pairs {
		qs[i] = attune.Question{QuestionNum: i + 1, Question: p.Question, Answer: p.Answer}
	}
	return qs
}
