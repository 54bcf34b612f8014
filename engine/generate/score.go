package generate

import (
	"context"
	"fmt"
	"math"

	"attune"
	"attune/engine/qwen2"
)

// Score is the log-likelihood of one continuation after a prompt.
type Score struct {
	LogProb float64 // Σ log p(token | what precedes it), natural log
	Mean    float64 // LogProb / Tokens
	Tokens  int     // tokens in the continuation
}

// Score returns the log-likelihood of each continuation (token ids) after
// prompt, under the model with adapter applied (nil for none). The prompt
// is run once; the continuations then run on copies of its KV cache,
// several in one forward pass (up to scoreBatch tokens), so that the
// projections see them together. It stops between batches when ctx is
// cancelled.
func (e *Engine) Score(ctx context.Context, prompt []int, continuations [][]int, adapter qwen2.Adapter) ([]Score, error) {
	if err := e.checkPrompt("prompt", prompt); err != nil {
		return nil, err
	}
	for i, c := range continuations {
		if err := e.checkPrompt(fmt.Sprintf("continuations[%d]", i), c); err != nil {
			return nil, err
		}
		if len(prompt)+len(c) > e.model.Config.MaxPositionEmbeddings {
			return nil, attune.Invalidf("continuations", "prompt and continuation %d have %d tokens, over the context of %d", i, len(prompt)+len(c), e.model.Config.MaxPositionEmbeddings)
		}
	}

	// The prompt's last logits predict every continuation's first token.
	st := &qwen2.Step{Cache: e.model.NewCache(), Tokens: prompt, Adapter: adapter}
	if err := e.model.Forward([]*qwen2.Step{st}); err != nil {
		return nil, fmt.Errorf("generate: cannot score: %w", err)
	}
	first := append([]float32(nil), st.Logits...)
	firstLSE := logSumExp(first)

	scores := make([]Score, len(continuations))
	for lo := 0; lo < len(continuations); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := scoreBatchEnd(continuations, lo)
		if err := e.scoreBatch(st.Cache, continuations[lo:hi], scores[lo:hi], adapter); err != nil {
			return nil, err
		}
		for i := lo; i < hi; i++ {
			c := continuations[i]
			scores[i].LogProb += float64(first[c[0]]) - firstLSE
			scores[i].Tokens = len(c)
			scores[i].Mean = scores[i].LogProb / float64(len(c))
		}
		lo = hi
	}
	return scores, nil
}

// scoreBatch is the number of continuation tokens Score runs in one
// forward pass; their logits take 600 kB a token with Qwen2's vocabulary.
const scoreBatch = 384

// scoreBatchEnd returns the end of the batch of continuations starting at
// lo: as many as fit scoreBatch tokens, at least one.
func scoreBatchEnd(conts [][]int, lo int) int {
	n, hi := 0, lo
	for hi < len(conts) && (hi == lo || n+len(conts[hi])-1 <= scoreBatch) {
		n += len(conts[hi]) - 1
		hi++
	}
	return hi
}

// scoreBatch adds to each score the log-probabilities of its
// continuation's tokens after the first, which the continuation's own
// logits (all but its last token's) predict. Each runs on a copy of the
// prompt's cache.
func (e *Engine) scoreBatch(prompt *qwen2.Cache, conts [][]int, scores []Score, adapter qwen2.Adapter) error {
	var steps []*qwen2.Step
	for _, c := range conts {
		if len(c) > 1 {
			steps = append(steps, &qwen2.Step{Cache: prompt.Clone(), Tokens: c[:len(c)-1], Want: qwen2.WantAll, Adapter: adapter})
		}
	}
	if len(steps) == 0 {
		return nil
	}
	if err := e.model.Forward(steps); err != nil {
		return fmt.Errorf("generate: cannot score: %w", err)
	}
	vocab := e.model.Config.VocabSize
	k := 0
	for i, c := range conts {
		if len(c) == 1 {
			continue
		}
		logits := steps[k].Logits
		for t := 1; t < len(c); t++ {
			scores[i].LogProb += logProb(logits[(t-1)*vocab:t*vocab], c[t])
		}
		k++
	}
	return nil
}

// logProb returns log softmax(logits)[id].
func logProb(logits []float32, id int) float64 {
	return float64(logits[id]) - logSumExp(logits)
}

// Embed returns an embedding of each token sequence: the final-norm hidden
// states averaged over its tokens and scaled to unit length, under the
// model with adapter applied (nil for none). Sequences run together in
// batches of about embedBatch tokens.
func (e *Engine) Embed(ctx context.Context, seqs [][]int, adapter qwen2.Adapter) ([][]float32, error) {
	for i, s := range seqs {
		if err := e.checkPrompt(fmt.Sprintf("inputs[%d]", i), s); err != nil {
			return nil, err
		}
	}
	out := make([][]float32, len(seqs))
	for lo := 0; lo < len(seqs); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}

		// One forward pass over as many sequences as fit the batch.
		var steps []*qwen2.Step
		n := 0
		hi := lo
		for hi < len(seqs) && (hi == lo || n+len(seqs[hi]) <= embedBatch) {
			n += len(seqs[hi])
			steps = append(steps, &qwen2.Step{Cache: e.model.NewCache(), Tokens: seqs[hi], Want: qwen2.WantNone, Hidden: true, Adapter: adapter})
			hi++
		}
		if err := e.model.Forward(steps); err != nil {
			return nil, fmt.Errorf("generate: cannot embed: %w", err)
		}
		for i, st := range steps {
			out[lo+i] = meanPool(st.States, len(st.Tokens))
		}
		lo = hi
	}
	return out, nil
}

// embedBatch is the number of tokens Embed runs in one forward pass.
const embedBatch = 1024

// meanPool averages states: [T, C] over T and normalises the result to
// unit L2 norm (summing in float64).
func meanPool(states []float32, T int) []float32 {
	C := len(states) / T
	sum := make([]float64, C)
	for t := range T {
		for c, v := range states[t*C : (t+1)*C] {
			sum[c] += float64(v)
		}
	}
	var norm float64
	for _, v := range sum {
		norm += v * v
	}
	norm = math.Sqrt(norm)
	out := make([]float32, C)
	if norm == 0 {
		return out
	}
	for c, v := range sum {
		out[c] = float32(v / norm)
	}
	return out
}
