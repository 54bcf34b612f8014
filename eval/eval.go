// Package eval measures how well a model answers a benchmark: it asks every
// question through an Answerer, judges each answer against the reference
// with a Judge, and reduces the verdicts to the metrics the API reports
// (DESIGN.md, "Measuring an alignment"). Compare puts two such results side
// by side in NuGen's comparison shape.
//
// The model side is wired by the caller: an Answerer asks the model through
// its chat template with greedy decoding and reports its confidence, the
// mean probability of the tokens it generated.
package eval

import (
	"context"
)

// Answerer answers benchmark questions with one model.
//
// Answer returns the model's answer to question and its confidence in it,
// 0..1 (the mean probability of the generated tokens). An error ends the
// evaluation; a model that answers badly is not an error.
type Answerer interface {
	Answer(ctx context.Context, question string) (answer string, confidence float64, err error)
}

// AnswerFunc adapts a function to the Answerer interface.
type AnswerFunc func(ctx context.Context, question string) (string, float64, error)

// Answer calls f.
func (f AnswerFunc) Answer(ctx context.Context, question string) (string, float64, error) {
	return f(ctx, question)
}

// Reference is what a question's answer is judged against.
type Reference struct {
	Answer string   // the benchmark's reference answer
	Accept []string // other answers to accept as exact (spellings, synonyms); optional
}

// Verdict is a judge's view of one answer.
type Verdict struct {
	Correct   bool    `json:"correct"`
	Relevance float64 `json:"relevance"` // 0..1, how much of the reference the answer carries
	Reason    string  `json:"reason,omitempty"`
}

// Judge decides whether an answer is correct for a question.
//
// Judge returns an error only when it cannot judge at all (an LLM judge
// whose endpoint fails); the evaluation then fails rather than recording a
// made-up verdict.
type Judge interface {
	Judge(ctx context.Context, question string, ref Reference, answer string) (Verdict, error)
}
