package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"attune/engine/qwen2"
	"attune/engine/train"
)

func init() {
	registerSub("bench", "train", "measure LoRA training: tokens/s, step time, peak memory", benchTrain)
}

// benchTrain times LoRA training steps on random tokens: full rows of
// --seq tokens, --batch rows a step, every token trained, adapters of rank
// --rank on all seven projections. The first step is a warm-up and is not
// counted.
func benchTrain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench train", flag.ContinueOnError)
	model := fs.String("model", "", "model directory")
	seq := fs.Int("seq", 256, "sequence length")
	batch := fs.Int("batch", 4, "sequences per step")
	rank := fs.Int("rank", 8, "LoRA rank")
	steps := fs.Int("steps", 3, "timed steps (after one warm-up step)")
	asJSON := fs.Bool("json", false, "print one JSON line")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed steps to this file")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: attune bench train --model DIR [--seq 256] [--batch 4] [--rank 8] [--steps N] [--json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" {
		fs.Usage()
		return errors.New("bench train: --model is required")
	}
	if *steps < 1 || *seq < 2 || *batch < 1 {
		return errors.New("bench train: --steps and --batch must be at least 1, --seq at least 2")
	}

	m, err := qwen2.Load(*model)
	if err != nil {
		return err
	}
	defer m.Close()

	// (steps+1)·batch random rows of exactly seq tokens.
	rng := rand.New(rand.NewPCG(1, 2))
	var ds train.Dataset
	for range (*steps + 1) * *batch {
		e := train.Example{Tokens: make([]int32, *seq)}
		for i := range e.Tokens {
			e.Tokens[i] = int32(rng.IntN(m.Config.VocabSize))
		}
		e.Labels = e.Tokens
		ds.Train = append(ds.Train, e)
	}
	cfg := train.Config{Epochs: 1, Rank: *rank, Alpha: 2 * float64(*rank), Batch: *batch,
		MicroBatch: *batch, MaxSeqLen: *seq, NoPack: true}

	var stamps []time.Time
	var cpu []float64
	var prof *os.File
	start := time.Now()
	_, err = train.Run(ctx, cfg, m, ds, func(train.Progress) {
		stamps = append(stamps, time.Now())
		cpu = append(cpu, cpuSeconds())
		if len(stamps) == 1 && *cpuProfile != "" {
			if prof, err = os.Create(*cpuProfile); err == nil {
				err = pprof.StartCPUProfile(prof)
			}
		}
	})
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
	}
	if err != nil {
		return err
	}

	// Per-step times, the warm-up step left out; the median resists noise
	// from other work on the machine.
	// The CPU time of each step (all threads) says how much work a step
	// is independently of what else runs on the machine: wall time per
	// step over CPU time per step is the share of the cores it got.
	var times, cpus []float64
	for i := 1; i < len(stamps); i++ {
		times = append(times, stamps[i].Sub(stamps[i-1]).Seconds())
		cpus = append(cpus, cpu[i]-cpu[i-1])
	}
	sort.Float64s(times)
	sort.Float64s(cpus)
	stepS, cpuS := times[len(times)/2], cpus[len(cpus)/2]
	tokS := float64(*batch**seq) / stepS
	gflop := stepFLOPs(m.Config, *batch, *seq, *rank) / 1e9
	peak := peakRSSMB()
	if *asJSON {
		b, _ := json.Marshal(map[string]any{"train_tok_s": round2(tokS), "step_s": round2(stepS),
			"peak_rss_mb": peak, "gflop_per_step": round2(gflop), "gflop_s": round2(gflop / stepS),
			"step_cpu_s": round2(cpuS), "gflop_per_cpu_s": round2(gflop / cpuS),
			"seq": *seq, "batch": *batch, "rank": *rank, "steps": *steps,
			"warmup_s": round2(stamps[0].Sub(start).Seconds())})
		fmt.Println(string(b))
		return nil
	}
	fmt.Printf("train: %.1f tokens/s, %.2f s a step (median of %d; batch %d × seq %d, rank %d on all projections)\n",
		tokS, stepS, len(times), *batch, *seq, *rank)
	fmt.Printf("matrix products: %.0f GFLOP a step, %.1f GFLOP/s\n", gflop, gflop/stepS)
	if cpuS > 0 {
		fmt.Printf("CPU time: %.2f s a step on all threads, %.1f GFLOP a CPU-second, %.2f cores busy\n",
			cpuS, gflop/cpuS, cpuS/stepS)
	}
	fmt.Printf("warm-up step: %.2f s\npeak memory: %d MB\n", stamps[0].Sub(start).Seconds(), peak)
	return nil
}

// stepFLOPs counts the floating-point operations of the matrix products
// of one training step with every token trained: the projections forward
// and their input gradients backward, the head both ways, attention (two
// products forward, five backward with the scores recomputed, each over
// the causal half of the square, the work it needs), and the LoRA
// factors (two products forward, five backward).
func stepFLOPs(c qwen2.Config, batch, seq, rank int) float64 {
	N := float64(batch * seq)
	hd := c.HiddenSize / c.NumAttentionHeads
	if c.HeadDim > 0 {
		hd = c.HeadDim
	}
	C, I, V := float64(c.HiddenSize), float64(c.IntermediateSize), float64(c.VocabSize)
	Q, K := float64(c.NumAttentionHeads*hd), float64(c.NumKeyValueHeads*hd)
	proj := C*(Q+2*K) + Q*C + 3*C*I // multiply-adds a token
	lora := float64(rank) * ((C + Q) + 2*(C+K) + (Q + C) + 2*(C+I) + (I + C))
	attn := 7 * float64(seq) * float64(seq+1) / 2 * float64(hd*c.NumAttentionHeads) * float64(batch)
	L := float64(c.NumHiddenLayers)
	return 2 * (L*(2*proj*N+3.5*lora*N+attn) + 2*V*C*N)
}

// peakRSSMB returns the process's peak resident set (VmHWM) in MB, or -1
// where /proc does not tell.
func peakRSSMB() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err == nil {
				return kb / 1024
			}
		}
	}
	return -1
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }
