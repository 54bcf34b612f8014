package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"attune"
	"attune/engine/qwen2"
)

func init() {
	registerSub("models", "import", "register a local Hugging Face model directory as a base model",
		func(ctx context.Context, args []string) error { return modelsImport(ctx, args, osStdio()) })
}

// modelsImport registers a base model from a local directory.
func modelsImport(ctx context.Context, args []string, io stdio) error {
	fs := newFlags("models import", "models import DIR --id ID [--link] [--description TEXT] [--data-dir DIR]", io)
	dataDir := fs.String("data-dir", dataDirDefault(io), "attune data directory (env ATTUNE_DATA_DIR)")
	id := fs.String("id", "", "the model's id in the API, e.g. qwen-v2p5-0p5b-instruct")
	link := fs.Bool("link", false, "link to DIR instead of copying it (DIR must then stay where it is)")
	desc := fs.String("description", "", "a description shown in GET /models/base")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 1); err != nil {
		return err
	}
	if *id == "" {
		fs.Usage()
		return errors.New("models import: --id is required")
	}
	m, err := importModel(ctx, *dataDir, pos[0], *id, *desc, *link)
	if err != nil {
		return fmt.Errorf("models import: %w", err)
	}
	how := "copied"
	if *link {
		how = "linked"
	}
	fmt.Fprintf(io.out, "imported %s (%s, %.1fM parameters, context %d): %s into %s\n",
		m.ID, m.Architecture, float64(m.Parameters)/1e6, m.ContextLength, how, m.Path)
	return nil
}

// modelID is the form a base model id takes.
var modelID = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

// importModel checks that dir holds a model attune can run, copies or
// links it to the data directory's models/ID, and registers it. Nothing is
// left behind when a step fails.
func importModel(ctx context.Context, dataDir, dir, id, desc string, link bool) (attune.BaseModel, error) {
	if !modelID.MatchString(id) {
		return attune.BaseModel{}, attune.Invalidf("id",
			"model id %q must be lower-case letters, digits, '.', '-' or '_'", id)
	}
	src, err := filepath.Abs(dir)
	if err != nil {
		return attune.BaseModel{}, err
	}
	cfg, err := checkModelDir(src)
	if err != nil {
		return attune.BaseModel{}, err
	}

	s, err := openStore(ctx, dataDir, nil)
	if err != nil {
		return attune.BaseModel{}, err
	}
	defer s.Close()
	if _, err := s.BaseModel(ctx, id); err == nil {
		return attune.BaseModel{}, attune.Errorf(attune.KindConflict, "a base model %q already exists", id)
	}

	// Place the files, then register them; undo the placing on failure.
	dst := filepath.Join(layoutOf(dataDir).Models, id)
	if err := placeModel(src, dst, link); err != nil {
		return attune.BaseModel{}, err
	}
	if desc == "" {
		desc = fmt.Sprintf("%s imported from %s", cfg.ModelType, filepath.Base(src))
	}
	m := attune.BaseModel{
		ID: id, Description: desc, Path: dst, Architecture: cfg.ModelType,
		Parameters: qwen2.ParamCount(cfg), ContextLength: cfg.MaxPositionEmbeddings,
		AlignmentReady: true,
	}
	if err := s.CreateBaseModel(ctx, &m); err != nil {
		os.RemoveAll(dst)
		return attune.BaseModel{}, err
	}
	return m, nil
}

// checkModelDir loads the model in dir to prove its config and weights are
// usable, and checks that its tokenizer is there.
func checkModelDir(dir string) (qwen2.Config, error) {
	model, err := qwen2.Load(dir)
	if err != nil {
		return qwen2.Config{}, attune.Errorf(attune.KindInvalid, "%s is not a model attune can run: %v", dir, err)
	}
	cfg := model.Config
	model.Close()
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		return qwen2.Config{}, attune.Errorf(attune.KindInvalid,
			"%s has no tokenizer.json; download the model's tokenizer files too", dir)
	}
	return cfg, nil
}

// placeModel links dst to src, or copies src's files into dst through a
// temporary directory renamed at the end.
func placeModel(src, dst string, link bool) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if _, err := os.Lstat(dst); err == nil {
		return attune.Errorf(attune.KindConflict, "%s already exists; remove it or choose another id", dst)
	}
	if link {
		return os.Symlink(src, dst)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".import-*")
	if err != nil {
		return err
	}
	if err := copyTree(src, tmp); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("cannot copy %s: %w", src, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return nil
}

// copyTree copies the regular files under src into dst, keeping the
// directory structure. Hidden entries (.git, .cache) are skipped.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel != "." && e.Name()[0] == '.' {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		return copyFile(p, target)
	})
}

// copyFile copies one file (following a link, as Hugging Face caches use)
// and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
