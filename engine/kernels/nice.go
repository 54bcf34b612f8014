package kernels

import (
	"runtime"
	"sync/atomic"
)

// Heavy compute can yield to latency-sensitive work in the same process
// (an HTTP server answering status polls while an alignment trains) by
// running on threads of lower scheduling priority. Go schedules goroutines,
// not threads, so this works in two parts: the pool's workers each keep one
// thread of their own once asked to lower its priority, and a long
// computation (a training run) calls RunNiced to run on a thread of its
// own whose priority is lowered for its whole life.
//
// A thread's priority can be lowered without privileges but not raised
// again, so a niced thread is never handed back to the Go runtime: the
// workers keep theirs for the life of the process, and RunNiced's thread
// ends with its goroutine.

// workerNice is the nice value the pool's workers run at.
var workerNice atomic.Int32

// SetWorkerNice asks the pool's workers to run at nice value n (0 to 19;
// higher is lower priority) from their next job on. It can only lower
// their priority: a value below the current one is ignored. On systems
// without per-thread priorities it does nothing.
func SetWorkerNice(n int) {
	n = min(max(n, 0), 19)
	for {
		old := workerNice.Load()
		if int32(n) <= old || workerNice.CompareAndSwap(old, int32(n)) {
			return
		}
	}
}

// RunNiced runs fn on a new thread at nice value n and returns its error
// once it returns. The thread is discarded afterwards, so the lowered
// priority never reaches other goroutines. With n <= 0 it simply calls fn.
// The error from lowering the priority, if any, is not fn's: it is
// reported through the second result while fn still runs.
func RunNiced(n int, fn func() error) (err, niceErr error) {
	if n <= 0 {
		return fn(), nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		// Exiting while locked ends the thread: deliberately no unlock.
		niceErr = setThreadNice(min(n, 19))
		err = fn()
	}()
	<-done
	return err, niceErr
}

// niceWorker is called by a pool worker before each job; applied is the
// value it runs at, updated here. The first time it lowers the priority it
// locks the worker to its thread for good: a worker that was never asked
// runs unlocked, as any goroutine, so that handing it a job costs no
// thread switch.
func niceWorker(applied *int32) {
	if n := workerNice.Load(); n > *applied {
		if *applied == 0 {
			runtime.LockOSThread()
		}
		if setThreadNice(int(n)) == nil {
			*applied = n
		} else {
			*applied = 19 // do not retry on every job
		}
	}
}
