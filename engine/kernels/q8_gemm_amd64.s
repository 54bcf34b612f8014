//go:build goexperiment.simd

#include "textflag.h"

// The int8 × int8 product of prefill (q8_gemm.go), as 16-bit pairwise
// products: VPMADDWD multiplies two int16 pairs and adds each pair into
// an int32, so one instruction does 16 multiply-adds of a ymm register
// where an f32 VFMADD does 8. The activations and weights are int8
// values widened to int16, so a pair sums to at most 2·127², and the 16
// pairs of a block to at most 32·127²: no overflow anywhere.

// KP does pair P of a block: the weights' 16 columns (two registers of
// eight column pairs) against the pair broadcast from each of the three
// activation rows, summed into the int32 accumulators Y6-Y11.
#define KP(P) \
	VMOVDQU P*64(BX), Y12; \
	VMOVDQU P*64+32(BX), Y13; \
	VPBROADCASTD P*4(SI), Y14; \
	VPMADDWD Y14, Y12, Y15; \
	VPADDD Y15, Y6, Y6; \
	VPMADDWD Y14, Y13, Y15; \
	VPADDD Y15, Y7, Y7; \
	VPBROADCASTD P*4(SI)(R9*1), Y14; \
	VPMADDWD Y14, Y12, Y15; \
	VPADDD Y15, Y8, Y8; \
	VPMADDWD Y14, Y13, Y15; \
	VPADDD Y15, Y9, Y9; \
	VPBROADCASTD P*4(SI)(R9*2), Y14; \
	VPMADDWD Y14, Y12, Y15; \
	VPADDD Y15, Y10, Y10; \
	VPMADDWD Y14, Y13, Y15; \
	VPADDD Y15, Y11, Y11

// SCALE adds the block's integer sums I0, I1 of one row, times the
// row's step at S, to its f32 accumulators F0, F1.
#define SCALE(S, I0, I1, F0, F1) \
	VBROADCASTSS S, Y14; \
	VCVTDQ2PS I0, I0; \
	VFMADD231PS Y14, I0, F0; \
	VCVTDQ2PS I1, I1; \
	VFMADD231PS Y14, I1, F1

// func q8Kernel3x16(nb int, a *int16, lda int, s *float32, lds int, b *int16, c *float32, ldc int)
//
// C[3][16] += Σ_blocks s[t][blk]·(A row t · B) over nb blocks of 32: a is
// three rows of int16 (stride lda values), s their steps (stride lds), b
// the packed weights, [pair][16 columns][2] int16, 1024 bytes a block;
// C has a row stride of ldc floats. Y0-Y5 hold C, Y6-Y11 a block's sums.
TEXT ·q8Kernel3x16(SB), NOSPLIT, $0-64
	MOVQ nb+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R9
	SHLQ $1, R9
	MOVQ s+24(FP), R10
	MOVQ lds+32(FP), R11
	SHLQ $2, R11
	MOVQ b+40(FP), BX
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), DI
	SHLQ $2, DI
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VMOVUPS (DX)(DI*1), Y2
	VMOVUPS 32(DX)(DI*1), Y3
	VMOVUPS (DX)(DI*2), Y4
	VMOVUPS 32(DX)(DI*2), Y5
	TESTQ CX, CX
	JEQ kdone
kblock:
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	KP(0)
	KP(1)
	KP(2)
	KP(3)
	KP(4)
	KP(5)
	KP(6)
	KP(7)
	KP(8)
	KP(9)
	KP(10)
	KP(11)
	KP(12)
	KP(13)
	KP(14)
	KP(15)
	SCALE((R10), Y6, Y7, Y0, Y1)
	SCALE((R10)(R11*1), Y8, Y9, Y2, Y3)
	SCALE((R10)(R11*2), Y10, Y11, Y4, Y5)
	ADDQ $1024, BX
	ADDQ $64, SI
	ADDQ $4, R10
	DECQ CX
	JNZ kblock
kdone:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, (DX)(DI*1)
	VMOVUPS Y3, 32(DX)(DI*1)
	VMOVUPS Y4, (DX)(DI*2)
	VMOVUPS Y5, 32(DX)(DI*2)
	VZEROUPPER
	RET

// PACK8 transposes 8 rows × 8 pairs: rows 0-3 at AX + i·R8, rows 4-7
// at BX + i·R8 (R9 = 3·R8), into DX + 64·pair as 16 int16.
#define PACK8 \
	VMOVDQU (AX), X0; \
	VMOVDQU (AX)(R8*1), X1; \
	VMOVDQU (AX)(R8*2), X2; \
	VMOVDQU (AX)(R9*1), X3; \
	VMOVDQU (BX), X4; \
	VMOVDQU (BX)(R8*1), X5; \
	VMOVDQU (BX)(R8*2), X6; \
	VMOVDQU (BX)(R9*1), X7; \
	VPUNPCKLWD X1, X0, X8; \
	VPUNPCKHWD X1, X0, X9; \
	VPUNPCKLWD X3, X2, X10; \
	VPUNPCKHWD X3, X2, X11; \
	VPUNPCKLWD X5, X4, X12; \
	VPUNPCKHWD X5, X4, X13; \
	VPUNPCKLWD X7, X6, X14; \
	VPUNPCKHWD X7, X6, X15; \
	VPUNPCKLDQ X10, X8, X0; \
	VPUNPCKHDQ X10, X8, X1; \
	VPUNPCKLDQ X11, X9, X2; \
	VPUNPCKHDQ X11, X9, X3; \
	VPUNPCKLDQ X14, X12, X4; \
	VPUNPCKHDQ X14, X12, X5; \
	VPUNPCKLDQ X15, X13, X6; \
	VPUNPCKHDQ X15, X13, X7; \
	VPUNPCKLQDQ X4, X0, X8; \
	VPUNPCKHQDQ X4, X0, X9; \
	VPUNPCKLQDQ X5, X1, X10; \
	VPUNPCKHQDQ X5, X1, X11; \
	VPUNPCKLQDQ X6, X2, X12; \
	VPUNPCKHQDQ X6, X2, X13; \
	VPUNPCKLQDQ X7, X3, X14; \
	VPUNPCKHQDQ X7, X3, X15; \
	VPMOVSXBW X8, Y8; \
	VPMOVSXBW X9, Y9; \
	VPMOVSXBW X10, Y10; \
	VPMOVSXBW X11, Y11; \
	VPMOVSXBW X12, Y12; \
	VPMOVSXBW X13, Y13; \
	VPMOVSXBW X14, Y14; \
	VPMOVSXBW X15, Y15; \
	VMOVDQU Y8, (DX); \
	VMOVDQU Y9, 64(DX); \
	VMOVDQU Y10, 128(DX); \
	VMOVDQU Y11, 192(DX); \
	VMOVDQU Y12, 256(DX); \
	VMOVDQU Y13, 320(DX); \
	VMOVDQU Y14, 384(DX); \
	VMOVDQU Y15, 448(DX)

// func q8PackB16(dst *int16, w *int8, ldw, n8 int)
//
// Packs 16 rows of int8 weights (stride ldw bytes), 16·n8 columns, as
// [pair][16 rows][2] int16: eight rows at a time, 8 pairs (16 bytes) of
// each are transposed as 16-bit words (three rounds of unpacks), then each
// pair's 8 rows are widened to int16 and stored, 64 bytes a pair.
TEXT ·q8PackB16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ ldw+16(FP), R8
	MOVQ n8+24(FP), CX
	LEAQ (R8)(R8*2), R9      // 3·ldw
	LEAQ (SI)(R8*4), R10     // row 4
	LEAQ (SI)(R8*8), R11     // row 8
	LEAQ (R11)(R8*4), R12    // row 12
	TESTQ CX, CX
	JEQ pdone
ploop:
	MOVQ SI, AX
	MOVQ R10, BX
	MOVQ DI, DX
	PACK8
	MOVQ R11, AX
	MOVQ R12, BX
	LEAQ 32(DI), DX
	PACK8
	ADDQ $16, SI
	ADDQ $16, R10
	ADDQ $16, R11
	ADDQ $16, R12
	ADDQ $512, DI
	DECQ CX
	JNZ ploop
pdone:
	VZEROUPPER
	RET


// func q8QuantRow16AVX(dst *int16, s *float32, x *float32, nb int) (finite bool)
//
// Rounds nb blocks of 32 floats at x to int16 values in [-127, 127] at
// dst, step max|x|/127 a block at s, rounding to nearest even (as
// quantizeBlock). The largest magnitude is found as the largest integer
// of the values' bits with the sign cleared, which orders finite values
// as floats do and puts infinities and NaN above them all. A block of
// zeros gets step 0 and zero values; a block holding an infinity or NaN
// stops the call, which then returns false (the caller redoes the row).
TEXT ·q8QuantRow16AVX(SB), NOSPLIT, $0-33
	MOVQ dst+0(FP), DI
	MOVQ s+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ nb+24(FP), CX
	MOVL $0x7fffffff, AX
	MOVQ AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x42fe0000, AX
	MOVQ AX, X14
	TESTQ CX, CX
	JEQ qok
qblock:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VPAND Y15, Y0, Y4
	VPAND Y15, Y1, Y5
	VPAND Y15, Y2, Y6
	VPAND Y15, Y3, Y7
	VPMAXUD Y5, Y4, Y4
	VPMAXUD Y7, Y6, Y6
	VPMAXUD Y6, Y4, Y4
	VEXTRACTI128 $1, Y4, X5
	VPMAXUD X5, X4, X4
	VPSHUFD $0x4e, X4, X5
	VPMAXUD X5, X4, X4
	VPSHUFD $0xb1, X4, X5
	VPMAXUD X5, X4, X4
	VMOVD X4, AX
	CMPL AX, $0x7f800000
	JAE qbad
	TESTL AX, AX
	JEQ qzero
	VDIVSS X14, X4, X5       // step = amax/127
	VMOVSS X5, (DX)
	VDIVSS X4, X14, X6       // inv = 127/amax
	VBROADCASTSS X6, Y6
	VMULPS Y6, Y0, Y0
	VMULPS Y6, Y1, Y1
	VMULPS Y6, Y2, Y2
	VMULPS Y6, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPACKSSDW Y1, Y0, Y0     // quads: 0-3, 8-11, 4-7, 12-15
	VPACKSSDW Y3, Y2, Y2
	VPERMQ $0xd8, Y0, Y0
	VPERMQ $0xd8, Y2, Y2
	VMOVDQU Y0, (DI)
	VMOVDQU Y2, 32(DI)
	JMP qnext
qzero:
	MOVL $0, (DX)
	VPXOR Y0, Y0, Y0
	VMOVDQU Y0, (DI)
	VMOVDQU Y0, 32(DI)
qnext:
	ADDQ $128, SI
	ADDQ $64, DI
	ADDQ $4, DX
	DECQ CX
	JNZ qblock
qok:
	MOVB $1, ret+32(FP)
	VZEROUPPER
	RET
qbad:
	MOVB $0, ret+32(FP)
	VZEROUPPER
	RET
