package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// workers is the process-wide pool that runs the parallel parts of the
// kernels. It holds GOMAXPROCS-1 goroutines; the calling goroutine always
// takes a share of the work itself, so a call never waits for a worker to
// become free, and several goroutines calling at once share the same
// workers instead of each starting its own (no oversubscription beyond one
// extra runnable goroutine per concurrent caller).
var workers = newPool(runtime.GOMAXPROCS(0) - 1)

// pool is a set of persistent goroutines that help with parallel jobs.
type pool struct {
	size int
	jobs chan *job // unbuffered: a send succeeds only when a worker is idle
}

// job is one parallel loop: fn is called once for each i in [0, n), in
// any order and on any goroutine.
type job struct {
	fn   func(i int)
	n    int64
	next atomic.Int64
	wg   sync.WaitGroup
}

func newPool(size int) *pool {
	p := &pool{size: max(size, 0), jobs: make(chan *job)}
	for range p.size {
		go p.serve()
	}
	return p
}

func (p *pool) serve() {
	var nice int32 // this worker's thread priority (nice.go)
	for j := range p.jobs {
		niceWorker(&nice)
		j.drain()
		j.wg.Done()
	}
}

// drain runs the job's remaining indices until none is left.
func (j *job) drain() {
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			return
		}
		j.fn(int(i))
	}
}

// run calls fn(i) for every i in [0, n) and returns when all calls have
// returned. Idle workers join in; busy ones are not waited for. The offer
// to join is renewed before each index the caller takes, so that a worker
// still returning from the previous job joins this one late rather than
// not at all.
func (p *pool) run(n int, fn func(i int)) {
	if n <= 1 || p.size == 0 {
		for i := range n {
			fn(i)
		}
		return
	}
	j := &job{fn: fn, n: int64(n)}
	want, helpers := min(n-1, p.size), 0
	for {
		for helpers < want && p.offer(j) {
			helpers++
		}
		i := j.next.Add(1) - 1
		if i >= j.n {
			break
		}
		fn(int(i))
	}
	j.wg.Wait()
}

// offer hands j to an idle worker, if there is one, and reports whether
// one took it.
func (p *pool) offer(j *job) bool {
	j.wg.Add(1)
	select {
	case p.jobs <- j:
		return true
	default:
		j.wg.Done()
		return false
	}
}

// threads is how many goroutines a parallel kernel plans its work for.
func (p *pool) threads() int { return p.size + 1 }
