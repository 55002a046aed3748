//go:build amd64 && gc && !purego

package sharing

import "golang.org/x/sys/cpu"

// haveAVX512 reports whether the CPU and OS support the AVX-512 kernel
// (AVX512F for the registers and masks, AVX512DQ for VPMULLQ).
var haveAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ

// gemmKernel4x16 is implemented in matmul_amd64.s; see the comment there.
//
//go:noescape
func gemmKernel4x16(kc int, a *uint64, sai, sap uintptr, b, c *uint64, ldc uintptr, mr int, mask uint64)
