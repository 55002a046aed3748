package he

import (
	"math/bits"

	"github.com/ldsec/lattigo/v2/ring"
)

// sumProducts writes acc0 = sum_t enc[t.enc]*plains[t.plain] and acc1 = sum_t
// crp[t.enc]*plains[t.plain] (NTT domain; the plaintexts carry the Montgomery
// factor, so each product is a Montgomery product). An output of a matrix
// product sums G terms (25 for 128x784x128); reducing each product, as
// lattigo's MulCoeffsMontgomeryAndAdd does, costs two 64x64 multiplications
// more per term than adding the 128-bit products and reducing once: residues
// are below 2^60, so a high word takes 128 products before it is folded mod q.
// The additions run eight coefficients at a time with AVX-512
// (accumulateProductsAVX512), the same 128-bit sums.
func (st *suite) sumProducts(terms []term, enc, crp, plains []*ring.Poly, acc0, acc1 *ring.Poly) {
	const block = 512 // coefficients per pass: the four accumulators stay in L1
	var h0, l0, h1, l1 [block]uint64
	for i, q := range st.q {
		qInv, bred := st.qInv[i], st.bred[i]
		for j0 := 0; j0 < RingDegree; j0 += block {
			clear(h0[:])
			clear(l0[:])
			clear(h1[:])
			clear(l1[:])
			for k, t := range terms {
				if k > 0 && k%128 == 0 {
					foldHigh(&h0, q, bred)
					foldHigh(&h1, q, bred)
				}
				e := enc[t.enc].Coeffs[i][j0 : j0+block]
				a := crp[t.enc].Coeffs[i][j0 : j0+block]
				b := plains[t.plain].Coeffs[i][j0 : j0+block]
				if useAVX512 {
					accumulateProductsAVX512(&e[0], &a[0], &b[0], &h0[0], &l0[0], &h1[0], &l1[0], block)
					continue
				}
				for j := range block {
					hi, lo := bits.Mul64(e[j], b[j])
					var c uint64
					l0[j], c = bits.Add64(l0[j], lo, 0)
					h0[j] += hi + c
					hi, lo = bits.Mul64(a[j], b[j])
					l1[j], c = bits.Add64(l1[j], lo, 0)
					h1[j] += hi + c
				}
			}
			montReduce(acc0.Coeffs[i][j0:j0+block], &h0, &l0, q, qInv, bred)
			montReduce(acc1.Coeffs[i][j0:j0+block], &h1, &l1, q, qInv, bred)
		}
	}
}

// foldHigh reduces the high words mod q (below 2^60), so that 128 more
// products (high words below 2^56 each) fit.
func foldHigh(h *[512]uint64, q uint64, bred []uint64) {
	for j, v := range h {
		h[j] = ring.BRedAdd(v, q, bred)
	}
}

// montReduce writes (h*2^64 + l) / 2^64 mod q: the high word reduced mod q,
// then one Montgomery reduction (as lattigo's MRed).
func montReduce(dst []uint64, h, l *[512]uint64, q, qInv uint64, bred []uint64) {
	for j := range dst {
		hi := ring.BRedAdd(h[j], q, bred)
		m, _ := bits.Mul64(l[j]*qInv, q)
		r := hi - m + q
		if r >= q {
			r -= q
		}
		dst[j] = r
	}
}
