package he

import (
	"math/bits"

	"github.com/ldsec/lattigo/v2/ring"
)

// Our own negacyclic NTT, bit for bit the transform of lattigo's ring.NTT and
// ring.InvNTT (both reduce their output fully modulo q, and the transform is
// a linear map modulo q, so any exact implementation agrees with them on
// every input they accept: forward below 2q, inverse below 2q).
//
// lattigo multiplies by a twiddle with a Montgomery reduction (two 64x64->128
// multiplies per butterfly). Here the twiddles carry Shoup's precomputed
// quotient w' = floor(w*2^64/q): w*y mod q (up to one q) is then
// w*y - hi(w'*y)*q, one 128-bit multiply and two 64-bit ones (Harvey, "Faster
// arithmetic for number-theoretic transforms", 2014). The butterflies are
// Harvey's lazy ones: the forward transform keeps values in [0, 4q), the
// inverse in [0, 2q), and both reduce fully in their last stage, which for
// the inverse also multiplies by N^-1. 4q < 2^64 needs q < 2^62: the primes
// are 60 bits.
//
// The twiddles are lattigo's own tables (NttPsi, NttPsiInv, in bit-reversed
// order and Montgomery form), taken back to standard form: stage m (m = 1, 2,
// 4, ..., N/2, t = N/2m) of the forward transform pairs x[j] with x[j+t] for
// j in [2it, 2it+t) under NttPsi[m+i], and the inverse runs the same stages
// in reverse order under NttPsiInv[m+i].

// nttTable is one prime's twiddles with their Shoup quotients.
type nttTable struct {
	q                   uint64
	psi, psiShoup       []uint64 // forward twiddles, bit-reversed order
	psiInv, psiInvShoup []uint64 // inverse twiddles, bit-reversed order
	nInv, nInvShoup     uint64   // N^-1 mod q
	lastInv, lastShoup  uint64   // psiInv[1] * N^-1 mod q: the inverse's last stage
}

// shoup returns floor(w * 2^64 / q) for w < q.
func shoup(w, q uint64) uint64 {
	quo, _ := bits.Div64(w, 0, q)
	return quo
}

// mulShoup returns w*y mod q plus 0 or q, for any y, with ws = shoup(w, q).
func mulShoup(y, w, ws, q uint64) uint64 {
	hi, _ := bits.Mul64(ws, y)
	return w*y - hi*q
}

// newNTTTable builds the table of prime i of r from lattigo's twiddles.
func newNTTTable(r *ring.Ring, i int) *nttTable {
	q, qInv := r.Modulus[i], r.MredParams[i]
	n := r.N
	t := &nttTable{
		q:   q,
		psi: make([]uint64, n), psiShoup: make([]uint64, n),
		psiInv: make([]uint64, n), psiInvShoup: make([]uint64, n),
	}
	for j := 0; j < n; j++ {
		t.psi[j] = ring.InvMForm(r.NttPsi[i][j], q, qInv)
		t.psiShoup[j] = shoup(t.psi[j], q)
		t.psiInv[j] = ring.InvMForm(r.NttPsiInv[i][j], q, qInv)
		t.psiInvShoup[j] = shoup(t.psiInv[j], q)
	}
	t.nInv = ring.InvMForm(r.NttNInv[i], q, qInv)
	t.nInvShoup = shoup(t.nInv, q)
	t.lastInv = mulMod(t.psiInv[1], t.nInv, q)
	t.lastShoup = shoup(t.lastInv, q)
	return t
}

// nttTables returns the tables of the suite's primes, built once.
func (st *suite) nttTables() []*nttTable {
	st.nttOnce.Do(func() {
		r := st.params.RingQ()
		st.nttTabs = make([]*nttTable, len(st.q))
		for i := range st.q {
			st.nttTabs[i] = newNTTTable(r, i)
		}
	})
	return st.nttTabs
}

// nttLvl transforms rows 0 .. level of p in place, as lattigo's NTTLvl.
func (st *suite) nttLvl(level int, p *ring.Poly) {
	for i, t := range st.nttTables()[:level+1] {
		t.forward(p.Coeffs[i], 1)
	}
}

// ntt transforms every row of p in place, as lattigo's NTT.
func (st *suite) ntt(p *ring.Poly) { st.nttLvl(len(st.q)-1, p) }

// invNTTLvl writes into rows 0 .. level of out the inverse transform of those
// of in, as lattigo's InvNTTLvl.
func (st *suite) invNTTLvl(level int, in, out *ring.Poly) {
	for i, t := range st.nttTables()[:level+1] {
		t.inverse(in.Coeffs[i], out.Coeffs[i])
	}
}

// invNTT is invNTTLvl on every row, as lattigo's InvNTT.
func (st *suite) invNTT(in, out *ring.Poly) { st.invNTTLvl(len(st.q)-1, in, out) }

// nttSparse writes into p, in place, the forward NTT (as nttLvl) of the
// polynomial whose coefficients below deg are those of p (all below q_i) and
// the others zero: it reads p's coefficients below deg only. The packed
// plaintext operands of a matrix product have degree below Kw*Nw, often a
// small fraction of N.
//
// While the upper half of every block is zero a forward butterfly just
// copies the lower half into it, so after the first s = log2(N/d) stages (d
// = deg rounded up to a power of two) every block of d coefficients holds
// x[0:d]. nttSparse makes those copies and runs the remaining log2(d) stages
// only: (log2 d)/(log2 N) of the work of a full NTT. (Reading every block's
// first stage from x[0:d] instead of copying was no faster.)
func (st *suite) nttSparse(p *ring.Poly, deg int) {
	n := RingDegree
	d := 2
	for d < deg {
		d <<= 1
	}
	for i, t := range st.nttTables() {
		x := p.Coeffs[i][:n]
		clear(x[deg:d])
		for b := d; b < n; b += d {
			copy(x[b:b+d], x[:d])
		}
		t.forward(x, n/d)
	}
}

// useAVX512 selects the AVX-512 stages (kernels_amd64.s) where the CPU has
// them; the tests turn it off to check the Go stages too.
var useAVX512 = haveAVX512

// smallPerms[t], for t = 1, 2, 4, are the lane permutations of the AVX-512
// stages with that t, on 16 coefficients c = (A, B) in two registers: X
// (the first of every pair) and Y (the second) from c, c back from X and Y
// (A, then B), and the twiddle of each lane among the 8 read at once.
var smallPerms = [5][5][8]uint64{
	1: {
		{0, 2, 4, 6, 8, 10, 12, 14}, {1, 3, 5, 7, 9, 11, 13, 15},
		{0, 8, 1, 9, 2, 10, 3, 11}, {4, 12, 5, 13, 6, 14, 7, 15},
		{0, 1, 2, 3, 4, 5, 6, 7},
	},
	2: {
		{0, 1, 4, 5, 8, 9, 12, 13}, {2, 3, 6, 7, 10, 11, 14, 15},
		{0, 1, 8, 9, 2, 3, 10, 11}, {4, 5, 12, 13, 6, 7, 14, 15},
		{0, 0, 1, 1, 2, 2, 3, 3},
	},
	4: {
		{0, 1, 2, 3, 8, 9, 10, 11}, {4, 5, 6, 7, 12, 13, 14, 15},
		{0, 1, 2, 3, 8, 9, 10, 11}, {4, 5, 6, 7, 12, 13, 14, 15},
		{0, 0, 0, 0, 1, 1, 1, 1},
	},
}

// forward runs the stages m0, 2*m0, ..., N/2 of the forward transform on a in
// place (m0 = 1: the whole transform). Input below 4q, output below q.
func (t *nttTable) forward(a []uint64, m0 int) {
	n := len(a)
	if useAVX512 && n >= 16 {
		t.forwardAVX512(a, m0)
		return
	}
	q := t.q
	twoQ := 2 * q
	for m := m0; m < n/2; m <<= 1 {
		h := n / (2 * m)
		if h == 2 {
			t.forwardPairs2(a, m)
			continue
		}
		for i := 0; i < m; i++ {
			w, ws := t.psi[m+i], t.psiShoup[m+i]
			x := a[2*i*h : 2*i*h+h]
			y := a[2*i*h+h : 2*i*h+2*h]
			y = y[:len(x)]
			for j := range x {
				u := x[j]
				if u >= twoQ {
					u -= twoQ
				}
				v := mulShoup(y[j], w, ws, q)
				x[j] = u + v
				y[j] = u - v + twoQ
			}
		}
	}
	t.forwardLast(a)
}

// forwardAVX512 is forward by the AVX-512 stages.
func (t *nttTable) forwardAVX512(a []uint64, m0 int) {
	n := len(a)
	for m := m0; m <= n/2; m <<= 1 {
		h := n / (2 * m)
		if h >= 8 {
			fwdBigAVX512(&a[0], m, h, &t.psi[m], &t.psiShoup[m], t.q)
		} else {
			fwdSmallAVX512(&a[0], &a[0], n, &t.psi[m], &t.psiShoup[m], &smallPerms[h], t.q, 8/h)
		}
	}
	reduce4qAVX512(&a[0], n, t.q)
}

// forwardPairs2 is a forward stage with t = 2: blocks of four coefficients.
func (t *nttTable) forwardPairs2(a []uint64, m int) {
	q := t.q
	twoQ := 2 * q
	psi, psiS := t.psi[m:2*m], t.psiShoup[m:2*m]
	psiS = psiS[:len(psi)]
	for i := range psi {
		w, ws := psi[i], psiS[i]
		x := a[4*i : 4*i+4 : 4*i+4]
		u0, u1 := x[0], x[1]
		if u0 >= twoQ {
			u0 -= twoQ
		}
		if u1 >= twoQ {
			u1 -= twoQ
		}
		v0 := mulShoup(x[2], w, ws, q)
		v1 := mulShoup(x[3], w, ws, q)
		x[0], x[1] = u0+v0, u1+v1
		x[2], x[3] = u0-v0+twoQ, u1-v1+twoQ
	}
}

// forwardLast is the last forward stage (t = 1), with the full reduction.
func (t *nttTable) forwardLast(a []uint64) {
	n := len(a)
	q := t.q
	twoQ := 2 * q
	psi, psiS := t.psi[n/2:n], t.psiShoup[n/2:n]
	psiS = psiS[:len(psi)]
	for i := range psi {
		x := a[2*i : 2*i+2 : 2*i+2]
		u := x[0]
		if u >= twoQ {
			u -= twoQ
		}
		v := mulShoup(x[1], psi[i], psiS[i], q)
		r0, r1 := u+v, u-v+twoQ
		if r0 >= twoQ {
			r0 -= twoQ
		}
		if r0 >= q {
			r0 -= q
		}
		if r1 >= twoQ {
			r1 -= twoQ
		}
		if r1 >= q {
			r1 -= q
		}
		x[0], x[1] = r0, r1
	}
}

// inverse writes into out (which may be in) the inverse transform of in,
// times N^-1. Input below 2q, output below q.
func (t *nttTable) inverse(in, out []uint64) {
	n := len(in)
	if useAVX512 && n >= 16 {
		t.inverseAVX512(in, out)
		return
	}
	q := t.q
	twoQ := 2 * q
	out = out[:n]
	// first stage (t = 1), from in to out
	psi, psiS := t.psiInv[n/2:n], t.psiInvShoup[n/2:n]
	psiS = psiS[:len(psi)]
	for i := range psi {
		x := in[2*i : 2*i+2 : 2*i+2]
		y := out[2*i : 2*i+2 : 2*i+2]
		u, v := x[0], x[1]
		s := u + v
		if s >= twoQ {
			s -= twoQ
		}
		y[0], y[1] = s, mulShoup(u-v+twoQ, psi[i], psiS[i], q)
	}
	for m := n / 4; m > 1; m >>= 1 {
		h := n / (2 * m)
		for i := 0; i < m; i++ {
			w, ws := t.psiInv[m+i], t.psiInvShoup[m+i]
			x := out[2*i*h : 2*i*h+h]
			y := out[2*i*h+h : 2*i*h+2*h]
			y = y[:len(x)]
			for j := range x {
				u, v := x[j], y[j]
				s := u + v
				if s >= twoQ {
					s -= twoQ
				}
				x[j] = s
				y[j] = mulShoup(u-v+twoQ, w, ws, q)
			}
		}
	}
	t.inverseLast(out)
}

// inverseAVX512 is inverse by the AVX-512 stages.
func (t *nttTable) inverseAVX512(in, out []uint64) {
	n := len(in)
	out = out[:n]
	src := &in[0]
	for m := n / 2; m > 1; m >>= 1 {
		h := n / (2 * m)
		if h >= 8 {
			invBigAVX512(&out[0], m, h, &t.psiInv[m], &t.psiInvShoup[m], t.q)
		} else {
			invSmallAVX512(src, &out[0], n, &t.psiInv[m], &t.psiInvShoup[m], &smallPerms[h], t.q, 8/h)
		}
		src = &out[0]
	}
	c := [4]uint64{t.nInv, t.nInvShoup, t.lastInv, t.lastShoup}
	invLastAVX512(&out[0], n/2, &c, t.q)
}

// inverseLast is the last inverse stage (m = 1, t = N/2), times N^-1, with
// the full reduction.
func (t *nttTable) inverseLast(a []uint64) {
	q := t.q
	twoQ := 2 * q
	x := a[:len(a)/2]
	y := a[len(a)/2:]
	y = y[:len(x)]
	for j := range x {
		u, v := x[j], y[j]
		r0 := mulShoup(u+v, t.nInv, t.nInvShoup, q)
		r1 := mulShoup(u-v+twoQ, t.lastInv, t.lastShoup, q)
		if r0 >= q {
			r0 -= q
		}
		if r1 >= q {
			r1 -= q
		}
		x[j], y[j] = r0, r1
	}
}
