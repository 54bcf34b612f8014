package train

import (
	"math"
	"testing"
)

// TestExp32 compares exp32 with math.Exp over its whole finite range.
func TestExp32(t *testing.T) {
	worst := 0.0
	for x := float32(-87.3); x < 88.7; x += 0.000731 {
		got, want := float64(exp32(x)), math.Exp(float64(x))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
			if rel > 4e-7 { // 2 f32 ulps at worst is 2.4e-7; leave room for the f32 input of want
				t.Fatalf("exp32(%g) = %g, want %g (relative error %.2g)", x, got, want, rel)
			}
		}
	}
	t.Logf("worst relative error %.3g", worst)
	for _, tt := range []struct{ in, want float32 }{{-100, 0}, {0, 1}, {float32(math.Inf(-1)), 0}} {
		if got := exp32(tt.in); got != tt.want {
			t.Errorf("exp32(%g) = %g, want %g", tt.in, got, tt.want)
		}
	}
	if got := exp32(100); !math.IsInf(float64(got), 1) {
		t.Errorf("exp32(100) = %g, want +Inf", got)
	}
}
