package kernels

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// threadNice reads the nice value of thread tid of this process from
// /proc (field 19 of its stat line).
func threadNice(t *testing.T, tid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after its closing parenthesis (field 3 is the first of those).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	n, err := strconv.Atoi(f[19-3])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRunNicedLowersOnlyItsOwnThread(t *testing.T) {
	before := threadNice(t, syscall.Gettid())
	var inside, tid int
	want := errors.New("fn's own error")
	err, niceErr := RunNiced(7, func() error {
		tid = syscall.Gettid()
		inside = threadNice(t, tid)
		return want
	})
	if niceErr != nil {
		t.Fatal(niceErr)
	}
	if err != want {
		t.Fatalf("RunNiced returned %v, want fn's error", err)
	}
	if inside != 7 {
		t.Fatalf("nice inside RunNiced = %d, want 7", inside)
	}
	if after := threadNice(t, syscall.Gettid()); after != before {
		t.Fatalf("the caller's nice changed from %d to %d", before, after)
	}
	// The niced thread must not go back to the Go runtime (it exits, or
	// parks for good if it was the main thread): goroutines started
	// afterwards never run on it.
	for range 200 {
		ch := make(chan int)
		go func() { ch <- syscall.Gettid() }()
		if got := <-ch; got == tid {
			t.Fatalf("a later goroutine ran on the niced thread %d", tid)
		}
	}
}

func TestSetWorkerNiceReachesWorkers(t *testing.T) {
	if workers.size == 0 {
		t.Skip("GOMAXPROCS=1: the pool has no workers")
	}
	SetWorkerNice(3)
	// A worker applies the value at its next job; record which threads ran
	// the jobs of a few parallel loops and what they ran at.
	seen := map[int]int{}
	runtime.LockOSThread() // so that the caller's own share shows as me
	defer runtime.UnlockOSThread()
	me := syscall.Gettid()
	for range 50 {
		tids := make([]int, 64)
		workers.run(64, func(i int) {
			tids[i] = syscall.Gettid()
			for range 20000 { // long enough that workers join in
				_ = strconv.Itoa(i)
			}
		})
		for _, tid := range tids {
			if tid != me {
				seen[tid] = threadNice(t, tid)
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("no worker took part in 50 parallel loops")
	}
	for tid, n := range seen {
		if n < 3 {
			t.Errorf("worker thread %d runs at nice %d, want at least 3", tid, n)
		}
	}
}
