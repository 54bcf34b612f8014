package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"attune"
	"attune/engine/generate"
	"attune/engine/lora"
)

// Config holds the runtime's settings. The zero value of a field means its
// default.
type Config struct {
	// Slots is how many requests generate at once (default 2). Requests
	// beyond it wait their turn.
	Slots int
	// QueueLimit is how many requests may wait (default 64; negative: none
	// may, a request finding every slot busy is refused); past it, a
	// request fails at once with KindUnavailable.
	QueueLimit int
	// MaxTokens caps the tokens one request may generate (default 4096).
	MaxTokens int
	// Q8 serves every base model in the engine's fast mode: weights
	// rounded to int8 per row and products in integers (qwen2's
	// QuantizeQ8), for about half the memory and faster decoding and
	// prefill, at logits within about 1.5% of the exact ones. Chat,
	// completions, embeddings and evaluations all use it.
	Q8 bool
}

// Validate reports the first field of c that is out of range.
func (c Config) Validate() error {
	switch {
	case c.Slots < 0:
		return fmt.Errorf("runtime: Slots must not be negative")
	case c.MaxTokens < 0:
		return fmt.Errorf("runtime: MaxTokens must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Slots == 0 {
		c.Slots = 2
	}
	if c.QueueLimit == 0 {
		c.QueueLimit = 64
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = 4096
	}
	return c
}

// Runtime serves generation and embeddings for base models and their
// adapters. It is safe for concurrent use.
type Runtime struct {
	cfg   Config
	log   *slog.Logger
	sched *scheduler

	mu       sync.Mutex
	bases    map[string]*loading[*base]    // by base id
	adapters map[string]*loading[*adapter] // by aligned model id
}

// base is a loaded base model, shared by every request on it and on its
// aligned models: its engine decodes their requests together.
type base struct {
	id  string
	eng *generate.Engine
}

// adapter is a loaded LoRA adapter and the directory it came from.
type adapter struct {
	dir string
	a   *lora.Adapter
}

// loading is a value being loaded once for every caller that asks
// meanwhile.
type loading[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// New returns a runtime with nothing loaded; models load on first use.
func New(cfg Config, log *slog.Logger) (*Runtime, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runtime{
		cfg: cfg, log: log,
		sched:    newScheduler(cfg.Slots, cfg.QueueLimit),
		bases:    map[string]*loading[*base]{},
		adapters: map[string]*loading[*adapter]{},
	}, nil
}

// QueueDepth reports how many requests wait for a slot.
func (rt *Runtime) QueueDepth() int { return rt.sched.depth() }

// base returns the loaded base model of t, loading it on first use.
func (rt *Runtime) base(ctx context.Context, t Target) (*base, error) {
	rt.mu.Lock()
	l, ok := rt.bases[t.BaseID]
	if !ok {
		l = &loading[*base]{done: make(chan struct{})}
		rt.bases[t.BaseID] = l
		rt.mu.Unlock()
		l.val, l.err = rt.loadBase(t)
		if l.err != nil {
			rt.mu.Lock()
			delete(rt.bases, t.BaseID) // let a later request try again
			rt.mu.Unlock()
		}
		close(l.done)
	} else {
		rt.mu.Unlock()
	}
	select {
	case <-l.done:
		return l.val, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (rt *Runtime) loadBase(t Target) (*base, error) {
	eng, err := generate.Open(t.BaseDir, rt.log.With(slog.String("model_id", t.BaseID)))
	if err != nil {
		return nil, fmt.Errorf("runtime: cannot load base model %s: %w", t.BaseID, err)
	}
	if rt.cfg.Q8 {
		eng.Model().QuantizeQ8()
	}
	rt.log.Info("base model loaded", slog.String("model_id", t.BaseID), slog.String("dir", t.BaseDir), slog.Bool("q8", rt.cfg.Q8))
	return &base{id: t.BaseID, eng: eng}, nil
}

// adapter returns the loaded adapter of t's aligned model, or nil for a
// base model. An adapter is reloaded when the model's adapter directory
// changes (an early deploy followed by the final one).
func (rt *Runtime) adapter(ctx context.Context, t Target, b *base) (*adapter, error) {
	if t.ModelID == "" {
		return nil, nil
	}
	rt.mu.Lock()
	l, ok := rt.adapters[t.ModelID]
	if ok {
		select {
		case <-l.done:
			if l.err == nil && l.val.dir != t.AdapterDir {
				ok = false
			}
		default:
		}
	}
	if !ok {
		l = &loading[*adapter]{done: make(chan struct{})}
		rt.adapters[t.ModelID] = l
		rt.mu.Unlock()
		a, err := lora.Load(t.AdapterDir, b.eng.Model().Config)
		if err != nil {
			err = &attune.Error{Kind: attune.KindUnavailable, Err: err,
				Message: "the adapter of " + t.ModelID + " cannot be loaded; redeploy the model"}
		}
		l.val, l.err = &adapter{dir: t.AdapterDir, a: a}, err
		if err != nil {
			rt.mu.Lock()
			delete(rt.adapters, t.ModelID)
			rt.mu.Unlock()
		}
		close(l.done)
	} else {
		rt.mu.Unlock()
	}
	select {
	case <-l.done:
		return l.val, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Evict drops a model's adapter from memory, when it is undeployed.
func (rt *Runtime) Evict(modelID string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	delete(rt.adapters, modelID)
}

// Close unloads every base model. No request may be running.
func (rt *Runtime) Close() error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for id, l := range rt.bases {
		<-l.done
		if l.err == nil {
			l.val.eng.Close()
		}
		delete(rt.bases, id)
	}
	clear(rt.adapters)
	return nil
}

// Deploy loads an aligned model's base and adapter ahead of its first
// request, so that the request does not wait for them and an adapter that
// cannot be loaded fails the deploy rather than a client's request.
func (rt *Runtime) Deploy(ctx context.Context, t Target) error {
	b, err := rt.base(ctx, t)
	if err != nil {
		return err
	}
	_, err = rt.adapter(ctx, t, b)
	return err
}

// Undeploy drops an aligned model's adapter from memory. Requests already
// running with it finish; the store's deployment status is what keeps new
// ones away.
func (rt *Runtime) Undeploy(ctx context.Context, modelID string) error {
	rt.Evict(modelID)
	return nil
}
