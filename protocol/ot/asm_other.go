//go:build !amd64 || !gc || purego

package ot

const haveAESNI = false

func encryptBlocksAESNI(keys *[11][16]byte, buf *byte, n int) {
	panic("unreachable: no AES-NI path on this platform")
}

func ctr8KeysAESNI(keys *[8][11][16]byte, ctrs *uint64, n int, out *byte, stride int) {
	panic("unreachable: no AES-NI path on this platform")
}

const haveVAES = false

func ctr16KeysVAES(keys *[11][ssLeaves][16]byte, ctrs *uint64, n int, out *byte) {
	panic("unreachable: no VAES path on this platform")
}

const haveVAES512 = false

func ctr16KeysVAES512(keys *[11][ssLeaves][16]byte, ctrs *uint64, n int, out *byte) {
	panic("unreachable: no VAES path on this platform")
}

func hashRowsVAES(keys *[11][32]byte, rows *uint64, n int, c *[12]uint64, out *uint64) {
	panic("unreachable: no VAES path on this platform")
}

func hashRowsVAES512(keys *[11][32]byte, rows *uint64, n int, c *[40]uint64, out *uint64) {
	panic("unreachable: no VAES path on this platform")
}

const haveBMI2 = false

func packBMI2(out *uint64, words int, vals *uint64, n int, widths *uint8, st *[3]uint64) bool {
	panic("unreachable: no BMI2 path on this platform")
}

func unpackAddBMI2(in *byte, last, pos int, widths *uint8, choices, prod *uint64, n int) (done, newPos int) {
	panic("unreachable: no BMI2 path on this platform")
}

const haveAVX2 = false

func foldLeavesAVX2(leaves *[ssLeaves][ssChunk]uint64, n int, cols *[ssK][ssChunk]uint64) {
	panic("unreachable: no AVX2 path on this platform")
}

func transpose64x4AVX2(a *[64][4]uint64) {
	panic("unreachable: no AVX2 path on this platform")
}

func transposeChunkAVX2(cols *uint64, groups int, tmp *[2][64][4]uint64, out *uint64) {
	panic("unreachable: no AVX2 path on this platform")
}
