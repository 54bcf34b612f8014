//go:build goexperiment.simd

#include "textflag.h"

// The dot products of decoding: one activation vector against four weight
// rows at a time, sixteen columns a step, the weights widened to f32 in
// registers. Assembly for the same reason as gemm_amd64.s: the archsimd
// version spent more instructions on bounds and spills than on the
// arithmetic and read 8 GB/s from cache where this reads at memory speed.

// DOTSETUP loads the arguments: SI = x, DI = row 0, R8 = row stride in
// bytes for elements of ESIZE bytes, R9 = three strides, CX = steps of 16.
#define DOTSETUP(ESIZE) \
	MOVQ x+0(FP), SI; \
	MOVQ w+8(FP), DI; \
	MOVQ ld+16(FP), R8; \
	MOVQ n16+24(FP), CX; \
	IMULQ $ESIZE, R8; \
	LEAQ (R8)(R8*2), R9; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7

// DOTSTEP multiplies 16 values of x (Y8, Y9) with 16 of row ROW, loaded
// into Y10, Y11 by LOAD, into the accumulators A0 and A1.
#define DOTSTEP(LOAD, ROW, A0, A1) \
	LOAD(ROW); \
	VFMADD231PS Y10, Y8, A0; \
	VFMADD231PS Y11, Y9, A1

#define LDBF16(ROW) \
	VPMOVZXWD ROW, Y10; \
	VPMOVZXWD 16 ROW, Y11; \
	VPSLLD $16, Y10, Y10; \
	VPSLLD $16, Y11, Y11

#define LDF16(ROW) \
	VCVTPH2PS ROW, Y10; \
	VCVTPH2PS 16 ROW, Y11

#define LDF32(ROW) \
	VMOVUPS ROW, Y10; \
	VMOVUPS 32 ROW, Y11

// DOTBODY is one step of 16 columns for the four rows.
#define DOTBODY(LOAD, ESIZE) \
	VMOVUPS (SI), Y8; \
	VMOVUPS 32(SI), Y9; \
	DOTSTEP(LOAD, (DI), Y0, Y1); \
	DOTSTEP(LOAD, (DI)(R8*1), Y2, Y3); \
	DOTSTEP(LOAD, (DI)(R8*2), Y4, Y5); \
	DOTSTEP(LOAD, (DI)(R9*1), Y6, Y7); \
	ADDQ $64, SI; \
	ADDQ $(16*ESIZE), DI

// DOTFINISH sums each row's two accumulators and their lanes and stores
// the four sums to out.
#define DOTFINISH \
	VADDPS Y1, Y0, Y0; \
	VADDPS Y3, Y2, Y2; \
	VADDPS Y5, Y4, Y4; \
	VADDPS Y7, Y6, Y6; \
	VHADDPS Y2, Y0, Y0; \
	VHADDPS Y6, Y4, Y4; \
	VHADDPS Y4, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	MOVQ out+32(FP), AX; \
	VMOVUPS X0, (AX); \
	VZEROUPPER

// func dot4BF16(x *float32, w *uint16, ld, n16 int, out *[4]float32)
TEXT ·dot4BF16(SB), NOSPLIT, $0-40
	DOTSETUP(2)
	TESTQ CX, CX
	JEQ done
loop:
	DOTBODY(LDBF16, 2)
	DECQ CX
	JNZ loop
done:
	DOTFINISH
	RET

// func dot4F16(x *float32, w *uint16, ld, n16 int, out *[4]float32)
TEXT ·dot4F16(SB), NOSPLIT, $0-40
	DOTSETUP(2)
	TESTQ CX, CX
	JEQ done
loop:
	DOTBODY(LDF16, 2)
	DECQ CX
	JNZ loop
done:
	DOTFINISH
	RET

// func dot4F32(x *float32, w *float32, ld, n16 int, out *[4]float32)
TEXT ·dot4F32(SB), NOSPLIT, $0-40
	DOTSETUP(4)
	TESTQ CX, CX
	JEQ done
loop:
	DOTBODY(LDF32, 4)
	DECQ CX
	JNZ loop
done:
	DOTFINISH
	RET

#define LDQ8(ROW) \
	VPMOVSXBD ROW, Y10; \
	VPMOVSXBD 8 ROW, Y11; \
	VCVTDQ2PS Y10, Y10; \
	VCVTDQ2PS Y11, Y11

// func dot4Q8(x *float32, w *int8, ld, n16 int, out *[4]float32)
//
// As dot4BF16 for int8 rows; the sums are not yet multiplied by the rows'
// scales.
TEXT ·dot4Q8(SB), NOSPLIT, $0-40
	DOTSETUP(1)
	TESTQ CX, CX
	JEQ done
loop:
	DOTBODY(LDQ8, 1)
	DECQ CX
	JNZ loop
done:
	DOTFINISH
	RET

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
