package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"attune"
)

// Config names an OpenAI-compatible chat completions endpoint: attune's
// own /v1, a local server, or a hosted API.
type Config struct {
	// BaseURL is the API root; requests go to BaseURL + "/chat/completions"
	// (for example "http://localhost:8080/v1").
	BaseURL string `json:"base_url"`
	Model   string `json:"model"`
	APIKey  string `json:"api_key,omitempty"` // sent as a bearer token when set

	// Timeout bounds one request; default 2 minutes.
	Timeout time.Duration `json:"timeout,omitempty"`
	// MaxTokens bounds one answer; default 1024.
	MaxTokens int `json:"max_tokens,omitempty"`
}

// Validate reports the first bad field as a KindInvalid attune.Error.
func (c Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	switch {
	case c.BaseURL == "":
		return attune.Invalidf("base_url", "base_url is required: the root of an OpenAI-compatible API")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return attune.Invalidf("base_url", "base_url %q is not an http or https URL", c.BaseURL)
	case strings.TrimSpace(c.Model) == "":
		return attune.Invalidf("model", "model is required: the model id the endpoint serves")
	case c.Timeout < 0:
		return attune.Invalidf("timeout", "timeout must not be negative")
	case c.MaxTokens < 0:
		return attune.Invalidf("max_tokens", "max_tokens must not be negative")
	}
	return nil
}

// Message is one turn of a chat, as the OpenAI chat format and chat
// training examples write it.
type Message struct {
	Role    string `json:"role"` // "system", "user" or "assistant"
	Content string `json:"content"`
}

// Chat sends chat completion requests to one endpoint. It is safe for
// concurrent use.
type Chat struct {
	cfg    Config
	client *http.Client
}

// NewChat returns a client for cfg; a nil client means http.DefaultClient.
func NewChat(cfg Config, client *http.Client) (*Chat, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = 1024
	}
	if client == nil {
		client = http.DefaultClient
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Chat{cfg: cfg, client: client}, nil
}

type chatRequest struct {
	Model       string    `json:"model"`
	Messages    []Message `json:"messages"`
	Temperature float64   `json:"temperature"`
	MaxTokens   int       `json:"max_tokens"`
}

type chatResponse struct {
	Choices []struct {
		Message Message `json:"message"`
	} `json:"choices"`
}

// Complete sends messages with temperature 0 and returns the first choice's
// content. A failure to reach the endpoint or a 5xx answer is a
// KindUnavailable attune.Error; a 4xx answer (bad key, unknown model) is
// KindInvalid, naming the status and the endpoint's message.
func (c *Chat) Complete(ctx context.Context, messages []Message) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	body, err := json.Marshal(chatRequest{Model: c.cfg.Model, Messages: messages, MaxTokens: c.cfg.MaxTokens})
	if err != nil {
		return "", fmt.Errorf("synth: cannot encode chat request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("synth: cannot build chat request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}

	resp, err := c.client.Do(req)
	if err != nil {
		return "", &attune.Error{Kind: attune.KindUnavailable, Message: "the chat endpoint " + c.cfg.BaseURL + " cannot be reached", Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return "", &attune.Error{Kind: attune.KindUnavailable, Message: "the chat endpoint's answer was cut off", Err: err}
	}
	if resp.StatusCode/100 != 2 {
		kind := attune.KindInvalid
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			kind = attune.KindUnavailable
		}
		return "", attune.Errorf(kind, "the chat endpoint answered %s: %.300s", resp.Status, strings.TrimSpace(string(data)))
	}
	var cr chatResponse
	if err := json.Unmarshal(data, &cr); err != nil || len(cr.Choices) == 0 {
		return "", attune.Errorf(attune.KindUnavailable, "the chat endpoint's answer is not a chat completion: %.200s", data)
	}
	return cr.Choices[0].Message.Content, nil
}
