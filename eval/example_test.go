package eval_test

import (
	"context"
	"fmt"
	"strings"

	"attune/eval"
	"attune/ingest"
	"attune/synth"
)

// This example wires the whole path the service's jobs take: extract a
// document, chunk it, generate a benchmark and a training set, then
// evaluate a model. The model here is a lookup table standing in for the
// engine's greedy chat answerer.
func Example() {
	doc, err := ingest.Extract("iron.md", []byte("# Iron\n\n"+
		"Iron is the chemical element with atomic number 26 and chemical symbol Fe.\n\n"+
		"## Where is iron found?\n\nIn the earth's core and crust.\n"))
	if err != nil {
		panic(err)
	}
	chunks := ingest.Split("doc_1", doc, ingest.ChunkOptions{MaxTokens: 256})

	// The benchmark: generated pairs, numbered.
	pairs, err := synth.Extractive{Seed: 1}.Generate(context.Background(), chunks, 0)
	if err != nil {
		panic(err)
	}
	benchmark := synth.Questions(pairs)
	for _, q := range benchmark {
		fmt.Printf("%d. %s → %s\n", q.QuestionNum, q.Question, q.Answer)
	}

	// The training set keeps the benchmark's questions out verbatim.
	var asked []string
	for _, q := range benchmark {
		asked = append(asked, q.Question)
	}
	ts := synth.BuildTrainingSet(chunks, pairs, asked, synth.TrainingOptions{})
	fmt.Println("text examples:", ts.Mixture.TextExamples, "chat examples:", ts.Mixture.ChatExamples)

	// A model that knows the symbol and nothing else.
	model := eval.AnswerFunc(func(_ context.Context, q string) (string, float64, error) {
		if strings.Contains(q, "symbol of Iron") {
			return "The symbol is Fe.", 0.9, nil
		}
		return "I am not sure.", 0.2, nil
	})
	res, err := (&eval.Runner{Answerer: model}).Run(context.Background(), benchmark)
	if err != nil {
		panic(err)
	}
	fmt.Printf("questions: %d, accuracy: %.2f, violations: %d\n",
		len(benchmark), res.Metrics.Accuracy, res.Metrics.DomainViolations)
	// Output:
	// 1. Where is iron found? → In the earth's core and crust.
	// 2. What is the atomic number of Iron? → 26
	// 3. Which chemical element has the chemical symbol Fe? → Iron
	// 4. What is Iron? → Iron is the chemical element with atomic number 26 and chemical symbol Fe.
	// 5. What is the chemical symbol of Iron? → Fe
	// 6. Which chemical element has the atomic number 26? → Iron
	// text examples: 2 chat examples: 17
	// questions: 6, accuracy: 0.17, violations: 0
}
