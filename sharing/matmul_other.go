//go:build !amd64 || !gc || purego

package sharing

// haveAVX512 is false off amd64 (and in purego builds): only the portable
// kernel exists.
const haveAVX512 = false

func gemmKernel4x16(kc int, a *uint64, sai, sap uintptr, b, c *uint64, ldc uintptr, mr int, mask uint64) {
	panic("sharing: AVX-512 kernel called on a build without it")
}
