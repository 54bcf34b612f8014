//go:build goexperiment.simd

#include "textflag.h"

// The int8 × int8 product of prefill with AVX512-VNNI (q8_gemm.go), on
// ymm registers (AVX512VL), all 32 of them. VPDPBUSD multiplies four
// unsigned bytes by four signed bytes and adds the four products into an
// int32: 32 multiply-adds an instruction, twice VPMADDWD's 16, with no
// intermediate rounding or saturation. The weights are made unsigned by
// flipping their sign bit (w+128), the activations stay signed and are
// broadcast from memory; the extra 128·Σa of each block is taken out by
// starting its int32 sums at corr = -128·Σa, computed when the
// activations are rounded.

// Constants: the byte order VPERMD restores after two rounds of packs,
// and the sign bit of every byte.
DATA q8permd<>+0(SB)/4, $0
DATA q8permd<>+4(SB)/4, $4
DATA q8permd<>+8(SB)/4, $1
DATA q8permd<>+12(SB)/4, $5
DATA q8permd<>+16(SB)/4, $2
DATA q8permd<>+20(SB)/4, $6
DATA q8permd<>+24(SB)/4, $3
DATA q8permd<>+28(SB)/4, $7
GLOBL q8permd<>(SB), RODATA|NOPTR, $32
DATA q8sign<>+0(SB)/8, $0x8080808080808080
DATA q8sign<>+8(SB)/8, $0x8080808080808080
DATA q8sign<>+16(SB)/8, $0x8080808080808080
DATA q8sign<>+24(SB)/8, $0x8080808080808080
GLOBL q8sign<>(SB), RODATA|NOPTR, $32

// KQ does quad Q of a block (four of its 32 columns of depth): the 16
// weight rows' quads in Y28 (rows 0-7) and Y29 (8-15) against the quad
// broadcast from each of the six activation rows.
#define KQ(Q) \
	VMOVDQU32 Q*64(BX), Y28; \
	VMOVDQU32 Q*64+32(BX), Y29; \
	VPDPBUSD.BCST Q*4(SI), Y28, Y16; \
	VPDPBUSD.BCST Q*4(SI), Y29, Y17; \
	VPDPBUSD.BCST Q*4(SI)(R9*1), Y28, Y18; \
	VPDPBUSD.BCST Q*4(SI)(R9*1), Y29, Y19; \
	VPDPBUSD.BCST Q*4(SI)(R9*2), Y28, Y20; \
	VPDPBUSD.BCST Q*4(SI)(R9*2), Y29, Y21; \
	VPDPBUSD.BCST Q*4(R13), Y28, Y22; \
	VPDPBUSD.BCST Q*4(R13), Y29, Y23; \
	VPDPBUSD.BCST Q*4(R13)(R9*1), Y28, Y24; \
	VPDPBUSD.BCST Q*4(R13)(R9*1), Y29, Y25; \
	VPDPBUSD.BCST Q*4(R13)(R9*2), Y28, Y26; \
	VPDPBUSD.BCST Q*4(R13)(R9*2), Y29, Y27

// INIT starts a row's two int32 sums I0, I1 at its block correction C.
#define INIT(C, I0, I1) \
	VPBROADCASTD C, I0; \
	VMOVDQA32 I0, I1

// SCALEV adds a row's block sums I0, I1 times its step at S to F0, F1.
#define SCALEV(S, I0, I1, F0, F1) \
	VBROADCASTSS S, Y31; \
	VCVTDQ2PS I0, I0; \
	VFMADD231PS Y31, I0, F0; \
	VCVTDQ2PS I1, I1; \
	VFMADD231PS Y31, I1, F1

// func q8Kernel6x16VNNI(nb int, a *int8, lda int, s *float32, corr *int32, lds int, b *uint8, c *float32, ldc int)
//
// C[6][16] += Σ_blocks s[t][blk]·(A row t · W) over nb blocks of 32: a is
// six rows of int8 (stride lda bytes), s and corr their steps and block
// corrections (stride lds), b the packed weights, [quad][16 rows][4]
// unsigned bytes, 512 bytes a block; C has a row stride of ldc floats.
// Y0-Y11 hold C, Y16-Y27 a block's sums.
TEXT ·q8Kernel6x16VNNI(SB), NOSPLIT, $0-72
	MOVQ nb+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R9
	LEAQ (SI)(R9*2), R13
	ADDQ R9, R13             // row 3
	MOVQ s+24(FP), R10
	MOVQ corr+32(FP), R15
	MOVQ lds+40(FP), R11
	SHLQ $2, R11
	LEAQ (R10)(R11*2), R14
	ADDQ R11, R14            // steps of row 3
	LEAQ (R15)(R11*2), R8
	ADDQ R11, R8             // corrections of row 3
	MOVQ b+48(FP), BX
	MOVQ c+56(FP), DX
	MOVQ ldc+64(FP), DI
	SHLQ $2, DI
	LEAQ (DX)(DI*2), AX
	ADDQ DI, AX              // C row 3
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VMOVUPS (DX)(DI*1), Y2
	VMOVUPS 32(DX)(DI*1), Y3
	VMOVUPS (DX)(DI*2), Y4
	VMOVUPS 32(DX)(DI*2), Y5
	VMOVUPS (AX), Y6
	VMOVUPS 32(AX), Y7
	VMOVUPS (AX)(DI*1), Y8
	VMOVUPS 32(AX)(DI*1), Y9
	VMOVUPS (AX)(DI*2), Y10
	VMOVUPS 32(AX)(DI*2), Y11
	TESTQ CX, CX
	JEQ vdone
vblock:
	INIT((R15), Y16, Y17)
	INIT((R15)(R11*1), Y18, Y19)
	INIT((R15)(R11*2), Y20, Y21)
	INIT((R8), Y22, Y23)
	INIT((R8)(R11*1), Y24, Y25)
	INIT((R8)(R11*2), Y26, Y27)
	KQ(0)
	KQ(1)
	KQ(2)
	KQ(3)
	KQ(4)
	KQ(5)
	KQ(6)
	KQ(7)
	SCALEV((R10), Y16, Y17, Y0, Y1)
	SCALEV((R10)(R11*1), Y18, Y19, Y2, Y3)
	SCALEV((R10)(R11*2), Y20, Y21, Y4, Y5)
	SCALEV((R14), Y22, Y23, Y6, Y7)
	SCALEV((R14)(R11*1), Y24, Y25, Y8, Y9)
	SCALEV((R14)(R11*2), Y26, Y27, Y10, Y11)
	ADDQ $512, BX
	ADDQ $32, SI
	ADDQ $32, R13
	ADDQ $4, R10
	ADDQ $4, R14
	ADDQ $4, R15
	ADDQ $4, R8
	DECQ CX
	JNZ vblock
vdone:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, (DX)(DI*1)
	VMOVUPS Y3, 32(DX)(DI*1)
	VMOVUPS Y4, (DX)(DI*2)
	VMOVUPS Y5, 32(DX)(DI*2)
	VMOVUPS Y6, (AX)
	VMOVUPS Y7, 32(AX)
	VMOVUPS Y8, (AX)(DI*1)
	VMOVUPS Y9, 32(AX)(DI*1)
	VMOVUPS Y10, (AX)(DI*2)
	VMOVUPS Y11, 32(AX)(DI*2)
	VZEROUPPER
	RET

// PACKQ8 transposes 8 rows × 8 quads (32 bytes of each) as dwords: rows
// 0-3 at AX + i·R8, rows 4-7 at BX + i·R8 (R9 = 3·R8), into DX + 64·quad,
// sign bits flipped.
#define PACKQ8 \
	VMOVDQU (AX), Y0; \
	VMOVDQU (AX)(R8*1), Y1; \
	VMOVDQU (AX)(R8*2), Y2; \
	VMOVDQU (AX)(R9*1), Y3; \
	VMOVDQU (BX), Y4; \
	VMOVDQU (BX)(R8*1), Y5; \
	VMOVDQU (BX)(R8*2), Y6; \
	VMOVDQU (BX)(R9*1), Y7; \
	VPUNPCKLDQ Y1, Y0, Y8; \
	VPUNPCKHDQ Y1, Y0, Y9; \
	VPUNPCKLDQ Y3, Y2, Y10; \
	VPUNPCKHDQ Y3, Y2, Y11; \
	VPUNPCKLDQ Y5, Y4, Y12; \
	VPUNPCKHDQ Y5, Y4, Y13; \
	VPUNPCKLDQ Y7, Y6, Y14; \
	VPUNPCKHDQ Y7, Y6, Y15; \
	VPUNPCKLQDQ Y10, Y8, Y0; \
	VPUNPCKHQDQ Y10, Y8, Y1; \
	VPUNPCKLQDQ Y11, Y9, Y2; \
	VPUNPCKHQDQ Y11, Y9, Y3; \
	VPUNPCKLQDQ Y14, Y12, Y4; \
	VPUNPCKHQDQ Y14, Y12, Y5; \
	VPUNPCKLQDQ Y15, Y13, Y6; \
	VPUNPCKHQDQ Y15, Y13, Y7; \
	VPERM2I128 $0x20, Y4, Y0, Y8; \
	VPERM2I128 $0x31, Y4, Y0, Y12; \
	VPERM2I128 $0x20, Y5, Y1, Y9; \
	VPERM2I128 $0x31, Y5, Y1, Y13; \
	VPERM2I128 $0x20, Y6, Y2, Y10; \
	VPERM2I128 $0x31, Y6, Y2, Y14; \
	VPERM2I128 $0x20, Y7, Y3, Y11; \
	VPERM2I128 $0x31, Y7, Y3, Y15; \
	VPXOR q8sign<>(SB), Y8, Y8; \
	VPXOR q8sign<>(SB), Y9, Y9; \
	VPXOR q8sign<>(SB), Y10, Y10; \
	VPXOR q8sign<>(SB), Y11, Y11; \
	VPXOR q8sign<>(SB), Y12, Y12; \
	VPXOR q8sign<>(SB), Y13, Y13; \
	VPXOR q8sign<>(SB), Y14, Y14; \
	VPXOR q8sign<>(SB), Y15, Y15; \
	VMOVDQU Y8, (DX); \
	VMOVDQU Y9, 64(DX); \
	VMOVDQU Y10, 128(DX); \
	VMOVDQU Y11, 192(DX); \
	VMOVDQU Y12, 256(DX); \
	VMOVDQU Y13, 320(DX); \
	VMOVDQU Y14, 384(DX); \
	VMOVDQU Y15, 448(DX)

// func q8PackBU8(dst *uint8, w *int8, ldw, nb int)
//
// Packs 16 rows of int8 weights (stride ldw bytes), nb blocks of 32
// columns, as [quad][16 rows][4] bytes with the sign bits flipped
// (w+128), 512 bytes a block.
TEXT ·q8PackBU8(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ ldw+16(FP), R8
	MOVQ nb+24(FP), CX
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	LEAQ (SI)(R8*8), R11
	LEAQ (R11)(R8*4), R12
	TESTQ CX, CX
	JEQ udone
uloop:
	MOVQ SI, AX
	MOVQ R10, BX
	MOVQ DI, DX
	PACKQ8
	MOVQ R11, AX
	MOVQ R12, BX
	LEAQ 32(DI), DX
	PACKQ8
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $512, DI
	DECQ CX
	JNZ uloop
udone:
	VZEROUPPER
	RET

// func q8QuantRow8(dst *int8, s *float32, corr *int32, x *float32, nb int) (finite bool)  (AVX2 only)
//
// q8QuantRow16AVX (q8_gemm_amd64.s) to int8, with corr[b] = -128·Σ of
// block b's values.
TEXT ·q8QuantRow8(SB), NOSPLIT, $0-41
	MOVQ dst+0(FP), DI
	MOVQ s+8(FP), DX
	MOVQ corr+16(FP), R8
	MOVQ x+24(FP), SI
	MOVQ nb+32(FP), CX
	MOVL $0x7fffffff, AX
	MOVQ AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x42fe0000, AX
	MOVQ AX, X14
	VMOVDQU q8permd<>(SB), Y13
	TESTQ CX, CX
	JEQ eok
eblock:
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
	JAE ebad
	TESTL AX, AX
	JEQ ezero
	VDIVSS X14, X4, X5
	VMOVSS X5, (DX)
	VDIVSS X4, X14, X6
	VBROADCASTSS X6, Y6
	VMULPS Y6, Y0, Y0
	VMULPS Y6, Y1, Y1
	VMULPS Y6, Y2, Y2
	VMULPS Y6, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPADDD Y1, Y0, Y4
	VPADDD Y3, Y2, Y5
	VPADDD Y5, Y4, Y4
	VEXTRACTI128 $1, Y4, X5
	VPADDD X5, X4, X4
	VPSHUFD $0x4e, X4, X5
	VPADDD X5, X4, X4
	VPSHUFD $0xb1, X4, X5
	VPADDD X5, X4, X4
	VPSLLD $7, X4, X4
	VPXOR X5, X5, X5
	VPSUBD X4, X5, X5
	VMOVD X5, (R8)
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y13, Y0
	VMOVDQU Y0, (DI)
	JMP enext
ezero:
	MOVL $0, (DX)
	MOVL $0, (R8)
	VPXOR Y0, Y0, Y0
	VMOVDQU Y0, (DI)
enext:
	ADDQ $128, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $4, R8
	DECQ CX
	JNZ eblock
eok:
	MOVB $1, ret+40(FP)
	VZEROUPPER
	RET
ebad:
	MOVB $0, ret+40(FP)
	VZEROUPPER
	RET

// func q8QuantRowDotAVX(dst *int8, s *float32, x *float32, nb int) (finite bool)
//
// q8QuantRow8 to the layout of q8Dot's activations (qActs): each block's
// 32 values, then their 32 magnitudes.
TEXT ·q8QuantRowDotAVX(SB), NOSPLIT, $0-33
	MOVQ dst+0(FP), DI
	MOVQ s+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ nb+24(FP), CX
	MOVL $0x7fffffff, AX
	MOVQ AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x42fe0000, AX
	MOVQ AX, X14
	VMOVDQU q8permd<>(SB), Y13
	TESTQ CX, CX
	JEQ fok
fblock:
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
	JAE fbad
	TESTL AX, AX
	JEQ fzero
	VDIVSS X14, X4, X5
	VMOVSS X5, (DX)
	VDIVSS X4, X14, X6
	VBROADCASTSS X6, Y6
	VMULPS Y6, Y0, Y0
	VMULPS Y6, Y1, Y1
	VMULPS Y6, Y2, Y2
	VMULPS Y6, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y13, Y0
	VMOVDQU Y0, (DI)
	VPABSB Y0, Y0
	VMOVDQU Y0, 32(DI)
	JMP fnext
fzero:
	MOVL $0, (DX)
	VPXOR Y0, Y0, Y0
	VMOVDQU Y0, (DI)
	VMOVDQU Y0, 32(DI)
fnext:
	ADDQ $128, SI
	ADDQ $64, DI
	ADDQ $4, DX
	DECQ CX
	JNZ fblock
fok:
	MOVB $1, ret+32(FP)
	VZEROUPPER
	RET
fbad:
	MOVB $0, ret+32(FP)
	VZEROUPPER
	RET
