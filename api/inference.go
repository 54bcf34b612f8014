package api

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"attune"
	"attune/runtime"
)

// Inference limits.
const (
	defaultChatTokens       = 512
	defaultCompletionTokens = 16 // OpenAI's default for completions
	maxChoices              = 8
	maxEmbeddingInputs      = 256
)

// resolveModel finds the model a caller names for inference: a base model
// at any time, or one of the caller's aligned models while it is deployed.
func (s *Server) resolveModel(ctx context.Context, c Caller, id string) (runtime.Target, error) {
	if id == "" {
		return runtime.Target{}, required("model")
	}
	if b, err := s.deps.Store.BaseModel(ctx, id); err == nil {
		return runtime.Target{BaseID: b.ID, BaseDir: b.Path}, nil
	} else if attune.ErrorKind(err) != attune.KindNotFound {
		return runtime.Target{}, err
	}
	m, err := s.deps.Store.AlignedModel(ctx, c.UserID, id)
	if attune.ErrorKind(err) == attune.KindNotFound {
		return runtime.Target{}, attune.Errorf(attune.KindNotFound, "The model %q does not exist; GET /v1/models lists the models you can use", id)
	}
	if err != nil {
		return runtime.Target{}, err
	}
	if m.DeploymentStatus != attune.Deployed || m.AdapterPath == "" {
		return runtime.Target{}, attune.Errorf(attune.KindNotFound,
			"The model %s is not deployed (status %s); deploy it with POST %s/models/deploy-model/%s", id, m.DeploymentStatus, v3, id)
	}
	b, err := s.deps.Store.BaseModel(ctx, m.BaseModel)
	if err != nil {
		return runtime.Target{}, fmt.Errorf("api: base model %s of %s: %w", m.BaseModel, id, err)
	}
	return runtime.Target{BaseID: b.ID, BaseDir: b.Path, ModelID: m.ID, AdapterDir: m.AdapterPath}, nil
}

// settings checks the decoding fields and returns them with defaults.
func (p sampling) settings(defaultMax int) (runtime.Sampling, int, error) {
	out := runtime.Sampling{MaxTokens: defaultMax, Temperature: 1, TopP: 1, Stop: p.Stop.vals}
	n := 1
	if err := p.Stop.check("stop"); err != nil {
		return out, 0, err
	}
	switch {
	case p.MaxTokens != nil && p.MaxCompletionTokens != nil && *p.MaxTokens != *p.MaxCompletionTokens:
		return out, 0, invalidField("body", "max_completion_tokens", "max_tokens and max_completion_tokens differ; send one", "value_error")
	case p.MaxCompletionTokens != nil:
		p.MaxTokens = p.MaxCompletionTokens
	}
	if p.MaxTokens != nil {
		if *p.MaxTokens < 1 {
			return out, 0, invalidField("body", "max_tokens", "must be at least 1", "greater_than_equal")
		}
		out.MaxTokens = *p.MaxTokens
	}
	if t := p.Temperature; t != nil {
		if *t < 0 || *t > 2 || math.IsNaN(*t) {
			return out, 0, invalidField("body", "temperature", "must be between 0 and 2", "value_error")
		}
		out.Temperature = *t
	}
	if t := p.TopP; t != nil {
		if !(*t > 0 && *t <= 1) {
			return out, 0, invalidField("body", "top_p", "must be in (0, 1]", "value_error")
		}
		out.TopP = *t
	}
	if k := p.TopK; k != nil {
		if *k < 0 {
			return out, 0, invalidField("body", "top_k", "must not be negative", "value_error")
		}
		out.TopK = *k
	}
	if p.N != nil {
		if *p.N < 1 || *p.N > maxChoices {
			return out, 0, invalidField("body", "n", fmt.Sprintf("must be between 1 and %d", maxChoices), "value_error")
		}
		n = *p.N
	}
	if len(out.Stop) > 4 {
		return out, 0, invalidField("body", "stop", "at most 4 stop sequences", "value_error")
	}
	if p.Seed != nil {
		out.Seed, out.HasSeed = *p.Seed, true
	}
	if err := p.neutral(); err != nil {
		return out, 0, err
	}
	return out, n, nil
}

// neutral refuses the OpenAI fields attune accepts but cannot honour,
// unless they hold their neutral value.
func (p sampling) neutral() error {
	switch {
	case p.FrequencyPenalty != nil && *p.FrequencyPenalty != 0:
		return invalidField("body", "frequency_penalty", "attune does not apply penalties; leave it out or send 0", "value_error")
	case p.PresencePenalty != nil && *p.PresencePenalty != 0:
		return invalidField("body", "presence_penalty", "attune does not apply penalties; leave it out or send 0", "value_error")
	case p.Logprobs != nil && p.Logprobs != false:
		return invalidField("body", "logprobs", "attune does not return log-probabilities; leave it out", "value_error")
	}
	return nil
}

// chatMessages checks a conversation and converts it.
func chatMessages(msgs []chatMessage) ([]runtime.Message, error) {
	if len(msgs) == 0 {
		return nil, invalidField("body", "messages", "send at least one message", "missing")
	}
	out := make([]runtime.Message, len(msgs))
	for i, m := range msgs {
		switch m.Role {
		case "system", "user", "assistant":
		case "developer":
			m.Role = "system"
		default:
			return nil, invalidAt([]any{"body", "messages", i, "role"}, fmt.Sprintf("role %q is not one of system, user, assistant", m.Role), "enum")
		}
		if m.Content.bad != "" {
			return nil, invalidAt([]any{"body", "messages", i, "content"}, m.Content.bad, "type_error")
		}
		out[i] = runtime.Message{Role: m.Role, Content: m.Content.text}
	}
	return out, nil
}

// handleChat answers POST /chat/completions.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) error {
	var req chatRequest
	if err := decodeJSON(w, r, s.cfg.JSONBodyLimit, &req); err != nil {
		return err
	}
	msgs, err := chatMessages(req.Messages)
	if err != nil {
		return err
	}
	samp, n, err := req.settings(defaultChatTokens)
	if err != nil {
		return err
	}
	if req.Stream && n > 1 {
		return invalidField("body", "n", "must be 1 when streaming", "value_error")
	}
	c := callerOf(r)
	target, err := s.resolveModel(r.Context(), c, req.Model)
	if err != nil {
		return err
	}
	gen := runtime.Request{Target: target, Messages: msgs, Sampling: samp, Key: c.KeyID}
	if req.PromptTruncateLen != nil {
		gen.PromptTruncateLen = *req.PromptTruncateLen
	}
	if req.Stream {
		return s.streamChat(w, r, req.Model, gen)
	}
	results, err := s.generateN(r.Context(), gen, n)
	if err != nil {
		return err
	}
	choices := make([]map[string]any, len(results))
	for i, res := range results {
		choices[i] = map[string]any{
			"index": i, "message": map[string]any{"role": "assistant", "content": res.Text},
			"finish_reason": res.FinishReason, "logprobs": nil,
		}
	}
	writeJSON(w, http.StatusOK, completionBody("chatcmpl-", "chat.completion", req.Model, s.now(), choices, results))
	return nil
}

// generateN runs a request for n answers.
func (s *Server) generateN(ctx context.Context, req runtime.Request, n int) ([]runtime.Result, error) {
	req.N = n
	out, err := s.deps.Runtime.Generate(ctx, req, nil)
	if err != nil {
		return nil, err
	}
	for _, res := range out {
		s.metrics.AddTokensGenerated(res.CompletionTokens)
	}
	return out, nil
}

// completionBody is the OpenAI answer object with NuGen's usage, timing
// and confidence summed or averaged over the choices.
func completionBody(prefix, object, model string, now time.Time, choices []map[string]any, results []runtime.Result) map[string]any {
	var u usage
	var conf float64
	var tm timing
	for _, res := range results {
		u.CompletionTokens += res.CompletionTokens
		conf += res.Confidence
		tm.Total = max(tm.Total, res.Total.Seconds())
	}
	u.PromptTokens = results[0].PromptTokens
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	tm.TTFT = results[0].TTFT.Seconds()
	if gen := tm.Total - tm.TTFT; gen > 0 && u.CompletionTokens > 1 {
		tm.Throughput = float64(u.CompletionTokens-1) / gen
	}
	return map[string]any{
		"id": prefix + attune.NewID("")[10:], "object": object, "created": now.Unix(), "model": model,
		"choices": choices, "usage": u, "timing": tm,
		"confidence":         conf / float64(len(results)),
		"system_fingerprint": nil,
	}
}

// timingOf converts a result's measurements.
func timingOf(res runtime.Result) timing {
	return timing{TTFT: res.TTFT.Seconds(), Throughput: res.Throughput(), Total: res.Total.Seconds()}
}

// streamChat answers a streaming chat request with server-sent events:
// a first chunk with the role, one chunk per piece of text, a last chunk
// with the finish reason and usage, NuGen's timing frame, and [DONE]. A
// client that goes away cancels the request's context, which stops the
// generation.
func (s *Server) streamChat(w http.ResponseWriter, r *http.Request, model string, gen runtime.Request) error {
	id := "chatcmpl-" + attune.NewID("")[10:]
	created := s.now().Unix()
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": nil}},
		}
	}
	var ev *sse
	start := func() {
		if ev == nil {
			ev = startSSE(w)
			ev.send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
		}
	}
	results, err := s.deps.Runtime.Generate(r.Context(), gen, func(_ int, text string) error {
		start()
		ev.send(chunk(map[string]any{"content": text}, nil))
		return ev.err
	})
	if err != nil && ev == nil {
		return err // nothing sent yet: a plain error answer
	}
	start()
	if err != nil {
		s.streamError(r, ev, err)
		return nil
	}
	res := results[0]
	s.metrics.AddTokensGenerated(res.CompletionTokens)
	last := chunk(map[string]any{}, res.FinishReason)
	last["usage"] = usage{res.PromptTokens, res.CompletionTokens, res.PromptTokens + res.CompletionTokens}
	last["confidence"] = res.Confidence
	ev.send(last)
	ev.send(map[string]any{"object": "timing", "timing": timingOf(res)})
	ev.done()
	return nil
}

// streamError ends a stream that failed after it started: the error goes
// in a frame of both shapes, and the stream closes.
func (s *Server) streamError(r *http.Request, ev *sse, err error) {
	if r.Context().Err() != nil {
		logger(r).Info("client went away; generation cancelled")
		return
	}
	_, body := errorBody(err, true)
	if attune.ErrorKind(err) == attune.KindInternal {
		logger(r).Error("generation failed mid-stream", "error", err.Error())
	}
	ev.send(body)
	ev.done()
}

// handleCompletion answers POST /completions: one choice per prompt (and
// per n).
func (s *Server) handleCompletion(w http.ResponseWriter, r *http.Request) error {
	var req completionRequest
	if err := decodeJSON(w, r, s.cfg.JSONBodyLimit, &req); err != nil {
		return err
	}
	if err := req.Prompt.check("prompt"); err != nil {
		return err
	}
	if !req.Prompt.set || len(req.Prompt.vals) == 0 {
		return required("prompt")
	}
	samp, n, err := req.settings(defaultCompletionTokens)
	if err != nil {
		return err
	}
	if req.Stream && (n > 1 || len(req.Prompt.vals) > 1) {
		return invalidField("body", "stream", "streaming takes one prompt and n = 1", "value_error")
	}
	c := callerOf(r)
	target, err := s.resolveModel(r.Context(), c, req.Model)
	if err != nil {
		return err
	}
	if req.Stream {
		gen := runtime.Request{Target: target, Prompt: req.Prompt.vals[0], Sampling: samp, Key: c.KeyID}
		return s.streamCompletion(w, r, req.Model, gen, req.Echo)
	}
	var choices []map[string]any
	var results []runtime.Result
	for _, prompt := range req.Prompt.vals {
		rs, err := s.generateN(r.Context(), runtime.Request{Target: target, Prompt: prompt, Sampling: samp, Key: c.KeyID}, n)
		if err != nil {
			return err
		}
		for _, res := range rs {
			text := res.Text
			if req.Echo {
				text = prompt + text
			}
			choices = append(choices, map[string]any{
				"index": len(choices), "text": text, "finish_reason": res.FinishReason, "logprobs": nil,
			})
		}
		results = append(results, rs...)
	}
	body := completionBody("cmpl-", "text_completion", req.Model, s.now(), choices, results)
	// Each prompt's tokens count once, however many answers it has.
	var prompts int
	for i := 0; i < len(results); i += n {
		prompts += results[i].PromptTokens
	}
	u := body["usage"].(usage)
	u.PromptTokens = prompts
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	body["usage"] = u
	writeJSON(w, http.StatusOK, body)
	return nil
}

// streamCompletion answers a streaming completion like streamChat, with
// text_completion chunks.
func (s *Server) streamCompletion(w http.ResponseWriter, r *http.Request, model string, gen runtime.Request, echo bool) error {
	id := "cmpl-" + attune.NewID("")[10:]
	created := s.now().Unix()
	chunk := func(text string, finish any) map[string]any {
		return map[string]any{
			"id": id, "object": "text_completion", "created": created, "model": model,
			"choices": []any{map[string]any{"index": 0, "text": text, "finish_reason": finish, "logprobs": nil}},
		}
	}
	var ev *sse
	start := func() {
		if ev == nil {
			ev = startSSE(w)
			if echo {
				ev.send(chunk(gen.Prompt, nil))
			}
		}
	}
	results, err := s.deps.Runtime.Generate(r.Context(), gen, func(_ int, text string) error {
		start()
		ev.send(chunk(text, nil))
		return ev.err
	})
	if err != nil && ev == nil {
		return err
	}
	start()
	if err != nil {
		s.streamError(r, ev, err)
		return nil
	}
	res := results[0]
	s.metrics.AddTokensGenerated(res.CompletionTokens)
	last := chunk("", res.FinishReason)
	last["usage"] = usage{res.PromptTokens, res.CompletionTokens, res.PromptTokens + res.CompletionTokens}
	last["confidence"] = res.Confidence
	ev.send(last)
	ev.send(map[string]any{"object": "timing", "timing": timingOf(res)})
	ev.done()
	return nil
}

// handleEmbeddings answers POST /embeddings with mean-pooled hidden
// states, as floats or, when asked, base64 of little-endian float32s.
func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) error {
	var req embeddingRequest
	if err := decodeJSON(w, r, s.cfg.JSONBodyLimit, &req); err != nil {
		return err
	}
	if err := req.Input.check("input"); err != nil {
		return err
	}
	switch {
	case !req.Input.set || len(req.Input.vals) == 0:
		return required("input")
	case len(req.Input.vals) > maxEmbeddingInputs:
		return invalidField("body", "input", fmt.Sprintf("at most %d inputs a request", maxEmbeddingInputs), "value_error")
	case req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64":
		return invalidField("body", "encoding_format", "must be float or base64", "enum")
	case req.Dimensions != nil:
		return invalidField("body", "dimensions", "attune's embeddings have the model's width; leave it out", "value_error")
	}
	c := callerOf(r)
	target, err := s.resolveModel(r.Context(), c, req.Model)
	if err != nil {
		return err
	}
	vecs, tokens, err := s.deps.Runtime.Embed(r.Context(), target, c.KeyID, req.Input.vals)
	if err != nil {
		return err
	}
	data := make([]map[string]any, len(vecs))
	for i, v := range vecs {
		var emb any = v
		if req.EncodingFormat == "base64" {
			emb = base64Floats(v)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": emb}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list", "data": data, "model": req.Model,
		"usage": map[string]any{"prompt_tokens": tokens, "total_tokens": tokens},
	})
	return nil
}

// base64Floats encodes a vector as OpenAI's base64 embedding format.
func base64Floats(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// handleOpenAIModels answers GET /v1/models: the base models and the
// caller's deployed aligned models.
func (s *Server) handleOpenAIModels(w http.ResponseWriter, r *http.Request) error {
	ctx, c := r.Context(), callerOf(r)
	bases, err := s.deps.Store.ListBaseModels(ctx)
	if err != nil {
		return err
	}
	data := []map[string]any{}
	for _, b := range bases {
		data = append(data, map[string]any{"id": b.ID, "object": "model", "created": b.CreatedAt.Unix(), "owned_by": "attune"})
	}
	for offset := 0; ; offset += maxLimit {
		ms, total, err := s.deps.Store.ListAlignedModels(ctx, c.UserID, attune.Page{Limit: maxLimit, Offset: offset})
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.DeploymentStatus == attune.Deployed {
				data = append(data, map[string]any{
					"id": m.ID, "object": "model", "created": m.CreatedAt.Unix(),
					"owned_by": strings.ToLower(c.Email), "root": m.BaseModel,
				})
			}
		}
		if offset+maxLimit >= total {
			break
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
	return nil
}
