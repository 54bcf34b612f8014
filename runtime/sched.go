package runtime

import (
	"context"
	"sync"

	"attune"
)

// scheduler shares a fixed number of generation slots among callers. When
// all slots are busy, requests wait in one FIFO queue per key, and a freed
// slot goes to the keys in turn (round robin), so that one client sending
// many requests cannot starve the others. The number of waiting requests
// is bounded; past it, acquire fails at once with KindUnavailable.
type scheduler struct {
	mu      sync.Mutex
	slots   int
	busy    int
	limit   int                  // most requests waiting
	waiting int                  // requests waiting now
	queues  map[string][]*waiter // per key, oldest first
	ring    []string             // keys with waiters, in turn order

	queued chan<- string // tests: told the key of each request that queues
}

type waiter struct {
	ready   chan struct{} // closed when the waiter holds a slot
	granted bool
}

func newScheduler(slots, limit int) *scheduler {
	return &scheduler{slots: max(slots, 1), limit: max(limit, 0), queues: map[string][]*waiter{}}
}

// acquire waits for a slot on behalf of key and returns the function that
// gives it back. It fails when the queue is full or ctx ends first.
func (s *scheduler) acquire(ctx context.Context, key string) (release func(), err error) {
	s.mu.Lock()
	if s.busy < s.slots && s.waiting == 0 {
		s.busy++
		s.mu.Unlock()
		return s.releaseOnce(), nil
	}
	if s.waiting >= s.limit {
		s.mu.Unlock()
		return nil, attune.Errorf(attune.KindUnavailable,
			"the model server is busy: %d requests are waiting; retry in a moment", s.waiting)
	}
	w := &waiter{ready: make(chan struct{})}
	if len(s.queues[key]) == 0 {
		s.ring = append(s.ring, key)
	}
	s.queues[key] = append(s.queues[key], w)
	s.waiting++
	s.mu.Unlock()
	if s.queued != nil {
		s.queued <- key
	}

	select {
	case <-w.ready:
		return s.releaseOnce(), nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if w.granted {
			// The slot came as the caller left: pass it on.
			s.busy--
			s.grant()
		} else {
			s.remove(key, w)
		}
		return nil, ctx.Err()
	}
}

// releaseOnce returns a release function that is safe to call twice.
func (s *scheduler) releaseOnce() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.busy--
			s.grant()
		})
	}
}

// grant hands free slots to waiters, one key at a time in ring order.
// s.mu must be held.
func (s *scheduler) grant() {
	for s.busy < s.slots && len(s.ring) > 0 {
		key := s.ring[0]
		q := s.queues[key]
		w := q[0]
		s.queues[key] = q[1:]
		s.ring = s.ring[1:]
		if len(s.queues[key]) > 0 {
			s.ring = append(s.ring, key)
		} else {
			delete(s.queues, key)
		}
		s.waiting--
		s.busy++
		w.granted = true
		close(w.ready)
	}
}

// remove takes a waiter that gave up out of its queue. s.mu must be held.
func (s *scheduler) remove(key string, w *waiter) {
	q := s.queues[key]
	for i, x := range q {
		if x == w {
			q = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	s.waiting--
	if len(q) > 0 {
		s.queues[key] = q
		return
	}
	delete(s.queues, key)
	for i, k := range s.ring {
		if k == key {
			s.ring = append(s.ring[:i:i], s.ring[i+1:]...)
			break
		}
	}
}

// depth reports how many requests wait.
func (s *scheduler) depth() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting
}
