package qwen2_test

import (
	"fmt"
	"log"
	"os"

	"attune/engine/kernels"
	"attune/engine/qwen2"
)

// A prompt is prefilled once; its cache then serves a greedy continuation
// and, rewound, the scoring of two candidate answers side by side.
func ExampleModel_Forward() {
	dir, err := os.MkdirTemp("", "qwen2-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := qwen2.InitRandom(dir, "tiny", 1); err != nil {
		log.Fatal(err)
	}
	m, err := qwen2.Load(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	// Prefill: the last position's logits, [V].
	prompt := []int{151644, 872, 198, 9707, 151645, 198}
	c := m.NewCache()
	step := &qwen2.Step{Cache: c, Tokens: prompt}
	if err := m.Forward([]*qwen2.Step{step}); err != nil {
		log.Fatal(err)
	}

	// Greedy decoding: one token a call, reusing the Step and its buffers.
	for range 4 {
		step.Tokens = []int{argmax(step.Logits)}
		if err := m.Forward([]*qwen2.Step{step}); err != nil {
			log.Fatal(err)
		}
	}

	// Scoring: rewind to the prompt, give each candidate a copy of the
	// prompt's cache, and run both in one call with logits at every token.
	c.Truncate(len(prompt))
	answers := [][]int{{9707, 13}, {15191, 11, 1879}}
	var steps []*qwen2.Step
	for _, a := range answers {
		steps = append(steps, &qwen2.Step{Cache: c.Clone(), Tokens: a, Want: qwen2.WantAll})
	}
	if err := m.Forward(steps); err != nil {
		log.Fatal(err)
	}
	// steps[i].Logits row j predicts token j+1 of answer i; the first
	// token of each answer is predicted by the prompt's last logits.
	V := m.Config.VocabSize
	row := steps[0].Logits[0:V]
	fmt.Printf("log p(%d | prompt, %d) = %.3f\n", answers[0][1], answers[0][0],
		float64(row[answers[0][1]])-kernels.LogSumExp(row))
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
