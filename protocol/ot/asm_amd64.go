//go:build amd64 && gc && !purego

package ot

import "golang.org/x/sys/cpu"

var haveAESNI = cpu.X86.HasAES

// encryptBlocksAESNI encrypts n 16-byte blocks at buf in place under the
// round keys (aes_amd64.s).
//
//go:noescape
func encryptBlocksAESNI(keys *[11][16]byte, buf *byte, n int)

//go:generate go run gen_aesctr.go

// ctr8KeysAESNI encrypts the n counter blocks at ctrs under each of eight key
// schedules, key i's blocks to out + i*stride (aesctr_amd64.s).
//
//go:noescape
func ctr8KeysAESNI(keys *[8][11][16]byte, ctrs *uint64, n int, out *byte, stride int)

// haveVAES: VAES on YMM registers (two AES blocks per instruction). x/sys/cpu
// reports the VAES bit only with AVX-512 enabled, so CPUs with VAES but no
// AVX-512 take the AES-NI kernel.
var haveVAES = cpu.X86.HasAES && cpu.X86.HasAVX2 && cpu.X86.HasAVX512VAES

// ctr16KeysVAES encrypts the n (even) counter blocks at ctrs under each of
// sixteen key schedules (keys[r][y]: round r of key y), key y's blocks to
// out + 8*ssChunk*y (aesctr_amd64.s).
//
//go:noescape
func ctr16KeysVAES(keys *[11][ssLeaves][16]byte, ctrs *uint64, n int, out *byte)

// hashRowsVAES hashes n rows (a multiple of 16) into out, as crHash does,
// with the round keys doubled for the two lanes and c = (d0, d1, d0, d1,
// tweak, 0, tweak+1, 0, 2, 0, 2, 0) (aesctr_amd64.s).
//
//go:noescape
func hashRowsVAES(keys *[11][32]byte, rows *uint64, n int, c *[12]uint64, out *uint64)

// haveVAES512: VAES on ZMM registers (four AES blocks per instruction).
var haveVAES512 = haveVAES && cpu.X86.HasAVX512F

// ctr16KeysVAES512 is ctr16KeysVAES eight counters per pass on ZMM
// registers, for n a multiple of 8 (aesctr_amd64.s).
//
//go:noescape
func ctr16KeysVAES512(keys *[11][ssLeaves][16]byte, ctrs *uint64, n int, out *byte)

// hashRowsVAES512 is hashRowsVAES on ZMM registers for n a multiple of 32,
// with c = (d0, d1) x4, (tweak, 0, ..., tweak+3, 0), (4, 0) x4,
// (2^64-1, 0) x4, (0, 2, ..., 14) (aesctr_amd64.s).
//
//go:noescape
func hashRowsVAES512(keys *[11][32]byte, rows *uint64, n int, c *[40]uint64, out *uint64)

var haveAVX2 = cpu.X86.HasAVX2

//go:generate go run gen_pack.go

var haveBMI2 = cpu.X86.HasBMI2

// packBMI2 is packer.put's loop (pack_amd64.s); false if the values overflow
// the words.
//
//go:noescape
func packBMI2(out *uint64, words int, vals *uint64, n int, widths *uint8, st *[3]uint64) bool

// unpackAddBMI2 is byteUnpacker.addChosen's loop (pack_amd64.s).
//
//go:noescape
func unpackAddBMI2(in *byte, last, pos int, widths *uint8, choices, prod *uint64, n int) (done, newPos int)

//go:generate go run gen_transpose.go
//go:generate go run gen_fold.go

// foldLeavesAVX2 is foldLeaves on the words 0..4*ceil(n/4)-1 of leaves and cols
// (fold_amd64.s).
//
//go:noescape
func foldLeavesAVX2(leaves *[ssLeaves][ssChunk]uint64, n int, cols *[ssK][ssChunk]uint64)

// transpose64x4AVX2 transposes four 64x64 bit matrices, one per lane of a
// (transpose_amd64.s).
//
//go:noescape
func transpose64x4AVX2(a *[64][4]uint64)

// transposeChunkAVX2 transposes the words 4g..4g+3 of a chunk's 128 columns
// into 256 rows of 128 bits at out + 4096g bytes, for g < groups
// (transpose_amd64.s; tmp is its working memory).
//
//go:noescape
func transposeChunkAVX2(cols *uint64, groups int, tmp *[2][64][4]uint64, out *uint64)
