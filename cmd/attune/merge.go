package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"attune"
	"attune/engine/kernels"
	"attune/engine/lora"
	"attune/engine/qwen2"
)

func init() {
	register("merge", "merge a LoRA adapter into its base model and save a Hugging Face directory", cmdFunc(mergeCmd))
}

// mergeCmd writes base + adapter as one Hugging Face model directory that
// needs no adapter: W + (alpha/r)·B·A for every adapted projection,
// config.json and the base's tokenizer files.
func mergeCmd(ctx context.Context, args []string, io stdio) error {
	fset := flag.NewFlagSet("merge", flag.ContinueOnError)
	fset.SetOutput(io.errw)
	model := fset.String("model", "", "base model `directory` (Hugging Face layout)")
	adapter := fset.String("adapter", "", "LoRA adapter `directory` (PEFT layout) trained on --model")
	out := fset.String("out", "", "new `directory` for the merged model")
	dtype := fset.String("dtype", "", "precision of the merged projections: bf16, f16 or f32 (default: the base's)")
	fset.Usage = func() {
		fmt.Fprintln(fset.Output(), "usage: attune merge --model DIR --adapter DIR --out DIR [--dtype bf16|f16|f32]")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *model == "" || *adapter == "" || *out == "" {
		fset.Usage()
		return attune.Invalidf("model", "merge: --model, --adapter and --out are required")
	}
	var dt kernels.DType
	chosen := *dtype != ""
	if chosen {
		var ok bool
		dt, ok = map[string]kernels.DType{"bf16": kernels.BF16, "f16": kernels.F16, "f32": kernels.F32}[strings.ToLower(*dtype)]
		if !ok {
			return attune.Invalidf("dtype", "merge: --dtype %q: want bf16, f16 or f32", *dtype)
		}
	}
	if same(*out, *model) || same(*out, *adapter) {
		return attune.Invalidf("out", "merge: --out %s must be a new directory, not the model's or the adapter's", *out)
	}
	if entries, err := os.ReadDir(*out); err == nil && len(entries) > 0 {
		return attune.Errorf(attune.KindConflict, "merge: %s is not empty; choose a new directory", *out)
	}
	if _, err := os.Stat(filepath.Join(*adapter, lora.ConfigName)); errors.Is(err, fs.ErrNotExist) {
		return attune.Errorf(attune.KindNotFound, "merge: %s holds no LoRA adapter (no %s)", *adapter, lora.ConfigName)
	}

	start := time.Now()
	m, err := qwen2.Load(*model)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	defer m.Close()
	// lora.Load checks every factor's shape against the model, so an
	// adapter trained on another shape is refused here, naming the tensor.
	a, err := lora.Load(*adapter, m.Config)
	if err != nil {
		return fmt.Errorf("merge: adapter does not fit model %s: %w", *model, err)
	}
	if !chosen && len(m.Layers) > 0 {
		dt = m.Layers[0].Q.DType
	}
	if err := lora.ExportMergedAs(*out, *model, m, a, dt); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	fmt.Fprintf(io.out, "wrote %s: %s merged with adapter %s (rank %d, %d projections a layer, %s) in %.1fs\n",
		*out, *model, *adapter, a.Config.Rank, len(a.Config.Targets), dt, time.Since(start).Seconds())
	return nil
}

// same reports whether paths a and b name the same directory.
func same(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
