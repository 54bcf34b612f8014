package qwen2

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"attune"
	"attune/engine/safetensors"
)

// testConfig is a model small enough to run many forward passes in a test:
// an untied head, a vocabulary of 300 and a short context.
func testConfig() Config {
	return Config{
		ModelType: "qwen2", HiddenSize: 32, IntermediateSize: 48,
		NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2,
		VocabSize: 300, MaxPositionEmbeddings: 40, RopeTheta: 10000,
		RMSNormEps: 1e-6,
	}
}

// testModel writes a random model of cfg in dtype and loads it.
func testModel(t *testing.T, cfg Config, dtype safetensors.DType) *Model {
	t.Helper()
	dir := t.TempDir()
	if err := writeRandom(dir, cfg, 42, dtype, false); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func randomTokens(rng *rand.Rand, n, vocab int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = rng.IntN(vocab)
	}
	return ids
}

// The tolerance between two orders of the same f32 computation (batched
// or not, cached or not): the logits are O(1).
const orderTol = 2e-5

// q8OrderTol is orderTol for the fast mode, whose activations are rounded
// to int8: a difference of one f32 ulp between two orders can move a
// value across a rounding boundary, which moves it by a whole step
// (1/127 of its block's largest value) and the logits by up to about 1%
// of their size (the tiny test model's logits are below 2).
const q8OrderTol = 0.05

func TestDecodeMatchesRecompute(t *testing.T) {
	for _, mode := range []string{"BF16", "F16", "F32", "Q8"} {
		t.Run(mode, func(t *testing.T) {
			dtype := safetensors.DType(mode)
			if mode == "Q8" {
				dtype = safetensors.BF16
			}
			m := testModel(t, testConfig(), dtype)
			if mode == "Q8" {
				m.QuantizeQ8()
			}
			// Long enough that a full pass attends in two blocks.
			ids := randomTokens(rand.New(rand.NewPCG(1, 2)), 38, m.Config.VocabSize)
			if G := m.Config.NumAttentionHeads / m.Config.NumKeyValueHeads; len(ids) <= attendRows/G {
				t.Fatalf("%d tokens attend in one block", len(ids))
			}

			// One pass over the whole sequence, logits at every position.
			full := &Step{Cache: m.NewCache(), Tokens: ids, Want: WantAll}
			if err := m.Forward([]*Step{full}); err != nil {
				t.Fatal(err)
			}

			// A prefill of 5 tokens, then one token at a time.
			V := m.Config.VocabSize
			c := m.NewCache()
			st := &Step{Cache: c, Tokens: ids[:5]}
			for p := 5; ; p++ {
				if err := m.Forward([]*Step{st}); err != nil {
					t.Fatal(err)
				}
				want := full.Logits[(p-1)*V : p*V]
				tol := orderTol
				if mode == "Q8" {
					tol = q8OrderTol
				}
				if d := maxAbsDiff(st.Logits, want); !(d <= tol) {
					t.Fatalf("position %d: cached decode differs from recompute by %.3g", p-1, d)
				}
				if p == len(ids) {
					break
				}
				st.Tokens = ids[p : p+1]
			}
			if c.Len() != len(ids) {
				t.Errorf("cache holds %d tokens, want %d", c.Len(), len(ids))
			}
		})
	}
}

func TestBatchMatchesOneAtATime(t *testing.T) {
	m := testModel(t, testConfig(), safetensors.BF16)
	rng := rand.New(rand.NewPCG(3, 4))
	V, C := m.Config.VocabSize, m.Config.HiddenSize

	// Three sequences: a long prefill with every logit, a short one with
	// hidden states, and one decoding a token after a prefix.
	prefix := randomTokens(rng, 7, V)
	make3 := func() []*Step {
		decode := m.NewCache()
		if _, err := m.Logits(decode, prefix); err != nil {
			t.Fatal(err)
		}
		return []*Step{
			{Cache: m.NewCache(), Tokens: randomTokens(rand.New(rand.NewPCG(5, 5)), 13, V), Want: WantAll},
			{Cache: m.NewCache(), Tokens: randomTokens(rand.New(rand.NewPCG(6, 6)), 4, V), Hidden: true},
			{Cache: decode, Tokens: []int{17}},
		}
	}

	batch := make3()
	if err := m.Forward(batch); err != nil {
		t.Fatal(err)
	}
	alone := make3()
	for _, st := range alone {
		if err := m.Forward([]*Step{st}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range batch {
		b, a := batch[i], alone[i]
		if len(b.Logits) != len(a.Logits) || len(b.States) != len(a.States) {
			t.Fatalf("step %d: batched outputs %d logits %d states, alone %d %d", i, len(b.Logits), len(b.States), len(a.Logits), len(a.States))
		}
		if d := maxAbsDiff(b.Logits, a.Logits); !(d <= orderTol) {
			t.Errorf("step %d: batched logits differ by %.3g", i, d)
		}
		if d := maxAbsDiff(b.States, a.States); !(d <= orderTol) {
			t.Errorf("step %d: batched hidden states differ by %.3g", i, d)
		}
	}
	if got, want := len(batch[0].Logits), 13*V; got != want {
		t.Errorf("WantAll: %d logits, want %d", got, want)
	}
	if got, want := len(batch[1].States), 4*C; got != want {
		t.Errorf("Hidden: %d states, want %d", got, want)
	}
}

func TestCacheTruncateAndClone(t *testing.T) {
	m := testModel(t, testConfig(), safetensors.BF16)
	rng := rand.New(rand.NewPCG(7, 8))
	V := m.Config.VocabSize
	prompt, a, b := randomTokens(rng, 9, V), randomTokens(rng, 5, V), randomTokens(rng, 6, V)

	fresh := func(cont []int) []float32 {
		l, err := m.Logits(m.NewCache(), append(append([]int(nil), prompt...), cont...))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	c := m.NewCache()
	if _, err := m.Logits(c, prompt); err != nil {
		t.Fatal(err)
	}
	fork := c.Clone()

	// Continue with a, rewind to the prompt, continue with b.
	if _, err := m.Logits(c, a); err != nil {
		t.Fatal(err)
	}
	c.Truncate(len(prompt))
	got, err := m.Logits(c, b)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(got, fresh(b)); !(d <= orderTol) {
		t.Errorf("after Truncate: logits differ from a fresh run by %.3g", d)
	}

	// The clone was not touched by either continuation.
	if fork.Len() != len(prompt) {
		t.Fatalf("clone holds %d tokens, want %d", fork.Len(), len(prompt))
	}
	got, err = m.Logits(fork, a)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(got, fresh(a)); !(d <= orderTol) {
		t.Errorf("clone: logits differ from a fresh run by %.3g", d)
	}
}

// shiftAdapter adds a constant to one projection's output and counts calls.
type shiftAdapter struct {
	target Target
	shift  float32
	calls  map[Target]int
	rows   int
}

func (a *shiftAdapter) Apply(layer int, target Target, y, x []float32, T int) {
	a.calls[target]++
	a.rows += T
	if target == a.target {
		for i := range y {
			y[i] += a.shift
		}
	}
}

func TestAdapterPerStep(t *testing.T) {
	m := testModel(t, testConfig(), safetensors.BF16)
	ids := randomTokens(rand.New(rand.NewPCG(9, 9)), 6, m.Config.VocabSize)
	zero := &shiftAdapter{target: TargetV, shift: 0, calls: map[Target]int{}}
	shift := &shiftAdapter{target: TargetDown, shift: 0.5, calls: map[Target]int{}}

	plain := &Step{Cache: m.NewCache(), Tokens: ids}
	withZero := &Step{Cache: m.NewCache(), Tokens: ids, Adapter: zero}
	withShift := &Step{Cache: m.NewCache(), Tokens: ids, Adapter: shift}
	if err := m.Forward([]*Step{plain, withZero, withShift}); err != nil {
		t.Fatal(err)
	}

	// Every projection of every layer reaches the adapter, with the
	// step's rows only.
	L := m.Config.NumHiddenLayers
	for _, tg := range []Target{TargetQ, TargetK, TargetV, TargetO, TargetGate, TargetUp, TargetDown} {
		if zero.calls[tg] != L {
			t.Errorf("%s: %d calls, want %d", tg, zero.calls[tg], L)
		}
	}
	if want := 7 * L * len(ids); zero.rows != want {
		t.Errorf("adapter saw %d rows, want %d", zero.rows, want)
	}
	if d := maxAbsDiff(withZero.Logits, plain.Logits); d != 0 {
		t.Errorf("a zero adapter changed the logits by %.3g", d)
	}
	if d := maxAbsDiff(withShift.Logits, plain.Logits); !(d > 1e-3) {
		t.Errorf("a shifting adapter changed the logits by only %.3g", d)
	}
}

func TestForwardRejects(t *testing.T) {
	m := testModel(t, testConfig(), safetensors.BF16)
	other := testModel(t, testConfig(), safetensors.BF16)
	shared := m.NewCache()
	long := make([]int, m.Config.MaxPositionEmbeddings+1)
	tests := []struct {
		name    string
		steps   []*Step
		invalid bool
	}{
		{"context too long", []*Step{{Cache: m.NewCache(), Tokens: long}}, true},
		{"token past vocab", []*Step{{Cache: m.NewCache(), Tokens: []int{m.Config.VocabSize}}}, true},
		{"negative token", []*Step{{Cache: m.NewCache(), Tokens: []int{-1}}}, true},
		{"no tokens", []*Step{{Cache: m.NewCache()}}, true},
		{"no cache", []*Step{{Tokens: []int{1}}}, false},
		{"cache of another model", []*Step{{Cache: other.NewCache(), Tokens: []int{1}}}, false},
		{"shared cache", []*Step{{Cache: shared, Tokens: []int{1}}, {Cache: shared, Tokens: []int{2}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Forward(tt.steps)
			if err == nil {
				t.Fatal("no error")
			}
			var ae *attune.Error
			if got := errors.As(err, &ae); got != tt.invalid {
				t.Errorf("error %q: attune.Error %v, want %v", err, got, tt.invalid)
			}
			for _, st := range tt.steps {
				if st.Cache != nil && st.Cache.Len() != 0 {
					t.Errorf("a refused call left %d tokens in a cache", st.Cache.Len())
				}
			}
		})
	}
}

func TestRopeFactorsMatchFloat64(t *testing.T) {
	// At position 32767 the float32 angle of the fastest frequency is off
	// by at most half an ulp of 32767 (0.002): the factors keep that bound.
	cfg := testConfig()
	s := &scratch{cos: make([]float32, cfg.HeadDim/2), sin: make([]float32, cfg.HeadDim/2)}
	for _, pos := range []int{0, 1, 17, 32767} {
		s.setRope(&cfg, 0, pos)
		for i := range cfg.HeadDim / 2 {
			a := float64(pos) / math.Pow(cfg.RopeTheta, float64(2*i)/float64(cfg.HeadDim))
			if d := math.Abs(float64(s.cos[i]) - math.Cos(a)); d > 2e-3 {
				t.Errorf("pos %d freq %d: cos off by %.3g", pos, i, d)
			}
		}
	}
}

func TestLongCallRunsInPasses(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPositionEmbeddings = 1024
	m := testModel(t, cfg, safetensors.BF16)
	rng := rand.New(rand.NewPCG(11, 12))
	V := cfg.VocabSize
	lens := []int{300, 400, 90}
	if lens[0]+lens[1]+lens[2] <= maxPassTokens {
		t.Fatal("the call fits in one pass")
	}
	ids := make([][]int, len(lens))
	for i, n := range lens {
		ids[i] = randomTokens(rng, n, V)
	}
	steps := func() []*Step {
		return []*Step{
			{Cache: m.NewCache(), Tokens: ids[0], Want: WantAll, Hidden: true},
			{Cache: m.NewCache(), Tokens: ids[1]},
			{Cache: m.NewCache(), Tokens: ids[2], Want: WantNone, Hidden: true},
		}
	}

	split := steps()
	if err := m.Forward(split); err != nil {
		t.Fatal(err)
	}
	whole := steps()
	m.pass(whole) // one pass, however long
	for i := range split {
		if split[i].Cache.Len() != lens[i] {
			t.Errorf("step %d: cache holds %d tokens, want %d", i, split[i].Cache.Len(), lens[i])
		}
		if len(split[i].Logits) != len(whole[i].Logits) || len(split[i].States) != len(whole[i].States) {
			t.Fatalf("step %d: %d logits %d states in passes, %d %d in one", i,
				len(split[i].Logits), len(split[i].States), len(whole[i].Logits), len(whole[i].States))
		}
		if d := maxAbsDiff(split[i].Logits, whole[i].Logits); !(d <= orderTol) {
			t.Errorf("step %d: logits differ by %.3g", i, d)
		}
		if d := maxAbsDiff(split[i].States, whole[i].States); !(d <= orderTol) {
			t.Errorf("step %d: hidden states differ by %.3g", i, d)
		}
	}
}

func TestForwardConcurrent(t *testing.T) {
	m := testModel(t, testConfig(), safetensors.BF16)
	rng := rand.New(rand.NewPCG(13, 14))
	prompts := make([][]int, 4)
	want := make([][]float32, len(prompts))
	for i := range prompts {
		prompts[i] = randomTokens(rng, 5+7*i, m.Config.VocabSize)
		var err error
		if want[i], err = m.Logits(m.NewCache(), prompts[i]); err != nil {
			t.Fatal(err)
		}
	}

	// Every prompt at once from its own goroutine, several times over, so
	// that scratch buffers pass between calls of different sizes.
	errs := make(chan error, len(prompts))
	for i := range prompts {
		go func() {
			for range 5 {
				got, err := m.Logits(m.NewCache(), prompts[i])
				if err == nil && !(maxAbsDiff(got, want[i]) <= orderTol) {
					err = fmt.Errorf("prompt %d: concurrent logits differ by %.3g", i, maxAbsDiff(got, want[i]))
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range prompts {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestCacheBookkeeping(t *testing.T) {
	m := testModel(t, testConfig(), safetensors.BF16)
	c := m.NewCache()
	if _, err := m.Logits(c, []int{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	// Keys and values of 4 tokens, every layer, f32.
	if least := int64(4 * 2 * m.Config.KVDim() * m.Config.NumHiddenLayers * 4); c.Bytes() < least {
		t.Errorf("Bytes() = %d, want at least %d", c.Bytes(), least)
	}
	c.Reset()
	if c.Len() != 0 {
		t.Errorf("Len() after Reset = %d", c.Len())
	}
	defer func() {
		if recover() == nil {
			t.Error("Truncate past the end did not panic")
		}
	}()
	c.Truncate(1)
}
