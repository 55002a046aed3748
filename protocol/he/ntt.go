package he

import (
	"math/bits"

	"github.com/ldsec/lattigo/v2/ring"
)

// nttSparse computes, in place, the same forward NTT as lattigo's
// ring.NTT for a polynomial whose coefficients (all below q_i) are zero from
// index deg on. The packed plaintext operands of a matrix product have degree
// below Kw*Nw, often a small fraction of N.
//
// lattigo's NTT is an iterative Cooley-Tukey transform: at stage m (m = 1, 2,
// 4, ..., N/2, t = N/2m) block i pairs x[j] with x[j+t] for j in
// [2it, 2it+t) under the twiddle NttPsi[m+i]. While the upper half of every
// block is zero a butterfly just copies the lower half into it, so after the
// first s = log2(N/d) stages (d = deg rounded up to a power of two) every
// block of d coefficients holds x[0:d], and the remaining log2(d) stages act
// on each block separately. nttSparse runs lattigo's own (unrolled) NTT of
// size d on x[0:d] once per block, with a twiddle table rearranged for that
// block: (log2 d)/(log2 N) of the work of a full NTT.
func (st *suite) nttSparse(r *ring.Ring, p *ring.Poly, deg int) {
	n := r.N
	d := 16 // lattigo's unrolled NTT needs at least 16 points
	for d < deg {
		d <<= 1
	}
	if d >= n/2 {
		r.NTT(p, p)
		return
	}
	s := bits.Len(uint(n/d)) - 1
	tables := st.sparseTwiddles(s)
	for i, q := range r.Modulus {
		x := p.Coeffs[i][:n]
		tw := tables[i]
		// block 0 last: it is computed in place over the input x[:d]
		for b := n/d - 1; b >= 0; b-- {
			ring.NTT(x[:d], x[b*d:(b+1)*d], d, tw[b*d:(b+1)*d], q, r.MredParams[i], r.BredParams[i])
		}
	}
}

// sparseTwiddles returns, for every modulus, the twiddles of the 2^s blocks
// of d = N/2^s points: block b at stage m (m = 1 .. d/2) of its own transform
// is global stage 2^s*m, whose blocks b*m .. b*m+m-1 use NttPsi[2^s*m+b*m+i];
// so its table holds that at index m+i, as lattigo's NTT expects.
func (st *suite) sparseTwiddles(s int) [][]uint64 {
	st.sparseOnce[s].Do(func() {
		r := st.params.RingQ()
		n := r.N
		d := n >> s
		tabs := make([][]uint64, len(r.Modulus))
		for i := range tabs {
			psi := r.NttPsi[i]
			t := make([]uint64, n)
			for b := 0; b < n/d; b++ {
				for m := 1; m < d; m <<= 1 {
					for j := 0; j < m; j++ {
						t[b*d+m+j] = psi[(1<<s)*m+b*m+j]
					}
				}
			}
			tabs[i] = t
		}
		st.sparseTabs[s] = tabs
	})
	return st.sparseTabs[s]
}
