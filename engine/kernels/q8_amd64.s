//go:build goexperiment.simd

#include "textflag.h"

// The int8 × int8 products of the fast mode (q8_int8.go). An activation
// block is 32 int8 values followed by their 32 magnitudes. For a weight
// block W and an activation block A with step s, one block of a dot
// product is
//	VPSIGNB A, W, T      T = W with the sign of A (zero where A is)
//	VPMADDUBSW T, |A|, T 16 int16: |A|·T in pairs, at most 2·127·127
//	VPMADDWD ONES, T, T  8 int32: pairs of those summed
//	VCVTDQ2PS T, T       exact: each is at most 4·127·127
//	VFMADD231PS S, T, C  C += s·T, C eight f32 partial sums
// and the eight lanes of C are added at the end of the row.

// ONES sets Y15 to sixteen int16 ones.
#define ONES \
	VPCMPEQW Y15, Y15, Y15; \
	VPSRLW $15, Y15, Y15

// BLOCK adds block (A) (|A| at 32(A)) times the weights in WREG, with the
// step broadcast in SREG, to ACC, through T.
#define BLOCK(A, WREG, AABS, SREG, T, ACC) \
	VPSIGNB A, WREG, T; \
	VPMADDUBSW T, AABS, T; \
	VPMADDWD Y15, T, T; \
	VCVTDQ2PS T, T; \
	VFMADD231PS SREG, T, ACC

// func q8DotRows(a *int8, s *float32, nb int, w *int8, ldw, rows int, out *float32)
//
// out[r] += Σ_b s[b]·(A block b · W row r block b), for rows rows of
// stride ldw, one row after another (a single stream, which the hardware
// prefetcher follows best), four blocks a step in four accumulators so
// that the conversions and multiply-adds of different blocks overlap.
// Rows go eight at a time: each row's eight partial sums are parked on
// the stack and the eight rows are reduced together (ROWS8), which costs
// a fraction of eight separate horizontal sums; the last rows one by one.
TEXT ·q8DotRows(SB), NOSPLIT, $256-56
	MOVQ a+0(FP), R9
	MOVQ s+8(FP), R10
	MOVQ nb+16(FP), DX
	MOVQ w+24(FP), R13
	MOVQ ldw+32(FP), R8
	MOVQ rows+40(FP), BX
	MOVQ out+48(FP), AX
	ONES
dgroup:
	CMPQ BX, $8
	JLT drow
	XORQ R12, R12
dgrow:
	MOVQ R9, SI
	MOVQ R10, R11
	MOVQ R13, DI
	MOVQ DX, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	SHRQ $2, CX
	JEQ dtail8
dloop8:
	VMOVDQU (DI), Y2
	VMOVDQU 32(DI), Y3
	VMOVDQU 64(DI), Y10
	VMOVDQU 96(DI), Y11
	VMOVDQU 32(SI), Y4
	VMOVDQU 96(SI), Y5
	VMOVDQU 160(SI), Y12
	VMOVDQU 224(SI), Y13
	VBROADCASTSS (R11), Y6
	VBROADCASTSS 4(R11), Y7
	VBROADCASTSS 8(R11), Y14
	BLOCK((SI), Y2, Y4, Y6, Y2, Y0)
	BLOCK(64(SI), Y3, Y5, Y7, Y3, Y1)
	VBROADCASTSS 12(R11), Y6
	BLOCK(128(SI), Y10, Y12, Y14, Y10, Y8)
	BLOCK(192(SI), Y11, Y13, Y6, Y11, Y9)
	ADDQ $128, DI
	ADDQ $256, SI
	ADDQ $16, R11
	DECQ CX
	JNZ dloop8
dtail8:
	MOVQ DX, CX
	ANDQ $3, CX
	JEQ dsum8
dtail8loop:
	VMOVDQU (DI), Y2
	VMOVDQU 32(SI), Y4
	VBROADCASTSS (R11), Y6
	BLOCK((SI), Y2, Y4, Y6, Y2, Y0)
	ADDQ $32, DI
	ADDQ $64, SI
	ADDQ $4, R11
	DECQ CX
	JNZ dtail8loop
dsum8:
	VADDPS Y1, Y0, Y0
	VADDPS Y9, Y8, Y8
	VADDPS Y8, Y0, Y0
	VMOVUPS Y0, (SP)(R12*1)
	ADDQ R8, R13
	ADDQ $32, R12
	CMPQ R12, $256
	JLT dgrow
	VMOVUPS 0(SP), Y0
	VMOVUPS 32(SP), Y1
	VMOVUPS 64(SP), Y2
	VMOVUPS 96(SP), Y3
	VMOVUPS 128(SP), Y4
	VMOVUPS 160(SP), Y5
	VMOVUPS 192(SP), Y6
	VMOVUPS 224(SP), Y7
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y5, Y4, Y4
	VHADDPS Y7, Y6, Y6
	VHADDPS Y2, Y0, Y0
	VHADDPS Y6, Y4, Y4
	VPERM2F128 $0x20, Y4, Y0, Y1
	VPERM2F128 $0x31, Y4, Y0, Y2
	VADDPS Y2, Y1, Y1
	VADDPS (AX), Y1, Y1
	VMOVUPS Y1, (AX)
	ADDQ $32, AX
	SUBQ $8, BX
	JMP dgroup
drow:
	TESTQ BX, BX
	JEQ ddone
	MOVQ R9, SI
	MOVQ R10, R11
	MOVQ R13, DI
	MOVQ DX, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	SHRQ $2, CX
	JEQ dtail1
dloop1:
	VMOVDQU (DI), Y2
	VMOVDQU 32(DI), Y3
	VMOVDQU 64(DI), Y10
	VMOVDQU 96(DI), Y11
	VMOVDQU 32(SI), Y4
	VMOVDQU 96(SI), Y5
	VMOVDQU 160(SI), Y12
	VMOVDQU 224(SI), Y13
	VBROADCASTSS (R11), Y6
	VBROADCASTSS 4(R11), Y7
	VBROADCASTSS 8(R11), Y14
	BLOCK((SI), Y2, Y4, Y6, Y2, Y0)
	BLOCK(64(SI), Y3, Y5, Y7, Y3, Y1)
	VBROADCASTSS 12(R11), Y6
	BLOCK(128(SI), Y10, Y12, Y14, Y10, Y8)
	BLOCK(192(SI), Y11, Y13, Y6, Y11, Y9)
	ADDQ $128, DI
	ADDQ $256, SI
	ADDQ $16, R11
	DECQ CX
	JNZ dloop1
dtail1:
	MOVQ DX, CX
	ANDQ $3, CX
	JEQ dsum1
dtail1loop:
	VMOVDQU (DI), Y2
	VMOVDQU 32(SI), Y4
	VBROADCASTSS (R11), Y6
	BLOCK((SI), Y2, Y4, Y6, Y2, Y0)
	ADDQ $32, DI
	ADDQ $64, SI
	ADDQ $4, R11
	DECQ CX
	JNZ dtail1loop
dsum1:
	VADDPS Y1, Y0, Y0
	VADDPS Y9, Y8, Y8
	VADDPS Y8, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VADDSS (AX), X0, X0
	VMOVSS X0, (AX)
	ADDQ $4, AX
	ADDQ R8, R13
	DECQ BX
	JMP drow
ddone:
	VZEROUPPER
	RET

// TROW adds one activation row (blocks at A, magnitudes at A+32, step at
// S) times the four weight rows in Y8-Y11 to the accumulators C0-C3.
#define TROW(A, AABS, S, C0, C1, C2, C3) \
	VMOVDQU AABS, Y12; \
	VBROADCASTSS S, Y14; \
	BLOCK(A, Y8, Y12, Y14, Y13, C0); \
	BLOCK(A, Y9, Y12, Y14, Y13, C1); \
	BLOCK(A, Y10, Y12, Y14, Y13, C2); \
	BLOCK(A, Y11, Y12, Y14, Y13, C3)

// HSUM4 adds the lanes of each of C0-C3 and adds the four sums to the
// four floats at DST; X0C is C0's lower half.
#define HSUM4(C0, C1, C2, C3, X0C, DST) \
	VHADDPS C1, C0, C0; \
	VHADDPS C3, C2, C2; \
	VHADDPS C2, C0, C0; \
	VEXTRACTF128 $1, C0, X13; \
	VADDPS X13, X0C, X0C; \
	VADDPS DST, X0C, X0C; \
	VMOVUPS X0C, DST

// func q8Tile2x4(out *float32, ldo int, a *int8, lda int, s *float32, lds, nb, pairs int, w *int8, ldw int)
//
// out[t·ldo+j] += Σ_b s[t·lds+b]·(A row t block b · W row j block b) for
// t < 2·pairs, j < 4. Y0-Y3 accumulate activation row 0 of a pair against
// weight rows 0-3, Y4-Y7 row 1; Y8-Y11 hold the weight blocks.
TEXT ·q8Tile2x4(SB), NOSPLIT, $0-80
	MOVQ out+0(FP), AX
	MOVQ ldo+8(FP), BX
	SHLQ $2, BX
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R9
	MOVQ s+32(FP), R10
	MOVQ lds+40(FP), R11
	SHLQ $2, R11
	MOVQ nb+48(FP), R12
	MOVQ pairs+56(FP), R13
	MOVQ ldw+72(FP), DX
	ONES
tpair:
	MOVQ w+64(FP), DI
	LEAQ (DI)(DX*2), R14
	ADDQ DX, R14
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ R12, CX
tloop:
	VMOVDQU (DI), Y8
	VMOVDQU (DI)(DX*1), Y9
	VMOVDQU (DI)(DX*2), Y10
	VMOVDQU (R14), Y11
	TROW((SI), 32(SI), (R10), Y0, Y1, Y2, Y3)
	TROW((SI)(R9*1), 32(SI)(R9*1), (R10)(R11*1), Y4, Y5, Y6, Y7)
	ADDQ $32, DI
	ADDQ $32, R14
	ADDQ $64, SI
	ADDQ $4, R10
	DECQ CX
	JNZ tloop

	HSUM4(Y0, Y1, Y2, Y3, X0, (AX))
	HSUM4(Y4, Y5, Y6, Y7, X4, (AX)(BX*1))
	LEAQ (AX)(BX*2), AX

	// Next pair: back nb blocks, down two rows.
	MOVQ R12, R15
	SHLQ $6, R15
	NEGQ R15
	LEAQ (R15)(R9*2), R15
	ADDQ R15, SI
	MOVQ R12, R15
	SHLQ $2, R15
	NEGQ R15
	LEAQ (R15)(R11*2), R15
	ADDQ R15, R10
	DECQ R13
	JNZ tpair
	VZEROUPPER
	RET
