package runtime

import (
	"context"
	"errors"
	"sync"
	"time"

	"attune"
	"attune/engine/generate"
	"attune/engine/qwen2"
	"attune/engine/tokenizer"
)

// Generate runs one generation of req.N answers (at least one). emit,
// when not nil, receives each answer's text as it grows (index is the
// answer), in the caller's goroutine; an error from emit stops the
// generation and is returned. The request waits for a slot first
// (KindUnavailable when the queue is full), and stops when ctx ends, as
// when the client goes away.
func (rt *Runtime) Generate(ctx context.Context, req Request, emit func(index int, text string) error) ([]Result, error) {
	start := time.Now()
	release, err := rt.sched.acquire(ctx, req.Key)
	if err != nil {
		return nil, err
	}
	defer release()
	b, err := rt.base(ctx, req.Target)
	if err != nil {
		return nil, err
	}
	a, err := rt.adapter(ctx, req.Target, b)
	if err != nil {
		return nil, err
	}
	prompt, err := rt.prompt(b, req)
	if err != nil {
		return nil, err
	}
	params := rt.params(b, req, len(prompt))
	if a != nil {
		params.Adapter = a.a
	}
	wait := time.Since(start) // queueing, loading, encoding
	answers, err := rt.run(ctx, b, generate.Request{Prompt: prompt, Params: params}, emit)
	if err != nil {
		return nil, err
	}
	total := time.Since(start)
	out := make([]Result, len(answers))
	for i, ans := range answers {
		out[i] = Result{
			Text: ans.Text, FinishReason: ans.FinishReason,
			PromptTokens: ans.PromptTokens, CompletionTokens: ans.CompletionTokens,
			Confidence: ans.Confidence, TTFT: wait + ans.TimeToFirstToken, Total: total,
		}
	}
	return out, nil
}

// prompt renders and encodes a request's prompt, keeping only its last
// PromptTruncateLen tokens when that is set.
func (rt *Runtime) prompt(b *base, req Request) ([]int, error) {
	tok := b.eng.Tokenizer()
	var ids []int
	if req.Messages != nil {
		msgs := make([]tokenizer.Message, len(req.Messages))
		for i, m := range req.Messages {
			msgs[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
		}
		var err error
		if ids, err = tok.EncodeChat(msgs, true); err != nil {
			return nil, attune.Errorf(attune.KindInvalid, "model %s cannot chat: %v; use the completions route", req.Target.Name(), err)
		}
	} else {
		ids = tok.Encode(req.Prompt)
	}
	if n := req.PromptTruncateLen; n > 0 && len(ids) > n {
		ids = ids[len(ids)-n:]
	}
	return ids, nil
}

// params turns a request's sampling settings into the engine's, capping
// the answer at the runtime's limit and the room left in the context.
func (rt *Runtime) params(b *base, req Request, promptLen int) generate.Params {
	room := b.eng.Model().Config.MaxPositionEmbeddings - promptLen
	p := generate.Params{
		MaxTokens:   min(max(req.MaxTokens, 1), rt.cfg.MaxTokens, max(room, 1)),
		Temperature: req.Temperature, TopK: req.TopK, TopP: req.TopP,
		N: max(req.N, 1), Stop: req.Stop,
	}
	if req.HasSeed {
		// The engine reads seed 0 as "draw one"; shift so that every
		// client seed, 0 included, is reproducible.
		p.Seed = uint64(req.Seed) + 1
		if p.Seed == 0 {
			p.Seed = 1
		}
	}
	return p
}

// run generates on the engine while the caller's goroutine streams: the
// engine's callback only queues text (it must not block the decoding
// loop), and this goroutine hands it to emit.
func (rt *Runtime) run(ctx context.Context, b *base, req generate.Request, emit func(int, string) error) ([]generate.Answer, error) {
	if emit == nil {
		return b.eng.Generate(ctx, req)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var q pieces
	q.wake = make(chan struct{}, 1)
	req.OnToken = q.push

	type outcome struct {
		answers []generate.Answer
		err     error
	}
	done := make(chan outcome, 1)
	go func() {
		a, err := b.eng.Generate(ctx, req)
		done <- outcome{a, err}
	}()

	var emitErr error
	deliver := func() {
		for _, p := range q.take() {
			if emitErr == nil {
				if emitErr = emit(p.index, p.text); emitErr != nil {
					cancel()
				}
			}
		}
	}
	for {
		select {
		case <-q.wake:
			deliver()
		case o := <-done:
			deliver()
			if emitErr != nil {
				return nil, emitErr
			}
			if o.err != nil && errors.Is(o.err, generate.ErrClosed) {
				return nil, attune.Errorf(attune.KindUnavailable, "the server is shutting down; retry shortly")
			}
			return o.answers, o.err
		}
	}
}

// piece is a stretch of one answer's text.
type piece struct {
	index int
	text  string
}

// pieces is an unbounded queue from the engine's loop to a request's
// goroutine; push never blocks.
type pieces struct {
	mu   sync.Mutex
	list []piece
	wake chan struct{}
}

func (q *pieces) push(index int, text string) {
	q.mu.Lock()
	q.list = append(q.list, piece{index, text})
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *pieces) take() []piece {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.list
	q.list = nil
	return l
}

// Embed returns the mean-pooled final hidden state of each input and the
// number of tokens read.
func (rt *Runtime) Embed(ctx context.Context, t Target, key string, inputs []string) ([][]float32, int, error) {
	release, err := rt.sched.acquire(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	defer release()
	b, err := rt.base(ctx, t)
	if err != nil {
		return nil, 0, err
	}
	a, err := rt.adapter(ctx, t, b)
	if err != nil {
		return nil, 0, err
	}
	tok := b.eng.Tokenizer()
	seqs := make([][]int, len(inputs))
	n := 0
	for i, in := range inputs {
		seqs[i] = tok.Encode(in)
		n += len(seqs[i])
	}
	var ad qwen2.Adapter
	if a != nil {
		ad = a.a
	}
	vecs, err := b.eng.Embed(ctx, seqs, ad)
	return vecs, n, err
}
