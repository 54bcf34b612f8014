package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"attune"
	"attune/engine/qwen2"
	"attune/engine/safetensors"
)

func init() {
	registerSub("models", "init", "write a random-initialised model of a named shape", cmdFunc(modelsInit))
}

// modelsInit writes a random-initialised Hugging Face model directory, so
// that anyone can test and benchmark without downloading weights.
func modelsInit(ctx context.Context, args []string, io stdio) error {
	fs := flag.NewFlagSet("models init", flag.ContinueOnError)
	fs.SetOutput(io.errw)
	shape := fs.String("shape", "", "model shape: "+strings.Join(qwen2.ShapeNames(), ", "))
	seed := fs.Uint64("seed", 1, "random seed; the same seed writes the same weights")
	out := fs.String("out", "", "directory to write the model to")
	dtype := fs.String("dtype", "bf16", "weight precision: bf16, f16 or f32")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: attune models init --shape NAME --seed N --out DIR [--dtype bf16]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *shape == "" || *out == "" {
		fs.Usage()
		return attune.Invalidf("shape", "models init: --shape and --out are required")
	}
	dt, ok := map[string]safetensors.DType{
		"bf16": safetensors.BF16, "f16": safetensors.F16, "f32": safetensors.F32,
	}[strings.ToLower(*dtype)]
	if !ok {
		return attune.Invalidf("dtype", "models init: --dtype %q: want bf16, f16 or f32", *dtype)
	}
	cfg, err := qwen2.Shape(*shape)
	if err != nil {
		return attune.Invalidf("shape", "models init: %v", err)
	}
	if entries, err := os.ReadDir(*out); err == nil && len(entries) > 0 {
		return attune.Errorf(attune.KindConflict, "models init: %s is not empty; choose a new directory", *out)
	}

	start := time.Now()
	if err := qwen2.WriteRandom(*out, cfg, *seed, dt); err != nil {
		return fmt.Errorf("models init: %w", err)
	}
	params := qwen2.ParamCount(cfg)
	fmt.Fprintf(io.out, "wrote %s: shape %s, %.1fM parameters in %s, seed %d, in %.1fs\n",
		*out, *shape, float64(params)/1e6, dt, *seed, time.Since(start).Seconds())
	return nil
}
