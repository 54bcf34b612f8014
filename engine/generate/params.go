package generate

import (
	"math"
	"time"

	"attune"
	"attune/engine/qwen2"
)

// Params says how to generate. The zero value decodes greedily until a stop
// token or the model's context is full; set MaxTokens.
type Params struct {
	// MaxTokens caps the generated tokens of each answer; 0 means until the
	// context (max_position_embeddings) is full.
	MaxTokens int
	// Temperature divides the logits before sampling; 0 picks the most
	// likely token every time (greedy).
	Temperature float64
	// TopK, when positive, samples among the K most likely tokens only.
	TopK int
	// TopP, when in (0, 1), samples among the most likely tokens whose
	// probabilities add up to at least TopP (nucleus sampling); 0 or 1
	// turns it off.
	TopP float64
	// RepetitionPenalty, when above 0 and not 1, makes the tokens already
	// in the prompt or the answer less likely (above 1) or more likely
	// (below 1), as Hugging Face's repetition_penalty does: their logits
	// are divided by it when positive and multiplied by it when negative,
	// before temperature and filtering. It applies to greedy decoding too.
	RepetitionPenalty float64
	// Seed makes sampling reproducible: the same seed, prompt and params
	// give the same answers. 0 draws a seed at random.
	Seed uint64
	// N is the number of answers to the same prompt, generated together;
	// 0 means 1.
	N int
	// Stop lists strings that end an answer. The answer's text stops just
	// before the first one, which is never returned or streamed.
	Stop []string
	// StopTokens are ids that end an answer, besides the model's own eos
	// tokens. A stop token is not part of the text.
	StopTokens []int
	// Adapter, when not nil, applies a LoRA adapter to the model.
	Adapter qwen2.Adapter
}

// maxAnswers bounds N, which costs a cache per answer.
const maxAnswers = 16

// Validate reports the first parameter out of range, naming it.
func (p Params) Validate() error {
	switch {
	case p.MaxTokens < 0:
		return attune.Invalidf("max_tokens", "max_tokens must not be negative, got %d", p.MaxTokens)
	case p.Temperature < 0 || math.IsNaN(p.Temperature) || math.IsInf(p.Temperature, 0):
		return attune.Invalidf("temperature", "temperature must be 0 or more, got %g", p.Temperature)
	case p.TopK < 0:
		return attune.Invalidf("top_k", "top_k must not be negative, got %d", p.TopK)
	case p.TopP < 0 || p.TopP > 1 || math.IsNaN(p.TopP):
		return attune.Invalidf("top_p", "top_p must be between 0 and 1, got %g", p.TopP)
	case p.RepetitionPenalty < 0 || math.IsNaN(p.RepetitionPenalty) || math.IsInf(p.RepetitionPenalty, 0):
		return attune.Invalidf("repetition_penalty", "repetition_penalty must be positive (or 0 for none), got %g", p.RepetitionPenalty)
	case p.N < 0 || p.N > maxAnswers:
		return attune.Invalidf("n", "n must be between 1 and %d, got %d", maxAnswers, p.N)
	}
	for _, s := range p.Stop {
		if s == "" {
			return attune.Invalidf("stop", "stop strings must not be empty")
		}
	}
	return nil
}

// Request is one prompt to complete.
type Request struct {
	// Prompt is the token ids to continue; it must not be empty.
	Prompt []int
	Params

	// OnToken, when not nil, receives each answer's text as it grows:
	// index is the answer (0 to N-1) and delta the new text, never empty.
	// Text that could still be the start of a stop string, or is an
	// incomplete UTF-8 character, is held back until it is settled. It is
	// called from the engine's decoding loop, so it must return quickly
	// and must not call the Engine.
	OnToken func(index int, delta string)
}

// Finish reasons.
const (
	FinishStop   = "stop"   // a stop token or stop string ended the answer
	FinishLength = "length" // MaxTokens or the context ran out
)

// Answer is one generated completion.
type Answer struct {
	Text   string // the completion, without any stop string or stop token
	Tokens []int  // the generated ids, without a stop token
	// FinishReason is FinishStop or FinishLength; "" if generation was
	// cancelled.
	FinishReason string
	// Confidence is the mean probability of the generated tokens (a stop
	// token included), each taken from the softmax of the raw logits at
	// temperature 1 before top-k and top-p. It measures how sure the model
	// was of what it wrote, independently of the sampling settings.
	Confidence float64
	// PromptTokens and CompletionTokens count the prompt and the generated
	// tokens (a stop token included).
	PromptTokens, CompletionTokens int
	// TimeToFirstToken is the time from the call to the first generated
	// token.
	TimeToFirstToken time.Duration
}
