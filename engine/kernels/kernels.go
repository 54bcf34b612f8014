// Package kernels holds the numeric kernels of attune's model engine: the
// matrix products that take almost all of the time, with weights read in
// their stored precision (bf16, f16 or f32) and widened to f32 inside the
// kernel, and the small element-wise operations around them.
//
// Every fast kernel has a plain reference implementation beside it (the
// Ref* functions); tests prove them equal within a stated tolerance.
//
// Built with GOEXPERIMENT=simd on amd64, and on a CPU with AVX2 and FMA
// (checked at start-up through simd/archsimd), the inner loops are the
// AVX2 ones: a 6×16 register-tiled FMA micro-kernel under a packed,
// cache-blocked product (gemm.go), and four-row dot products for decoding
// (matvec.go), with bf16, f16 and int8 weights widened in registers.
// Otherwise the same drivers run portable Go loops.
//
// The fast mode multiplies in integers: a weight quantized with QuantizeQ8
// (int8 per row) meets activations rounded to int8 in blocks of 32 inside
// Linear, and the products run as int8 dot products (q8_int8.go): AVX2's
// pairwise multiply-adds, or AVX512-VNNI's VPDPBUSD where the CPU has it,
// each checked against the portable Go version bit for bit. The parallel parts run
// on one process-wide pool of GOMAXPROCS-1 workers plus the caller
// (pool.go).
//
// Layout conventions: matrices are row-major. A weight matrix of a linear
// layer is stored as Hugging Face stores it, [out, in], so y = x Wᵀ.
package kernels

import (
	"fmt"
	"math"
)

// DType is the stored precision of a matrix.
type DType uint8

// The stored precisions. Q8 is not a safetensors type: it is the kernels'
// int8 form of a weight, made by QuantizeQ8 for the fast decoding mode.
const (
	F32 DType = iota
	BF16
	F16
	Q8
)

// String returns the safetensors name of the dtype ("Q8" for Q8).
func (d DType) String() string {
	switch d {
	case F32:
		return "F32"
	case BF16:
		return "BF16"
	case F16:
		return "F16"
	case Q8:
		return "Q8"
	}
	return fmt.Sprintf("dtype(%d)", d)
}

// Mat is a read-only row-major matrix [Rows, Cols] in its stored precision.
// F32 is set for DType F32, U16 (the raw bits) for BF16 and F16, and I8
// with Scale for Q8, where element (r, c) is Scale[r]·I8[r·Cols+c]. The
// slices usually point into a memory-mapped file.
type Mat struct {
	Rows, Cols int
	DType      DType
	F32        []float32
	U16        []uint16
	I8         []int8
	Scale      []float32
}

// NewMatF32 returns an F32 matrix over data, which must hold rows*cols
// values.
func NewMatF32(rows, cols int, data []float32) Mat {
	if len(data) != rows*cols {
		panic(fmt.Sprintf("kernels: NewMatF32: %d values for [%d, %d]", len(data), rows, cols))
	}
	return Mat{Rows: rows, Cols: cols, DType: F32, F32: data}
}

// Row widens row r of m into dst, which must hold m.Cols values.
func (m Mat) Row(dst []float32, r int) {
	off := r * m.Cols
	switch m.DType {
	case F32:
		copy(dst[:m.Cols], m.F32[off:off+m.Cols])
	case BF16:
		for i, b := range m.U16[off : off+m.Cols] {
			dst[i] = BF16ToF32(b)
		}
	case F16:
		for i, b := range m.U16[off : off+m.Cols] {
			dst[i] = F16ToF32(b)
		}
	case Q8:
		for i, q := range m.I8[off : off+m.Cols] {
			dst[i] = float32(q) * m.Scale[r]
		}
	}
}

// At returns element (r, c) widened to f32.
func (m Mat) At(r, c int) float32 {
	i := r*m.Cols + c
	switch m.DType {
	case BF16:
		return BF16ToF32(m.U16[i])
	case F16:
		return F16ToF32(m.U16[i])
	case Q8:
		return float32(m.I8[i]) * m.Scale[r]
	}
	return m.F32[i]
}

// BF16ToF32 widens a bfloat16 value; the conversion is exact.
func BF16ToF32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// F32ToBF16 rounds f to the nearest bfloat16, ties to even; NaN stays NaN.
func F32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// F16ToF32 widens an IEEE half-precision value; the conversion is exact.
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
	case frac == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal: normalise the fraction.
	e := uint32(113)
	for frac&0x400 == 0 {
		frac <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
}
