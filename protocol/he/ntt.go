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
// block of d coefficients holds x[0:d]. nttSparse does that copy and runs
// only the remaining log2(d) stages: (log2 d)/log2 N of the work.
func nttSparse(r *ring.Ring, p *ring.Poly, deg int) {
	n := r.N
	d := 1
	for d < deg {
		d <<= 1
	}
	if d >= n/2 {
		r.NTT(p, p)
		return
	}
	for i, q := range r.Modulus {
		x := p.Coeffs[i][:n]
		for b := d; b < n; b += d {
			copy(x[b:b+d], x[:d])
		}
		psi, qInv := r.NttPsi[i], r.MredParams[i]
		twoQ := 2 * q
		for m := n / d; m < n; m <<= 1 {
			t := n / (2 * m)
			for blk := 0; blk < m; blk++ {
				f := psi[m+blk]
				j1 := 2 * blk * t
				xs := x[j1 : j1+t]
				ys := x[j1+t : j1+2*t]
				ys = ys[:len(xs)]
				for j, u := range xs {
					// values stay below 4q: u is brought below 2q, v = y*f < 2q
					if u >= twoQ {
						u -= twoQ
					}
					v := mredLazy(ys[j], f, q, qInv)
					xs[j] = u + v
					ys[j] = u + twoQ - v
				}
			}
		}
		for j, v := range x {
			if v >= twoQ {
				v -= twoQ
			}
			if v >= q {
				v -= q
			}
			x[j] = v
		}
	}
}

// mredLazy returns x*y/2^64 mod q in [0, 2q), for x*y < q*2^64.
func mredLazy(x, y, q, qInv uint64) uint64 {
	hi, lo := bits.Mul64(x, y)
	h, _ := bits.Mul64(lo*qInv, q)
	return hi - h + q
}
