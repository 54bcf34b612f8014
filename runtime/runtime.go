package runtime

import (
	"time"
)

// Target names the model a request runs on: a base model, and for an
// aligned model the adapter to attach to it.
type Target struct {
	BaseID  string // the base model's id
	BaseDir string // its Hugging Face directory
	// ModelID and AdapterDir name an aligned model and its PEFT adapter
	// directory; both are empty for the base model itself.
	ModelID    string
	AdapterDir string
}

// Name returns the id a client used for the target.
func (t Target) Name() string {
	if t.ModelID != "" {
		return t.ModelID
	}
	return t.BaseID
}

// Message is one turn of a conversation.
type Message struct {
	Role    string // "system", "user" or "assistant"
	Content string
}

// Sampling holds the decoding settings of a request.
type Sampling struct {
	MaxTokens   int     // tokens to generate at most; 0 means the default
	Temperature float64 // 0 is greedy
	TopP        float64 // 0 or 1 keeps every token
	TopK        int     // 0 keeps every token
	Seed        int64   // used when HasSeed; otherwise each request draws one
	HasSeed     bool
	Stop        []string // generation ends before the first of these
	N           int      // answers to generate; 0 means 1
}

// Request is one generation: a chat conversation (Messages, rendered with
// the model's chat template) or a raw prompt.
type Request struct {
	Target   Target
	Messages []Message
	Prompt   string
	Sampling
	// PromptTruncateLen, when positive, keeps only the last that many
	// tokens of the prompt.
	PromptTruncateLen int
	// Key is whose request this is, for fair queueing.
	Key string
}

// Result is one finished answer of a generation.
type Result struct {
	Text             string
	FinishReason     string // "stop" (end of turn or stop string) or "length"
	PromptTokens     int
	CompletionTokens int
	// Confidence is the mean probability the model gave the tokens it
	// chose, 0..1.
	Confidence float64
	TTFT       time.Duration // from the start of the request to the first token
	Total      time.Duration // from the start of the request to the end
}

// Throughput returns the generated tokens per second after the first.
func (r Result) Throughput() float64 {
	d := (r.Total - r.TTFT).Seconds()
	if r.CompletionTokens <= 1 || d <= 0 {
		return 0
	}
	return float64(r.CompletionTokens-1) / d
}
