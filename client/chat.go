package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ChatRequest asks a model for a chat completion. Zero and nil fields are
// left to the server's defaults.
type ChatRequest struct {
	Model       string    `json:"model"`
	Messages    []Message `json:"messages"`
	MaxTokens   int       `json:"max_tokens,omitempty"`
	Temperature *float64  `json:"temperature,omitempty"`
	TopP        *float64  `json:"top_p,omitempty"`
	TopK        int       `json:"top_k,omitempty"`
	Stop        []string  `json:"stop,omitempty"`
	Seed        *int64    `json:"seed,omitempty"`
	Stream      bool      `json:"stream,omitempty"`
}

// Usage counts the tokens of a completion.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Timing is NuGen's timing of a completion.
type Timing struct {
	TTFTSeconds               float64 `json:"ttft_seconds"`
	ThroughputTokensPerSecond float64 `json:"throughput_tokens_per_second"`
	TotalSeconds              float64 `json:"total_seconds"`
}

// ChatCompletion is OpenAI's chat.completion object with attune's timing
// and confidence.
type ChatCompletion struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int     `json:"index"`
		Message      Message `json:"message"`
		FinishReason string  `json:"finish_reason"`
	} `json:"choices"`
	Usage      Usage    `json:"usage"`
	Timing     *Timing  `json:"timing,omitempty"`
	Confidence *float64 `json:"confidence,omitempty"`
}

// Text returns the first choice's content, or "" when there is none.
func (c *ChatCompletion) Text() string {
	if len(c.Choices) == 0 {
		return ""
	}
	return c.Choices[0].Message.Content
}

// ChatChunk is one chat.completion.chunk of a streamed answer.
type ChatChunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Role    string `json:"role,omitempty"`
			Content string `json:"content,omitempty"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage      *Usage   `json:"usage,omitempty"`
	Confidence *float64 `json:"confidence,omitempty"`
}

// Text returns the first choice's content delta.
func (c *ChatChunk) Text() string {
	if len(c.Choices) == 0 {
		return ""
	}
	return c.Choices[0].Delta.Content
}

// Chat asks for a complete answer in one response.
func (c *Client) Chat(ctx context.Context, r ChatRequest) (*ChatCompletion, error) {
	r.Stream = false
	var out ChatCompletion
	if err := c.do(ctx, http.MethodPost, "/inference/chat/completions", nil, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ChatStream asks for a streamed answer. Read it with Next and Chunk, then
// check Err; Close it when done.
func (c *Client) ChatStream(ctx context.Context, r ChatRequest) (*ChatStream, error) {
	r.Stream = true
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("client: cannot encode request: %w", err)
	}
	req, err := c.newRequest(ctx, http.MethodPost, c.url("/inference/chat/completions", nil), bytes.NewReader(b), "application/json")
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	return &ChatStream{body: resp.Body, events: NewEventReader(resp.Body)}, nil
}

// ChatStream is a streamed chat answer.
type ChatStream struct {
	body   io.ReadCloser
	events *EventReader
	chunk  ChatChunk
	usage  *Usage
	timing *Timing
	conf   *float64
	finish string
	err    error
	done   bool
}

// Next reads the next chunk, and reports whether there is one. It skips the
// timing frame, keeping it for Timing.
func (s *ChatStream) Next() bool {
	for !s.done && s.err == nil {
		data, err := s.events.Next()
		if err == io.EOF {
			s.err = errors.New("client: stream ended without [DONE]")
			return false
		}
		if err != nil {
			s.err = err
			return false
		}
		if data == "[DONE]" {
			s.done = true
			return false
		}
		if s.read(data) {
			return true
		}
	}
	return false
}

// read takes in one event's data and reports whether it was a chunk.
func (s *ChatStream) read(data string) bool {
	var head struct {
		Object string          `json:"object"`
		Timing *Timing         `json:"timing"`
		Detail json.RawMessage `json:"detail"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal([]byte(data), &head); err != nil {
		s.err = fmt.Errorf("client: bad stream event %q: %w", clip(data, 80), err)
		return false
	}
	if head.Object == "timing" {
		s.timing = head.Timing
		return false
	}
	if len(head.Detail) > 0 || len(head.Error) > 0 {
		s.err = streamError(head.Detail, head.Error)
		return false
	}
	s.chunk = ChatChunk{}
	if err := json.Unmarshal([]byte(data), &s.chunk); err != nil {
		s.err = fmt.Errorf("client: bad chunk: %w", err)
		return false
	}
	if s.chunk.Usage != nil {
		s.usage = s.chunk.Usage
	}
	if s.chunk.Confidence != nil {
		s.conf = s.chunk.Confidence
	}
	if len(s.chunk.Choices) > 0 && s.chunk.Choices[0].FinishReason != nil {
		s.finish = *s.chunk.Choices[0].FinishReason
	}
	return true
}

// streamError turns an error event sent in the middle of a stream into an
// *Error.
func streamError(detail, oai json.RawMessage) error {
	e := &Error{StatusCode: http.StatusInternalServerError, Raw: detail}
	if len(detail) > 0 {
		e.Detail = detailText(detail)
	} else {
		var m struct {
			Message string `json:"message"`
		}
		json.Unmarshal(oai, &m)
		e.Detail = m.Message
	}
	if e.Detail == "" {
		e.Detail = "the server ended the stream with an error"
	}
	return e
}

// Chunk returns the chunk Next read.
func (s *ChatStream) Chunk() ChatChunk { return s.chunk }

// Err returns the error that ended the stream early, if any.
func (s *ChatStream) Err() error { return s.err }

// Usage returns the token counts of the last chunk, once it is read.
func (s *ChatStream) Usage() *Usage { return s.usage }

// Timing returns the timing frame, once it is read.
func (s *ChatStream) Timing() *Timing { return s.timing }

// Confidence returns the answer's confidence when the server sent it.
func (s *ChatStream) Confidence() *float64 { return s.conf }

// FinishReason returns why the answer ended ("stop", "length"), once the
// last chunk is read.
func (s *ChatStream) FinishReason() string { return s.finish }

// Close ends the stream; a generation still running is cancelled.
func (s *ChatStream) Close() error { return s.body.Close() }

// EventReader reads server-sent events: it returns each event's data, the
// "data:" lines of one event joined by newlines. Comments, other fields and
// events without data are skipped.
type EventReader struct {
	r *bufio.Reader
}

// NewEventReader returns an EventReader reading r.
func NewEventReader(r io.Reader) *EventReader {
	return &EventReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// maxEventBytes bounds one event, so that a broken server cannot exhaust
// memory.
const maxEventBytes = 8 << 20

// Next returns the next event's data, or io.EOF at the end of the stream.
// An event cut off by the end of the stream is returned when it has data.
func (e *EventReader) Next() (string, error) {
	var data []string
	size := 0
	for {
		line, err := e.r.ReadString('\n')
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("client: cannot read stream: %w", err)
		}
		if err == io.EOF && line == "" {
			if len(data) > 0 {
				return strings.Join(data, "\n"), nil
			}
			return "", io.EOF
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if len(data) > 0 {
				return strings.Join(data, "\n"), nil
			}
			continue
		}
		if field, value, ok := strings.Cut(line, ":"); ok && field == "data" {
			value = strings.TrimPrefix(value, " ")
			size += len(value)
			if size > maxEventBytes {
				return "", errors.New("client: stream event too large")
			}
			data = append(data, value)
		} else if !ok && line == "data" {
			data = append(data, "")
		}
		if err == io.EOF {
			if len(data) > 0 {
				return strings.Join(data, "\n"), nil
			}
			return "", io.EOF
		}
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
