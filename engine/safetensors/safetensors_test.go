package safetensors

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestWriteOpenRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	f32 := []float32{1, -2.5, 3e-8, 4, 5, 6}
	bf := []uint16{0x3f80, 0xc000, 0x0001}
	meta := map[string]string{"format": "pt", "note": `quote " and \`}
	err := WriteFile(path, []Tensor{
		F32Tensor("a.weight", []int{2, 3}, f32),
		BF16Tensor("b", []int{3}, bf),
		F16Tensor("empty", []int{0, 4}, nil),
		{Name: "bytes", DType: U8, Shape: []int{1}, Data: []byte{7}},
	}, meta)
	if err != nil {
		t.Fatal(err)
	}

	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := f.Names(), []string{"a.weight", "b", "bytes", "empty"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if got := f.Metadata(); !reflect.DeepEqual(got, meta) {
		t.Errorf("Metadata() = %v, want %v", got, meta)
	}

	v, err := f.Tensor("a.weight")
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.F32()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f32) || !reflect.DeepEqual(v.Shape, []int{2, 3}) {
		t.Errorf("a.weight = %v %v, want %v [2 3]", v.Shape, got, f32)
	}
	v, _ = f.Tensor("b")
	gotU, err := v.U16()
	if err != nil || !reflect.DeepEqual(gotU, bf) {
		t.Errorf("b = %v, %v; want %v", gotU, err, bf)
	}
	if _, err := v.F32(); err == nil {
		t.Error("F32() of a BF16 tensor: no error")
	}
	v, _ = f.Tensor("empty")
	if gotU, err := v.U16(); err != nil || len(gotU) != 0 {
		t.Errorf("empty = %v, %v", gotU, err)
	}
	if _, err := f.Tensor("nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing tensor: err = %v, want one naming it", err)
	}

	// Evicting a tensor's pages keeps its views readable.
	if err := f.Evict("a.weight"); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Tensor("a.weight"); !reflect.DeepEqual(must(v.F32()), f32) {
		t.Error("a.weight changed after Evict")
	}
	if err := f.Evict("nope"); err == nil {
		t.Error("Evict of a missing tensor: no error")
	}

	// The data section starts 8-byte aligned, so views need no copy.
	n := binary.LittleEndian.Uint64(f.mapping[:8])
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestWriteFileChecksSizes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	err := WriteFile(path, []Tensor{F32Tensor("a", []int{2, 2}, []float32{1, 2, 3})}, nil)
	if err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Fatalf("err = %v, want one naming tensor a", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a failed write left %s behind", path)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 0 {
		t.Errorf("a failed write left %d files behind", len(entries))
	}
}

func TestWriterStreaming(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	w, err := Create(path, []TensorInfo{{Name: "x", DType: F32, Shape: []int{4}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(f32Bytes([]float32{1, 2}))
	if err := w.Close(); err == nil {
		t.Fatal("Close after writing half the data: no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a short write left %d files behind", len(entries))
	}

	w, _ = Create(path, []TensorInfo{{Name: "x", DType: F32, Shape: []int{2}}}, nil)
	if _, err := w.Write(make([]byte, 12)); err == nil {
		t.Error("writing past the declared size: no error")
	}
	w.Abort()
}

// header builds a file image from a raw JSON header and a data section.
func header(js string, data int) []byte {
	b := make([]byte, 8, 8+len(js)+data)
	binary.LittleEndian.PutUint64(b, uint64(len(js)))
	b = append(b, js...)
	return append(b, make([]byte, data)...)
}

func TestOpenRejects(t *testing.T) {
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "too short"},
		{"header past end", header(`{}`, 0)[:9], "does not fit"},
		{"not json", header(`{"a":`, 0), "not a JSON object"},
		{"unknown dtype", header(`{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}`, 1), "unknown dtype"},
		{"truncated data", header(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8), "truncated"},
		{"shape mismatch", header(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}`, 16), "needs 12 bytes"},
		{"negative dim", header(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}`, 0), "bad dimension"},
		{"offsets reversed", header(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}`, 4), "outside"},
		{"one offset", header(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[0]}}`, 4), "2"},
		{"overlap", header(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, 4), "overlap"},
		{"bad metadata", header(`{"__metadata__":{"a":1}}`, 0), "__metadata__"},
		{"huge shape", header(`{"a":{"dtype":"F64","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,8]}}`, 8), "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.safetensors")
			if err := os.WriteFile(path, tt.file, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatalf("Open: no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestOpenDirSharded(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, ts ...Tensor) {
		t.Helper()
		if err := WriteFile(filepath.Join(dir, name), ts, nil); err != nil {
			t.Fatal(err)
		}
	}
	write("model-00001-of-00002.safetensors", F32Tensor("a", []int{1}, []float32{1}))
	write("model-00002-of-00002.safetensors", F32Tensor("b", []int{1}, []float32{2}))
	index := `{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`
	if err := os.WriteFile(filepath.Join(dir, IndexName), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for name, want := range map[string]float32{"a": 1, "b": 2} {
		v, err := d.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := v.F32()
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want [%v]", name, got, want)
		}
	}
	if got, want := d.Names(), []string{"a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}

	// An index that puts a tensor in the wrong shard is refused.
	bad := `{"weight_map":{"a":"model-00002-of-00002.safetensors"}}`
	os.WriteFile(filepath.Join(dir, IndexName), []byte(bad), 0o644)
	if d, err := OpenDir(dir); err == nil {
		d.Close()
		t.Error("OpenDir with a wrong index: no error")
	}
	bad = `{"weight_map":{"a":"../x.safetensors"}}`
	os.WriteFile(filepath.Join(dir, IndexName), []byte(bad), 0o644)
	if d, err := OpenDir(dir); err == nil {
		d.Close()
		t.Error("OpenDir with a shard outside the directory: no error")
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add([]byte(`{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}`), int64(16))
	f.Add([]byte(`{"__metadata__":{"k":"v"},"b":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`), int64(2))
	f.Add([]byte(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`), int64(4))
	f.Add([]byte(`null`), int64(0))
	f.Fuzz(func(t *testing.T, header []byte, dataLen int64) {
		if dataLen < 0 {
			dataLen = -dataLen
		}
		tensors, _, err := ParseHeader(header, dataLen)
		if err != nil {
			return
		}
		// Whatever parses must describe disjoint ranges inside the data
		// whose sizes match their shapes.
		var end int64
		for _, ti := range tensors {
			if ti.End > dataLen || ti.Begin > ti.End || (ti.Begin < end && ti.Begin != ti.End) {
				t.Fatalf("tensor %q range [%d, %d] bad (previous end %d, data %d)", ti.Name, ti.Begin, ti.End, end, dataLen)
			}
			if got := ti.Elems() * int64(ti.DType.Size()); got != ti.End-ti.Begin {
				t.Fatalf("tensor %q: %d bytes for shape %v, range holds %d", ti.Name, got, ti.Shape, ti.End-ti.Begin)
			}
			end = max(end, ti.End)
		}
	})
}
