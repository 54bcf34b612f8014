package safetensors

import (
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"syscall"
	"unsafe"
)

// File is an open, memory-mapped safetensors file. Views returned by its
// methods point into the mapping and must not be used after Close. A File
// is safe for concurrent reads.
type File struct {
	path     string
	mapping  []byte // the whole file
	data     []byte // the data section, after the header
	tensors  map[string]TensorInfo
	metadata map[string]string
}

// Open memory-maps the safetensors file at path read-only and validates its
// header.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: cannot open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: cannot stat %s: %w", path, err)
	}
	size := st.Size()
	if size < 8 {
		return nil, fmt.Errorf("safetensors: %s: file of %d bytes is too short for a header", path, size)
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("safetensors: %s: file of %d bytes cannot be mapped", path, size)
	}
	mapping, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("safetensors: cannot map %s: %w", path, err)
	}
	file, err := parse(path, mapping)
	if err != nil {
		syscall.Munmap(mapping)
		return nil, err
	}
	return file, nil
}

// parse reads the header of a mapped file.
func parse(path string, mapping []byte) (*File, error) {
	n := binary.LittleEndian.Uint64(mapping[:8])
	if n > maxHeaderLen || n > uint64(len(mapping)-8) {
		return nil, fmt.Errorf("safetensors: %s: header length %d does not fit in a file of %d bytes (truncated?)", path, n, len(mapping))
	}
	data := mapping[8+n:]
	tensors, meta, err := ParseHeader(mapping[8:8+n], int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	byName := make(map[string]TensorInfo, len(tensors))
	for _, t := range tensors {
		byName[t.Name] = t
	}
	return &File{path: path, mapping: mapping, data: data, tensors: byName, metadata: meta}, nil
}

// Path returns the path the file was opened from.
func (f *File) Path() string { return f.path }

// Metadata returns the header's free-form metadata; it may be nil.
func (f *File) Metadata() map[string]string { return f.metadata }

// Names returns the names of the file's tensors, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.tensors))
	for n := range f.tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Info returns the description of the named tensor and whether it exists.
func (f *File) Info(name string) (TensorInfo, bool) {
	t, ok := f.tensors[name]
	return t, ok
}

// Tensor returns a view of the named tensor, or an error naming it when the
// file has no such tensor.
func (f *File) Tensor(name string) (View, error) {
	t, ok := f.tensors[name]
	if !ok {
		return View{}, fmt.Errorf("safetensors: %s has no tensor %q", f.path, name)
	}
	return View{TensorInfo: t, Data: f.data[t.Begin:t.End:t.End]}, nil
}

// Evict tells the kernel that the named tensor's pages will not be read
// soon, so they leave the process's resident memory (a later read brings
// them back from the page cache or the disk). Callers that have copied a
// tensor into another form, such as quantized weights, use it to keep
// their memory to one copy. Views stay valid.
func (f *File) Evict(name string) error {
	t, ok := f.tensors[name]
	if !ok {
		return fmt.Errorf("safetensors: %s has no tensor %q", f.path, name)
	}

	// Whole pages inside the mapping that hold some of the tensor's bytes;
	// a page shared with a neighbour is only reloaded if it is read.
	page := int64(os.Getpagesize())
	start := int64(len(f.mapping)-len(f.data)) + t.Begin
	end := int64(len(f.mapping)-len(f.data)) + t.End
	lo, hi := start/page*page, min(int64(len(f.mapping)), (end+page-1)/page*page)
	if lo >= hi {
		return nil
	}
	if err := syscall.Madvise(f.mapping[lo:hi], syscall.MADV_DONTNEED); err != nil {
		return fmt.Errorf("safetensors: cannot evict %q from %s: %w", name, f.path, err)
	}
	return nil
}

// Close unmaps the file. Views taken from it become invalid.
func (f *File) Close() error {
	if f.mapping == nil {
		return nil
	}
	err := syscall.Munmap(f.mapping)
	f.mapping, f.data = nil, nil
	if err != nil {
		return fmt.Errorf("safetensors: cannot unmap %s: %w", f.path, err)
	}
	return nil
}

// View is one tensor's description and its raw little-endian bytes.
type View struct {
	TensorInfo
	Data []byte
}

// F32 returns the tensor's values as float32, without copying when the data
// is 4-byte aligned (it is in files whose header is padded, as the writers
// of this package and of Hugging Face do). It fails unless the dtype is F32.
func (v View) F32() ([]float32, error) {
	if v.DType != F32 {
		return nil, fmt.Errorf("safetensors: tensor %q is %s, want F32", v.Name, v.DType)
	}
	n := len(v.Data) / 4
	if n == 0 {
		return []float32{}, nil
	}
	if uintptr(unsafe.Pointer(&v.Data[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&v.Data[0])), n), nil
	}
	out := make([]float32, n)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), len(v.Data)), v.Data)
	return out, nil
}

// U16 returns the raw bits of a BF16 or F16 tensor, without copying when
// the data is 2-byte aligned.
func (v View) U16() ([]uint16, error) {
	if v.DType != BF16 && v.DType != F16 {
		return nil, fmt.Errorf("safetensors: tensor %q is %s, want BF16 or F16", v.Name, v.DType)
	}
	n := len(v.Data) / 2
	if n == 0 {
		return []uint16{}, nil
	}
	if uintptr(unsafe.Pointer(&v.Data[0]))%2 == 0 {
		return unsafe.Slice((*uint16)(unsafe.Pointer(&v.Data[0])), n), nil
	}
	out := make([]uint16, n)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), len(v.Data)), v.Data)
	return out, nil
}
