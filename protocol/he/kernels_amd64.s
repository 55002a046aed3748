//go:build amd64 && gc && !purego

#include "textflag.h"

// AVX-512 kernels of the package, eight lanes of one value each: the stages
// of the transforms of ntt.go, the Gaussian sampler (sample.go) and the
// 60-bit packing (codec.go). Every transform kernel computes exactly what the Go stages compute, lane by
// lane: w*y mod q (plus 0 or q) as w*y - hi(w'*y)*q with Shoup's w', and the
// same lazy reductions (min(v, v - 2q) is v - 2q when v >= 2q, else v).
// AVX-512 has no 64x64 high product: MULHI builds it from four 32x32
// products (VPMULUDQ reads the low half of every lane), exactly.
//
// Registers common to the kernels: Z31 = q, Z30 = 2q, Z29 = 2^32 - 1.

// MULHI sets hi = floor(a*b / 2^64) per lane, with bh = b >> 32; clobbers
// Z4-Z7. With a = ah:al, b = bh:bl (32-bit halves): t = ah*bl + (al*bl >> 32)
// and u = al*bh + (t mod 2^32) do not overflow, and hi = ah*bh + (t >> 32) +
// (u >> 32).
#define MULHI(a, b, bh, hi) \
	VPSRLQ   $32, a, Z4; \
	VPMULUDQ b, a, Z5; \
	VPMULUDQ bh, a, Z6; \
	VPMULUDQ b, Z4, Z7; \
	VPMULUDQ bh, Z4, hi; \
	VPSRLQ   $32, Z5, Z5; \
	VPADDQ   Z5, Z7, Z7; \
	VPANDQ   Z29, Z7, Z5; \
	VPADDQ   Z5, Z6, Z6; \
	VPSRLQ   $32, Z7, Z7; \
	VPSRLQ   $32, Z6, Z6; \
	VPADDQ   Z7, hi, hi; \
	VPADDQ   Z6, hi, hi

// MULSHOUP sets r = w*y mod q plus 0 or q, for w (Z), w' (ws) and w' >> 32
// (wsh); clobbers Z3-Z7.
#define MULSHOUP(y, w, ws, wsh, r) \
	MULHI(y, ws, wsh, Z3); \
	VPMULLQ  w, y, r; \
	VPMULLQ  Z31, Z3, Z3; \
	VPSUBQ   Z3, r, r

// FWD is the forward butterfly on X (below 4q) and Y: X, Y = X' + T,
// X' - T + 2q with X' = X reduced below 2q and T = w*Y; clobbers Z2-Z7.
#define FWD(X, Y, w, ws, wsh) \
	VPSUBQ   Z30, X, Z2; \
	VPMINUQ  Z2, X, X; \
	MULSHOUP(Y, w, ws, wsh, Z2); \
	VPSUBQ   Z2, X, Y; \
	VPADDQ   Z30, Y, Y; \
	VPADDQ   Z2, X, X

// INV is the inverse butterfly on X, Y (below 2q): X, Y = X + Y reduced
// below 2q, w*(X - Y + 2q); clobbers Z2-Z7.
#define INV(X, Y, w, ws, wsh) \
	VPSUBQ   Y, X, Z2; \
	VPADDQ   Z30, Z2, Z2; \
	VPADDQ   Y, X, X; \
	VPSUBQ   Z30, X, Y; \
	VPMINUQ  Y, X, X; \
	MULSHOUP(Z2, w, ws, wsh, Y)

#define CONSTANTS(q) \
	VPBROADCASTQ q, Z31; \
	VPADDQ   Z31, Z31, Z30; \
	MOVQ     $0xffffffff, DX; \
	VPBROADCASTQ DX, Z29

// SMALLSETUP loads the permutations of a stage with t < 8 (perm: X, Y, A, B,
// W, each 8 lanes) into Z20-Z24 and the constants.
#define SMALLSETUP \
	MOVQ perm+40(FP), R12; \
	VMOVDQU64 0(R12), Z20; \
	VMOVDQU64 64(R12), Z21; \
	VMOVDQU64 128(R12), Z22; \
	VMOVDQU64 192(R12), Z23; \
	VMOVDQU64 256(R12), Z24; \
	MOVQ q+48(FP), AX; \
	CONSTANTS(AX)

// SMALLLOAD reads 16 coefficients from (SI) into X (Z0) and Y (Z1) by the
// permutations, and their twiddles (8 read from (R10), (R11)) into Z28, Z27,
// Z26 (w' >> 32).
#define SMALLLOAD \
	VMOVDQU64 (SI), Z8; \
	VMOVDQU64 64(SI), Z9; \
	VMOVDQA64 Z8, Z0; \
	VPERMT2Q  Z9, Z20, Z0; \
	VPERMT2Q  Z9, Z21, Z8; \
	VMOVDQA64 Z8, Z1; \
	VPERMQ    (R10), Z24, Z28; \
	VPERMQ    (R11), Z24, Z27; \
	VPSRLQ    $32, Z27, Z26

// SMALLSTORE writes X (Z0) and Y (Z1) back to (DI) by the inverse
// permutations and advances the pointers.
#define SMALLSTORE \
	VMOVDQA64 Z0, Z8; \
	VPERMT2Q  Z1, Z22, Z8; \
	VPERMT2Q  Z1, Z23, Z0; \
	VMOVDQU64 Z8, (DI); \
	VMOVDQU64 Z0, 64(DI); \
	ADDQ $128, SI; \
	ADDQ $128, DI; \
	ADDQ R13, R10; \
	ADDQ R13, R11

// MRED sets r = MRed(x, y) = x*y*2^-64 mod q as lattigo computes it: with
// (h, l) = x*y, r = h - hi((l*qInv)*q) + q, less q if at or above q. yh =
// y >> 32; needs Z28 = qInv, Z27 = q >> 32; clobbers Z4-Z7, Z9-Z12.
#define MRED(x, y, yh, r) \
	MULHI(x, y, yh, Z9); \
	VPMULLQ  y, x, Z10; \
	VPMULLQ  Z28, Z10, Z10; \
	MULHI(Z10, Z31, Z27, Z11); \
	VPSUBQ   Z11, Z9, r; \
	VPADDQ   Z31, r, r; \
	VPSUBQ   Z31, r, Z12; \
	VPMINUQ  Z12, r, r

// CRED reduces t (below 2q) below q; clobbers Z12.
#define CRED(t) \
	VPSUBQ   Z31, t, Z12; \
	VPMINUQ  Z12, t, t

// MONTCONSTANTS loads q, the mask, qInv and q >> 32 (Z31, Z29, Z28, Z27).
#define MONTCONSTANTS(q, qInv) \
	CONSTANTS(q); \
	VPBROADCASTQ qInv, Z28; \
	VPSRLQ   $32, Z31, Z27

// func fwdBigAVX512(a *uint64, m, t int, psi, psiShoup *uint64, q uint64)
//
// A forward stage with t >= 8 (a multiple of 8): block i (i < m) pairs
// a[2it+j] with a[2it+t+j] under psi[i].
TEXT ·fwdBigAVX512(SB), NOSPLIT, $0-48
	MOVQ a+0(FP), DI
	MOVQ m+8(FP), R8
	MOVQ t+16(FP), R9
	MOVQ psi+24(FP), R10
	MOVQ psiShoup+32(FP), R11
	MOVQ q+40(FP), AX
	CONSTANTS(AX)
	SHRQ $3, R9 // t / 8: vectors per half block
	MOVQ R9, R12
	SHLQ $6, R12 // t in bytes

fwdBlock:
	VPBROADCASTQ (R10), Z28
	VPBROADCASTQ (R11), Z27
	VPSRLQ $32, Z27, Z26
	LEAQ (DI)(R12*1), SI
	MOVQ R9, CX

fwdVec:
	VMOVDQU64 (DI), Z0
	VMOVDQU64 (SI), Z1
	FWD(Z0, Z1, Z28, Z27, Z26)
	VMOVDQU64 Z0, (DI)
	VMOVDQU64 Z1, (SI)
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ CX
	JNZ  fwdVec

	MOVQ SI, DI
	ADDQ $8, R10
	ADDQ $8, R11
	DECQ R8
	JNZ  fwdBlock
	VZEROUPPER
	RET

// func invBigAVX512(a *uint64, m, t int, psi, psiShoup *uint64, q uint64)
//
// An inverse stage with t >= 8, blocks as in fwdBigAVX512.
TEXT ·invBigAVX512(SB), NOSPLIT, $0-48
	MOVQ a+0(FP), DI
	MOVQ m+8(FP), R8
	MOVQ t+16(FP), R9
	MOVQ psi+24(FP), R10
	MOVQ psiShoup+32(FP), R11
	MOVQ q+40(FP), AX
	CONSTANTS(AX)
	SHRQ $3, R9 // t / 8
	MOVQ R9, R12
	SHLQ $6, R12 // t in bytes

invBlock:
	VPBROADCASTQ (R10), Z28
	VPBROADCASTQ (R11), Z27
	VPSRLQ $32, Z27, Z26
	LEAQ (DI)(R12*1), SI
	MOVQ R9, CX

invVec:
	VMOVDQU64 (DI), Z0
	VMOVDQU64 (SI), Z1
	INV(Z0, Z1, Z28, Z27, Z26)
	VMOVDQU64 Z0, (DI)
	VMOVDQU64 Z1, (SI)
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ CX
	JNZ  invVec

	MOVQ SI, DI
	ADDQ $8, R10
	ADDQ $8, R11
	DECQ R8
	JNZ  invBlock
	VZEROUPPER
	RET

// func fwdSmallAVX512(in, out *uint64, n int, psi, psiShoup *uint64, perm *[5][8]uint64, q uint64, step int)
//
// A forward stage with t < 8 on n coefficients (a multiple of 16), from in to
// out: every 16 coefficients take step twiddles.
TEXT ·fwdSmallAVX512(SB), NOSPLIT, $0-64
	MOVQ in+0(FP), SI
	MOVQ out+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ psi+24(FP), R10
	MOVQ psiShoup+32(FP), R11
	MOVQ step+56(FP), R13
	SHLQ $3, R13
	SMALLSETUP
	SHRQ $4, CX

fwdSmall:
	SMALLLOAD
	FWD(Z0, Z1, Z28, Z27, Z26)
	SMALLSTORE
	DECQ CX
	JNZ  fwdSmall
	VZEROUPPER
	RET

// func invSmallAVX512(in, out *uint64, n int, psi, psiShoup *uint64, perm *[5][8]uint64, q uint64, step int)
//
// An inverse stage with t < 8, as fwdSmallAVX512.
TEXT ·invSmallAVX512(SB), NOSPLIT, $0-64
	MOVQ in+0(FP), SI
	MOVQ out+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ psi+24(FP), R10
	MOVQ psiShoup+32(FP), R11
	MOVQ step+56(FP), R13
	SHLQ $3, R13
	SMALLSETUP
	SHRQ $4, CX

invSmall:
	SMALLLOAD
	INV(Z0, Z1, Z28, Z27, Z26)
	SMALLSTORE
	DECQ CX
	JNZ  invSmall
	VZEROUPPER
	RET

// func reduce4qAVX512(a *uint64, n int, q uint64)
//
// a[j] (below 4q) reduced below q, n a multiple of 8.
TEXT ·reduce4qAVX512(SB), NOSPLIT, $0-24
	MOVQ a+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ q+16(FP), AX
	CONSTANTS(AX)
	SHRQ $3, CX

reduce:
	VMOVDQU64 (DI), Z0
	VPSUBQ  Z30, Z0, Z1
	VPMINUQ Z1, Z0, Z0
	VPSUBQ  Z31, Z0, Z1
	VPMINUQ Z1, Z0, Z0
	VMOVDQU64 Z0, (DI)
	ADDQ $64, DI
	DECQ CX
	JNZ  reduce
	VZEROUPPER
	RET

// func invLastAVX512(a *uint64, half int, c *[4]uint64, q uint64)
//
// The last inverse stage times N^-1 with the full reduction: a[j], a[j+half]
// = (a[j] + a[j+half])*c[0], (a[j] - a[j+half] + 2q)*c[2] (c[1], c[3] their
// Shoup quotients), each reduced below q; half a multiple of 8.
TEXT ·invLastAVX512(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), DI
	MOVQ half+8(FP), CX
	MOVQ c+16(FP), R10
	MOVQ q+24(FP), AX
	CONSTANTS(AX)
	LEAQ (DI)(CX*8), SI
	SHRQ $3, CX
	VPBROADCASTQ 0(R10), Z28
	VPBROADCASTQ 8(R10), Z27
	VPSRLQ $32, Z27, Z26
	VPBROADCASTQ 16(R10), Z25
	VPBROADCASTQ 24(R10), Z19
	VPSRLQ $32, Z19, Z18

invLast:
	VMOVDQU64 (DI), Z0
	VMOVDQU64 (SI), Z1
	VPSUBQ  Z1, Z0, Z9
	VPADDQ  Z30, Z9, Z9
	VPADDQ  Z1, Z0, Z8
	MULSHOUP(Z8, Z28, Z27, Z26, Z0)
	MULSHOUP(Z9, Z25, Z19, Z18, Z1)
	VPSUBQ  Z31, Z0, Z2
	VPMINUQ Z2, Z0, Z0
	VPSUBQ  Z31, Z1, Z2
	VPMINUQ Z2, Z1, Z1
	VMOVDQU64 Z0, (DI)
	VMOVDQU64 Z1, (SI)
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ CX
	JNZ  invLast
	VZEROUPPER
	RET

// func gaussianAVX512(words *uint64, n int, dst *int64, cdt *[19]uint64)
//
// The samples of gaussian (sample.go) from n words (a multiple of 8), eight
// at a time: the magnitude counts the table entries at or below r = w >> 1,
// compared with all 19 in turn (no branch and no table index depends on
// r), negated when w is odd.
TEXT ·gaussianAVX512(SB), NOSPLIT, $0-32
	MOVQ words+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVQ cdt+24(FP), AX
	VPBROADCASTQ 0(AX), Z10
	VPBROADCASTQ 8(AX), Z11
	VPBROADCASTQ 16(AX), Z12
	VPBROADCASTQ 24(AX), Z13
	VPBROADCASTQ 32(AX), Z14
	VPBROADCASTQ 40(AX), Z15
	VPBROADCASTQ 48(AX), Z16
	VPBROADCASTQ 56(AX), Z17
	VPBROADCASTQ 64(AX), Z18
	VPBROADCASTQ 72(AX), Z19
	VPBROADCASTQ 80(AX), Z20
	VPBROADCASTQ 88(AX), Z21
	VPBROADCASTQ 96(AX), Z22
	VPBROADCASTQ 104(AX), Z23
	VPBROADCASTQ 112(AX), Z24
	VPBROADCASTQ 120(AX), Z25
	VPBROADCASTQ 128(AX), Z26
	VPBROADCASTQ 136(AX), Z27
	VPBROADCASTQ 144(AX), Z28
	MOVQ $1, DX
	VPBROADCASTQ DX, Z0
	VPXORQ Z5, Z5, Z5
	SHRQ $3, CX

gauss:
	VMOVDQU64 (SI), Z2
	VPSRLQ $1, Z2, Z3
	VPXORQ Z4, Z4, Z4
	VPCMPUQ $5, Z10, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z11, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z12, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z13, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z14, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z15, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z16, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z17, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z18, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z19, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z20, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z21, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z22, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z23, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z24, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z25, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z26, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z27, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPCMPUQ $5, Z28, Z3, K1
	VPADDQ Z0, Z4, K1, Z4
	VPTESTMQ Z0, Z2, K2
	VPSUBQ Z4, Z5, K2, Z4
	VMOVDQU64 Z4, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  gauss
	VZEROUPPER
	RET

// func pack60AVX512(vals *uint64, groups int, dst *byte, c *pack60Consts)
//
// appendBlock60's bytes for groups of 8 values below 2^60, 60 bytes each:
// every value shifted left by 4 if odd-indexed (value k starts at bit 60k,
// byte 7.5k), its bytes moved to their places (even and odd values apart,
// since value 2m's last byte shares a byte with value 2m+1's first), OR-ed,
// and 60 bytes stored.
TEXT ·pack60AVX512(SB), NOSPLIT, $0-32
	MOVQ vals+0(FP), SI
	MOVQ groups+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVQ c+24(FP), AX
	VMOVDQU64 0(AX), Z20   // even-value byte indices
	VMOVDQU64 64(AX), Z21  // odd-value byte indices
	VMOVDQU64 192(AX), Z22 // shifts
	KMOVQ 256(AX), K1      // the 60 bytes of a group
	KMOVQ 264(AX), K2      // bytes from even values
	KMOVQ 272(AX), K3      // bytes from odd values

pack:
	VMOVDQU64 (SI), Z0
	VPSLLVQ Z22, Z0, Z0
	VPERMB.Z Z0, Z20, K2, Z1
	VPERMB.Z Z0, Z21, K3, Z2
	VPORQ Z2, Z1, Z1
	VMOVDQU8 Z1, K1, (DI)
	ADDQ $64, SI
	ADDQ $60, DI
	DECQ CX
	JNZ  pack
	VZEROUPPER
	RET

// func unpack60AVX512(src *byte, groups int, dst *uint64, c *pack60Consts, q uint64) int
//
// readBlock60's values for groups of 60 bytes: value k is the 8 bytes from
// byte 7.5k, shifted right by 4 if k is odd, masked to 60 bits. It stops
// before the first group with a value at or above q and returns the number
// of groups written.
TEXT ·unpack60AVX512(SB), NOSPLIT, $0-48
	MOVQ src+0(FP), SI
	MOVQ groups+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVQ c+24(FP), AX
	MOVQ q+32(FP), DX
	VPBROADCASTQ DX, Z31
	VMOVDQU64 128(AX), Z20 // read byte indices
	VMOVDQU64 192(AX), Z22 // shifts
	KMOVQ 256(AX), K1
	MOVQ $0x0fffffffffffffff, DX
	VPBROADCASTQ DX, Z23
	XORQ BX, BX

unpack:
	CMPQ BX, CX
	JEQ  unpacked
	VMOVDQU8.Z (SI), K1, Z0
	VPERMB Z0, Z20, Z1
	VPSRLVQ Z22, Z1, Z1
	VPANDQ Z23, Z1, Z1
	VPCMPUQ $5, Z31, Z1, K4
	KORTESTB K4, K4
	JNZ  unpacked
	VMOVDQU64 Z1, (DI)
	ADDQ $60, SI
	ADDQ $64, DI
	INCQ BX
	JMP  unpack

unpacked:
	MOVQ BX, ret+40(FP)
	VZEROUPPER
	RET

// func mulMontAVX512(x, y, z *uint64, n int, q, qInv uint64, mode int)
//
// z = MRed(x, y) (mode 0), CRed(z + MRed(x, y)) (1) or CRed(z + q -
// MRed(x, y)) (2), as lattigo's MulCoeffsMontgomeryVec, ...AndAddVec and
// ...AndSubVec; n a multiple of 8.
TEXT ·mulMontAVX512(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), BX
	MOVQ z+16(FP), DI
	MOVQ n+24(FP), CX
	MOVQ q+32(FP), AX
	MOVQ qInv+40(FP), R8
	MOVQ mode+48(FP), R9
	MONTCONSTANTS(AX, R8)
	SHRQ $3, CX
	CMPQ R9, $1
	JEQ  montAdd
	JGT  montSub

montSet:
	VMOVDQU64 (SI), Z0
	VMOVDQU64 (BX), Z1
	VPSRLQ $32, Z1, Z8
	MRED(Z0, Z1, Z8, Z3)
	VMOVDQU64 Z3, (DI)
	ADDQ $64, SI
	ADDQ $64, BX
	ADDQ $64, DI
	DECQ CX
	JNZ  montSet
	VZEROUPPER
	RET

montAdd:
	VMOVDQU64 (SI), Z0
	VMOVDQU64 (BX), Z1
	VPSRLQ $32, Z1, Z8
	MRED(Z0, Z1, Z8, Z3)
	VMOVDQU64 (DI), Z2
	VPADDQ Z3, Z2, Z2
	CRED(Z2)
	VMOVDQU64 Z2, (DI)
	ADDQ $64, SI
	ADDQ $64, BX
	ADDQ $64, DI
	DECQ CX
	JNZ  montAdd
	VZEROUPPER
	RET

montSub:
	VMOVDQU64 (SI), Z0
	VMOVDQU64 (BX), Z1
	VPSRLQ $32, Z1, Z8
	MRED(Z0, Z1, Z8, Z3)
	VMOVDQU64 (DI), Z2
	VPSUBQ Z3, Z31, Z3
	VPADDQ Z3, Z2, Z2
	CRED(Z2)
	VMOVDQU64 Z2, (DI)
	ADDQ $64, SI
	ADDQ $64, BX
	ADDQ $64, DI
	DECQ CX
	JNZ  montSub
	VZEROUPPER
	RET

// func mulScalarMontAVX512(x, y, z *uint64, n int, s, q, qInv uint64, mode int)
//
// z = MRed(x + y, s) (mode 0, lattigo's AddVecNoModAndMulScalarMontgomeryVec)
// or CRed(z + MRed(x, s)) (mode 1, y unused: MulScalarMontgomeryAndAddVec);
// n a multiple of 8.
TEXT ·mulScalarMontAVX512(SB), NOSPLIT, $0-64
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), BX
	MOVQ z+16(FP), DI
	MOVQ n+24(FP), CX
	MOVQ s+32(FP), DX
	VPBROADCASTQ DX, Z25
	VPSRLQ $32, Z25, Z26
	MOVQ q+40(FP), AX
	MOVQ qInv+48(FP), R8
	MOVQ mode+56(FP), R9
	MONTCONSTANTS(AX, R8)
	SHRQ $3, CX
	CMPQ R9, $1
	JEQ  scalarAdd

addScalar:
	VMOVDQU64 (SI), Z0
	VPADDQ (BX), Z0, Z0
	MRED(Z0, Z25, Z26, Z3)
	VMOVDQU64 Z3, (DI)
	ADDQ $64, SI
	ADDQ $64, BX
	ADDQ $64, DI
	DECQ CX
	JNZ  addScalar
	VZEROUPPER
	RET

scalarAdd:
	VMOVDQU64 (SI), Z0
	MRED(Z0, Z25, Z26, Z3)
	VMOVDQU64 (DI), Z2
	VPADDQ Z3, Z2, Z2
	CRED(Z2)
	VMOVDQU64 Z2, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  scalarAdd
	VZEROUPPER
	RET

// func scaledSmallAVX512(e *int64, z *uint64, n int, t, q, qInv uint64, add int)
//
// scaledSmall on one row: z = MRed(e mod q, t) (add = 0) or CRed(z +
// MRed(e mod q, t)) (add = 1), e mod q = e + q for negative e; n a multiple
// of 8.
TEXT ·scaledSmallAVX512(SB), NOSPLIT, $0-56
	MOVQ e+0(FP), SI
	MOVQ z+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ t+24(FP), DX
	VPBROADCASTQ DX, Z25
	VPSRLQ $32, Z25, Z26
	MOVQ q+32(FP), AX
	MOVQ qInv+40(FP), R8
	MOVQ add+48(FP), R9
	MONTCONSTANTS(AX, R8)
	SHRQ $3, CX
	CMPQ R9, $1
	JEQ  scaledAdd

scaledSet:
	VMOVDQU64 (SI), Z0
	VPSRAQ $63, Z0, Z1
	VPANDQ Z31, Z1, Z1
	VPADDQ Z1, Z0, Z0
	MRED(Z0, Z25, Z26, Z3)
	VMOVDQU64 Z3, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  scaledSet
	VZEROUPPER
	RET

scaledAdd:
	VMOVDQU64 (SI), Z0
	VPSRAQ $63, Z0, Z1
	VPANDQ Z31, Z1, Z1
	VPADDQ Z1, Z0, Z0
	MRED(Z0, Z25, Z26, Z3)
	VMOVDQU64 (DI), Z2
	VPADDQ Z3, Z2, Z2
	CRED(Z2)
	VMOVDQU64 Z2, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  scaledAdd
	VZEROUPPER
	RET

// PRODACC adds the 128-bit product x*y to (h, l) per lane: l += lo,
// h += hi + carry, with yh = y >> 32; clobbers Z3-Z10, K1.
#define PRODACC(x, y, yh, h, l) \
	MULHI(x, y, yh, Z9); \
	VPMULLQ  y, x, Z10; \
	VPADDQ   Z10, l, l; \
	VPCMPUQ  $1, Z10, l, K1; \
	VPADDQ   Z9, h, h; \
	VPSUBQ   Z30, h, K1, h

// func accumulateProductsAVX512(e, a, b, h0, l0, h1, l1 *uint64, n int)
//
// The inner loop of sumProducts on n coefficients (a multiple of 8): (h0,
// l0) += e*b and (h1, l1) += a*b as 128-bit integers per coefficient.
TEXT ·accumulateProductsAVX512(SB), NOSPLIT, $0-64
	MOVQ e+0(FP), SI
	MOVQ a+8(FP), BX
	MOVQ b+16(FP), DX
	MOVQ h0+24(FP), R8
	MOVQ l0+32(FP), R9
	MOVQ h1+40(FP), R10
	MOVQ l1+48(FP), R11
	MOVQ n+56(FP), CX
	MOVQ $0xffffffff, AX
	VPBROADCASTQ AX, Z29
	VPTERNLOGQ $0xff, Z30, Z30, Z30 // all ones: h - (-1) adds the carry
	SHRQ $3, CX
	XORQ AX, AX

acc:
	VMOVDQU64 (DX)(AX*1), Z1
	VPSRLQ $32, Z1, Z8
	VMOVDQU64 (SI)(AX*1), Z0
	VMOVDQU64 (R8)(AX*1), Z11
	VMOVDQU64 (R9)(AX*1), Z12
	PRODACC(Z0, Z1, Z8, Z11, Z12)
	VMOVDQU64 Z11, (R8)(AX*1)
	VMOVDQU64 Z12, (R9)(AX*1)
	VMOVDQU64 (BX)(AX*1), Z0
	VMOVDQU64 (R10)(AX*1), Z11
	VMOVDQU64 (R11)(AX*1), Z12
	PRODACC(Z0, Z1, Z8, Z11, Z12)
	VMOVDQU64 Z11, (R10)(AX*1)
	VMOVDQU64 Z12, (R11)(AX*1)
	ADDQ $64, AX
	DECQ CX
	JNZ  acc
	VZEROUPPER
	RET
