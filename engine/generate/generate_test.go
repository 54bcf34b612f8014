package generate

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"attune/engine/qwen2"
	"attune/engine/tokenizer"
)

const tinyDir = "../../testdata/reference/qwen2-tiny"

var (
	tinyOnce  sync.Once
	tinyModel *qwen2.Model
	tinyTok   *tokenizer.Tokenizer
	tinyGen   GenerationConfig
	tinyErr   error
)

// tiny returns an engine on the tiny reference model, closed when the test
// ends. The model and tokenizer are loaded once for all tests.
func tiny(t *testing.T) *Engine {
	t.Helper()
	tinyOnce.Do(func() {
		if tinyTok, tinyErr = tokenizer.Load(tinyDir); tinyErr != nil {
			return
		}
		if tinyGen, tinyErr = LoadGenerationConfig(tinyDir); tinyErr != nil {
			return
		}
		tinyModel, tinyErr = qwen2.Load(tinyDir)
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	e := New(tinyModel, tinyTok, tinyGen, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

type greedyRef struct {
	Greedy struct {
		PromptIDs    []int `json:"prompt_ids"`
		GeneratedIDs []int `json:"generated_ids"`
	} `json:"greedy"`
}

func readGreedy(t *testing.T) greedyRef {
	t.Helper()
	b, err := os.ReadFile(tinyDir + "/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref greedyRef
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestGreedyMatchesReference(t *testing.T) {
	e := tiny(t)
	ref := readGreedy(t)
	var streamed strings.Builder
	answers, err := e.Generate(context.Background(), Request{
		Prompt:  ref.Greedy.PromptIDs,
		Params:  Params{MaxTokens: len(ref.Greedy.GeneratedIDs)},
		OnToken: func(_ int, d string) { streamed.WriteString(d) },
	})
	if err != nil {
		t.Fatal(err)
	}
	a := answers[0]
	if !slices.Equal(a.Tokens, ref.Greedy.GeneratedIDs) {
		t.Errorf("greedy ids %v, want %v", a.Tokens, ref.Greedy.GeneratedIDs)
	}
	want, _ := e.Tokenizer().Decode(ref.Greedy.GeneratedIDs)
	if a.Text != want || streamed.String() != want {
		t.Errorf("text %q, streamed %q, want %q", a.Text, streamed.String(), want)
	}
	if a.FinishReason != FinishLength || a.CompletionTokens != 8 || a.PromptTokens != len(ref.Greedy.PromptIDs) {
		t.Errorf("finish %q, completion %d, prompt %d; want length, 8, %d", a.FinishReason, a.CompletionTokens, a.PromptTokens, len(ref.Greedy.PromptIDs))
	}
	if a.Confidence <= 0 || a.Confidence > 1 {
		t.Errorf("confidence %g is not a probability", a.Confidence)
	}
}

// sampled generates with temperature 1 from a fixed prompt.
func sampled(t *testing.T, e *Engine, p Params) []Answer {
	t.Helper()
	p.Temperature = 1
	if p.MaxTokens == 0 {
		p.MaxTokens = 12
	}
	answers, err := e.Generate(context.Background(), Request{Prompt: e.Tokenizer().Encode("The quick brown fox"), Params: p})
	if err != nil {
		t.Fatal(err)
	}
	return answers
}

func TestSeedReproduces(t *testing.T) {
	e := tiny(t)
	a := sampled(t, e, Params{Seed: 7, TopP: 0.9})
	b := sampled(t, e, Params{Seed: 7, TopP: 0.9})
	c := sampled(t, e, Params{Seed: 8, TopP: 0.9})
	if !slices.Equal(a[0].Tokens, b[0].Tokens) || a[0].Text != b[0].Text {
		t.Errorf("seed 7 gave %v then %v", a[0].Tokens, b[0].Tokens)
	}
	if slices.Equal(a[0].Tokens, c[0].Tokens) {
		t.Errorf("seeds 7 and 8 gave the same %v", a[0].Tokens)
	}

	// Answer i of N follows the same random stream as a call of its own.
	n := sampled(t, e, Params{Seed: 7, TopP: 0.9, N: 3})
	if len(n) != 3 || !slices.Equal(n[0].Tokens, a[0].Tokens) {
		t.Fatalf("N=3 answer 0 = %v, want %v", n[0].Tokens, a[0].Tokens)
	}
	if slices.Equal(n[1].Tokens, n[0].Tokens) {
		t.Errorf("answers 0 and 1 are the same: %v", n[0].Tokens)
	}
}

func TestConcurrentRequestsMatchSerial(t *testing.T) {
	e := tiny(t)
	seeds := []uint64{1, 2, 3, 4}
	serial := make([][]int, len(seeds))
	for i, s := range seeds {
		serial[i] = sampled(t, e, Params{Seed: s, TopK: 50})[0].Tokens
	}
	got := make([][]int, len(seeds))
	var wg sync.WaitGroup
	for i, s := range seeds {
		wg.Go(func() { got[i] = sampled(t, e, Params{Seed: s, TopK: 50})[0].Tokens })
	}
	wg.Wait()
	for i := range seeds {
		if !slices.Equal(got[i], serial[i]) {
			t.Errorf("seed %d: concurrent %v, serial %v", seeds[i], got[i], serial[i])
		}
	}
}

func TestStopStringAcrossTokens(t *testing.T) {
	e := tiny(t)
	base := sampled(t, e, Params{Seed: 11, MaxTokens: 16})[0]

	// Find two neighbouring tokens of at least two bytes each, and stop on
	// the last byte of one and the first of the next.
	tok := e.Tokenizer()
	offset := 0
	var stop string
	for i := 0; i+1 < len(base.Tokens) && stop == ""; i++ {
		a, _ := tok.TokenBytes(base.Tokens[i])
		b, _ := tok.TokenBytes(base.Tokens[i+1])
		offset += len(a)
		if len(a) >= 2 && len(b) >= 2 && !strings.Contains(base.Text[:offset-1], a[len(a)-1:]+b[:1]) {
			stop = a[len(a)-1:] + b[:1]
		}
	}
	if stop == "" {
		t.Fatalf("no token boundary to stop on in %q", base.Text)
	}
	want := base.Text[:strings.Index(base.Text, stop)]

	var streamed strings.Builder
	answers, err := e.Generate(context.Background(), Request{
		Prompt:  tok.Encode("The quick brown fox"),
		Params:  Params{Seed: 11, Temperature: 1, MaxTokens: 16, Stop: []string{"never appears", stop}},
		OnToken: func(_ int, d string) { streamed.WriteString(d) },
	})
	if err != nil {
		t.Fatal(err)
	}
	a := answers[0]
	if a.Text != want || streamed.String() != want || a.FinishReason != FinishStop {
		t.Errorf("stop %q: text %q, streamed %q, finish %q; want %q, stop", stop, a.Text, streamed.String(), a.FinishReason, want)
	}
}

func TestStopper(t *testing.T) {
	for _, c := range []struct {
		name    string
		stops   []string
		pieces  []string
		want    []string // released after each piece
		stopped bool
		text    string
	}{
		{"none", nil, []string{"ab", "cd"}, []string{"ab", "cd"}, false, "abcd"},
		{"held then released", []string{"xyz"}, []string{"ax", "yb"}, []string{"a", "xyb"}, false, "axyb"},
		{"across pieces", []string{"xyz"}, []string{"ax", "y", "zq"}, []string{"a", "", ""}, true, "a"},
		{"inside one piece", []string{"END"}, []string{"foo END bar"}, []string{"foo "}, true, "foo "},
		{"earliest of two", []string{"cd", "bc"}, []string{"abcd"}, []string{"a"}, true, "a"},
		{"overlapping prefix", []string{"aab"}, []string{"a", "a", "a", "b"}, []string{"", "", "a", ""}, true, "a"},
		{"multibyte", []string{"é!"}, []string{"café", "?"}, []string{"caf", "é?"}, false, "café?"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := stopper{stops: c.stops}
			var stopped bool
			for i, p := range c.pieces {
				var got string
				got, stopped = s.push(p)
				if got != c.want[i] {
					t.Errorf("after %q released %q, want %q", p, got, c.want[i])
				}
				if stopped {
					break
				}
			}
			if !stopped {
				s.flush()
			}
			if stopped != c.stopped || s.String() != c.text {
				t.Errorf("stopped %v text %q, want %v %q", stopped, s.String(), c.stopped, c.text)
			}
		})
	}
}

// TestRepetitionPenaltyInGenerate: the tiny model's greedy answer repeats
// "\n" (198), which the prompt holds too; by a margin of 0.0056 over the
// runner-up, which a penalty of 1.1 overturns from the first token.
func TestRepetitionPenaltyInGenerate(t *testing.T) {
	e := tiny(t)
	ref := readGreedy(t)
	answers, err := e.Generate(context.Background(), Request{
		Prompt: ref.Greedy.PromptIDs,
		Params: Params{MaxTokens: 2, RepetitionPenalty: 1.1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := answers[0].Tokens; got[0] == ref.Greedy.GeneratedIDs[0] {
		t.Errorf("with the penalty the answer still starts with %d: %v", got[0], got)
	}
}

func TestStopTokens(t *testing.T) {
	e := tiny(t)
	ref := readGreedy(t)
	answers, err := e.Generate(context.Background(), Request{
		Prompt: ref.Greedy.PromptIDs,
		Params: Params{MaxTokens: 8, StopTokens: []int{ref.Greedy.GeneratedIDs[0]}},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := answers[0]
	if a.FinishReason != FinishStop || a.Text != "" || len(a.Tokens) != 0 || a.CompletionTokens != 1 {
		t.Errorf("got finish %q text %q tokens %v completion %d; want stop, empty, 1", a.FinishReason, a.Text, a.Tokens, a.CompletionTokens)
	}
	if got := e.StopTokens(); !slices.Equal(got, []int{151645, 151643}) {
		t.Errorf("StopTokens = %v, want [151645 151643]", got)
	}
}

func TestCancel(t *testing.T) {
	e := tiny(t)
	ref := readGreedy(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	deltas := 0
	answers, err := e.Generate(ctx, Request{
		Prompt: ref.Greedy.PromptIDs,
		Params: Params{MaxTokens: 1000},
		OnToken: func(int, string) {
			deltas++
			if deltas == 2 {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := answers[0].CompletionTokens; n != 2 || deltas != 2 {
		t.Errorf("generated %d tokens and %d deltas after cancelling at 2", n, deltas)
	}

	// A cancelled context is refused before anything runs.
	if _, err := e.Generate(ctx, Request{Prompt: ref.Greedy.PromptIDs}); !errors.Is(err, context.Canceled) {
		t.Errorf("Generate on a cancelled context: err = %v", err)
	}
}

func TestClosed(t *testing.T) {
	e := tiny(t)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Generate(context.Background(), Request{Prompt: []int{1}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Generate after Close: err = %v, want ErrClosed", err)
	}
}

func TestValidate(t *testing.T) {
	e := tiny(t)
	for _, c := range []struct {
		name string
		req  Request
		want string
	}{
		{"empty prompt", Request{}, "prompt is empty"},
		{"bad id", Request{Prompt: []int{1, 999999}}, "outside the vocabulary"},
		{"negative max", Request{Prompt: []int{1}, Params: Params{MaxTokens: -1}}, "max_tokens"},
		{"temperature", Request{Prompt: []int{1}, Params: Params{Temperature: -0.5}}, "temperature"},
		{"top_p", Request{Prompt: []int{1}, Params: Params{TopP: 1.5}}, "top_p"},
		{"n", Request{Prompt: []int{1}, Params: Params{N: 100}}, "n must be"},
		{"empty stop", Request{Prompt: []int{1}, Params: Params{Stop: []string{""}}}, "stop"},
		{"penalty", Request{Prompt: []int{1}, Params: Params{RepetitionPenalty: -1}}, "repetition_penalty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.Generate(context.Background(), c.req)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestScoreMatchesRecompute compares Score, which reuses the prompt's
// cache, with log-softmax sums over one full pass on prompt+continuation.
func TestScoreMatchesRecompute(t *testing.T) {
	const tol = 1e-4 // f32 logits summed over a few tokens
	e := tiny(t)
	tok := e.Tokenizer()
	prompt := tok.Encode("Question: what is the capital of France?\nAnswer:")
	conts := [][]int{tok.Encode(" Paris"), tok.Encode(" Lyon, a city in the south"), tok.Encode(" 42"), {13}}
	got, err := e.Score(context.Background(), prompt, conts, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := e.Model()
	for i, c := range conts {
		st := &qwen2.Step{Cache: m.NewCache(), Tokens: append(slices.Clone(prompt), c...), Want: qwen2.WantAll}
		if err := m.Forward([]*qwen2.Step{st}); err != nil {
			t.Fatal(err)
		}
		V := m.Config.VocabSize
		var want float64
		for j, id := range c {
			pos := len(prompt) - 1 + j
			row := st.Logits[pos*V : (pos+1)*V]
			want += float64(row[id]) - logSumExp(row)
		}
		if math.Abs(got[i].LogProb-want) > tol || got[i].Tokens != len(c) || math.Abs(got[i].Mean-want/float64(len(c))) > tol {
			t.Errorf("continuation %d: got %+v, want sum %.6f over %d tokens", i, got[i], want, len(c))
		}
	}
}

func TestScoreBatchEnd(t *testing.T) {
	long := make([]int, scoreBatch+1) // scoreBatch tokens after its first
	for _, c := range []struct {
		name string
		lens []int
		lo   int
		want int
	}{
		{"all fit", []int{72, 72, 72, 72}, 0, 4},
		{"from the middle", []int{72, 72, 72, 72}, 2, 4},
		{"exactly full", []int{200, 185, 2}, 0, 3},
		{"one too many", []int{200, 186, 2}, 0, 2},
		{"an oversized one alone", []int{len(long) + 1, 2}, 0, 1},
		{"single tokens are free", []int{scoreBatch + 1, 1, 1}, 0, 3},
	} {
		conts := make([][]int, len(c.lens))
		for i, n := range c.lens {
			conts[i] = make([]int, n)
		}
		if got := scoreBatchEnd(conts, c.lo); got != c.want {
			t.Errorf("%s: scoreBatchEnd = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestEmbed(t *testing.T) {
	const tol = 1e-5
	e := tiny(t)
	tok := e.Tokenizer()
	seqs := [][]int{tok.Encode("hello world"), tok.Encode("a longer sentence about the Debian FAQ"), tok.Encode("hello world")}
	got, err := e.Embed(context.Background(), seqs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		if math.Abs(math.Sqrt(n)-1) > tol || len(v) != e.Model().Config.HiddenSize {
			t.Errorf("embedding %d: norm %g, width %d", i, math.Sqrt(n), len(v))
		}
	}
	alone, err := e.Embed(context.Background(), seqs[1:2], nil)
	if err != nil {
		t.Fatal(err)
	}
	for c := range got[1] {
		if d := math.Abs(float64(got[1][c] - alone[0][c])); d > tol {
			t.Fatalf("batched and alone differ by %g at %d", d, c)
		}
	}
	if slices.Equal(got[0], got[1]) || !slices.Equal(got[0], got[2]) {
		t.Error("equal texts should embed equally, different ones differently")
	}
}

func TestParseGenerationConfig(t *testing.T) {
	for _, c := range []struct {
		in   string
		want GenerationConfig
	}{
		{`{"eos_token_id": [151645, 151643], "do_sample": true, "temperature": 0.7, "top_p": 0.8, "top_k": 20, "repetition_penalty": 1.1}`,
			GenerationConfig{EOSTokenIDs: []int{151645, 151643}, Temperature: 0.7, TopP: 0.8, TopK: 20, RepetitionPenalty: 1.1}},
		{`{"eos_token_id": 2, "temperature": 0.7, "do_sample": false}`, GenerationConfig{EOSTokenIDs: []int{2}}},
		{`{}`, GenerationConfig{}},
	} {
		got, err := ParseGenerationConfig([]byte(c.in))
		if err != nil || !slices.Equal(got.EOSTokenIDs, c.want.EOSTokenIDs) || got.Temperature != c.want.Temperature ||
			got.TopP != c.want.TopP || got.TopK != c.want.TopK || got.RepetitionPenalty != c.want.RepetitionPenalty {
			t.Errorf("ParseGenerationConfig(%s) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	if _, err := ParseGenerationConfig([]byte(`{"eos_token_id": "x"}`)); err == nil {
		t.Error("a string eos_token_id was accepted")
	}
}

func TestOpen(t *testing.T) {
	e, err := Open(tinyDir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Defaults(); got.Temperature != 0.7 || got.TopP != 0.8 || got.TopK != 20 || got.RepetitionPenalty != 1.1 {
		t.Errorf("Defaults = %+v, want the generation config's 0.7, 0.8, 20, 1.1", got)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.TempDir(), nil); err == nil {
		t.Error("Open of an empty directory succeeded")
	}
}

func TestPlanStepPrefillBudget(t *testing.T) {
	mk := func(prompt int, prefilled bool) *group {
		g := &group{req: Request{Prompt: make([]int, prompt)}, prefilled: prefilled}
		g.seqs = []*seq{{}}
		return g
	}
	for _, c := range []struct {
		name string
		gs   []*group
		ran  []bool
	}{
		{"decoders always run", []*group{mk(10, true), mk(10, true)}, []bool{true, true}},
		{"prompts that fit", []*group{mk(1000, false), mk(1000, false), mk(48, false)}, []bool{true, true, true}},
		{"one over waits", []*group{mk(1500, false), mk(600, false), mk(40, false), mk(5, true)}, []bool{true, false, true, true}},
		{"a huge prompt runs alone", []*group{mk(5000, false), mk(10, false)}, []bool{true, false}},
	} {
		planStep(c.gs, nil)
		for i, g := range c.gs {
			if g.ran != c.ran[i] {
				t.Errorf("%s: group %d ran = %v, want %v", c.name, i, g.ran, c.ran[i])
			}
		}
	}
}
