//go:build amd64 && gc && !purego

package he

import "golang.org/x/sys/cpu"

// haveAVX512 selects the AVX-512 stages of the transforms (kernels_amd64.s):
// VPMULLQ needs AVX512DQ.
var haveAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ

// haveVBMI adds the byte permutation (VPERMB) of the 60-bit packing kernels
// and the byte masks (AVX512BW).
var haveVBMI = haveAVX512 && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VBMI

// fwdBigAVX512 is a forward stage with t >= 8 (a multiple of 8) on m blocks.
//
//go:noescape
func fwdBigAVX512(a *uint64, m, t int, psi, psiShoup *uint64, q uint64)

// invBigAVX512 is an inverse stage with t >= 8 on m blocks.
//
//go:noescape
func invBigAVX512(a *uint64, m, t int, psi, psiShoup *uint64, q uint64)

// fwdSmallAVX512 is a forward stage with t < 8 on n coefficients from in to
// out, by the permutations perm of that t, step twiddles per 16 coefficients.
//
//go:noescape
func fwdSmallAVX512(in, out *uint64, n int, psi, psiShoup *uint64, perm *[5][8]uint64, q uint64, step int)

// invSmallAVX512 is an inverse stage with t < 8, as fwdSmallAVX512.
//
//go:noescape
func invSmallAVX512(in, out *uint64, n int, psi, psiShoup *uint64, perm *[5][8]uint64, q uint64, step int)

// reduce4qAVX512 reduces the n (a multiple of 8) values below 4q at a below q.
//
//go:noescape
func reduce4qAVX512(a *uint64, n int, q uint64)

// invLastAVX512 is the inverse's last stage, times N^-1, fully reduced; c
// holds N^-1, its Shoup quotient, psiInv[1]*N^-1 and its Shoup quotient.
//
//go:noescape
func invLastAVX512(a *uint64, half int, c *[4]uint64, q uint64)

// gaussianAVX512 writes the Gaussian samples of n words (a multiple of 8)
// into dst, as gaussian does one by one (sample.go).
//
//go:noescape
func gaussianAVX512(words *uint64, n int, dst *int64, cdt *[NoiseBound]uint64)

// pack60AVX512 writes appendBlock60's bytes of groups*8 values, 60 bytes a
// group, at dst (codec.go).
//
//go:noescape
func pack60AVX512(vals *uint64, groups int, dst *byte, c *pack60Consts)

// unpack60AVX512 reads groups of 60 bytes as readBlock60 does, up to the
// first group with a value at or above q, and returns the groups read.
//
//go:noescape
func unpack60AVX512(src *byte, groups int, dst *uint64, c *pack60Consts, q uint64) int

// mulMontAVX512 is lattigo's MulCoeffsMontgomeryVec (mode 0), ...AndAddVec
// (1) or ...AndSubVec (2) on n coefficients, a multiple of 8 (montgomery.go).
//
//go:noescape
func mulMontAVX512(x, y, z *uint64, n int, q, qInv uint64, mode int)

// mulScalarMontAVX512 is lattigo's AddVecNoModAndMulScalarMontgomeryVec
// (mode 0) or MulScalarMontgomeryAndAddVec (mode 1, y unused) on n
// coefficients, a multiple of 8.
//
//go:noescape
func mulScalarMontAVX512(x, y, z *uint64, n int, s, q, qInv uint64, mode int)

// scaledSmallAVX512 is scaledSmall on one row of n values, a multiple of 8
// (sample.go).
//
//go:noescape
func scaledSmallAVX512(e *int64, z *uint64, n int, t, q, qInv uint64, add int)

// accumulateProductsAVX512 adds e*b to (h0, l0) and a*b to (h1, l1) as
// 128-bit integers on n coefficients, a multiple of 8 (lazy.go).
//
//go:noescape
func accumulateProductsAVX512(e, a, b, h0, l0, h1, l1 *uint64, n int)
