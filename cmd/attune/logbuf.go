package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// bufferedLog collects log lines in memory and writes them out in batches:
// at most every interval, when a batch fills, and on Close. A busy server
// logs a line a request; one write system call each, under the log
// handler's lock, made the access log a point where concurrent requests
// queued. A line reaches the output at most interval late; what was
// buffered when the process dies without Close is lost (a panic's own
// report goes to stderr directly, unbuffered).
type bufferedLog struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newBufferedLog(w io.Writer, interval time.Duration) *bufferedLog {
	b := &bufferedLog{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.Flush()
			case <-b.stop:
				return
			}
		}
	}()
	return b
}

// Write buffers p; a full buffer is written out first.
func (b *bufferedLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes out what is buffered.
func (b *bufferedLog) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Close stops the timer and writes out what is buffered.
func (b *bufferedLog) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.done
	return b.Flush()
}
