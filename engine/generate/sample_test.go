package generate

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// logits of a 6-token vocabulary with probabilities .4 .25 .15 .1 .06 .04.
var sixProbs = []float64{.4, .25, .15, .1, .06, .04}

func sixLogits() []float32 {
	l := make([]float32, len(sixProbs))
	for i, p := range sixProbs {
		l[i] = float32(math.Log(p))
	}
	return l
}

// frequencies draws n tokens and returns how often each came up.
func frequencies(p Params, logits []float32, n int) []float64 {
	s := newSampler(p, 42, 0)
	f := make([]float64, len(logits))
	for range n {
		id, _ := s.sample(logits)
		f[id] += 1 / float64(n)
	}
	return f
}

func TestSamplerDistribution(t *testing.T) {
	const n, tol = 40000, 0.01 // ~4 standard deviations at n draws
	for _, c := range []struct {
		name string
		p    Params
		want []float64
	}{
		{"temperature 1", Params{Temperature: 1}, sixProbs},
		{"top_k 2", Params{Temperature: 1, TopK: 2}, []float64{.4 / .65, .25 / .65, 0, 0, 0, 0}},
		{"top_p 0.7", Params{Temperature: 1, TopP: 0.7}, []float64{.4 / .8, .25 / .8, .15 / .8, 0, 0, 0}},
		{"top_k 4 top_p 0.5", Params{Temperature: 1, TopK: 4, TopP: 0.5}, []float64{.4 / .65, .25 / .65, 0, 0, 0, 0}},
		{"temperature 0.5", Params{Temperature: 0.5}, squaredNormalised(sixProbs)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := frequencies(c.p, sixLogits(), n)
			for i := range got {
				if math.Abs(got[i]-c.want[i]) > tol {
					t.Errorf("token %d drawn %.4f of the time, want %.4f", i, got[i], c.want[i])
				}
			}
		})
	}
}

func squaredNormalised(p []float64) []float64 {
	out := make([]float64, len(p))
	var z float64
	for i, v := range p {
		out[i] = v * v
		z += v * v
	}
	for i := range out {
		out[i] /= z
	}
	return out
}

func TestSamplerGreedyAndConfidence(t *testing.T) {
	const tol = 1e-6
	s := newSampler(Params{}, 1, 0)
	logits := sixLogits()
	logits[0], logits[3] = logits[3], logits[0]
	id, p := s.sample(logits)
	if id != 3 || math.Abs(p-0.4) > tol {
		t.Errorf("greedy = %d (p %g), want 3 (p 0.4)", id, p)
	}

	// Confidence ignores temperature and filters.
	s = newSampler(Params{Temperature: 5, TopK: 1}, 1, 0)
	if id, p := s.sample(sixLogits()); id != 0 || math.Abs(p-0.4) > tol {
		t.Errorf("top_k 1 = %d (p %g), want 0 (p 0.4)", id, p)
	}
}

func TestTopIndices(t *testing.T) {
	logits := make([]float32, 1000)
	for i := range logits {
		logits[i] = float32((i * 7919) % 1000)
	}
	logits[500] = logits[123] // a tie: the lower id first
	for _, m := range []int{1, 5, 64, 400, 1000} {
		got := topIndices(logits, m, nil)
		want := make([]int32, len(logits))
		for i := range want {
			want[i] = int32(i)
		}
		slices.SortStableFunc(want, func(a, b int32) int {
			switch {
			case logits[a] > logits[b]:
				return -1
			case logits[a] < logits[b]:
				return 1
			}
			return 0
		})
		if !slices.Equal(got, want[:m]) {
			t.Errorf("topIndices(m=%d) = %v..., want %v...", m, got[:min(m, 5)], want[:min(m, 5)])
		}
	}
}

// TestNucleusEqualsSortedPrefix checks the bucketed nucleus against the
// shortest prefix of the fully sorted vocabulary.
func TestNucleusEqualsSortedPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	logits := make([]float32, 5000)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 2)
	}
	for _, temp := range []float64{0.3, 1, 2} {
		for _, topP := range []float64{0.05, 0.5, 0.9, 0.999} {
			s := newSampler(Params{Temperature: temp, TopP: topP}, 1, 0)
			top := float64(logits[argmax(logits)])
			var z float64
			for _, l := range logits {
				z += math.Exp((float64(l) - top) / temp)
			}
			s.nucleus(logits, top, 1/temp, z)
			got := slices.Clone(s.cand)
			slices.Sort(got)

			sorted := topIndices(logits, len(logits), nil)
			var cum float64
			var want []int32
			for _, id := range sorted {
				want = append(want, id)
				if cum += math.Exp((float64(logits[id]) - top) / temp); cum >= topP*z {
					break
				}
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("T %g top_p %g: nucleus of %d tokens, want %d", temp, topP, len(got), len(want))
			}
		}
	}
}

func TestExpShifted(t *testing.T) {
	const tol = 1e-9 // relative
	for x := -699.0; x <= 0; x += 0.0137 {
		got, want := expShifted(x), math.Exp(x)
		if math.Abs(got-want) > tol*want {
			t.Fatalf("expShifted(%g) = %g, want %g", x, got, want)
		}
	}
	if got := expShifted(-800); got != 0 {
		t.Errorf("expShifted(-800) = %g, want 0", got)
	}
}

func TestLogSumExpMatchesReference(t *testing.T) {
	const tol = 1e-9
	rng := rand.New(rand.NewPCG(5, 6))
	for _, scale := range []float64{0.01, 1, 10, 100} {
		x := make([]float32, 151937)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * scale)
		}
		if got, want := logSumExp(x), logSumExpRef(x); math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
			t.Errorf("scale %g: logSumExp = %.12g, want %.12g", scale, got, want)
		}
	}
}

func TestRepetitionPenalty(t *testing.T) {
	const tol = 1e-6
	for _, c := range []struct {
		name   string
		logits []float32
	}{
		{"positive logits are divided", []float32{1.0, 0.8, -3}},
		{"negative logits are multiplied", []float32{-0.1, -0.15, -3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Token 0 leads, but it was seen: the penalty of 2 puts token
			// 1 ahead.
			logits := slices.Clone(c.logits)
			s := newSampler(Params{RepetitionPenalty: 2}, 1, 0)
			s.see(0)
			id, p := s.sample(logits)
			if id != 1 {
				t.Errorf("greedy with token 0 penalised = %d, want 1", id)
			}
			if want := math.Exp(float64(c.logits[1]) - logSumExpRef(c.logits)); math.Abs(p-want) > tol {
				t.Errorf("confidence %g, want %g from the raw logits", p, want)
			}
			if !slices.Equal(logits, c.logits) {
				t.Errorf("sample left the logits changed: %v", logits)
			}
			if !s.seen[1] {
				t.Error("the chosen token was not recorded as seen")
			}
			if id, _ := newSampler(Params{}, 1, 0).sample(logits); id != 0 {
				t.Errorf("greedy without penalty = %d, want 0", id)
			}
		})
	}
}

// TestSumExpUnderflow checks that sumExp, on whichever path this build
// takes, counts arguments below -700 as 0 and the rest exactly as
// expShifted does at 0.
func TestSumExpUnderflow(t *testing.T) {
	x := make([]float32, 37)
	for i := range x {
		x[i] = -700.5 - float32(i)*50
	}
	x[5], x[20] = 3, 3
	if got := sumExp(x, 3); got != 2 {
		t.Errorf("sumExp = %v, want 2", got)
	}
}
