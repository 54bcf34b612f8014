package kernels

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestPoolRun checks that run calls fn exactly once for each index, with
// several callers sharing the pool at once, and for pools of no, one and
// three workers.
func TestPoolRun(t *testing.T) {
	for _, size := range []int{0, 1, 3} {
		p := newPool(size)
		for _, n := range []int{0, 1, 2, 7, 100} {
			t.Run(fmt.Sprintf("workers=%d/n=%d", size, n), func(t *testing.T) {
				var wg sync.WaitGroup
				for range 4 {
					wg.Go(func() {
						counts := make([]atomic.Int32, n)
						p.run(n, func(i int) { counts[i].Add(1) })
						for i := range counts {
							if got := counts[i].Load(); got != 1 {
								t.Errorf("index %d ran %d times, want 1", i, got)
							}
						}
					})
				}
				wg.Wait()
			})
		}
		close(p.jobs)
	}
}
