package he

import (
	"math/big"
	"testing"

	"github.com/ldsec/lattigo/v2/ring"
)

// bigSwitch is the modulus switch of one coefficient in big-integer
// arithmetic, as modswitch.go defines it: for X in [0, Q), r = [-X * 2^-64]
// mod q_L centred, and (X + 2^64 r)/q_L (which must be exact) mod Q'.
type bigSwitch struct {
	qL, halfQL, tInv, two64, qLow *big.Int
}

func newBigSwitch(st *suite) bigSwitch {
	qL := new(big.Int).SetUint64(st.sw.qL)
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	return bigSwitch{qL: qL, halfQL: new(big.Int).Rsh(qL, 1), tInv: new(big.Int).ModInverse(two64, qL),
		two64: two64, qLow: st.low.params.QBigInt()}
}

func (b bigSwitch) apply(t *testing.T, x *big.Int) *big.Int {
	r := new(big.Int).Neg(x)
	r.Mul(r, b.tInv).Mod(r, b.qL)
	if r.Cmp(b.halfQL) > 0 {
		r.Sub(r, b.qL)
	}
	y := new(big.Int).Add(x, r.Mul(r, b.two64))
	y, rem := y.QuoRem(y, b.qL, new(big.Int))
	if rem.Sign() != 0 {
		t.Fatalf("c + delta is not a multiple of q_L")
	}
	return y.Mod(y, b.qLow)
}

// coefficientBig returns coefficient j of p (coefficient form, residues
// modulo every prime of st) as an integer in [0, Q).
func coefficientBig(st *suite, p *ring.Poly, j int) *big.Int {
	res := make([]uint64, len(st.q))
	for i := range res {
		res[i] = p.Coeffs[i][j]
	}
	return crtBig(st, res)
}

// centredBig returns x mod m in (-m/2, m/2].
func centredBig(x, m *big.Int) *big.Int {
	y := new(big.Int).Mod(x, m)
	if y.Cmp(new(big.Int).Rsh(m, 1)) > 0 {
		y.Sub(y, m)
	}
	return y
}

// switchCase is n parties' ciphertexts (c0_j, c1_j) mod Q under the summed
// secret s, each decrypting to m_j + 2^64 E_j with |E_j| near 2^83, as a
// party's product share after its re-randomisation does (before e1 and e0).
type switchCase struct {
	np      int
	keys    []*keyShare // only st and sk are set
	s       []int64     // sum of the secret shares, coefficient form
	m       [][]uint64  // m_j mod 2^64
	c0, c1  []*ring.Poly
	e1, e0  [][]int64
	targets []int
}

func newSwitchCase(t *testing.T, w *worker, np int, seed uint64) *switchCase {
	t.Helper()
	st, rng := getSuite(), testRand(seed)
	c := &switchCase{np: np, s: make([]int64, RingDegree), targets: []int{0, 1, 77, RingDegree / 2, RingDegree - 1}}
	sNTT := w.rq.NewPoly()
	for j := 0; j < np; j++ {
		sk := w.rq.NewPoly()
		for k := 0; k < RingDegree; k++ {
			v := int64(rng.IntN(3)) - 1
			c.s[k] += v
			for i, q := range st.q {
				sk.Coeffs[i][k] = uint64(v) + q&uint64(v>>63)
			}
		}
		w.rq.NTT(sk, sk)
		w.rq.MForm(sk, sk)
		w.rq.Add(sNTT, sk, sNTT)
		c.keys = append(c.keys, &keyShare{st: st, sk: sk})
	}
	for j := 0; j < np; j++ {
		x, m := w.rq.NewPoly(), make([]uint64, RingDegree)
		for k := range m {
			m[k] = rng.Uint64()
			e := new(big.Int).Lsh(big.NewInt(rng.Int64()), 20) // |E| < 2^83
			v := new(big.Int).Add(big.NewInt(int64(m[k])), e.Lsh(e, 64))
			for i, q := range st.q {
				x.Coeffs[i][k] = new(big.Int).Mod(v, new(big.Int).SetUint64(q)).Uint64()
			}
		}
		w.rq.NTT(x, x)
		c1 := w.rq.NewPoly()
		newStream(deriveSeed([32]byte{byte(seed)}, "c1"), uint64(j)).uniformPoly(st.q, c1)
		c0 := w.rq.NewPoly()
		w.rq.MulCoeffsMontgomery(c1, sNTT, c0)
		w.rq.Sub(x, c0, c0) // c0 + c1*s = m + 2^64 E
		e1, e0 := make([]int64, RingDegree), make([]int64, len(c.targets))
		str := newStream(deriveSeed([32]byte{byte(seed)}, "e"), uint64(j))
		str.gaussian(e1)
		str.gaussian(e0)
		c.m, c.c0, c.c1, c.e1, c.e0 = append(c.m, m), append(c.c0, c0), append(c.c1, c1), append(c.e1, e1), append(c.e0, e0)
	}
	return c
}

// run switches every party's c1 (with its e1) as productShare does, sums
// them and returns the sum of every party's decryption share at the targets
// (modulo Q', unmasked).
func (c *switchCase) run(w *worker) [][]uint64 {
	st := getSuite()
	sum := w.rq.NewPoly()
	for j := range c.np {
		c1 := c.c1[j].CopyNew()
		copy(w.small, c.e1[j])
		st.switchNTT(w, c1, w.small)
		st.aggregateProducts(w.rq, &productShare{c1: sum}, productShare{c1: c1})
	}
	y := newVec(len(st.low.q), len(c.targets))
	for j, k := range c.keys {
		k.e2sAggregatorShare(w, sum, ownProduct{c0: c.c0[j], e0: c.e0[j]}, c.targets, y)
	}
	return y
}

// reference computes the same sum in big-integer arithmetic at the targets:
// sum over j of switch(c0_j) + switch(c1_j + 2^64 e1_j) * s + 2^64 e0_j, mod Q'.
func (c *switchCase) reference(t *testing.T, w *worker) []*big.Int {
	st, bs := getSuite(), newBigSwitch(getSuite())
	acc := make([]*big.Int, len(c.targets))
	for ti := range acc {
		acc[ti] = new(big.Int)
	}
	sw := make([]*big.Int, RingDegree)
	for j := range c.np {
		c0, c1 := w.rq.NewPoly(), w.rq.NewPoly()
		w.rq.InvNTT(c.c0[j], c0)
		w.rq.InvNTT(c.c1[j], c1)
		for k := range sw {
			x := coefficientBig(st, c1, k)
			x.Add(x, new(big.Int).Mul(big.NewInt(c.e1[j][k]), bs.two64))
			sw[k] = bs.apply(t, x.Mod(x, st.params.QBigInt()))
		}
		for ti, pos := range c.targets {
			acc[ti].Add(acc[ti], bs.apply(t, coefficientBig(st, c0, pos)))
			acc[ti].Add(acc[ti], new(big.Int).Mul(big.NewInt(c.e0[j][ti]), bs.two64))
			for k, v := range sw { // negacyclic: X^N = -1
				sk := c.s[(pos-k+RingDegree)%RingDegree]
				if k > pos {
					sk = -sk
				}
				if sk != 0 {
					acc[ti].Add(acc[ti], new(big.Int).Mul(v, big.NewInt(sk)))
				}
			}
		}
	}
	for _, a := range acc {
		a.Mod(a, bs.qLow)
	}
	return acc
}

// TestModulusSwitchExact: n parties' product shares switched from Q to Q'
// (c1 with its e1 in the NTT domain, c0 at the targets inside the
// decryption share) decrypt, summed, to exactly what big-integer
// arithmetic gives for the switch of every coefficient, and the output
// shares (times q_L) to the sum of the messages mod 2^64; the switch's noise
// stays within logXBound's rounding term. The CKKS rescale (lattigo's
// DivRoundByLastModulusNTT, which lacks the 2^64 correction) does not.
func TestModulusSwitchExact(t *testing.T) {
	w := testWorker(t)
	st := getSuite()
	for _, np := range []int{2, 3, 5, 8} {
		c := newSwitchCase(t, w, np, uint64(40+np))
		y := c.run(w)
		shares := st.switchedFinalize(newVecCopy(y))
		qp := st.low.params.QBigInt()
		var l1 int64
		for _, v := range c.s {
			l1 += max(v, -v)
		}
		bound := new(big.Float).SetFloat64(float64(np) * (float64(1+l1)*0x1p63 + NoiseBound*0x1p64))
		ref := c.reference(t, w)
		for ti, pos := range c.targets {
			var want uint64
			for j := range c.np {
				want += c.m[j][pos]
			}
			if shares[ti] != want {
				t.Fatalf("%d parties, target %d: shares sum to %#x, want %#x", np, pos, shares[ti], want)
			}
			got := crtBig(st.low, []uint64{y[0][ti], y[1][ti], y[2][ti]})
			if got.Cmp(ref[ti]) != 0 {
				t.Fatalf("%d parties, target %d: RNS switch differs from the big-integer one", np, pos)
			}
			c.checkNoise(t, w, ti, centredBig(got, qp), bound)
		}
		if bad := c.rescaleMismatches(w); bad < len(c.targets)-1 {
			t.Fatalf("%d parties: the CKKS rescale (no 2^64 correction) gave %d wrong targets of %d: the test cannot tell", np, bad, len(c.targets))
		}
	}
}

func newVecCopy(v [][]uint64) [][]uint64 {
	out := make([][]uint64, len(v))
	for i := range v {
		out[i] = append([]uint64(nil), v[i]...)
	}
	return out
}

// checkNoise checks |x' - sum_j x_j/q_L| <= bound (the rounding and e0 of
// logXBound) at target ti, with x_j = c0_j + c1_j*s (mod Q, centred) before the
// switch.
func (c *switchCase) checkNoise(t *testing.T, w *worker, ti int, got *big.Int, bound *big.Float) {
	t.Helper()
	st := getSuite()
	sNTT := w.rq.NewPoly()
	for _, k := range c.keys {
		w.rq.Add(sNTT, k.sk, sNTT)
	}
	sum := new(big.Float)
	for j := range c.np {
		x := w.rq.NewPoly()
		w.rq.MulCoeffsMontgomery(c.c1[j], sNTT, x)
		w.rq.Add(x, c.c0[j], x)
		w.rq.InvNTT(x, x)
		xj := centredBig(coefficientBig(st, x, c.targets[ti]), st.params.QBigInt())
		sum.Add(sum, new(big.Float).Quo(new(big.Float).SetInt(xj), new(big.Float).SetUint64(st.sw.qL)))
	}
	diff := new(big.Float).Sub(new(big.Float).SetInt(got), sum)
	if diff.Abs(diff).Cmp(bound) > 0 {
		t.Fatalf("%d parties: switch noise %.3g above the bound %.3g", c.np, diff, bound)
	}
}

// rescaleMismatches decrypts the parties' shares rescaled by lattigo's CKKS
// rescale instead (delta = -[c]_{q_L}, not a multiple of 2^64) and counts
// the targets where q_L times the result is not the sum of the messages mod
// 2^64.
func (c *switchCase) rescaleMismatches(w *worker) int {
	st := getSuite()
	sNTT := w.rq.NewPoly()
	for _, k := range c.keys {
		w.rq.Add(sNTT, k.sk, sNTT)
	}
	x := w.rq.NewPoly()
	for j := range c.np {
		c0, c1, pool := w.rq.NewPoly(), w.rq.NewPoly(), w.rq.NewPoly()
		w.rq.DivRoundByLastModulusNTTLvl(st.sw.level, c.c0[j], pool, c0)
		w.rq.DivRoundByLastModulusNTTLvl(st.sw.level, c.c1[j], pool, c1)
		w.rq.MulCoeffsMontgomeryAndAddLvl(st.sw.level-1, c1, sNTT, x)
		w.rq.AddLvl(st.sw.level-1, x, c0, x)
	}
	w.rq.InvNTTLvl(st.sw.level-1, x, x)
	bad := 0
	for _, pos := range c.targets {
		var want uint64
		for j := range c.np {
			want += c.m[j][pos]
		}
		got := st.low.crtMod64([]uint64{x.Coeffs[0][pos], x.Coeffs[1][pos], x.Coeffs[2][pos]})
		if got*st.sw.qL != want {
			bad++
		}
	}
	return bad
}
