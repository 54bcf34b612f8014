package main

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// gcMinHeadroom is the least garbage the server lets accumulate between
// collections.
const gcMinHeadroom = 256 << 20

// keepGCHeadroom gives the collector at least min bytes of headroom above
// the live heap, checking once a second until ctx ends. Go collects when
// the heap has grown by GOGC percent of what was live; a server with a
// small live heap (a small model, or none loaded) that answers tens of
// thousands of requests a second then collects several times a second,
// and each collection's assists land on requests as latency. Raising the
// percentage while the live heap is small makes collections rare for the
// cost of at most min bytes of memory; once the live heap is larger than
// min the default (100) applies unchanged, and it is restored when ctx
// ends. A GOGC set by the operator is left alone.
func keepGCHeadroom(ctx context.Context, min uint64, log *slog.Logger) {
	if os.Getenv("GOGC") != "" {
		return
	}
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	percent := 100
	defer func() {
		if percent != 100 {
			debug.SetGCPercent(100)
		}
	}()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(live)
		if live[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		want := gcPercentFor(live[0].Value.Uint64(), min)
		// Re-tune only on a real change, not on every wobble of the heap.
		if want*4 < percent*3 || want*3 > percent*4 {
			debug.SetGCPercent(want)
			log.Debug("GC percent re-tuned", slog.Int("percent", want), slog.Uint64("live_bytes", live[0].Value.Uint64()))
			percent = want
		}
	}
}

// gcPercentFor returns the GOGC percentage that leaves at least min bytes
// of headroom above a live heap of live bytes: 100 once live >= min,
// at most 10000.
func gcPercentFor(live, min uint64) int {
	if live >= min {
		return 100
	}
	if live < min/100 {
		return 10000
	}
	return int(min * 100 / live)
}
