package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"attune/engine/generate"
	"attune/engine/qwen2"
	"attune/engine/tokenizer"
)

func init() {
	registerSub("bench", "infer", "measure load, prefill, decode and scoring speed and peak memory", runBenchInfer)
}

// inferResult is what bench infer measures; the JSON keys are fixed.
type inferResult struct {
	LoadS       float64 `json:"load_s"`        // open the model and touch every weight once
	PrefillTokS float64 `json:"prefill_tok_s"` // prompt tokens / time to the first token
	DecodeTokS  float64 `json:"decode_tok_s"`  // tokens after the first / their time
	ScoreS      float64 `json:"score_s"`       // Score: the prompt, then 4 continuations of 72 tokens
	PeakRSSMB   float64 `json:"peak_rss_mb"`   // VmHWM of the process
}

// benchText is the text bench prompts are cut from, repeated as needed.
const benchText = `Debian is a free operating system for your computer. An operating
system is the set of basic programs and utilities that make your computer run.
The packages are installed and kept up to date with apt, which fetches them
from the archive together with everything they depend on. `

func runBenchInfer(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench infer", flag.ContinueOnError)
	model := fs.String("model", "", "model `directory` (Hugging Face layout)")
	promptTokens := fs.Int("prompt-tokens", 256, "prompt length in tokens")
	genTokens := fs.Int("gen-tokens", 64, "tokens to generate")
	asJSON := fs.Bool("json", false, "print one JSON line")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the run to `file`")
	q8 := fs.Bool("q8", false, "fast mode: weights rounded to int8 per row first (load_s includes it), activations to int8 inside the matrix products")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *profile != "" {
		stop, err := startCPUProfile(*profile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if *model == "" {
		return fmt.Errorf("bench infer: --model is required")
	}
	if *promptTokens < 1 || *genTokens < 2 {
		return fmt.Errorf("bench infer: --prompt-tokens must be at least 1 and --gen-tokens at least 2")
	}

	// Load, and run one token so that every mapped weight is read once.
	start := time.Now()
	e, err := generate.Open(*model, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		return err
	}
	defer e.Close()
	if *q8 {
		e.Model().QuantizeQ8()
	}
	if _, err := e.Model().Logits(e.Model().NewCache(), []int{0}); err != nil {
		return err
	}
	var r inferResult
	r.LoadS = time.Since(start).Seconds()

	// Prefill and decode, greedily, on the real generation path: the time
	// to the first token is the prefill, the rest is decoding.
	prompt := benchPrompt(e.Tokenizer(), *promptTokens)
	start = time.Now()
	answers, err := e.Generate(ctx, generate.Request{Prompt: prompt, Params: generate.Params{MaxTokens: *genTokens}})
	if err != nil {
		return err
	}
	total := time.Since(start)
	a := answers[0]
	if a.CompletionTokens < 2 {
		return fmt.Errorf("bench infer: the model stopped after %d tokens; nothing to time", a.CompletionTokens)
	}
	r.PrefillTokS = float64(len(prompt)) / a.TimeToFirstToken.Seconds()
	r.DecodeTokS = float64(a.CompletionTokens-1) / (total - a.TimeToFirstToken).Seconds()

	// Score 4 continuations of 72 tokens after the prompt.
	conts := make([][]int, 4)
	for i := range conts {
		conts[i] = benchPrompt(e.Tokenizer(), 72+i)[i:]
	}
	start = time.Now()
	if _, err := e.Score(ctx, prompt, conts, nil); err != nil {
		return err
	}
	r.ScoreS = time.Since(start).Seconds()
	r.PeakRSSMB = rssHighWaterMB()
	return printInfer(r, e.Model().Config, len(prompt), a.CompletionTokens, *asJSON)
}

// startCPUProfile profiles the process to path until the returned function
// is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench infer: cannot write the profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench infer: cannot profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// benchPrompt returns the first n tokens of benchText repeated.
func benchPrompt(tok *tokenizer.Tokenizer, n int) []int {
	var ids []int
	for len(ids) < n {
		ids = append(ids, tok.Encode(benchText)...)
	}
	return ids[:n]
}

// rssHighWaterMB reads the process's resident-set high-water mark (VmHWM) from
// /proc/self/status; 0 where there is none.
func rssHighWaterMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

func printInfer(r inferResult, cfg qwen2.Config, prompt, gen int, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	fmt.Printf("model    hidden %d, %d layers, %d parameters\n", cfg.HiddenSize, cfg.NumHiddenLayers, qwen2.ParamCount(cfg))
	fmt.Printf("load     %.2f s\n", r.LoadS)
	fmt.Printf("prefill  %.1f tokens/s (%d tokens)\n", r.PrefillTokS, prompt)
	fmt.Printf("decode   %.1f tokens/s (%d tokens)\n", r.DecodeTokS, gen)
	fmt.Printf("score    %.2f s (4 continuations of 72 tokens after the prompt)\n", r.ScoreS)
	fmt.Printf("peak RSS %.0f MB\n", r.PeakRSSMB)
	return nil
}
