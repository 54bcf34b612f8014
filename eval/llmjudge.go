package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"attune"
	"attune/synth"
)

// LLMJudge asks a language model behind an OpenAI-compatible chat endpoint
// (synth.Chat) whether an answer is correct. The model replies with a JSON
// object {"correct": bool, "relevance": 0..1, "reason": "..."}.
type LLMJudge struct {
	Chat *synth.Chat
}

const judgeInstructions = `You grade answers to questions about a set of documents. Compare the candidate answer with the reference answer. The candidate is correct if it states the same facts as the reference, even in other words, and says nothing that contradicts it. Relevance is how much of the reference's content the candidate carries, from 0 to 1. Reply with only a JSON object: {"correct": true or false, "relevance": number, "reason": "one short sentence"}.`

// Judge implements Judge. An endpoint failure, or a reply without the JSON
// object asked for, is an error.
func (j LLMJudge) Judge(ctx context.Context, question string, ref Reference, answer string) (Verdict, error) {
	refText := ref.Answer
	if len(ref.Accept) > 0 {
		refText += "\n(also accepted: " + strings.Join(ref.Accept, "; ") + ")"
	}
	reply, err := j.Chat.Complete(ctx, []synth.Message{
		{Role: "system", Content: judgeInstructions},
		{Role: "user", Content: "Question: " + question + "\n\nReference answer: " + refText + "\n\nCandidate answer: " + answer},
	})
	if err != nil {
		return Verdict{}, fmt.Errorf("eval: llm judge: %w", err)
	}
	return parseVerdict(reply)
}

// parseVerdict reads the JSON object in a judge's reply, ignoring text
// around it, and clamps relevance to 0..1.
func parseVerdict(reply string) (Verdict, error) {
	start, end := strings.IndexByte(reply, '{'), strings.LastIndexByte(reply, '}')
	var raw struct {
		Correct   *bool    `json:"correct"`
		Relevance *float64 `json:"relevance"`
		Reason    string   `json:"reason"`
	}
	if start < 0 || end < start || json.Unmarshal([]byte(reply[start:end+1]), &raw) != nil || raw.Correct == nil {
		return Verdict{}, attune.Errorf(attune.KindUnavailable, "the judge model's reply is not the verdict asked for: %.200q", reply)
	}
	v := Verdict{Correct: *raw.Correct, Reason: raw.Reason}
	if raw.Relevance != nil {
		v.Relevance = min(max(*raw.Relevance, 0), 1)
	} else if v.Correct {
		v.Relevance = 1
	}
	return v, nil
}
