package api

import (
	"context"
	"sync"
	"time"

	"attune"
)

// authCache remembers the callers of recently checked keys for a short
// time, so that a busy client's requests do not each read the store. It
// holds keys by their hash, never the keys. Revoking a key through the
// API drops it at once; a key revoked by the keys command in another
// process stops working within the cache's TTL.
type authCache struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]cachedCaller // by key hash
}

type cachedCaller struct {
	c   Caller
	exp time.Time
}

func newAuthCache(ttl time.Duration, now func() time.Time) *authCache {
	return &authCache{ttl: ttl, now: now, m: map[string]cachedCaller{}}
}

// wrap returns an Authenticator that answers from the cache, asking auth
// on a miss. Only successes are cached.
func (ac *authCache) wrap(auth func(ctx context.Context, hash string) (Caller, error)) Authenticator {
	return func(ctx context.Context, key string) (Caller, error) {
		hash := attune.HashAPIKey(key)
		now := ac.now()
		ac.mu.Lock()
		e, ok := ac.m[hash]
		ac.mu.Unlock()
		if ok && now.Before(e.exp) {
			return e.c, nil
		}
		c, err := auth(ctx, hash)
		if err != nil || ac.ttl <= 0 {
			return c, err
		}
		ac.mu.Lock()
		if len(ac.m) > 10_000 {
			clear(ac.m) // bound the memory a key-spraying client can take
		}
		ac.m[hash] = cachedCaller{c: c, exp: now.Add(ac.ttl)}
		ac.mu.Unlock()
		return c, nil
	}
}

// forget drops the cached entries of a key by its id.
func (ac *authCache) forget(keyID string) {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	for h, e := range ac.m {
		if e.c.KeyID == keyID {
			delete(ac.m, h)
		}
	}
}
