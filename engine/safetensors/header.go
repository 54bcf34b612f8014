// Package safetensors reads and writes the safetensors checkpoint format:
// an 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the raw little-endian tensor data.
//
// Reading memory-maps the file and hands out typed views straight into the
// mapping, so a billion-parameter checkpoint costs no copy and no heap; the
// views stay valid until the File is closed. Sharded checkpoints (a
// model.safetensors.index.json naming the shard of each tensor) open as one
// Dir. Writing goes through a temporary file renamed into place, so a
// reader never sees a half-written checkpoint.
package safetensors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// DType is a tensor's element type, as the format spells it.
type DType string

// The element types of the format. Views exist for F32, BF16 and F16; the
// others can be read as raw bytes.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// Size returns the number of bytes of one element, or 0 for an unknown
// dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// TensorInfo describes one tensor of a file: its name, dtype, shape, and
// where its bytes lie, as offsets from the start of the data section.
type TensorInfo struct {
	Name       string
	DType      DType
	Shape      []int
	Begin, End int64
}

// Elems returns the number of elements of the tensor's shape.
func (t TensorInfo) Elems() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// maxHeaderLen bounds the JSON header; real checkpoints stay far below it,
// and a corrupt length must not make us allocate gigabytes.
const maxHeaderLen = 100 << 20

// metadataKey is the header entry that holds free-form string metadata.
const metadataKey = "__metadata__"

// rawEntry is one tensor entry of the JSON header as it is written.
type rawEntry struct {
	DType       DType    `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// ParseHeader parses and validates a JSON header for a data section of
// dataLen bytes. It returns the tensors sorted by their offset and the
// metadata. Every tensor must have a known dtype, a non-negative shape
// whose byte size matches its range, and a range inside the data section
// that overlaps no other tensor.
func ParseHeader(header []byte, dataLen int64) ([]TensorInfo, map[string]string, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(header))
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header is not a JSON object: %w", err)
	}
	if raw == nil {
		return nil, nil, fmt.Errorf("safetensors: header is null, want a JSON object")
	}
	if rest := bytes.TrimSpace(header[dec.InputOffset():]); len(rest) > 0 {
		return nil, nil, fmt.Errorf("safetensors: %d bytes of junk after the JSON header", len(rest))
	}

	var meta map[string]string
	tensors := make([]TensorInfo, 0, len(raw))
	for name, msg := range raw {
		if name == metadataKey {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("safetensors: %s is not a map of strings: %w", metadataKey, err)
			}
			continue
		}
		t, err := parseEntry(name, msg, dataLen)
		if err != nil {
			return nil, nil, err
		}
		tensors = append(tensors, t)
	}
	if err := checkOverlaps(tensors); err != nil {
		return nil, nil, err
	}
	return tensors, meta, nil
}

// parseEntry decodes and validates one tensor entry.
func parseEntry(name string, msg json.RawMessage, dataLen int64) (TensorInfo, error) {
	var e rawEntry
	if err := json.Unmarshal(msg, &e); err != nil {
		return TensorInfo{}, fmt.Errorf("safetensors: tensor %q: bad entry: %w", name, err)
	}
	size := e.DType.Size()
	if size == 0 {
		return TensorInfo{}, fmt.Errorf("safetensors: tensor %q: unknown dtype %q", name, e.DType)
	}
	if len(e.DataOffsets) != 2 {
		return TensorInfo{}, fmt.Errorf("safetensors: tensor %q: data_offsets has %d values, want 2", name, len(e.DataOffsets))
	}
	begin, end := e.DataOffsets[0], e.DataOffsets[1]
	if begin > end || end > uint64(dataLen) {
		return TensorInfo{}, fmt.Errorf("safetensors: tensor %q: data_offsets [%d, %d] outside the %d bytes of data (truncated file?)", name, begin, end, dataLen)
	}

	// The shape's byte size, guarding every product against overflow.
	shape := make([]int, len(e.Shape))
	bytes := uint64(size)
	for i, d := range e.Shape {
		if d < 0 || d > math.MaxInt32 {
			return TensorInfo{}, fmt.Errorf("safetensors: tensor %q: bad dimension %d in shape %v", name, d, e.Shape)
		}
		shape[i] = int(d)
		if d != 0 && bytes > math.MaxInt64/uint64(d) {
			return TensorInfo{}, fmt.Errorf("safetensors: tensor %q: shape %v is too large", name, e.Shape)
		}
		bytes *= uint64(d)
	}
	if bytes != end-begin {
		return TensorInfo{}, fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, data_offsets hold %d", name, e.Shape, e.DType, bytes, end-begin)
	}
	return TensorInfo{Name: name, DType: e.DType, Shape: shape, Begin: int64(begin), End: int64(end)}, nil
}

// checkOverlaps sorts tensors by offset and reports two that share bytes.
// An empty tensor holds no bytes and overlaps nothing.
func checkOverlaps(tensors []TensorInfo) error {
	sort.Slice(tensors, func(i, j int) bool {
		a, b := tensors[i], tensors[j]
		if a.Begin != b.Begin {
			return a.Begin < b.Begin
		}
		if a.End != b.End {
			return a.End < b.End
		}
		return a.Name < b.Name
	})
	last := -1 // the non-empty tensor that ends furthest so far
	for i, t := range tensors {
		if t.Begin == t.End {
			continue
		}
		if last >= 0 && t.Begin < tensors[last].End {
			return fmt.Errorf("safetensors: tensors %q and %q overlap", tensors[last].Name, t.Name)
		}
		last = i
	}
	return nil
}
