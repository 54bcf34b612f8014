package generate

import (
	"context"
	"math/rand/v2"
	"time"

	"attune/engine/qwen2"
	"attune/engine/tokenizer"
)

// A group is one Generate call: a prompt and the N answers that continue
// it. The prompt is prefilled once and its cache copied for each answer.
type group struct {
	ctx       context.Context
	req       Request
	start     time.Time
	seqs      []*seq
	prefilled bool
	ran       bool // the group had steps in the last forward pass
	err       error
	done      chan struct{}
}

// A seq is one answer being generated.
type seq struct {
	index    int
	step     qwen2.Step
	sampler  *sampler
	dec      *tokenizer.StreamDecoder
	stop     stopper
	answer   Answer
	probSum  float64
	finished bool
	next     [1]int // the token fed back, the Tokens of a decoding step
}

// Generate completes req.Prompt N times and returns the answers, streaming
// their text to req.OnToken as it grows. It joins the engine's decoding
// loop, so concurrent calls share each forward pass. When ctx is cancelled
// it returns the answers so far with ctx's error.
func (e *Engine) Generate(ctx context.Context, req Request) ([]Answer, error) {
	if err := req.Params.Validate(); err != nil {
		return nil, err
	}
	if err := e.checkPrompt("prompt", req.Prompt); err != nil {
		return nil, err
	}
	g := e.newGroup(ctx, req)
	select {
	case e.submit <- g:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.quit:
		return nil, ErrClosed
	}
	<-g.done
	answers := make([]Answer, len(g.seqs))
	for i, s := range g.seqs {
		answers[i] = s.answer
	}
	return answers, g.err
}

func (e *Engine) newGroup(ctx context.Context, req Request) *group {
	n := max(req.N, 1)
	seed := req.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	g := &group{ctx: ctx, req: req, start: time.Now(), done: make(chan struct{})}
	for i := range n {
		s := &seq{
			index:   i,
			sampler: newSampler(req.Params, seed, i),
			dec:     e.tok.NewStreamDecoder(),
			stop:    stopper{stops: req.Stop},
		}
		s.sampler.see(req.Prompt...)
		s.step.Adapter = req.Adapter
		s.answer.PromptTokens = len(req.Prompt)
		g.seqs = append(g.seqs, s)
	}
	g.seqs[0].step.Cache = e.model.NewCache()
	g.seqs[0].step.Tokens = req.Prompt
	return g
}

// loop is the decoding loop: each turn it admits the groups submitted
// since, runs one forward pass over every active answer (a whole prompt
// for a new group, one token for the others), and samples a token for
// each.
func (e *Engine) loop() {
	defer close(e.loopDone)
	var active []*group
	var steps []*qwen2.Step
	for {
		// Wait for work when idle; otherwise take what has arrived.
		if len(active) == 0 {
			select {
			case g := <-e.submit:
				active = append(active, g)
			case <-e.quit:
				return
			}
		}
		active = e.admit(active)
		select {
		case <-e.quit:
			for _, g := range active {
				g.finish(ErrClosed)
			}
			return
		default:
		}

		// Drop cancelled groups, then run the others one step.
		active = removeDone(active, func(g *group) bool {
			if err := g.ctx.Err(); err != nil {
				g.finish(err)
				return true
			}
			return false
		})
		steps = planStep(active, steps[:0])
		if len(steps) == 0 {
			continue
		}
		if err := e.model.Forward(steps); err != nil {
			e.log.Error("generation step failed", "err", err, "sequences", len(steps))
			for _, g := range active {
				g.finish(err)
			}
			clear(active)
			active = active[:0]
			continue
		}
		active = removeDone(active, e.advance)
	}
}

// admit adds the groups waiting to be submitted without blocking.
func (e *Engine) admit(active []*group) []*group {
	for {
		select {
		case g := <-e.submit:
			active = append(active, g)
		default:
			return active
		}
	}
}

// prefillBudget bounds the prompt tokens prefilled in one forward pass, so
// that a burst of requests does not make one pass's activations huge; a
// prompt longer than that runs alone.
const prefillBudget = 2048

// planStep collects the steps of the next forward pass: every answer that
// is decoding, and the prompts of new groups while they fit prefillBudget
// (the first always does). Groups left out wait for a later pass.
func planStep(active []*group, steps []*qwen2.Step) []*qwen2.Step {
	budget := prefillBudget
	for _, g := range active {
		g.ran = false
		if !g.prefilled {
			n := len(g.req.Prompt)
			if n > budget && budget < prefillBudget {
				continue
			}
			budget -= n
		}
		g.ran = true
		steps = g.appendSteps(steps)
	}
	return steps
}

// appendSteps adds the steps the group's next forward pass needs: its
// prompt before it is prefilled, then one token per unfinished answer.
func (g *group) appendSteps(steps []*qwen2.Step) []*qwen2.Step {
	if !g.prefilled {
		return append(steps, &g.seqs[0].step)
	}
	for _, s := range g.seqs {
		if !s.finished {
			steps = append(steps, &s.step)
		}
	}
	return steps
}

// advance takes a forward pass's logits: it copies a freshly prefilled
// prompt to the group's other answers, then samples and emits a token for
// each unfinished answer. It reports whether the group is done.
func (e *Engine) advance(g *group) bool {
	if !g.ran {
		return false
	}
	if !g.prefilled {
		first := g.seqs[0]
		for _, s := range g.seqs[1:] {
			s.step.Cache = first.step.Cache.Clone()
			s.step.Logits = append(s.step.Logits[:0], first.step.Logits...)
		}
		g.prefilled = true
	}
	live := 0
	for _, s := range g.seqs {
		if !s.finished {
			e.emit(g, s)
		}
		if !s.finished {
			live++
		}
	}
	if live == 0 {
		g.finish(nil)
		return true
	}
	return false
}

// emit samples the answer's next token from its step's logits and decides
// whether the answer goes on.
func (e *Engine) emit(g *group, s *seq) {
	id, prob := s.sampler.sample(s.step.Logits)
	a := &s.answer
	if a.CompletionTokens == 0 {
		a.TimeToFirstToken = time.Since(g.start)
	}
	a.CompletionTokens++
	s.probSum += prob
	a.Confidence = s.probSum / float64(a.CompletionTokens)

	// A stop token ends the answer without adding text.
	if containsInt(e.stops, id) || containsInt(g.req.StopTokens, id) {
		e.end(g, s, FinishStop, s.dec.Flush())
		return
	}
	a.Tokens = append(a.Tokens, id)

	// Special tokens (<|im_start|> and the like) are not shown.
	var piece string
	if !e.tok.IsSpecial(id) {
		piece = s.dec.Add(id)
	}
	delta, stopped := s.stop.push(piece)
	if stopped {
		g.send(s, delta)
		s.finished, a.FinishReason, a.Text = true, FinishStop, s.stop.String()
		return
	}
	g.send(s, delta)

	// Feed the token back unless the answer is out of room.
	full := s.step.Cache.Len() >= e.model.Config.MaxPositionEmbeddings
	if (g.req.MaxTokens > 0 && a.CompletionTokens >= g.req.MaxTokens) || full {
		e.end(g, s, FinishLength, s.dec.Flush())
		return
	}
	s.next[0] = id
	s.step.Tokens = s.next[:]
}

// end finishes an answer: the decoder's last bytes go through the stop
// check, and the text held back is released.
func (e *Engine) end(g *group, s *seq, reason, rest string) {
	delta, stopped := s.stop.push(rest)
	if !stopped {
		delta += s.stop.flush()
	}
	g.send(s, delta)
	s.finished = true
	s.answer.FinishReason = reason
	s.answer.Text = s.stop.String()
}

func (g *group) send(s *seq, delta string) {
	if g.req.OnToken != nil && delta != "" {
		g.req.OnToken(s.index, delta)
	}
}

// finish ends the group, recording err, and wakes its Generate call. The
// text of answers cut short is what was generated so far.
func (g *group) finish(err error) {
	for _, s := range g.seqs {
		if !s.finished {
			s.answer.Text = s.stop.String()
		}
	}
	g.err = err
	close(g.done)
}

// removeDone drops the groups for which done reports true, keeping order.
func removeDone(active []*group, done func(*group) bool) []*group {
	kept := active[:0]
	for _, g := range active {
		if !done(g) {
			kept = append(kept, g)
		}
	}
	clear(active[len(kept):])
	return kept
}
