package api

import (
	"context"
	"strings"
	"sync"
	"time"
)

// ttlCache keeps values for a short time and loads each missing one once
// for every caller that asks meanwhile, so that many clients polling the
// same status read the store a few times a second in all rather than once
// each. Errors are not kept.
type ttlCache[V any] struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]*ttlEntry[V]
}

type ttlEntry[V any] struct {
	done chan struct{} // closed when loaded
	val  V
	err  error
	exp  time.Time
}

func newTTLCache[V any](ttl time.Duration, now func() time.Time) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, now: now, m: map[string]*ttlEntry[V]{}}
}

// get returns the value of key, calling load when it is missing or stale.
func (c *ttlCache[V]) get(ctx context.Context, key string, load func() (V, error)) (V, error) {
	if c.ttl <= 0 {
		return load()
	}
	c.mu.Lock()
	e := c.m[key]
	fresh := e != nil
	if fresh {
		select {
		case <-e.done:
			fresh = c.now().Before(e.exp)
		default: // being loaded: wait for it
		}
	}
	if !fresh {
		if len(c.m) > 10_000 {
			clear(c.m)
		}
		e = &ttlEntry[V]{done: make(chan struct{})}
		c.m[key] = e
		c.mu.Unlock()
		e.val, e.err = load()
		e.exp = c.now().Add(c.ttl)
		if e.err != nil {
			c.mu.Lock()
			if c.m[key] == e {
				delete(c.m, key)
			}
			c.mu.Unlock()
		}
		close(e.done)
		return e.val, e.err
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.val, e.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// drop forgets every key that contains s, after a change this process
// made, so that its own clients never see the state before it.
func (c *ttlCache[V]) drop(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if strings.Contains(k, s) {
			delete(c.m, k)
		}
	}
}
