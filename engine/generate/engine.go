// Package generate runs a loaded Qwen2 model for its users: text
// generation (greedy or sampled, with stop strings and tokens, streaming,
// several answers and concurrent requests decoded together), scoring of
// continuations by log-likelihood, and embeddings.
package generate

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"attune"
	"attune/engine/qwen2"
	"attune/engine/tokenizer"
)

// GenerationConfig is the part of a Hugging Face generation_config.json the
// engine uses: the tokens that end an answer and the model author's
// sampling settings, which Defaults returns.
type GenerationConfig struct {
	EOSTokenIDs       []int
	Temperature       float64
	TopK              int
	TopP              float64
	RepetitionPenalty float64
}

// generationFile is generation_config.json, whose eos_token_id is a number
// or a list.
type generationFile struct {
	EOSTokenID  json.RawMessage `json:"eos_token_id"`
	DoSample    *bool           `json:"do_sample"`
	Temperature *float64        `json:"temperature"`
	TopK        *int            `json:"top_k"`
	TopP        *float64        `json:"top_p"`
	RepPenalty  *float64        `json:"repetition_penalty"`
}

// LoadGenerationConfig reads dir/generation_config.json. A missing file
// gives the zero config (greedy, no extra stop tokens).
func LoadGenerationConfig(dir string) (GenerationConfig, error) {
	b, err := os.ReadFile(filepath.Join(dir, "generation_config.json"))
	if errors.Is(err, os.ErrNotExist) {
		return GenerationConfig{}, nil
	}
	if err != nil {
		return GenerationConfig{}, fmt.Errorf("generate: cannot load %s: %w", dir, err)
	}
	return ParseGenerationConfig(b)
}

// ParseGenerationConfig parses the contents of a generation_config.json.
func ParseGenerationConfig(b []byte) (GenerationConfig, error) {
	var f generationFile
	if err := json.Unmarshal(b, &f); err != nil {
		return GenerationConfig{}, fmt.Errorf("generate: cannot parse generation_config.json: %w", err)
	}
	var gc GenerationConfig
	if len(f.EOSTokenID) > 0 && string(f.EOSTokenID) != "null" {
		var one int
		if json.Unmarshal(f.EOSTokenID, &one) == nil {
			gc.EOSTokenIDs = []int{one}
		} else if err := json.Unmarshal(f.EOSTokenID, &gc.EOSTokenIDs); err != nil {
			return GenerationConfig{}, fmt.Errorf("generate: generation_config.json eos_token_id is neither a number nor a list of numbers: %w", err)
		}
	}
	if f.RepPenalty != nil {
		gc.RepetitionPenalty = *f.RepPenalty
	}
	if f.DoSample != nil && !*f.DoSample {
		return gc, nil // greedy
	}
	if f.Temperature != nil {
		gc.Temperature = *f.Temperature
	}
	if f.TopK != nil {
		gc.TopK = *f.TopK
	}
	if f.TopP != nil {
		gc.TopP = *f.TopP
	}
	return gc, nil
}

// ErrClosed is returned by calls on an Engine after Close.
var ErrClosed = errors.New("generate: engine is closed")

// Engine generates, scores and embeds with one model and its tokenizer.
// Generate calls from any number of goroutines are decoded together by one
// loop, so that each decoding step runs all active answers through the
// model at once. Score and Embed run in the caller's goroutine. An Engine
// is safe for concurrent use; Close it when done.
type Engine struct {
	model *qwen2.Model
	tok   *tokenizer.Tokenizer
	gen   GenerationConfig
	stops []int // eos ids of the generation and tokenizer configs
	log   *slog.Logger

	submit    chan *group
	quit      chan struct{}
	loopDone  chan struct{}
	closeOnce sync.Once
	ownModel  bool
}

// New returns an engine for a loaded model and tokenizer and starts its
// decoding loop; log receives failed steps (nil discards them). The model
// stays the caller's to close.
func New(m *qwen2.Model, tok *tokenizer.Tokenizer, gc GenerationConfig, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		model:    m,
		tok:      tok,
		gen:      gc,
		log:      log,
		submit:   make(chan *group),
		quit:     make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	for _, id := range append(append([]int(nil), gc.EOSTokenIDs...), tok.EOS()...) {
		if !containsInt(e.stops, id) {
			e.stops = append(e.stops, id)
		}
	}
	go e.loop()
	return e
}

// Open loads the model, tokenizer and generation config of a Hugging Face
// directory and returns an engine for them; Close also closes the model.
func Open(dir string, log *slog.Logger) (*Engine, error) {
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, err
	}
	gc, err := LoadGenerationConfig(dir)
	if err != nil {
		return nil, err
	}
	m, err := qwen2.Load(dir)
	if err != nil {
		return nil, err
	}
	e := New(m, tok, gc, log)
	e.ownModel = true
	return e, nil
}

// Close stops the decoding loop, failing generations still running with
// ErrClosed, and closes the model if Open loaded it. Score and Embed calls
// must have returned: they use the model directly.
func (e *Engine) Close() error {
	var err error
	e.closeOnce.Do(func() {
		close(e.quit)
		<-e.loopDone
		if e.ownModel {
			err = e.model.Close()
		}
	})
	return err
}

// Model returns the engine's model.
func (e *Engine) Model() *qwen2.Model { return e.model }

// Tokenizer returns the engine's tokenizer.
func (e *Engine) Tokenizer() *tokenizer.Tokenizer { return e.tok }

// StopTokens returns the ids that end every answer: the eos tokens of
// generation_config.json and tokenizer_config.json.
func (e *Engine) StopTokens() []int { return append([]int(nil), e.stops...) }

// Defaults returns the sampling settings and repetition penalty of the
// model's generation config (Temperature 0, greedy, when it has none).
func (e *Engine) Defaults() Params {
	return Params{Temperature: e.gen.Temperature, TopK: e.gen.TopK, TopP: e.gen.TopP, RepetitionPenalty: e.gen.RepetitionPenalty}
}

func containsInt(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// checkPrompt refuses an empty prompt, ids outside the vocabulary, and a
// prompt that leaves no room in the context.
func (e *Engine) checkPrompt(field string, ids []int) error {
	cfg := e.model.Config
	if len(ids) == 0 {
		return attune.Invalidf(field, "%s is empty", field)
	}
	if len(ids) >= cfg.MaxPositionEmbeddings {
		return attune.Invalidf(field, "%s has %d tokens; the model's context holds %d", field, len(ids), cfg.MaxPositionEmbeddings)
	}
	for _, id := range ids {
		if id < 0 || id >= cfg.VocabSize {
			return attune.Invalidf(field, "%s holds token id %d, outside the vocabulary of %d", field, id, cfg.VocabSize)
		}
	}
	return nil
}
