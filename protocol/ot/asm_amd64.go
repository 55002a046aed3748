//go:build amd64 && gc && !purego

package ot

import "golang.org/x/sys/cpu"

var haveAESNI = cpu.X86.HasAES

// encryptBlocksAESNI encrypts n 16-byte blocks at buf in place under the
// round keys (aes_amd64.s).
//
//go:noescape
func encryptBlocksAESNI(keys *[11][16]byte, buf *byte, n int)

var haveAVX2 = cpu.X86.HasAVX2

//go:generate go run gen_transpose.go

// transpose64x4AVX2 transposes four 64x64 bit matrices, one per lane of a
// (transpose_amd64.s).
//
//go:noescape
func transpose64x4AVX2(a *[64][4]uint64)
