package he

import (
	"fmt"
	"math/big"

	"github.com/ldsec/lattigo/v2/ring"
)

// Modulus switching (BGV style, plaintext modulus t = 2^64). After the
// homomorphic product every party's share of an output ciphertext carries
// noise of about 2^147, far below Q/2 = 2^239: the fourth prime is needed to
// hold the product, not to decrypt it. Each party divides its own product
// share by the last prime q_L before anything of it leaves the party, and
// every later message (its c1, the summed c1, its decryption share) travels
// modulo Q' = Q/q_L, a quarter smaller.
//
// For a polynomial c mod Q (coefficient form), with r = [-c * t^-1]_{q_L}
// centred in (-q_L/2, q_L/2) and delta = t*r:
//
//	c' = (c + delta) / q_L   (exact: c + delta = 0 mod q_L)
//
// delta = 0 mod t, so a ciphertext (c0, c1) with c0 + c1*s = x (mod Q), x =
// m + t*E, becomes (c0', c1') with c0' + c1'*s = x' (mod Q'), where
//
//	x' = (x + delta0 + delta1*s) / q_L = q_L^-1 * m (mod t)
//
// (q_L is odd, so invertible mod 2^64): the output shares are multiplied by
// q_L mod 2^64 at the end. lattigo's DivRoundByLastModulusNTT is the CKKS
// rescale, delta = -[c]_{q_L}, which is not 0 mod t: it would leave
// x' = q_L^-1 (m + t E - [c0]_{q_L} - [c1]_{q_L} s) with a non-multiple of t
// inside, and the shares would be wrong (TestModulusSwitchExact checks that
// it is). The rounding adds |delta0 + delta1*s| / q_L <= t/2 (1 + ||s||_1)
// per party (logXBound).
//
// In RNS, for every prime q_i of Q': c'_i = (c_i + delta mod q_i) * q_L^-1,
// which is linear, so it also holds in the NTT domain with NTT_i(delta):
// switching a polynomial costs one inverse NTT modulo q_L and a forward NTT
// of delta modulo the other primes. The re-randomisation's e1 rides on that
// forward NTT (delta + t*e1 is transformed at once), and the c0 part is only
// needed at the targets, after the decryption's inverse NTT, so the switch
// adds no transform to a party's work.
type modSwitch struct {
	level      int      // index of q_L in Q; Q' keeps primes 0 .. level-1
	qL         uint64   // the dropped prime
	qLInvMred  uint64   // lattigo's Montgomery parameter of q_L
	halfQL     int64    // (q_L - 1) / 2
	negTInv    uint64   // -(2^64)^-1 mod q_L, Montgomery form
	qLInvMont  []uint64 // q_L^-1 mod q_i, Montgomery form, i < level
	tQLInvMont []uint64 // 2^64 * q_L^-1 mod q_i, Montgomery form, i < level
}

// switchedModuli is how many primes of Q remain after the switch.
const switchedModuli = 3

func newModSwitch(st *suite) (*modSwitch, error) {
	rq := st.params.RingQ()
	l := switchedModuli
	if len(st.q) != l+1 {
		return nil, fmt.Errorf("modulus switch from %d primes to %d", len(st.q), l)
	}
	qL := st.q[l]
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	bqL := new(big.Int).SetUint64(qL)
	tInv := new(big.Int).ModInverse(new(big.Int).Mod(two64, bqL), bqL)
	if tInv == nil || qL%2 == 0 {
		return nil, fmt.Errorf("the last prime is not coprime to 2^64")
	}
	m := &modSwitch{
		level: l, qL: qL, qLInvMred: rq.MredParams[l], halfQL: int64((qL - 1) / 2),
		negTInv: ring.MForm(qL-tInv.Uint64(), qL, rq.BredParams[l]),
	}
	for i, q := range st.q[:l] {
		bq := new(big.Int).SetUint64(q)
		inv := new(big.Int).ModInverse(new(big.Int).SetUint64(qL%q), bq)
		if inv == nil {
			return nil, fmt.Errorf("moduli are not coprime")
		}
		tInvI := new(big.Int).Mod(new(big.Int).Mul(inv, two64), bq)
		m.qLInvMont = append(m.qLInvMont, ring.MForm(inv.Uint64(), q, rq.BredParams[i]))
		m.tQLInvMont = append(m.tQLInvMont, ring.MForm(tInvI.Uint64(), q, rq.BredParams[i]))
	}
	return m, nil
}

// correction returns r + e for a coefficient a (mod q_L, reduced) of a
// polynomial to which t*e is still to be added: r = [-(a + t*e) t^-1]_{q_L},
// centred, so that t*(r + e) is what (a + t*e) needs, beyond t*e itself, to
// become a multiple of q_L. |e| must be far below q_L/2.
func (m *modSwitch) correction(a uint64, e int64) int64 {
	v := ring.MRed(a, m.negTInv, m.qL, m.qLInvMred) // -a * t^-1 mod q_L
	r := int64(v)
	if r > m.halfQL {
		r -= int64(m.qL)
	}
	r -= e
	if r > m.halfQL {
		r -= int64(m.qL)
	} else if r < -m.halfQL {
		r += int64(m.qL)
	}
	return r + e
}

// switchNTT replaces p (NTT form mod Q) plus 2^64*e (coefficient form; nil
// for none) by its switch modulo Q': rows 0 .. level-1 of p then hold
// (p + 2^64 e + delta)/q_L in NTT form, and row level is spent. It uses
// w.tmp2 and w.small (e may be w.small).
func (st *suite) switchNTT(w *worker, p *ring.Poly, e []int64) {
	m := st.sw
	u := w.tmp2
	w.st.nttTables()[m.level].inverse(p.Coeffs[m.level], u.Coeffs[m.level])
	corr := w.small
	for j, a := range u.Coeffs[m.level] {
		var ej int64
		if e != nil {
			ej = e[j]
		}
		corr[j] = m.correction(a, ej)
	}
	st.low.scaledSmall(corr, u, false)
	w.st.nttLvl(m.level-1, u)
	for i, q := range st.low.q {
		addMulScalarMontVec(p.Coeffs[i], u.Coeffs[i], p.Coeffs[i], m.qLInvMont[i], q, st.qInv[i])
	}
}

// addCorrectionAt adds, at every target t, the switch of the coefficient
// form c (mod q_L) of a polynomial whose other primes were already
// multiplied by q_L^-1: 2^64 * q_L^-1 * r with r = [-c[pos] t^-1]_{q_L}.
func (st *suite) addCorrectionAt(cL []uint64, targets []int, dst [][]uint64, scratch []int64) {
	m := st.sw
	r := scratch[:len(targets)]
	for t, pos := range targets {
		r[t] = m.correction(cL[pos], 0)
	}
	for i, q := range st.low.q {
		tm, qi := m.tQLInvMont[i], st.qInv[i]
		for t, x := range r {
			v := uint64(x) + q&uint64(x>>63)
			dst[i][t] = addMod(dst[i][t], ring.MRed(v, tm, q, qi), q)
		}
	}
}

// unscale multiplies switched output shares by q_L mod 2^64: their sum is
// then m rather than q_L^-1 * m. q_L is odd, so a uniform share stays
// uniform.
func (m *modSwitch) unscale(shares []uint64) []uint64 {
	for t := range shares {
		shares[t] *= m.qL
	}
	return shares
}
