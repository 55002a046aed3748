//go:build amd64 && gc && !purego

#include "textflag.h"

// func gemmKernel4x16(kc int, a *uint64, sai, sap uintptr, b, c *uint64, ldc uintptr, mr int, mask uint64)
//
// Adds the product of a 4 x kc block of A and a packed kc x 16 panel of B to the
// 4 x 16 tile of C at c, in Z_2^64. Element (i, p) of A is the word at byte
// offset i*sai + p*sap from a; the panel holds 16 words per step p; row i of
// the tile starts at byte offset i*ldc from c. Only the first mr rows (1..4) and
// the columns whose bit is set in mask (bits 0..15) of the tile are read and
// written; all four rows of A must be readable. kc must be at least 1.
TEXT ·gemmKernel4x16(SB), NOSPLIT, $0-72
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ sai+16(FP), SI
	MOVQ sap+24(FP), DI
	MOVQ b+32(FP), BX
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R8
	MOVQ mr+56(FP), R9
	MOVQ mask+64(FP), R11
	LEAQ (AX)(SI*2), R10

	VPXORQ Z16, Z16, Z16
	VPXORQ Z17, Z17, Z17
	VPXORQ Z18, Z18, Z18
	VPXORQ Z19, Z19, Z19
	VPXORQ Z20, Z20, Z20
	VPXORQ Z21, Z21, Z21
	VPXORQ Z22, Z22, Z22
	VPXORQ Z23, Z23, Z23

loop:
	VMOVDQU64    (BX), Z0
	VMOVDQU64    64(BX), Z1
	VPBROADCASTQ (AX), Z2
	VPBROADCASTQ (AX)(SI*1), Z3
	VPBROADCASTQ (R10), Z4
	VPBROADCASTQ (R10)(SI*1), Z5
	VPMULLQ      Z0, Z2, Z6
	VPMULLQ      Z1, Z2, Z7
	VPMULLQ      Z0, Z3, Z8
	VPMULLQ      Z1, Z3, Z9
	VPMULLQ      Z0, Z4, Z10
	VPMULLQ      Z1, Z4, Z11
	VPMULLQ      Z0, Z5, Z12
	VPMULLQ      Z1, Z5, Z13
	VPADDQ       Z6, Z16, Z16
	VPADDQ       Z7, Z17, Z17
	VPADDQ       Z8, Z18, Z18
	VPADDQ       Z9, Z19, Z19
	VPADDQ       Z10, Z20, Z20
	VPADDQ       Z11, Z21, Z21
	VPADDQ       Z12, Z22, Z22
	VPADDQ       Z13, Z23, Z23
	ADDQ         DI, AX
	ADDQ         DI, R10
	ADDQ         $128, BX
	DECQ         CX
	JNZ          loop

	KMOVW    R11, K1
	KSHIFTRW $8, K1, K2

	VMOVDQU64.Z (DX), K1, Z24
	VMOVDQU64.Z 64(DX), K2, Z25
	VPADDQ      Z24, Z16, Z16
	VPADDQ      Z25, Z17, Z17
	VMOVDQU64   Z16, K1, (DX)
	VMOVDQU64   Z17, K2, 64(DX)
	DECQ        R9
	JZ          done
	ADDQ        R8, DX

	VMOVDQU64.Z (DX), K1, Z24
	VMOVDQU64.Z 64(DX), K2, Z25
	VPADDQ      Z24, Z18, Z18
	VPADDQ      Z25, Z19, Z19
	VMOVDQU64   Z18, K1, (DX)
	VMOVDQU64   Z19, K2, 64(DX)
	DECQ        R9
	JZ          done
	ADDQ        R8, DX

	VMOVDQU64.Z (DX), K1, Z24
	VMOVDQU64.Z 64(DX), K2, Z25
	VPADDQ      Z24, Z20, Z20
	VPADDQ      Z25, Z21, Z21
	VMOVDQU64   Z20, K1, (DX)
	VMOVDQU64   Z21, K2, 64(DX)
	DECQ        R9
	JZ          done
	ADDQ        R8, DX

	VMOVDQU64.Z (DX), K1, Z24
	VMOVDQU64.Z 64(DX), K2, Z25
	VPADDQ      Z24, Z22, Z22
	VPADDQ      Z25, Z23, Z23
	VMOVDQU64   Z22, K1, (DX)
	VMOVDQU64   Z23, K2, 64(DX)

done:
	VZEROUPPER
	RET
