//go:build goexperiment.simd

#include "textflag.h"

// The dot products of decoding: one activation vector against the weight
// rows one after another, 32 columns a step in four accumulators, the
// weights widened to f32 in registers. Assembly for the same reason as
// gemm_amd64.s: the archsimd version spent more instructions on bounds and
// spills than on the arithmetic and read 8 GB/s from cache. Reading the
// rows in order, as one stream, lets the hardware prefetcher run ahead;
// four rows read side by side (an earlier version) were 30-50% slower
// from memory for rows of 896 values.

#define RLDBF16 \
	VPMOVZXWD (DI), Y4; \
	VPMOVZXWD 16(DI), Y5; \
	VPMOVZXWD 32(DI), Y6; \
	VPMOVZXWD 48(DI), Y7; \
	VPSLLD $16, Y4, Y4; \
	VPSLLD $16, Y5, Y5; \
	VPSLLD $16, Y6, Y6; \
	VPSLLD $16, Y7, Y7

#define RLDF16 \
	VCVTPH2PS (DI), Y4; \
	VCVTPH2PS 16(DI), Y5; \
	VCVTPH2PS 32(DI), Y6; \
	VCVTPH2PS 48(DI), Y7

#define RLDF32 \
	VMOVUPS (DI), Y4; \
	VMOVUPS 32(DI), Y5; \
	VMOVUPS 64(DI), Y6; \
	VMOVUPS 96(DI), Y7

#define RLDQ8 \
	VPMOVSXBD (DI), Y4; \
	VPMOVSXBD 8(DI), Y5; \
	VPMOVSXBD 16(DI), Y6; \
	VPMOVSXBD 24(DI), Y7; \
	VCVTDQ2PS Y4, Y4; \
	VCVTDQ2PS Y5, Y5; \
	VCVTDQ2PS Y6, Y6; \
	VCVTDQ2PS Y7, Y7

// ROWS is the whole function body for a weight load LOAD of ESIZE-byte
// elements, once R9 = x, R13 = row 0, R8 = row stride, DX = steps of 32
// and BX = rows, AX = out: out[r] = x · row r over 32·n32 columns.
#define ROWS(LOAD, ESIZE) \
	IMULQ $ESIZE, R8; \
	TESTQ BX, BX; \
	JEQ rdone; \
rrow: \
	MOVQ R9, SI; \
	MOVQ R13, DI; \
	MOVQ DX, CX; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	TESTQ CX, CX; \
	JEQ rsum; \
rloop: \
	LOAD; \
	VFMADD231PS (SI), Y4, Y0; \
	VFMADD231PS 32(SI), Y5, Y1; \
	VFMADD231PS 64(SI), Y6, Y2; \
	VFMADD231PS 96(SI), Y7, Y3; \
	ADDQ $128, SI; \
	ADDQ $(32*ESIZE), DI; \
	DECQ CX; \
	JNZ rloop; \
rsum: \
	VADDPS Y1, Y0, Y0; \
	VADDPS Y3, Y2, Y2; \
	VADDPS Y2, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VHADDPS X0, X0, X0; \
	VHADDPS X0, X0, X0; \
	VMOVSS X0, (AX); \
	ADDQ $4, AX; \
	ADDQ R8, R13; \
	DECQ BX; \
	JNZ rrow; \
rdone: \
	VZEROUPPER; \
	RET

// func rowsBF16(x *float32, w *uint16, ld, n32, rows int, out *float32)
TEXT ·rowsBF16(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), R9
	MOVQ w+8(FP), R13
	MOVQ ld+16(FP), R8
	MOVQ n32+24(FP), DX
	MOVQ rows+32(FP), BX
	MOVQ out+40(FP), AX
	ROWS(RLDBF16, 2)

// func rowsF16(x *float32, w *uint16, ld, n32, rows int, out *float32)
TEXT ·rowsF16(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), R9
	MOVQ w+8(FP), R13
	MOVQ ld+16(FP), R8
	MOVQ n32+24(FP), DX
	MOVQ rows+32(FP), BX
	MOVQ out+40(FP), AX
	ROWS(RLDF16, 2)

// func rowsF32(x *float32, w *float32, ld, n32, rows int, out *float32)
TEXT ·rowsF32(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), R9
	MOVQ w+8(FP), R13
	MOVQ ld+16(FP), R8
	MOVQ n32+24(FP), DX
	MOVQ rows+32(FP), BX
	MOVQ out+40(FP), AX
	ROWS(RLDF32, 4)

// func rowsQ8(x *float32, w *int8, ld, n32, rows int, out *float32)
TEXT ·rowsQ8(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), R9
	MOVQ w+8(FP), R13
	MOVQ ld+16(FP), R8
	MOVQ n32+24(FP), DX
	MOVQ rows+32(FP), BX
	MOVQ out+40(FP), AX
	ROWS(RLDQ8, 1)

// func widenQ8(dst *float32, src *int8, n8 int, scale float32)
//
// dst[i] = scale·src[i] for 8·n8 values.
TEXT ·widenQ8(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n8+16(FP), CX
	VBROADCASTSS scale+24(FP), Y1
	TESTQ CX, CX
	JEQ wdone
wloop:
	VPMOVSXBD (SI), Y0
	VCVTDQ2PS Y0, Y0
	VMULPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $8, SI
	ADDQ $32, DI
	DECQ CX
	JNZ wloop
wdone:
	VZEROUPPER
	RET

// The dot products of batched decoding: two weight rows against four
// activation rows (x, stride ldx), eight columns a step, so that each
// weight is read once for up to four sequences. Y0-Y3 accumulate weight
// row 0 against x rows 0-3, Y4-Y7 weight row 1; Y8-Y11 hold the x values
// and Y12, Y13 the widened weights.

// BATCHSETUP scales the strides and clears the accumulators, once SI = x,
// R10 = x stride, DI = weight row 0, R8 = weight row stride and CX = steps
// of 8: R10 becomes the x stride in bytes, R11 three of them, and R8 the
// weight stride in bytes for elements of ESIZE bytes.
#define BATCHSETUP(ESIZE) \
	SHLQ $2, R10; \
	LEAQ (R10)(R10*2), R11; \
	IMULQ $ESIZE, R8; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7

#define BLDBF16 \
	VPMOVZXWD (DI), Y12; \
	VPMOVZXWD (DI)(R8*1), Y13; \
	VPSLLD $16, Y12, Y12; \
	VPSLLD $16, Y13, Y13

#define BLDF16 \
	VCVTPH2PS (DI), Y12; \
	VCVTPH2PS (DI)(R8*1), Y13

#define BLDF32 \
	VMOVUPS (DI), Y12; \
	VMOVUPS (DI)(R8*1), Y13

#define BLDQ8 \
	VPMOVSXBD (DI), Y12; \
	VPMOVSXBD (DI)(R8*1), Y13; \
	VCVTDQ2PS Y12, Y12; \
	VCVTDQ2PS Y13, Y13

// BATCHBODY is one step of 8 columns.
#define BATCHBODY(LOAD, ESIZE) \
	LOAD; \
	VMOVUPS (SI), Y8; \
	VMOVUPS (SI)(R10*1), Y9; \
	VMOVUPS (SI)(R10*2), Y10; \
	VMOVUPS (SI)(R11*1), Y11; \
	VFMADD231PS Y12, Y8, Y0; \
	VFMADD231PS Y12, Y9, Y1; \
	VFMADD231PS Y12, Y10, Y2; \
	VFMADD231PS Y12, Y11, Y3; \
	VFMADD231PS Y13, Y8, Y4; \
	VFMADD231PS Y13, Y9, Y5; \
	VFMADD231PS Y13, Y10, Y6; \
	VFMADD231PS Y13, Y11, Y7; \
	ADDQ $32, SI; \
	ADDQ $(8*ESIZE), DI

// BATCHFINISH stores, for each weight row, its four sums (one an x row)
// to out[0:4] and out[4:8] at AX.
#define BATCHFINISH \
	VHADDPS Y1, Y0, Y0; \
	VHADDPS Y3, Y2, Y2; \
	VHADDPS Y2, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VMOVUPS X0, (AX); \
	VHADDPS Y5, Y4, Y4; \
	VHADDPS Y7, Y6, Y6; \
	VHADDPS Y6, Y4, Y4; \
	VEXTRACTF128 $1, Y4, X5; \
	VADDPS X5, X4, X4; \
	VMOVUPS X4, 16(AX); \
	VZEROUPPER

// func batch2BF16(x *float32, ldx int, w *uint16, ld, n8 int, out *[8]float32)
TEXT ·batch2BF16(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ ldx+8(FP), R10
	MOVQ w+16(FP), DI
	MOVQ ld+24(FP), R8
	MOVQ n8+32(FP), CX
	BATCHSETUP(2)
	TESTQ CX, CX
	JEQ done
loop:
	BATCHBODY(BLDBF16, 2)
	DECQ CX
	JNZ loop
done:
	MOVQ out+40(FP), AX
	BATCHFINISH
	RET

// func batch2F16(x *float32, ldx int, w *uint16, ld, n8 int, out *[8]float32)
TEXT ·batch2F16(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ ldx+8(FP), R10
	MOVQ w+16(FP), DI
	MOVQ ld+24(FP), R8
	MOVQ n8+32(FP), CX
	BATCHSETUP(2)
	TESTQ CX, CX
	JEQ done
loop:
	BATCHBODY(BLDF16, 2)
	DECQ CX
	JNZ loop
done:
	MOVQ out+40(FP), AX
	BATCHFINISH
	RET

// func batch2F32(x *float32, ldx int, w *float32, ld, n8 int, out *[8]float32)
TEXT ·batch2F32(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ ldx+8(FP), R10
	MOVQ w+16(FP), DI
	MOVQ ld+24(FP), R8
	MOVQ n8+32(FP), CX
	BATCHSETUP(4)
	TESTQ CX, CX
	JEQ done
loop:
	BATCHBODY(BLDF32, 4)
	DECQ CX
	JNZ loop
done:
	MOVQ out+40(FP), AX
	BATCHFINISH
	RET

// func batch2Q8(x *float32, ldx int, w *int8, ld, n8 int, out *[8]float32)
TEXT ·batch2Q8(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ ldx+8(FP), R10
	MOVQ w+16(FP), DI
	MOVQ ld+24(FP), R8
	MOVQ n8+32(FP), CX
	BATCHSETUP(1)
	TESTQ CX, CX
	JEQ done
loop:
	BATCHBODY(BLDQ8, 1)
	DECQ CX
	JNZ loop
done:
	MOVQ out+40(FP), AX
	BATCHFINISH
	RET

// The dot products of larger decoding batches: one weight row at a time
// against eight activation rows, eight columns a step, the activations
// read as memory operands of the FMAs. Y0-Y7 accumulate x rows 0-7 and Y8
// holds the widened weights.

#define B8LDBF16 \
	VPMOVZXWD (DI), Y8; \
	VPSLLD $16, Y8, Y8

#define B8LDF16 \
	VCVTPH2PS (DI), Y8

#define B8LDF32 \
	VMOVUPS (DI), Y8

#define B8LDQ8 \
	VPMOVSXBD (DI), Y8; \
	VCVTDQ2PS Y8, Y8

// BATCH8 is the whole function body for a weight load LOAD of ESIZE-byte
// elements: for each of the rows, the sums against the eight x rows go to
// out[8r : 8r+8].
#define BATCH8(LOAD, ESIZE) \
	SHLQ $2, R10; \
	LEAQ (R10)(R10*2), R11; \
	IMULQ $ESIZE, R8; \
	MOVQ DI, R13; \
	TESTQ BX, BX; \
	JEQ b8done; \
b8row: \
	MOVQ R9, SI; \
	LEAQ (SI)(R10*4), R12; \
	MOVQ R13, DI; \
	MOVQ DX, CX; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7; \
	TESTQ CX, CX; \
	JEQ b8sum; \
b8loop: \
	LOAD; \
	VFMADD231PS (SI), Y8, Y0; \
	VFMADD231PS (SI)(R10*1), Y8, Y1; \
	VFMADD231PS (SI)(R10*2), Y8, Y2; \
	VFMADD231PS (SI)(R11*1), Y8, Y3; \
	VFMADD231PS (R12), Y8, Y4; \
	VFMADD231PS (R12)(R10*1), Y8, Y5; \
	VFMADD231PS (R12)(R10*2), Y8, Y6; \
	VFMADD231PS (R12)(R11*1), Y8, Y7; \
	ADDQ $32, SI; \
	ADDQ $32, R12; \
	ADDQ $(8*ESIZE), DI; \
	DECQ CX; \
	JNZ b8loop; \
b8sum: \
	VHADDPS Y1, Y0, Y0; \
	VHADDPS Y3, Y2, Y2; \
	VHADDPS Y2, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VMOVUPS X0, (AX); \
	VHADDPS Y5, Y4, Y4; \
	VHADDPS Y7, Y6, Y6; \
	VHADDPS Y6, Y4, Y4; \
	VEXTRACTF128 $1, Y4, X5; \
	VADDPS X5, X4, X4; \
	VMOVUPS X4, 16(AX); \
	ADDQ $32, AX; \
	ADDQ R8, R13; \
	DECQ BX; \
	JNZ b8row; \
b8done: \
	VZEROUPPER; \
	RET

// func batch8BF16(x *float32, ldx int, w *uint16, ld, n8, rows int, out *float32)
TEXT ·batch8BF16(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), R9
	MOVQ ldx+8(FP), R10
	MOVQ w+16(FP), DI
	MOVQ ld+24(FP), R8
	MOVQ n8+32(FP), DX
	MOVQ rows+40(FP), BX
	MOVQ out+48(FP), AX
	BATCH8(B8LDBF16, 2)

// func batch8F16(x *float32, ldx int, w *uint16, ld, n8, rows int, out *float32)
TEXT ·batch8F16(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), R9
	MOVQ ldx+8(FP), R10
	MOVQ w+16(FP), DI
	MOVQ ld+24(FP), R8
	MOVQ n8+32(FP), DX
	MOVQ rows+40(FP), BX
	MOVQ out+48(FP), AX
	BATCH8(B8LDF16, 2)

// func batch8F32(x *float32, ldx int, w *float32, ld, n8, rows int, out *float32)
TEXT ·batch8F32(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), R9
	MOVQ ldx+8(FP), R10
	MOVQ w+16(FP), DI
	MOVQ ld+24(FP), R8
	MOVQ n8+32(FP), DX
	MOVQ rows+40(FP), BX
	MOVQ out+48(FP), AX
	BATCH8(B8LDF32, 4)

// func batch8Q8(x *float32, ldx int, w *int8, ld, n8, rows int, out *float32)
TEXT ·batch8Q8(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), R9
	MOVQ ldx+8(FP), R10
	MOVQ w+16(FP), DI
	MOVQ ld+24(FP), R8
	MOVQ n8+32(FP), DX
	MOVQ rows+40(FP), BX
	MOVQ out+48(FP), AX
	BATCH8(B8LDQ8, 1)
