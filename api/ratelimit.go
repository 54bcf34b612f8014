package api

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is the per-key request budget: a token bucket refilled at
// PerSecond that holds at most Burst requests. A zero PerSecond turns
// limiting off.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// limiters holds one token bucket per API key.
type limiters struct {
	cfg RateLimit
	mu  sync.Mutex
	m   map[string]*rate.Limiter
}

func newLimiters(cfg RateLimit) *limiters {
	return &limiters{cfg: cfg, m: map[string]*rate.Limiter{}}
}

// allow reports whether key may make a request now, and if not, how long
// it should wait before the next one can pass. perSecond is the key's own
// rate, 0 for the server's default; a key's own rate comes with a burst of
// one second's worth of requests.
func (l *limiters) allow(key string, perSecond float64, now time.Time) (bool, time.Duration) {
	burst := l.cfg.Burst
	if perSecond <= 0 {
		perSecond = l.cfg.PerSecond
	} else {
		burst = int(math.Ceil(perSecond))
	}
	if perSecond <= 0 {
		return true, 0
	}
	l.mu.Lock()
	lim := l.m[key]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(perSecond), max(burst, 1))
		l.m[key] = lim
	} else if lim.Limit() != rate.Limit(perSecond) || lim.Burst() != max(burst, 1) {
		lim.SetLimitAt(now, rate.Limit(perSecond))
		lim.SetBurstAt(now, max(burst, 1))
	}
	l.mu.Unlock()

	res := lim.ReserveN(now, 1)
	delay := res.DelayFrom(now)
	if delay == 0 {
		return true, 0
	}
	res.CancelAt(now)
	return false, delay
}

// retryAfter renders a wait as whole seconds for the Retry-After header,
// never less than one.
func retryAfter(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
