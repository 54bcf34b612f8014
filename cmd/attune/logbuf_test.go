package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the flusher and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestBufferedLogWritesOnTimerAndClose(t *testing.T) {
	var out lockedBuffer
	b := newBufferedLog(&out, 20*time.Millisecond)
	b.Write([]byte("first\n"))
	if out.String() != "" {
		t.Fatal("a line reached the output before any flush")
	}
	deadline := time.Now().Add(5 * time.Second)
	for out.String() != "first\n" {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s the output holds %q, want the first line", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Write([]byte("second\n"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "first\nsecond\n" {
		t.Fatalf("after Close the output holds %q", out.String())
	}
	if err := b.Close(); err != nil { // a second Close is harmless
		t.Fatal(err)
	}
}

func TestBufferedLogKeepsLinesWhole(t *testing.T) {
	var out lockedBuffer
	b := newBufferedLog(&out, time.Millisecond)
	var wg sync.WaitGroup
	line := strings.Repeat("x", 1000) + "\n"
	for range 8 {
		wg.Go(func() {
			for range 200 {
				b.Write([]byte(line))
			}
		})
	}
	wg.Wait()
	b.Close()
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != 1600 {
		t.Fatalf("%d lines, want 1600", len(got))
	}
	for i, l := range got {
		if l+"\n" != line {
			t.Fatalf("line %d is torn: %d bytes", i, len(l))
		}
	}
}
