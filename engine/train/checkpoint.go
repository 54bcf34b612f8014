package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"

	"attune"
	"attune/engine/lora"
	"attune/engine/qwen2"
	"attune/engine/safetensors"
)

// A checkpoint is a directory:
//
//	adapter_config.json, adapter_model.safetensors   the adapter, PEFT layout
//	optimizer.safetensors                             AdamW moments, "m."/"v." + PEFT names
//	state.json                                        step, data position, seed, evaluation state
//
// CheckpointDir/last is the latest, CheckpointDir/best the best on held-out
// loss (adapter and state only). A checkpoint is written into a temporary
// directory and renamed into place; the previous one is renamed aside
// first and removed after, so a kill at any moment leaves either the old or
// the new one readable (resume looks for the aside copy when "last" is
// missing).

const (
	lastName      = "last"
	bestName      = "best"
	asideName     = ".last.old"
	optimizerName = "optimizer.safetensors"
	stateName     = "state.json"
)

// LastCheckpoint returns the directory of the latest checkpoint under dir,
// the adapter of which lora.Load reads, or "" when there is none.
func LastCheckpoint(dir string) string {
	for _, name := range []string{lastName, asideName} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(filepath.Join(p, stateName)); err == nil {
			return p
		}
	}
	return ""
}

// BestCheckpoint returns the directory of the best checkpoint under dir, or
// "" when there is none.
func BestCheckpoint(dir string) string {
	p := filepath.Join(dir, bestName)
	if _, err := os.Stat(filepath.Join(p, stateName)); err == nil {
		return p
	}
	return ""
}

// saveLast writes the run's state as CheckpointDir/last.
func (r *runner) saveLast() error {
	return r.writeCheckpoint(lastName, r.ad, true)
}

// saveBest writes the current adapter as CheckpointDir/best.
func (r *runner) saveBest() error {
	return r.writeCheckpoint(bestName, r.ad, false)
}

// writeCheckpoint writes ad (and with moments the optimizer state) and the
// run's state to CheckpointDir/name, replacing it atomically.
func (r *runner) writeCheckpoint(name string, ad *lora.Adapter, moments bool) error {
	root := r.cfg.CheckpointDir
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("train: cannot write checkpoint: %w", err)
	}
	tmp, err := os.MkdirTemp(root, ".tmp-"+name+"-")
	if err != nil {
		return fmt.Errorf("train: cannot write checkpoint: %w", err)
	}
	defer os.RemoveAll(tmp)

	if err := ad.Save(tmp); err != nil {
		return fmt.Errorf("train: cannot write checkpoint: %w", err)
	}
	if moments {
		if err := saveMoments(filepath.Join(tmp, optimizerName), r.opt); err != nil {
			return fmt.Errorf("train: cannot write checkpoint: %w", err)
		}
	}
	st := r.st
	if math.IsInf(st.BestEval, 1) {
		st.BestEval = -1 // JSON has no infinity; -1 means none
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := writeSynced(filepath.Join(tmp, stateName), b); err != nil {
		return fmt.Errorf("train: cannot write checkpoint: %w", err)
	}
	if err := syncDir(tmp); err != nil {
		return fmt.Errorf("train: cannot write checkpoint: %w", err)
	}
	return swapIn(root, tmp, name)
}

// swapIn renames tmp to root/name, keeping the previous root/name aside
// until the new one is in place.
func swapIn(root, tmp, name string) error {
	dst := filepath.Join(root, name)
	aside := filepath.Join(root, "."+name+".old")
	os.RemoveAll(aside)
	if err := os.Rename(dst, aside); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("train: cannot write checkpoint: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("train: cannot write checkpoint: %w", err)
	}
	if err := syncDir(root); err != nil {
		return fmt.Errorf("train: cannot write checkpoint: %w", err)
	}
	os.RemoveAll(aside)
	return nil
}

// resume loads the last checkpoint, if any, into r, and reports whether
// there was one.
func (r *runner) resume() (bool, error) {
	if r.cfg.CheckpointDir == "" {
		return false, nil
	}
	dir := LastCheckpoint(r.cfg.CheckpointDir)
	if dir == "" {
		return false, nil
	}
	st, err := readState(dir)
	if err != nil {
		return false, err
	}
	if st.Fingerprint != r.st.Fingerprint {
		return false, attune.Errorf(attune.KindConflict,
			"train: the checkpoint in %s was made with other settings or data; use a new checkpoint directory, or the same settings and data to resume", r.cfg.CheckpointDir)
	}
	ad, err := lora.Load(dir, r.m.Config)
	if err != nil {
		return false, fmt.Errorf("train: cannot resume from %s: %w", dir, err)
	}
	ad.Config.BaseModel = r.cfg.BaseModel
	ad.Config.Targets = r.ad.Config.Targets
	if err := copyInto(r.ad, ad); err != nil {
		return false, fmt.Errorf("train: cannot resume from %s: %w", dir, err)
	}
	if err := loadMoments(filepath.Join(dir, optimizerName), r.opt); err != nil {
		return false, fmt.Errorf("train: cannot resume from %s: %w", dir, err)
	}
	r.opt.t = st.AdamSteps
	if bd := BestCheckpoint(r.cfg.CheckpointDir); bd != "" && st.BestStep > 0 {
		if best, err := lora.Load(bd, r.m.Config); err == nil {
			r.best = best
		}
	}
	r.st = st
	return true, nil
}

// readState reads state.json of a checkpoint.
func readState(dir string) (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(dir, stateName))
	if err != nil {
		return st, fmt.Errorf("train: cannot resume from %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("train: cannot resume from %s: %s: %w", dir, stateName, err)
	}
	if st.BestEval < 0 {
		st.BestEval = math.Inf(1)
	}
	return st, nil
}

// copyInto copies the factors of src into dst, which must have the same
// shape.
func copyInto(dst, src *lora.Adapter) error {
	if !slices.Equal(dst.Config.Targets, src.Config.Targets) || dst.Config.Rank != src.Config.Rank {
		return errors.New("the checkpoint's adapter has another shape")
	}
	dst.Each(func(l int, t qwen2.Target, f *lora.Factors) {
		s := src.Factors(l, t)
		copy(f.A, s.A)
		copy(f.B, s.B)
	})
	return nil
}

// saveMoments writes AdamW's moments under "m." and "v." + PEFT names.
func saveMoments(path string, o *adamW) error {
	var ts []safetensors.Tensor
	r := o.m.Config.Rank
	for _, mv := range []struct {
		prefix string
		a      *lora.Adapter
	}{{"m.", o.m}, {"v.", o.v}} {
		mv.a.Each(func(l int, t qwen2.Target, f *lora.Factors) {
			ts = append(ts,
				safetensors.F32Tensor(mv.prefix+lora.TensorName(l, t, "A"), []int{r, f.In}, f.A),
				safetensors.F32Tensor(mv.prefix+lora.TensorName(l, t, "B"), []int{f.Out, r}, f.B))
		})
	}
	return safetensors.WriteFile(path, ts, nil)
}

// loadMoments reads what saveMoments wrote into o.
func loadMoments(path string, o *adamW) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var firstErr error
	read := func(name string, dst []float32) {
		v, err := f.Tensor(name)
		if err == nil {
			var src []float32
			if src, err = v.F32(); err == nil && len(src) != len(dst) {
				err = fmt.Errorf("tensor %s has %d values, want %d", name, len(src), len(dst))
			}
			if err == nil {
				copy(dst, src)
			}
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	for _, mv := range []struct {
		prefix string
		a      *lora.Adapter
	}{{"m.", o.m}, {"v.", o.v}} {
		mv.a.Each(func(l int, t qwen2.Target, fa *lora.Factors) {
			read(mv.prefix+lora.TensorName(l, t, "A"), fa.A)
			read(mv.prefix+lora.TensorName(l, t, "B"), fa.B)
		})
	}
	return firstErr
}

// writeSynced writes b to path and syncs it.
func writeSynced(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir syncs a directory so that renames within it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
