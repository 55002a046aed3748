package he

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ldsec/lattigo/v2/ring"
	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

// recorder keeps a copy of every message a party sends and receives.
type recorder struct {
	protocol.Transport
	mu   sync.Mutex
	sent []recorded
	recv []recorded
}

type recorded struct {
	peer int
	step byte
	data []byte
}

func (r *recorder) Send(ctx context.Context, to int, msg []byte) error {
	r.mu.Lock()
	r.sent = append(r.sent, recorded{to, msg[3], append([]byte(nil), msg...)})
	r.mu.Unlock()
	return r.Transport.Send(ctx, to, msg)
}

func (r *recorder) Recv(ctx context.Context, from int) ([]byte, error) {
	m, err := r.Transport.Recv(ctx, from)
	if err == nil && len(m) > 3 {
		r.mu.Lock()
		r.recv = append(r.recv, recorded{from, m[3], append([]byte(nil), m...)})
		r.mu.Unlock()
	}
	return m, err
}

func (r *recorder) take() (sent, recv []recorded) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sent, recv, r.sent, r.recv = r.sent, r.recv, nil, nil
	return sent, recv
}

type counters struct{ req, enc, out, masked uint64 }

func (p *Party) counters() counters { return counters{p.nextReq, p.nextEnc, p.nextOut, p.masked} }
func (p *Party) rewind(c counters) {
	p.nextReq, p.nextEnc, p.nextOut, p.masked = c.req, c.enc, c.out, c.masked
}

func runAll[T any](t *testing.T, ps []*Party, fn func(ctx context.Context, p *Party) (T, error)) []T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := protocoltest.Concurrently(ctx, len(ps), func(ctx context.Context, i int) (T, error) { return fn(ctx, ps[i]) })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// byteChi2 is the chi-square statistic of the bytes of xs against uniform
// (255 degrees of freedom).
func byteHist(xs ...[]byte) [256]float64 {
	var h [256]float64
	for _, x := range xs {
		for _, b := range x {
			h[b]++
		}
	}
	return h
}

func chi2Uniform(h []float64) float64 {
	total := 0.0
	for _, c := range h {
		total += c
	}
	e := total / float64(len(h))
	s := 0.0
	for _, c := range h {
		s += (c - e) * (c - e) / e
	}
	return s
}

// chi2Homogeneity compares two histograms (same bins).
func chi2Homogeneity(a, b []float64) float64 {
	var ta, tb float64
	for i := range a {
		ta, tb = ta+a[i], tb+b[i]
	}
	s := 0.0
	for i := range a {
		col := a[i] + b[i]
		if col == 0 {
			continue
		}
		ea, eb := col*ta/(ta+tb), col*tb/(ta+tb)
		s += (a[i]-ea)*(a[i]-ea)/ea + (b[i]-eb)*(b[i]-eb)/eb
	}
	return s
}

// Thresholds at roughly 7 standard deviations above the mean of the
// chi-square distribution (false alarm far below 1e-6).
const (
	chi2Max255 = 255 + 7*22.6 // 255 degrees of freedom
	chi2Max15  = 15 + 7*5.5   // 15 degrees of freedom
)

// TestMessagesIndependentOfB runs the same requests twice among 3 parties,
// with every seed equal except party 1's B stream, and checks what party 1
// sends:
//   - its shares-to-encryption messages are byte-identical (they depend on A
//     only);
//   - every message that depends on B (products, aggregated c1, masked
//     decryption shares) has uniform bytes in both runs and the two runs'
//     byte distributions agree (chi-square);
//   - a distinguisher that detects a missing re-randomisation (dividing the
//     product's c1 by the public a and counting zero coefficients, which
//     reveals the sparse packed B_1 when c1 = a*B_1) finds nothing;
//   - every target coefficient is masked with a full-width mask, and the
//     masks' top bits are uniform;
//   - the output shares are uniform.
func TestMessagesIndependentOfB(t *testing.T) {
	const np = 3
	ps, recs := setupRecorded(t, np)
	snap := make([]counters, np)
	for i, p := range ps {
		snap[i] = p.counters()
	}
	run := func() ([]bResult, []recorded, []recorded) {
		res := runAll(t, ps, func(ctx context.Context, p *Party) (bResult, error) {
			el, err := protocoltest.Triple(ctx, p, protocol.ElementwiseRequest([]int{bElemSize}))
			if err != nil {
				return bResult{}, err
			}
			mat, err := protocoltest.Triple(ctx, p, protocol.MatrixRequest(20, 300, 21))
			return bResult{el, mat}, err
		})
		sent, recv := recs[1].take()
		return res, sent, recv
	}
	res1, sent1, recv1 := run()
	for i, p := range ps {
		p.rewind(snap[i])
	}
	var other [32]byte
	if _, err := rand.Read(other[:]); err != nil {
		t.Fatal(err)
	}
	ps[1].seeds[labelB] = deriveSeed(other, labelB)
	res2, sent2, _ := run()

	// Operand shares: A equal, B different.
	if fmt.Sprint(res1[1].el.A.Data) != fmt.Sprint(res2[1].el.A.Data) || fmt.Sprint(res1[1].el.B.Data) == fmt.Sprint(res2[1].el.B.Data) {
		t.Fatal("the two runs should differ in party 1's B only")
	}
	// Both runs are still correct triples.
	for _, res := range [][]bResult{res1, res2} {
		var as, bs, cs []sharing.Tensor
		for _, r := range res {
			as, bs, cs = append(as, r.mat.A), append(bs, r.mat.B), append(cs, r.mat.C)
		}
		a, _ := sharing.Reconstruct(as)
		b, _ := sharing.Reconstruct(bs)
		c, _ := sharing.Reconstruct(cs)
		if fmt.Sprint(sharing.MatMul(a, b).Data) != fmt.Sprint(c.Data) {
			t.Fatal("matrix triple wrong")
		}
	}
	checkBytesIndependentOfB(t, np, snap[1].req, sent1, sent2)
	view := partyView{p: ps[1], encBase: snap[1].enc, outBase: snap[1].out, req: snap[1].req, el: res1[1].el}
	checkRerandomised(t, np, view, sent1)
	checkMasks(t, np, view, sent1, recv1)

	// Output shares are uniform bytes.
	for i, r := range res1 {
		var bs []byte
		for _, v := range append(append([]uint64(nil), r.el.C.Data...), r.mat.C.Data...) {
			for k := 0; k < 8; k++ {
				bs = append(bs, byte(v>>(8*k)))
			}
		}
		h := byteHist(bs)
		if c := chi2Uniform(h[:]); c > chi2Max255 {
			t.Fatalf("party %d: output shares not uniform (chi2 %.1f)", i, c)
		}
	}
}

// bElemSize is the element-wise request of TestMessagesIndependentOfB: 4
// ciphertexts, one a-polynomial each.
const bElemSize = 4 * 384

type bResult struct {
	el  protocol.Triple
	mat protocol.Triple
}

// setupOver runs Setup with one worker on np parties' transports.
func setupOver(t *testing.T, np int, tr func(i int) protocol.Transport) []*Party {
	t.Helper()
	ps, err := protocoltest.Concurrently(context.Background(), np, func(ctx context.Context, i int) (*Party, error) {
		return Setup(ctx, tr(i), WithWorkers(1))
	})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	return ps
}

// setupRecorded sets up np parties over recorders on a memory network and
// drops the setup's recorded messages.
func setupRecorded(t *testing.T, np int) ([]*Party, []*recorder) {
	t.Helper()
	mem, err := network.NewMemoryNetwork(np)
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]*recorder, np)
	for i := range recs {
		recs[i] = &recorder{Transport: mem[i]}
	}
	ps := setupOver(t, np, func(i int) protocol.Transport { return recs[i] })
	for _, r := range recs {
		r.take()
	}
	return ps, recs
}

// checkBytesIndependentOfB compares what party 1 sent in the two runs:
// shares-to-encryption messages of A byte for byte, every other message by
// the distribution of its bytes.
func checkBytesIndependentOfB(t *testing.T, np int, req uint64, sent1, sent2 []recorded) {
	t.Helper()
	ml, err := chooseMatLayout(20, 300, 21, np, DefaultCommWeight)
	if err != nil {
		t.Fatal(err)
	}
	matLayoutTransposed := ml.transposed
	t.Logf("matrix layout encrypts B: %v", matLayoutTransposed)
	if len(sent1) != len(sent2) {
		t.Fatalf("party 1 sent %d messages, then %d", len(sent1), len(sent2))
	}
	hists := map[byte][2][256]float64{}
	for k := range sent1 {
		m1, m2 := sent1[k], sent2[k]
		if m1.peer != m2.peer || m1.step != m2.step || len(m1.data) != len(m2.data) {
			t.Fatalf("message %d differs in shape", k)
		}
		// S2E messages carry only the encrypted operand: A, or B when the
		// matrix layout encrypts B^T (C^T = B^T A^T).
		encryptsB := !elemRequest(m1.data, req) && matLayoutTransposed
		switch {
		case (m1.step == stepS2EUp || m1.step == stepS2EDown) && !encryptsB:
			if string(m1.data) != string(m2.data) {
				t.Fatalf("message %d (%s to %d) depends on B", k, stepName(m1.step), m1.peer)
			}
		case (m1.step == stepS2EDown || m1.step == stepC1Down) && m1.peer != 0:
			// a broadcast: the copy to peer 0 is counted already
		default:
			h := hists[m1.step]
			for _, b := range m1.data[headerSize:] {
				h[0][b]++
			}
			for _, b := range m2.data[headerSize:] {
				h[1][b]++
			}
			hists[m1.step] = h
		}
	}
	for step, h := range hists {
		total := 0.0
		for _, c := range h[0] {
			total += c
		}
		u1, u2, hom := chi2Uniform(h[0][:]), chi2Uniform(h[1][:]), chi2Homogeneity(h[0][:], h[1][:])
		t.Logf("%s: %.0f bytes per run; chi2 uniform %.1f / %.1f, homogeneity %.1f (255 dof, limit %.0f)", stepName(step), total, u1, u2, hom, chi2Max255)
		if total < 1000 || u1 > chi2Max255 || u2 > chi2Max255 || hom > chi2Max255 {
			t.Errorf("%s: bytes not uniform or not alike across runs", stepName(step))
		}
	}
}

// partyView is what the element-wise request of the first run looked like to
// party 1: its key, its counters before the request, its triple shares.
type partyView struct {
	p                     *Party
	encBase, outBase, req uint64
	el                    protocol.Triple
}

func (v partyView) outAgg(np, o int) int { return int((v.outBase + uint64(o)) % uint64(np)) }

// elemItems calls fn with every item of step that party 1 sent (or, with
// recv, received) in the element-wise request: the output index and the
// rest of the message body from that item on.
func (v partyView) elemItems(np int, msgs []recorded, step byte, fn func(o int, body []byte) []byte) {
	for _, m := range msgs {
		if m.step != step || !elemRequest(m.data, v.req) {
			continue
		}
		body := m.data[headerSize:]
		for o := 0; o < 4; o++ {
			if v.outAgg(np, o) == m.peer {
				body = fn(o, body)
			}
		}
	}
}

// checkRerandomised runs the distinguisher for a missing re-randomisation on
// the c1 of the products party 1 sent in the element-wise request. A product
// share travels switched to Q' (modswitch.go): without re-randomisation it
// would be c1' = (a*B_1 + 2^64 r)/q_L with |r| < q_L/2, so a coalition that
// guesses B_1 confirms its guess by finding 2^-64 (q_L c1' - a*B_1) mod Q'
// small in every coefficient. With the re-randomisation no coefficient is.
func checkRerandomised(t *testing.T, np int, v partyView, sent []recorded) {
	t.Helper()
	st := getSuite()
	w := v.p.workers[0]
	c1 := make([]*ring.Poly, 4)
	itemBytes := st.productShareBytes()
	v.elemItems(np, sent, stepProdUp, func(o int, body []byte) []byte {
		p := w.rq.NewPoly()
		if _, err := st.readProductShare(body[:itemBytes], productShare{c1: p}); err != nil {
			t.Fatal(err)
		}
		c1[o] = p
		return body[itemBytes:]
	})
	checked := 0
	for o, p := range c1 {
		if p == nil {
			continue // party 1 aggregates this output itself
		}
		a := w.rq.NewPoly()
		newStream(v.p.crpSeed, v.encBase+uint64(o)).uniformPoly(st.q, a)
		bpoly := w.rq.NewPoly()
		for l, pos := range elemPositions {
			x := v.el.B.Data[o*384+l]
			for i, q := range st.q {
				bpoly.Coeffs[i][pos] = residue(x, q, st.bred[i])
			}
		}
		w.rq.NTT(bpoly, bpoly)
		ab := w.rq.NewPoly()
		w.rq.MulCoeffs(a, bpoly, ab)
		real := smallAfterUnswitching(st, w.rq, p, ab)
		// what party 1 would have sent without re-randomisation: a*B_1, switched
		bare := ab.CopyNew()
		st.switchNTT(w, bare, nil)
		leak := smallAfterUnswitching(st, w.rq, bare, ab)
		t.Logf("output %d: coefficients confirming the guess of B_1: %d sent, %d without re-randomisation", o, real, leak)
		if real > 8 || leak < RingDegree {
			t.Fatalf("output %d: re-randomisation distinguisher: %d (sent) vs %d (bare)", o, real, leak)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no product of party 1 inspected")
	}
}

// smallAfterUnswitching counts the coefficients z of 2^-64 (q_L c1 - ab)
// mod Q' (c1 switched, ab mod Q, both NTT form) with |z| < q_L/2.
func smallAfterUnswitching(st *suite, rq *ring.Ring, c1, ab *ring.Poly) int {
	lvl := st.sw.level - 1
	z := rq.NewPoly()
	for i, q := range st.low.q {
		tInv := powMod((-q)%q, q-2, q)
		for j := range z.Coeffs[i] {
			d := subMod(mulMod(c1.Coeffs[i][j], st.sw.qL%q, q), ab.Coeffs[i][j], q)
			z.Coeffs[i][j] = mulMod(d, tInv, q)
		}
	}
	rq.InvNTTLvl(lvl, z, z)
	qp := st.low.params.QBigInt()
	half := new(big.Int).SetUint64(st.sw.qL / 2)
	n := 0
	res := make([]uint64, len(st.low.q))
	for j := 0; j < RingDegree; j++ {
		for i := range res {
			res[i] = z.Coeffs[i][j]
		}
		if x := centredBig(crtBig(st.low, res), qp); x.CmpAbs(half) < 0 {
			n++
		}
	}
	return n
}

// checkMasks recovers, with party 1's key, the mask M of every masked
// decryption share h = d - M it sent in the element-wise request, and checks
// 0 <= M < 2^b, q_L*M mod 2^64 = its output share, and uniform top bits.
// d is recomputed here with the switch of party 1's own c0 part done in
// big-integer arithmetic (bigSwitch), not by the code under test.
func checkMasks(t *testing.T, np int, v partyView, sent, recv []recorded) {
	t.Helper()
	st := getSuite()
	rq := v.p.workers[0].rq
	c1agg := map[int]*ring.Poly{}
	v.elemItems(np, recv, stepC1Down, func(o int, body []byte) []byte {
		p := rq.NewPoly()
		rest, err := st.readProductShare(body, productShare{c1: p})
		if err != nil {
			t.Fatal(err)
		}
		c1agg[o] = p
		return rest
	})
	b := MaskBits(np)
	var top [16]float64
	masks := 0
	own := v.ownProducts(t, np, sent, recv)
	v.elemItems(np, sent, stepE2SUp, func(o int, body []byte) []byte {
		h := [][]uint64{make([]uint64, 384), make([]uint64, 384), make([]uint64, 384)}
		rest, err := st.low.readVec(body, h)
		if err != nil {
			t.Fatal(err)
		}
		d := maskedDecryption(t, st, rq, v.p.sk, c1agg[o], own[o])
		for l := range elemPositions {
			mask := new(big.Int).Sub(d[l], crtBig(st.low, []uint64{h[0][l], h[1][l], h[2][l]}))
			mask.Mod(mask, st.low.params.QBigInt())
			if mask.BitLen() > b {
				t.Fatalf("output %d target %d: mask of %d bits, want < 2^%d", o, l, mask.BitLen(), b)
			}
			low := new(big.Int).And(mask, new(big.Int).SetUint64(^uint64(0))).Uint64()
			if low*st.sw.qL != v.el.C.Data[o*384+l] {
				t.Fatalf("output %d target %d: output share is not q_L times the mask's low word", o, l)
			}
			top[new(big.Int).Rsh(mask, uint(b-4)).Uint64()]++
			masks++
		}
		return rest
	})
	c2 := chi2Uniform(top[:])
	t.Logf("%d masks checked; top 4 bits chi2 %.1f (15 dof, limit %.0f)", masks, c2, chi2Max15)
	if masks == 0 || c2 > chi2Max15 {
		t.Fatalf("masks: %d checked, chi2 %.1f", masks, c2)
	}
}

// maskedDecryption returns party 1's unmasked decryption share at the
// element-wise targets 2p_l, modulo Q': (c1*s_1)[T] + switch(c0_1)[T] +
// 2^64 e0_1, c1 the aggregated (switched) c1 and (c0_1, e0_1) party 1's own
// part of the product, which it no longer sends on its own.
func maskedDecryption(t *testing.T, st *suite, rq *ring.Ring, sk, c1 *ring.Poly, own ownProduct) []*big.Int {
	t.Helper()
	lvl := st.sw.level - 1
	cs, c0 := rq.NewPoly(), rq.NewPoly()
	rq.MulCoeffsMontgomeryLvl(lvl, c1, sk, cs)
	rq.InvNTTLvl(lvl, cs, cs)
	rq.InvNTT(own.c0, c0)
	bs := newBigSwitch(st)
	out := make([]*big.Int, len(elemPositions))
	for l, pos := range elemPositions {
		x := crtBig(st.low, []uint64{cs.Coeffs[0][2*pos], cs.Coeffs[1][2*pos], cs.Coeffs[2][2*pos]})
		x.Add(x, bs.apply(t, coefficientBig(st, c0, 2*pos)))
		x.Add(x, new(big.Int).Mul(big.NewInt(own.e0[l]), bs.two64))
		out[l] = x.Mod(x, bs.qLow)
	}
	return out
}

// ownProducts recomputes party 1's own c0 parts of the element-wise
// request's outputs from the aggregated encryptions it received (or, for
// those it aggregated, sent), the common reference polynomials and its B
// shares.
func (v partyView) ownProducts(t *testing.T, np int, sent, recv []recorded) []ownProduct {
	t.Helper()
	st := getSuite()
	w := v.p.workers[0]
	pl := elemPlan(v.el.A.Data, v.el.B.Data, 0, 4)
	encs, crps := make([]*ring.Poly, 4), make([]*ring.Poly, 4)
	read := func(m recorded, agg int) {
		body := m.data[headerSize:]
		for e := range encs {
			if int((v.encBase+uint64(e))%uint64(np)) != agg {
				continue
			}
			encs[e] = w.rq.NewPoly()
			var err error
			if body, err = st.readPoly(body, encs[e]); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, m := range recv {
		if m.step == stepS2EDown && elemRequest(m.data, v.req) {
			read(m, m.peer)
		}
	}
	for _, m := range sent {
		if m.step == stepS2EDown && elemRequest(m.data, v.req) {
			read(m, v.p.me) // the same to every peer: the first will do
			break
		}
	}
	own := make([]ownProduct, 4)
	for o := range own {
		crps[o] = w.rq.NewPoly()
		v.p.commonPoly(v.encBase+uint64(o), crps[o])
		plain := w.rq.NewPoly()
		st.plainPoly(w, pl.plainDeg, func(dst []uint64) { pl.groups[o].fill(0, dst) }, plain)
		if encs[o] == nil {
			t.Fatalf("encryption %d of the element-wise request not seen", o)
		}
		_, own[o] = v.p.productShare(w, v.outBase+uint64(o), pl.outs[o], encs, crps, []*ring.Poly{plain})
	}
	return own
}

// elemRequest tells whether a message belongs to request req.
func elemRequest(msg []byte, req uint64) bool {
	var h [8]byte
	copy(h[:], msg[4:12])
	v := uint64(0)
	for k := 7; k >= 0; k-- {
		v = v<<8 | uint64(h[k])
	}
	return v == req
}

func powMod(a, e, q uint64) uint64 {
	r := uint64(1)
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = mulMod(r, a, q)
		}
		a = mulMod(a, a, q)
	}
	return r
}

// crtBig returns the integer in [0, Q) with the given residues.
func crtBig(st *suite, res []uint64) *big.Int {
	Q := st.params.QBigInt()
	x := new(big.Int)
	for i, q := range st.q {
		bq := new(big.Int).SetUint64(q)
		hat := new(big.Int).Quo(Q, bq)
		v := mulMod(res[i], st.qHatInv[i], q)
		x.Add(x, new(big.Int).Mul(hat, new(big.Int).SetUint64(v)))
	}
	return x.Mod(x, Q)
}

// TestCollectivePublicKey decrypts a fresh 2^64-scaled encryption of zero
// under the collective public key with the sum of all parties' secret-key
// shares (which no party ever holds): the result must be a multiple of 2^64,
// and small.
func TestCollectivePublicKey(t *testing.T) {
	const np = 3
	mem, err := network.NewMemoryNetwork(np)
	if err != nil {
		t.Fatal(err)
	}
	ps := setupOver(t, np, func(i int) protocol.Transport { return mem[i] })
	st := getSuite()
	rq := ps[0].workers[0].rq
	s := rq.NewPoly()
	for _, p := range ps {
		rq.Add(s, p.sk, s)
	}
	var seed sharing.Seed
	str := newStream(seed, 1)
	small := make([]int64, RingDegree)
	u := rq.NewPoly()
	str.ternary(small)
	for i, q := range st.q {
		for j, v := range small {
			u.Coeffs[i][j] = uint64(v) + q&uint64(v>>63)
		}
	}
	rq.NTT(u, u)
	c0, c1, e := rq.NewPoly(), rq.NewPoly(), rq.NewPoly()
	rq.MulCoeffsMontgomery(ps[0].pkT[0], u, c0)
	rq.MulCoeffsMontgomery(ps[0].pkT[1], u, c1)
	for _, c := range []*ring.Poly{c0, c1} {
		str.gaussian(small)
		st.scaledSmall(small, e, false)
		rq.NTT(e, e)
		rq.Add(c, e, c)
	}
	x := rq.NewPoly()
	rq.MulCoeffsMontgomery(c1, s, x)
	rq.Add(x, c0, x)
	rq.InvNTT(x, x)
	Q := st.params.QBigInt()
	half := new(big.Int).Rsh(Q, 1)
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	maxBits := 0
	res := make([]uint64, len(st.q))
	for j := 0; j < RingDegree; j++ {
		for i := range st.q {
			res[i] = x.Coeffs[i][j]
		}
		v := crtBig(st, res)
		if v.Cmp(half) > 0 {
			v.Sub(v, Q)
		}
		if new(big.Int).Mod(v, two64).Sign() != 0 {
			t.Fatalf("coefficient %d is not a multiple of 2^64", j)
		}
		maxBits = max(maxBits, v.BitLen())
	}
	t.Logf("decrypted zero: largest |coefficient| < 2^%d", maxBits)
	if maxBits > 64+25 {
		t.Fatalf("noise 2^%d too large", maxBits)
	}
}
