//go:build goexperiment.simd

#include "textflag.h"

// The compute-bound inner loops of the packed matrix product, for AVX2 and
// FMA. They are written in assembly rather than with simd/archsimd because
// the compiler has only the 213 form of VFMADD, whose result overwrites a
// multiplicand: every accumulation then costs a register copy, and a 6×16
// tile of accumulators spills. Measured on the build machine: 25-40
// GFLOP/s a core with archsimd against 80-90 here (peak ≈ 92).

// func kernel6x16(k int, a, b *float32, ldb int, c *float32, ldc int, add bool)
//
// C[6][16] += A·B where a is packed [k][6], b is [k][16] with a row stride
// of ldb floats (16 when packed) and C has a row stride of ldc floats;
// C = A·B, without reading C, when add is false. Y0-Y11 hold the 6×16
// accumulators.
TEXT ·kernel6x16(SB), NOSPLIT, $0-49
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ ldb+24(FP), DI
	SHLQ $2, DI
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), SI
	SHLQ $2, SI

	// Fetch the C tile while the products are computed: it is read
	// at the end, and C is usually too large for the caches.
	MOVQ DX, R8
	PREFETCHT0 (R8)
	PREFETCHT0 63(R8)
	ADDQ SI, R8
	PREFETCHT0 (R8)
	PREFETCHT0 63(R8)
	ADDQ SI, R8
	PREFETCHT0 (R8)
	PREFETCHT0 63(R8)
	ADDQ SI, R8
	PREFETCHT0 (R8)
	PREFETCHT0 63(R8)
	ADDQ SI, R8
	PREFETCHT0 (R8)
	PREFETCHT0 63(R8)
	ADDQ SI, R8
	PREFETCHT0 (R8)
	PREFETCHT0 63(R8)

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	TESTQ CX, CX
	JEQ store

loop:
	// One step of depth: two B vectors times six broadcast A values.
	VMOVUPS (BX), Y12
	VMOVUPS 32(BX), Y13
	VBROADCASTSS (AX), Y14
	VBROADCASTSS 4(AX), Y15
	VFMADD231PS Y12, Y14, Y0
	VFMADD231PS Y13, Y14, Y1
	VFMADD231PS Y12, Y15, Y2
	VFMADD231PS Y13, Y15, Y3
	VBROADCASTSS 8(AX), Y14
	VBROADCASTSS 12(AX), Y15
	VFMADD231PS Y12, Y14, Y4
	VFMADD231PS Y13, Y14, Y5
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VBROADCASTSS 16(AX), Y14
	VBROADCASTSS 20(AX), Y15
	VFMADD231PS Y12, Y14, Y8
	VFMADD231PS Y13, Y14, Y9
	VFMADD231PS Y12, Y15, Y10
	VFMADD231PS Y13, Y15, Y11
	ADDQ $24, AX
	ADDQ DI, BX
	DECQ CX
	JNZ  loop

store:
	MOVBQZX add+48(FP), CX
	TESTQ CX, CX
	JEQ overwrite

	// C += accumulators, row by row.
	VADDPS (DX), Y0, Y0
	VADDPS 32(DX), Y1, Y1
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	ADDQ SI, DX
	VADDPS (DX), Y2, Y2
	VADDPS 32(DX), Y3, Y3
	VMOVUPS Y2, (DX)
	VMOVUPS Y3, 32(DX)
	ADDQ SI, DX
	VADDPS (DX), Y4, Y4
	VADDPS 32(DX), Y5, Y5
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ SI, DX
	VADDPS (DX), Y6, Y6
	VADDPS 32(DX), Y7, Y7
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	ADDQ SI, DX
	VADDPS (DX), Y8, Y8
	VADDPS 32(DX), Y9, Y9
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	ADDQ SI, DX
	VADDPS (DX), Y10, Y10
	VADDPS 32(DX), Y11, Y11
	VMOVUPS Y10, (DX)
	VMOVUPS Y11, 32(DX)
	VZEROUPPER
	RET

overwrite:
	// C = accumulators.
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	ADDQ SI, DX
	VMOVUPS Y2, (DX)
	VMOVUPS Y3, 32(DX)
	ADDQ SI, DX
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ SI, DX
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	ADDQ SI, DX
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	ADDQ SI, DX
	VMOVUPS Y10, (DX)
	VMOVUPS Y11, 32(DX)
	VZEROUPPER
	RET

// TRANSPOSE8 transposes the 8×8 block of floats in Y0-Y7 (one row a
// register) into Y8-Y15 (one column a register).
#define TRANSPOSE8 \
	VUNPCKLPS Y1, Y0, Y8; \
	VUNPCKHPS Y1, Y0, Y9; \
	VUNPCKLPS Y3, Y2, Y10; \
	VUNPCKHPS Y3, Y2, Y11; \
	VUNPCKLPS Y5, Y4, Y12; \
	VUNPCKHPS Y5, Y4, Y13; \
	VUNPCKLPS Y7, Y6, Y14; \
	VUNPCKHPS Y7, Y6, Y15; \
	VSHUFPS $0x44, Y10, Y8, Y0; \
	VSHUFPS $0xEE, Y10, Y8, Y1; \
	VSHUFPS $0x44, Y11, Y9, Y2; \
	VSHUFPS $0xEE, Y11, Y9, Y3; \
	VSHUFPS $0x44, Y14, Y12, Y4; \
	VSHUFPS $0xEE, Y14, Y12, Y5; \
	VSHUFPS $0x44, Y15, Y13, Y6; \
	VSHUFPS $0xEE, Y15, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8; \
	VPERM2F128 $0x20, Y5, Y1, Y9; \
	VPERM2F128 $0x20, Y6, Y2, Y10; \
	VPERM2F128 $0x20, Y7, Y3, Y11; \
	VPERM2F128 $0x31, Y4, Y0, Y12; \
	VPERM2F128 $0x31, Y5, Y1, Y13; \
	VPERM2F128 $0x31, Y6, Y2, Y14; \
	VPERM2F128 $0x31, Y7, Y3, Y15

// STORE8 writes the columns in Y8-Y15 to eight consecutive 16-float rows
// of the packed panel at DI.
#define STORE8 \
	VMOVUPS Y8, (DI); \
	VMOVUPS Y9, 64(DI); \
	VMOVUPS Y10, 128(DI); \
	VMOVUPS Y11, 192(DI); \
	VMOVUPS Y12, 256(DI); \
	VMOVUPS Y13, 320(DI); \
	VMOVUPS Y14, 384(DI); \
	VMOVUPS Y15, 448(DI)

// Row loads: eight rows starting at base B1 (rows 0-3) and B2 (rows 4-7),
// with R8 = one row stride and R9 = three, widened to f32 in Y0-Y7.
#define LOADBF16(B1, B2) \
	VPMOVZXWD (B1), Y0; \
	VPMOVZXWD (B1)(R8*1), Y1; \
	VPMOVZXWD (B1)(R8*2), Y2; \
	VPMOVZXWD (B1)(R9*1), Y3; \
	VPMOVZXWD (B2), Y4; \
	VPMOVZXWD (B2)(R8*1), Y5; \
	VPMOVZXWD (B2)(R8*2), Y6; \
	VPMOVZXWD (B2)(R9*1), Y7; \
	VPSLLD $16, Y0, Y0; \
	VPSLLD $16, Y1, Y1; \
	VPSLLD $16, Y2, Y2; \
	VPSLLD $16, Y3, Y3; \
	VPSLLD $16, Y4, Y4; \
	VPSLLD $16, Y5, Y5; \
	VPSLLD $16, Y6, Y6; \
	VPSLLD $16, Y7, Y7

#define LOADF16(B1, B2) \
	VCVTPH2PS (B1), Y0; \
	VCVTPH2PS (B1)(R8*1), Y1; \
	VCVTPH2PS (B1)(R8*2), Y2; \
	VCVTPH2PS (B1)(R9*1), Y3; \
	VCVTPH2PS (B2), Y4; \
	VCVTPH2PS (B2)(R8*1), Y5; \
	VCVTPH2PS (B2)(R8*2), Y6; \
	VCVTPH2PS (B2)(R9*1), Y7

#define LOADF32(B1, B2) \
	VMOVUPS (B1), Y0; \
	VMOVUPS (B1)(R8*1), Y1; \
	VMOVUPS (B1)(R8*2), Y2; \
	VMOVUPS (B1)(R9*1), Y3; \
	VMOVUPS (B2), Y4; \
	VMOVUPS (B2)(R8*1), Y5; \
	VMOVUPS (B2)(R8*2), Y6; \
	VMOVUPS (B2)(R9*1), Y7

// The transposing packs: 16 rows of the source (stride ld elements) and
// 8·k8 columns become the panel dst[8·k8][16], eight columns at a time
// through two 8×8 transposes. PACKSETUP loads the arguments and row
// pointers for an element size of ESIZE bytes, once DI, SI, R8 and CX hold
// dst, src, ld and k8.
#define PACKSETUP(ESIZE) \
	IMULQ $ESIZE, R8; \
	LEAQ (R8)(R8*2), R9; \
	LEAQ (SI)(R8*4), R10; \
	LEAQ (SI)(R8*8), R11; \
	LEAQ (R10)(R8*8), R12

// PACKSTEP transposes and stores eight columns of the 16 rows, then
// advances the row pointers by eight elements.
#define PACKSTEP(LOAD, ESIZE) \
	LOAD(SI, R10); \
	TRANSPOSE8; \
	STORE8; \
	ADDQ $32, DI; \
	LOAD(R11, R12); \
	TRANSPOSE8; \
	STORE8; \
	ADDQ $480, DI; \
	ADDQ $(8*ESIZE), SI; \
	ADDQ $(8*ESIZE), R10; \
	ADDQ $(8*ESIZE), R11; \
	ADDQ $(8*ESIZE), R12

// func packT16BF16(dst *float32, src *uint16, ld, k8 int)
TEXT ·packT16BF16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ k8+24(FP), CX
	PACKSETUP(2)
	TESTQ CX, CX
	JEQ done
loop:
	PACKSTEP(LOADBF16, 2)
	DECQ CX
	JNZ loop
done:
	VZEROUPPER
	RET

// func packT16F16(dst *float32, src *uint16, ld, k8 int)
TEXT ·packT16F16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ k8+24(FP), CX
	PACKSETUP(2)
	TESTQ CX, CX
	JEQ done
loop:
	PACKSTEP(LOADF16, 2)
	DECQ CX
	JNZ loop
done:
	VZEROUPPER
	RET

// func packT16F32(dst *float32, src *float32, ld, k8 int)
TEXT ·packT16F32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ k8+24(FP), CX
	PACKSETUP(4)
	TESTQ CX, CX
	JEQ done
loop:
	PACKSTEP(LOADF32, 4)
	DECQ CX
	JNZ loop
done:
	VZEROUPPER
	RET

// func packN16BF16(dst *float32, src *uint16, ld, k int)
//
// dst[k][16] = the 16 leading columns of k rows of src (stride ld), widened.
TEXT ·packN16BF16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ k+24(FP), CX
	SHLQ $1, R8
	TESTQ CX, CX
	JEQ nbdone
nbloop:
	VPMOVZXWD (SI), Y0
	VPMOVZXWD 16(SI), Y1
	VPSLLD $16, Y0, Y0
	VPSLLD $16, Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ R8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ nbloop
nbdone:
	VZEROUPPER
	RET

// func packN16F16(dst *float32, src *uint16, ld, k int)
TEXT ·packN16F16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ k+24(FP), CX
	SHLQ $1, R8
	TESTQ CX, CX
	JEQ nhdone
nhloop:
	VCVTPH2PS (SI), Y0
	VCVTPH2PS 16(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ R8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ nhloop
nhdone:
	VZEROUPPER
	RET

// func packA6(dst, src *float32, lda, k8 int, alpha float32)
//
// dst[8·k8][6] = alpha · the 6 rows of src (stride lda) transposed, 8
// columns at a time through an 8×8 transpose with two zero rows.
TEXT ·packA6(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ k8+24(FP), CX
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	TESTQ CX, CX
	JEQ adone
aloop:
	VBROADCASTSS alpha+32(FP), Y6
	VMULPS (SI), Y6, Y0
	VMULPS (SI)(R8*1), Y6, Y1
	VMULPS (SI)(R8*2), Y6, Y2
	VMULPS (SI)(R9*1), Y6, Y3
	VMULPS (R10), Y6, Y4
	VMULPS (R10)(R8*1), Y6, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	TRANSPOSE8
	// Column q goes to dst[q][0:6]; each 8-float store's last two zeros
	// are overwritten by the next column, and the last column is stored
	// as 4 + 2 floats so as not to write past the group.
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 24(DI)
	VMOVUPS Y10, 48(DI)
	VMOVUPS Y11, 72(DI)
	VMOVUPS Y12, 96(DI)
	VMOVUPS Y13, 120(DI)
	VMOVUPS Y14, 144(DI)
	VMOVUPS X15, 168(DI)
	VEXTRACTF128 $1, Y15, X15
	VMOVSD X15, 184(DI)
	ADDQ $192, DI
	ADDQ $32, SI
	ADDQ $32, R10
	DECQ CX
	JNZ aloop
adone:
	VZEROUPPER
	RET
