package kernels

// Threads is how many goroutines the kernels' parallel loops run on: the
// pool's workers and the caller.
func Threads() int { return workers.threads() }

// Parallel calls fn(i) for every i in [0, n) on the kernels' pool and the
// calling goroutine, and returns when all calls have returned. Loops
// outside this package that run beside the kernels (a training step's
// element-wise passes) use it, so that they share the kernels' threads
// and their priority (nice.go) rather than starting goroutines of their
// own.
func Parallel(n int, fn func(i int)) { workers.run(n, fn) }
