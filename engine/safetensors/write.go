package safetensors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unsafe"
)

// Tensor is a named tensor to write: its dtype, shape and raw little-endian
// bytes.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// F32Tensor returns a Tensor of F32 values; the bytes alias values.
func F32Tensor(name string, shape []int, values []float32) Tensor {
	return Tensor{Name: name, DType: F32, Shape: shape, Data: f32Bytes(values)}
}

// BF16Tensor returns a Tensor of raw bfloat16 bits; the bytes alias bits.
func BF16Tensor(name string, shape []int, bits []uint16) Tensor {
	return Tensor{Name: name, DType: BF16, Shape: shape, Data: u16Bytes(bits)}
}

// F16Tensor returns a Tensor of raw IEEE half-precision bits; the bytes
// alias bits.
func F16Tensor(name string, shape []int, bits []uint16) Tensor {
	return Tensor{Name: name, DType: F16, Shape: shape, Data: u16Bytes(bits)}
}

func f32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

func u16Bytes(v []uint16) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 2*len(v))
}

// WriteFile writes tensors, in the given order, and metadata (may be nil)
// to a safetensors file at path, atomically: readers see the old file or
// the complete new one.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	infos := make([]TensorInfo, len(tensors))
	for i, t := range tensors {
		infos[i] = TensorInfo{Name: t.Name, DType: t.DType, Shape: t.Shape}
		if want := infos[i].Elems() * int64(t.DType.Size()); int64(len(t.Data)) != want {
			return fmt.Errorf("safetensors: tensor %q: %d bytes of data, shape %v of %s needs %d", t.Name, len(t.Data), t.Shape, t.DType, want)
		}
	}
	w, err := Create(path, infos, metadata)
	if err != nil {
		return err
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Close()
}

// Writer streams a safetensors file whose tensors are declared up front:
// the caller writes each tensor's bytes in the declared order, then Close
// checks that every byte arrived and renames the file into place. It lets a
// multi-gigabyte checkpoint be written without holding it in memory.
type Writer struct {
	path, tmp string
	f         *os.File
	buf       *bufio.Writer
	want, got int64
	err       error
}

// Create starts writing a safetensors file at path holding tensors (their
// Begin and End are ignored and computed here) and metadata.
func Create(path string, tensors []TensorInfo, metadata map[string]string) (*Writer, error) {
	header, total, err := encodeHeader(tensors, metadata)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("safetensors: cannot create %s: %w", path, err)
	}
	w := &Writer{path: path, tmp: f.Name(), f: f, buf: bufio.NewWriterSize(f, 1<<20), want: total}
	if err := f.Chmod(0o644); err != nil {
		w.Abort()
		return nil, fmt.Errorf("safetensors: cannot create %s: %w", path, err)
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	w.buf.Write(n[:])
	if _, err := w.buf.Write(header); err != nil {
		w.Abort()
		return nil, fmt.Errorf("safetensors: cannot write %s: %w", path, err)
	}
	return w, nil
}

// Write appends tensor bytes. Writing more than the declared tensors hold
// is an error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.got+int64(len(p)) > w.want {
		w.err = fmt.Errorf("safetensors: %s: %d bytes written, more than the %d declared", w.path, w.got+int64(len(p)), w.want)
		return 0, w.err
	}
	n, err := w.buf.Write(p)
	w.got += int64(n)
	if err != nil {
		w.err = fmt.Errorf("safetensors: cannot write %s: %w", w.path, err)
	}
	return n, w.err
}

// Close finishes the file: it checks that every declared byte was written,
// syncs, and renames the file into place. On error nothing is left behind.
func (w *Writer) Close() error {
	if w.err == nil && w.got != w.want {
		w.err = fmt.Errorf("safetensors: %s: %d bytes written, %d declared", w.path, w.got, w.want)
	}
	if w.err != nil {
		w.Abort()
		return w.err
	}
	err := w.buf.Flush()
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.tmp, w.path)
	}
	if err != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("safetensors: cannot write %s: %w", w.path, err)
	}
	return nil
}

// Abort abandons the file and removes the temporary.
func (w *Writer) Abort() {
	w.f.Close()
	os.Remove(w.tmp)
	if w.err == nil {
		w.err = fmt.Errorf("safetensors: %s: write aborted", w.path)
	}
}

// encodeHeader lays the tensors out one after another and returns the JSON
// header, padded with spaces to a multiple of 8 bytes so that the data
// starts aligned, and the total size of the data.
func encodeHeader(tensors []TensorInfo, metadata map[string]string) ([]byte, int64, error) {
	var b strings.Builder
	b.WriteByte('{')
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(`"` + metadataKey + `":{`)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quote(k) + ":" + quote(metadata[k]))
		}
		b.WriteByte('}')
	}

	var off int64
	seen := map[string]bool{}
	for i, t := range tensors {
		if t.Name == "" || t.Name == metadataKey || seen[t.Name] {
			return nil, 0, fmt.Errorf("safetensors: bad or repeated tensor name %q", t.Name)
		}
		seen[t.Name] = true
		size := int64(t.DType.Size())
		if size == 0 {
			return nil, 0, fmt.Errorf("safetensors: tensor %q: unknown dtype %q", t.Name, t.DType)
		}
		for _, d := range t.Shape {
			if d < 0 || (d > 0 && size > math.MaxInt64/int64(d)) {
				return nil, 0, fmt.Errorf("safetensors: tensor %q: bad shape %v", t.Name, t.Shape)
			}
			size *= int64(d)
		}
		if i > 0 || len(metadata) > 0 {
			b.WriteByte(',')
		}
		shape := make([]string, len(t.Shape))
		for j, d := range t.Shape {
			shape[j] = strconv.Itoa(d)
		}
		fmt.Fprintf(&b, `%s:{"dtype":%s,"shape":[%s],"data_offsets":[%d,%d]}`,
			quote(t.Name), quote(string(t.DType)), strings.Join(shape, ","), off, off+size)
		off += size
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return []byte(b.String()), off, nil
}

// quote returns s as a JSON string.
func quote(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
