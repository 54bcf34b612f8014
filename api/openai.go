package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// messageContent is a chat message's content: a string, or OpenAI's list
// of parts of which attune reads the text ones. A content of another shape
// decodes without error and records why it is bad, so that the handler can
// answer a 422 naming the message.
type messageContent struct {
	text string
	bad  string
}

func (c *messageContent) UnmarshalJSON(b []byte) error {
	*c = messageContent{}
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	if json.Unmarshal(b, &c.text) == nil {
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		c.bad = "must be a string or a list of text parts"
		return nil
	}
	var sb strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			c.bad = fmt.Sprintf("content part type %q is not supported; attune's models read text only", p.Type)
			return nil
		}
		sb.WriteString(p.Text)
	}
	c.text = sb.String()
	return nil
}

func (messageContent) openAPISchema() map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "string"},
		map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
			"type": map[string]any{"type": "string", "enum": []string{"text"}},
			"text": map[string]any{"type": "string"},
		}}},
	}}
}

// stringList is a field OpenAI lets be one string or a list of strings
// (stop, prompt, input). Like messageContent, a bad shape is recorded for
// the handler to name.
type stringList struct {
	vals []string
	set  bool
	bad  bool
}

func (l *stringList) UnmarshalJSON(b []byte) error {
	*l = stringList{}
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	l.set = true
	var s string
	if json.Unmarshal(b, &s) == nil {
		l.vals = []string{s}
		return nil
	}
	if json.Unmarshal(b, &l.vals) != nil {
		l.bad = true
	}
	return nil
}

// check answers a 422 naming field when the value had a bad shape.
func (l stringList) check(field string) error {
	if l.bad {
		return invalidField("body", field, "must be a string or a list of strings", "type_error")
	}
	return nil
}

func (stringList) openAPISchema() map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "string"},
		map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
	}}
}

// chatMessage is one message of a chat request.
type chatMessage struct {
	Role    string         `json:"role"`
	Content messageContent `json:"content"`
	Name    string         `json:"name,omitempty"`
}

// streamOptions are OpenAI's stream_options; attune always sends usage in
// the last chunk, so include_usage changes nothing.
type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// sampling holds the decoding fields chat and completion requests share.
type sampling struct {
	MaxTokens           *int       `json:"max_tokens"`
	MaxCompletionTokens *int       `json:"max_completion_tokens"`
	Temperature         *float64   `json:"temperature"`
	TopP                *float64   `json:"top_p"`
	TopK                *int       `json:"top_k"`
	N                   *int       `json:"n"`
	Stop                stringList `json:"stop"`
	Seed                *int64     `json:"seed"`
	// Accepted for compatibility with OpenAI clients; attune's decoder
	// has no penalties, bias or log-probabilities, so only their neutral
	// values are taken.
	FrequencyPenalty *float64       `json:"frequency_penalty"`
	PresencePenalty  *float64       `json:"presence_penalty"`
	Logprobs         any            `json:"logprobs"`
	User             string         `json:"user"`
	StreamOptions    *streamOptions `json:"stream_options"`
}

// chatRequest is the body of POST /chat/completions.
type chatRequest struct {
	Model             string        `json:"model"`
	Messages          []chatMessage `json:"messages"`
	Stream            bool          `json:"stream"`
	PromptTruncateLen *int          `json:"prompt_truncate_len"`
	sampling
}

// completionRequest is the body of POST /completions.
type completionRequest struct {
	Model  string     `json:"model"`
	Prompt stringList `json:"prompt"`
	Stream bool       `json:"stream"`
	Echo   bool       `json:"echo"`
	sampling
}

// embeddingRequest is the body of POST /embeddings.
type embeddingRequest struct {
	Model          string     `json:"model"`
	Input          stringList `json:"input"`
	EncodingFormat string     `json:"encoding_format"`
	Dimensions     *int       `json:"dimensions"`
	User           string     `json:"user"`
}

// usage is OpenAI's token count.
type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// timing is NuGen's measurement of a generation.
type timing struct {
	TTFT       float64 `json:"ttft_seconds"`
	Throughput float64 `json:"throughput_tokens_per_second"`
	Total      float64 `json:"total_seconds"`
}
