//go:build !amd64 || !gc || purego

package he

const haveAVX512, haveVBMI = false, false

func fwdBigAVX512(a *uint64, m, t int, psi, psiShoup *uint64, q uint64) {
	panic("unreachable: no AVX-512 path on this platform")
}

func invBigAVX512(a *uint64, m, t int, psi, psiShoup *uint64, q uint64) {
	panic("unreachable: no AVX-512 path on this platform")
}

func fwdSmallAVX512(in, out *uint64, n int, psi, psiShoup *uint64, perm *[5][8]uint64, q uint64, step int) {
	panic("unreachable: no AVX-512 path on this platform")
}

func invSmallAVX512(in, out *uint64, n int, psi, psiShoup *uint64, perm *[5][8]uint64, q uint64, step int) {
	panic("unreachable: no AVX-512 path on this platform")
}

func reduce4qAVX512(a *uint64, n int, q uint64) {
	panic("unreachable: no AVX-512 path on this platform")
}

func invLastAVX512(a *uint64, half int, c *[4]uint64, q uint64) {
	panic("unreachable: no AVX-512 path on this platform")
}

func gaussianAVX512(words *uint64, n int, dst *int64, cdt *[NoiseBound]uint64) {
	panic("unreachable: no AVX-512 path on this platform")
}

func pack60AVX512(vals *uint64, groups int, dst *byte, c *pack60Consts) {
	panic("unreachable: no AVX-512 path on this platform")
}

func unpack60AVX512(src *byte, groups int, dst *uint64, c *pack60Consts, q uint64) int {
	panic("unreachable: no AVX-512 path on this platform")
}

func mulMontAVX512(x, y, z *uint64, n int, q, qInv uint64, mode int) {
	panic("unreachable: no AVX-512 path on this platform")
}

func mulScalarMontAVX512(x, y, z *uint64, n int, s, q, qInv uint64, mode int) {
	panic("unreachable: no AVX-512 path on this platform")
}

func scaledSmallAVX512(e *int64, z *uint64, n int, t, q, qInv uint64, add int) {
	panic("unreachable: no AVX-512 path on this platform")
}

func accumulateProductsAVX512(e, a, b, h0, l0, h1, l1 *uint64, n int) {
	panic("unreachable: no AVX-512 path on this platform")
}
