package he

import (
	"github.com/ldsec/lattigo/v2/ring"
	"github.com/tessera-mpc/tessera/sharing"
)

// The per-step functions of a request, in the style of lattigo's multiparty
// protocols (GenShare / AggregateShares / Finalize): each computes one
// party's share of one step, or folds shares together, from the party's key
// material and the session counters alone. None touches a transport; the
// round driver (engine.go) only moves the encoded shares.
//
//	shares-to-encryption  s2eShare -> aggregatePoly (sum = c0 of an encryption)
//	products              plainPoly, productShare (switched to Q') -> aggregateProducts
//	encryption-to-shares  e2sShare (non-aggregators), e2sAggregatorShare,
//	                      aggregateMasked -> switchedFinalize (the aggregator's output share)

// keyShare is one party's key material after Setup: everything the
// per-step functions need, and nothing that talks to peers.
type keyShare struct {
	st      *suite
	sk      *ring.Poly    // s_i mod Q: NTT and Montgomery form; never leaves the party
	pkT     [2]*ring.Poly // 2^64 * (collective public key), mod Q, NTT and Montgomery form
	crpSeed sharing.Seed  // from the coin toss: common reference polynomials
	seeds   map[string]sharing.Seed
}

// commonPoly writes the common reference polynomial a_g of encryption g (NTT
// form). Every party derives the same one; g is a session-wide counter, so no
// a_g is ever used twice (reusing one would reveal A_i - A'_i + 2^64(e - e')).
func (k *keyShare) commonPoly(g uint64, a *ring.Poly) {
	newStream(k.crpSeed, g).uniformPoly(k.st.q, a)
}

// s2eShare writes into h the party's shares-to-encryption share of
// encryption g: h = NTT(A_i + 2^64 e_i) - a*s_i, with A_i the values fill
// writes into a zeroed buffer (elements of Z_2^64 read as centred integers)
// and e_i Gaussian noise from the party's s2e stream. The smudging noise is
// added here: lattigo's CKS adds none in effect (pitfall 1 in the package documentation).
func (k *keyShare) s2eShare(w *worker, g uint64, a *ring.Poly, fill func(dst []uint64), h *ring.Poly) {
	st := k.st
	clear(w.coeffs)
	fill(w.coeffs)
	h.Zero()
	for i, q := range st.q {
		row, bred := h.Coeffs[i], st.bred[i]
		for j, v := range w.coeffs {
			if v != 0 {
				row[j] = residue(v, q, bred)
			}
		}
	}
	newStream(k.seeds[labelS2E], g).gaussian(w.small)
	st.scaledSmall(w.small, h, true)
	w.st.ntt(h)
	mulMont(w.rq, a, k.sk, h, montSub)
}

// aggregatePoly adds a peer's share into acc. Summing every party's
// shares-to-encryption share gives c0 of an encryption (c0, a_g) of the sum
// of their values; summing every party's c1 gives the c1 of an output.
func aggregatePoly(rq *ring.Ring, acc, share *ring.Poly) { rq.Add(acc, share, acc) }

// plainPoly writes into b the party's plaintext polynomial with the
// coefficients fill writes (degree below deg), in NTT and Montgomery form.
// The NTT is linear, so the Montgomery factor goes on the deg coefficients
// before it rather than on all N after it.
func (st *suite) plainPoly(w *worker, deg int, fill func(dst []uint64), b *ring.Poly) {
	clear(w.coeffs[:deg]) // only these are read
	fill(w.coeffs)
	for i, q := range st.q {
		row, bred := b.Coeffs[i], st.bred[i]
		for c, v := range w.coeffs[:deg] {
			row[c] = ring.MForm(residue(v, q, bred), q, bred)
		}
	}
	w.st.nttSparse(b, deg) // reads the coefficients below deg only
}

// productShare is the part of a party's share of one output ciphertext that
// it sends: c1 in full, switched to Q' (NTT form, rows 0 .. switchedModuli-1).
// The c0 part stays with the party (ownProduct) and enters its decryption
// share, so that one inverse NTT serves both (the aggregator only ever needs
// the sum of the c0 parts and of the decryption shares at the targets).
type productShare struct {
	c1 *ring.Poly
}

// ownProduct is the c0 part of a party's share of one output ciphertext, kept
// until its decryption share: sum c0_e*b_p + pkT0*u (NTT form, mod Q, not yet
// switched: the switch is applied at the targets, decryptAt) and the noise
// e0 it gets at the targets after the switch. The zero value adds nothing.
type ownProduct struct {
	c0 *ring.Poly
	e0 []int64
}

// newProductShare allocates a share; c1 comes from the polynomial pool.
func (st *suite) newProductShare() productShare {
	return productShare{c1: getPoly()}
}

func newVec(moduli, n int) [][]uint64 {
	v := make([][]uint64, moduli)
	for i := range v {
		v[i] = make([]uint64, n)
	}
	return v
}

// productShare returns the party's share of output ciphertext o (a session
// counter): sum over the terms of (c0_e*b_p, a_e*b_p), with enc[e] = c0_e
// (NTT), crp[e] = a_e and plains[p] = b_p, plus 2^64*Enc_pk(0) with fresh u,
// e0, e1 from the party's re-randomisation stream. The re-randomisation is
// mandatory: without it c1 = a*b_p and b_p = c1/a, and it comes before the
// switch (a deterministic function of a pseudorandom c1 is pseudorandom). It
// returns the c1 part switched to Q' (e1 added with the switch's
// correction), which is sent, and the c0 part with e0, which is kept.
func (k *keyShare) productShare(w *worker, o uint64, spec outSpec, enc, crp, plains []*ring.Poly) (productShare, ownProduct) {
	st := k.st
	acc0 := getPoly()
	acc1 := getPoly()
	switch len(spec.terms) {
	case 0:
		acc0.Zero()
		acc1.Zero()
	case 1:
		t := spec.terms[0]
		mulMont(w.rq, enc[t.enc], plains[t.plain], acc0, montSet)
		mulMont(w.rq, crp[t.enc], plains[t.plain], acc1, montSet)
	default:
		st.sumProducts(spec.terms, enc, crp, plains, acc0, acc1)
	}
	// + 2^64 * Enc_pk(0) = (pkT0*u + 2^64 e0, pkT1*u + 2^64 e1)
	s := newStream(k.seeds[labelRerand], o)
	s.ternary(w.small)
	u := w.tmp2
	for i, q := range st.q {
		row := u.Coeffs[i]
		for j, v := range w.small {
			row[j] = uint64(v) + q&uint64(v>>63)
		}
	}
	w.st.ntt(u)
	mulMont(w.rq, k.pkT[0], u, acc0, montAdd)
	mulMont(w.rq, k.pkT[1], u, acc1, montAdd)
	s.gaussian(w.small)
	st.switchNTT(w, acc1, w.small) // + 2^64 e1, then divided by q_L
	e0 := make([]int64, len(spec.targets))
	s.gaussian(e0)
	return productShare{c1: acc1}, ownProduct{c0: acc0, e0: e0}
}

// aggregateProducts adds a peer's product share into acc (modulo Q').
func (st *suite) aggregateProducts(rq *ring.Ring, acc *productShare, share productShare) {
	rq.AddLvl(st.sw.level-1, acc.c1, share.c1, acc.c1)
}

// productShareBytes is the wire size of a product share (and of a summed c1).
func (st *suite) productShareBytes() int { return st.low.polyBytes }

func (st *suite) appendProductShare(dst []byte, s productShare) []byte {
	return st.low.appendPoly(dst, s.c1)
}

// readProductShare decodes a product share into s and returns the rest of src.
func (st *suite) readProductShare(src []byte, s productShare) ([]byte, error) {
	return st.low.readPoly(src, s.c1)
}

// partialDecryption writes c1*s_i into w.tmp, in coefficient form, and
// returns it.
func (k *keyShare) partialDecryption(w *worker, c1 *ring.Poly) *ring.Poly {
	d := w.tmp
	mulMont(w.rq, c1, k.sk, d, montSet)
	w.st.invNTT(d, d)
	return d
}

// decryptAt writes into dst (residues modulo the primes of Q', at the
// targets) the party's decryption share of an output with switched c1:
// c1*s_i + c0_i' + 2^64 e0_i, with c0_i' = (c0_i + delta0)/q_L the switch of
// its own c0 part. One inverse NTT modulo Q' serves both terms: c0_i's
// primes of Q' are multiplied by q_L^-1 before it, and delta0, which needs
// c0_i modulo q_L in coefficient form (one inverse NTT of that prime), is
// added after it at the targets only.
func (k *keyShare) decryptAt(w *worker, c1 *ring.Poly, own ownProduct, targets []int, dst [][]uint64) {
	st, m := k.st, k.st.sw
	d := w.tmp
	mulMontLvl(w.rq, m.level-1, c1, k.sk, d, montSet)
	if own.c0 != nil {
		for i, q := range st.low.q {
			mulScalarMontAddVec(own.c0.Coeffs[i], d.Coeffs[i], m.qLInvMont[i], q, st.qInv[i])
		}
		w.st.nttTables()[m.level].inverse(own.c0.Coeffs[m.level], d.Coeffs[m.level])
	}
	w.st.invNTTLvl(m.level-1, d, d)
	for i := range st.low.q {
		row := d.Coeffs[i]
		for t, pos := range targets {
			dst[i][t] = row[pos]
		}
	}
	if own.c0 != nil {
		st.addCorrectionAt(d.Coeffs[m.level], targets, dst, w.small)
	}
	if own.e0 != nil {
		st.low.addScaledSmall(own.e0, dst)
	}
}

// e2sShare returns a non-aggregator's masked decryption share of output o (a
// session counter) with aggregated, switched c1: h = (c1*s_i + c0_i')[T] +
// 2^64 e0_i - M_i (mod Q') at the targets T, with (c0_i, e0_i) the party's
// own c0 part (own, switched here), M_i uniform in [0, 2^maskBits) from the
// party's mask stream, and its output share q_L*M_i mod 2^64 (the switch
// left q_L^-1 times the product in the sum). The c0 part is what the party's
// product share would have carried to the aggregator at the targets: the
// message is the sum of the two earlier ones, which reveals no more than
// both. Each output is decrypted once: the caller must never make or send a
// second share for the same o (lattigo's SECURITY.md), which a fresh mask
// would turn into a leak.
func (k *keyShare) e2sShare(w *worker, o uint64, c1 *ring.Poly, own ownProduct, targets []int, maskBits int) (masked [][]uint64, share []uint64) {
	lo := k.st.low
	masked = newVec(len(lo.q), len(targets))
	k.decryptAt(w, c1, own, targets, masked)
	s := newStream(k.seeds[labelMask], o)
	share = make([]uint64, len(targets))
	for t := range targets {
		share[t] = s.mask(maskBits, lo.q, w.res)
		for i, q := range lo.q {
			masked[i][t] = subMod(masked[i][t], w.res[i], q)
		}
	}
	return masked, k.st.sw.unscale(share)
}

// e2sAggregatorShare adds the aggregator's own decryption share (with its
// switched c0 part) to y at the targets: y += (c1*s_agg + c0_agg')[T] +
// 2^64 e0_agg, modulo Q'.
func (k *keyShare) e2sAggregatorShare(w *worker, c1 *ring.Poly, own ownProduct, targets []int, y [][]uint64) {
	lo := k.st.low
	d := newVec(len(lo.q), len(targets))
	k.decryptAt(w, c1, own, targets, d)
	lo.addVec(y, d)
}

// aggregateMasked adds a peer's masked decryption share into the
// aggregator's y (modulo Q').
func (st *suite) aggregateMasked(y, masked [][]uint64) { st.low.addVec(y, masked) }

// switchedFinalize returns the aggregator's output shares of a request from
// y = x' - sum M_i (every party's masked share added, modulo Q'): the integer
// |y| < Q'/4 recovered from its residues, times q_L, mod 2^64.
func (st *suite) switchedFinalize(y [][]uint64) []uint64 {
	return st.sw.unscale(st.low.e2sFinalize(y))
}

// e2sFinalize returns the output shares from y = x - sum M_i (every party's
// masked share added): the integer |y| < Q/4 recovered from its residues,
// mod 2^64.
func (st *suite) e2sFinalize(y [][]uint64) []uint64 {
	out := make([]uint64, len(y[0]))
	res := make([]uint64, len(st.q))
	for t := range out {
		for i := range res {
			res[i] = y[i][t]
		}
		out[t] = st.crtMod64(res)
	}
	return out
}
