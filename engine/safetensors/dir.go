package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// IndexName is the file that maps tensor names to shards in a sharded
// checkpoint.
const IndexName = "model.safetensors.index.json"

// SingleName is the file of an unsharded checkpoint.
const SingleName = "model.safetensors"

// Dir is the weights of a checkpoint directory: either one
// model.safetensors or the shards named by model.safetensors.index.json,
// opened together. Its views stay valid until Close.
type Dir struct {
	files  []*File
	byName map[string]*File
}

// index is the part of model.safetensors.index.json that matters here.
type index struct {
	WeightMap map[string]string `json:"weight_map"`
}

// OpenDir opens the weights of the checkpoint in dir: the shards of its
// index when there is one, else model.safetensors. Every tensor the index
// names must be in the shard it names.
func OpenDir(dir string) (*Dir, error) {
	b, err := os.ReadFile(filepath.Join(dir, IndexName))
	if errors.Is(err, os.ErrNotExist) {
		f, err := Open(filepath.Join(dir, SingleName))
		if err != nil {
			return nil, err
		}
		return newDir([]*File{f}), nil
	}
	if err != nil {
		return nil, fmt.Errorf("safetensors: cannot read index: %w", err)
	}
	var idx index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("safetensors: bad %s: %w", IndexName, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("safetensors: %s has an empty weight_map", IndexName)
	}
	return openShards(dir, idx.WeightMap)
}

// openShards opens every shard of a weight map and checks that each holds
// the tensors the map assigns to it.
func openShards(dir string, weightMap map[string]string) (*Dir, error) {
	shards := map[string]*File{}
	var files []*File
	fail := func(err error) (*Dir, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, err
	}
	names := make([]string, 0, len(weightMap))
	for name := range weightMap {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		shard := weightMap[name]
		if shard == "" || strings.ContainsAny(shard, `/\`) || shard == ".." {
			return fail(fmt.Errorf("safetensors: %s: tensor %q names a bad shard %q", IndexName, name, shard))
		}
		f, ok := shards[shard]
		if !ok {
			var err error
			if f, err = Open(filepath.Join(dir, shard)); err != nil {
				return fail(err)
			}
			shards[shard] = f
			files = append(files, f)
		}
		if _, ok := f.Info(name); !ok {
			return fail(fmt.Errorf("safetensors: %s puts tensor %q in %s, which lacks it", IndexName, name, shard))
		}
	}
	d := newDir(files)
	for _, name := range names {
		d.byName[name] = shards[weightMap[name]]
	}
	return d, nil
}

// newDir indexes the tensors of files by name.
func newDir(files []*File) *Dir {
	d := &Dir{files: files, byName: map[string]*File{}}
	for _, f := range files {
		for name := range f.tensors {
			d.byName[name] = f
		}
	}
	return d
}

// Names returns the names of all tensors, sorted.
func (d *Dir) Names() []string {
	names := make([]string, 0, len(d.byName))
	for n := range d.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Info returns the description of the named tensor and whether it exists.
func (d *Dir) Info(name string) (TensorInfo, bool) {
	f, ok := d.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Info(name)
}

// Tensor returns a view of the named tensor, or an error naming it when no
// shard has it.
func (d *Dir) Tensor(name string) (View, error) {
	f, ok := d.byName[name]
	if !ok {
		return View{}, fmt.Errorf("safetensors: checkpoint has no tensor %q", name)
	}
	return f.Tensor(name)
}

// Evict drops the named tensor's pages from resident memory; see
// File.Evict.
func (d *Dir) Evict(name string) error {
	f, ok := d.byName[name]
	if !ok {
		return fmt.Errorf("safetensors: checkpoint has no tensor %q", name)
	}
	return f.Evict(name)
}

// Close unmaps every shard.
func (d *Dir) Close() error {
	var errs []error
	for _, f := range d.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}
