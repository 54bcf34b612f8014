package main

import "testing"

func TestGCPercentFor(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 10000},       // nothing live yet: the ceiling
		{1 * mb, 10000},  // 256 MB of headroom would be 25600%: capped
		{16 * mb, 1600},  // 16 MB live: 256 MB of headroom
		{128 * mb, 200},  // 128 MB live
		{256 * mb, 100},  // from here on, the default
		{4096 * mb, 100}, // a trained model's buffers: unchanged
	} {
		if got := gcPercentFor(c.live, 256*mb); got != c.want {
			t.Errorf("gcPercentFor(%d MB) = %d, want %d", c.live/mb, got, c.want)
		}
	}
}
