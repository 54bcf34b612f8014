package synth

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"attune/ingest"
)

// LLM is the Generator that asks a language model to write pairs: for each
// chunk it requests PerChunk questions answerable from that chunk alone,
// then keeps only pairs whose answer the chunk supports (see Supported).
// Chunks are visited alternating between documents, and it stops once it
// has n pairs.
type LLM struct {
	Chat     *Chat
	PerChunk int     // pairs asked of each chunk; default 3
	Support  float64 // least share of answer words found in the chunk; default 0.8
	Seed     uint64  // for the final balancing
}

const llmInstructions = `You write quiz questions about a text. Write %d questions that can be answered from the text alone, each with a short answer taken from the text. Do not ask about anything the text does not state. Reply with only a JSON array of objects with the keys "question" and "answer".`

// Generate implements Generator. It fails only when the endpoint does; a
// reply that is not the JSON asked for yields no pairs for that chunk.
func (g LLM) Generate(ctx context.Context, chunks []ingest.Chunk, n int) ([]Pair, error) {
	if g.PerChunk <= 0 {
		g.PerChunk = 3
	}
	if g.Support <= 0 {
		g.Support = 0.8
	}
	var pairs []Pair
	for _, c := range alternateDocuments(chunks) {
		if n > 0 && len(dedupe(pairs)) >= n {
			break
		}
		reply, err := g.Chat.Complete(ctx, []Message{
			{Role: "system", Content: fmt.Sprintf(llmInstructions, g.PerChunk)},
			{Role: "user", Content: c.Text},
		})
		if err != nil {
			return nil, fmt.Errorf("synth: chunk %d of %s: %w", c.Index, c.DocumentID, err)
		}
		for _, p := range parsePairs(reply) {
			if Supported(p.Answer, c.Text) >= g.Support {
				p.Kind, p.DocumentID, p.ChunkIndex = KindLLM, c.DocumentID, c.Index
				pairs = append(pairs, p)
			}
		}
	}
	return balance(dedupe(pairs), n, g.Seed), nil
}

// parsePairs reads the JSON array in a model's reply, ignoring any text
// around it (models often wrap JSON in prose or code fences).
func parsePairs(reply string) []Pair {
	start, end := strings.IndexByte(reply, '['), strings.LastIndexByte(reply, ']')
	if start < 0 || end < start {
		return nil
	}
	var raw []struct {
		Question string `json:"question"`
		Answer   any    `json:"answer"`
	}
	if json.Unmarshal([]byte(reply[start:end+1]), &raw) != nil {
		return nil
	}
	var out []Pair
	for _, r := range raw {
		a := strings.TrimSpace(fmt.Sprint(r.Answer))
		if r.Answer == nil || strings.TrimSpace(r.Question) == "" || a == "" {
			continue
		}
		out = append(out, Pair{Question: strings.TrimSpace(r.Question), Answer: a})
	}
	return out
}

// Supported returns the share of the answer's content words (those that
// are not stop words) that occur in the text, after normalisation; 0 when
// the answer has no words. A number must occur exactly.
func Supported(answer, text string) float64 {
	have := map[string]bool{}
	for _, w := range strings.Fields(normalize(text)) {
		have[w] = true
	}
	var words, found int
	for _, w := range strings.Fields(normalize(answer)) {
		if stopWords[w] {
			continue
		}
		words++
		if have[w] {
			found++
		}
	}
	if words == 0 {
		return 0
	}
	return float64(found) / float64(words)
}

// stopWords are English function words, ignored when checking support.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an the of in on at to for from by with and or but not no is are was
were be been being it its this that these those as which who whom what when where why how
do does did has have had can could will would shall should may might must there their they
them he she his her we our you your i me my so than then too very also just only about into`) {
		m[w] = true
	}
	return m
}()

// alternateDocuments orders chunks so that documents take turns.
func alternateDocuments(chunks []ingest.Chunk) []ingest.Chunk {
	var order []string
	byDoc := map[string][]ingest.Chunk{}
	for _, c := range chunks {
		if byDoc[c.DocumentID] == nil {
			order = append(order, c.DocumentID)
		}
		byDoc[c.DocumentID] = append(byDoc[c.DocumentID], c)
	}
	out := make([]ingest.Chunk, 0, len(chunks))
	for len(out) < len(chunks) {
		for _, d := range order {
			if q := byDoc[d]; len(q) > 0 {
				out = append(out, q[0])
				byDoc[d] = q[1:]
			}
		}
	}
	return out
}
