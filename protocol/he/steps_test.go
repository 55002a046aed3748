package he

import (
	"bytes"
	"crypto/rand"
	"errors"
	"slices"
	"testing"

	"github.com/ldsec/lattigo/v2/ring"
	"github.com/ldsec/lattigo/v2/rlwe"
)

// These tests run the per-step functions of steps.go and keygen.go for
// several parties in one process, with no transport: shares are handed from
// one party's function to another's directly, or through their encodings.

// testKeys runs the key setup's steps for np parties: coin toss, CKG shares
// aggregated by each party in a different order, public key, key material.
func testKeys(t *testing.T, np int) []*keyShare {
	t.Helper()
	st := getSuite()
	coins, commits := make([][32]byte, np), make([][32]byte, np)
	for j := range coins {
		if _, err := rand.Read(coins[j][:]); err != nil {
			t.Fatal(err)
		}
		c, err := st.openCommitBody(st.commitBody(np, coinCommitment(j, coins[j])), np)
		if err != nil {
			t.Fatal(err)
		}
		commits[j] = c
	}
	crs, err := commonReference(coins, commits)
	if err != nil {
		t.Fatal(err)
	}
	kgs := make([]*keyGen, np)
	sks := make([]*rlwe.SecretKey, np)
	wire := make([][]byte, np)
	for j := range kgs {
		if kgs[j], err = newKeyGen(st, crs); err != nil {
			t.Fatal(err)
		}
		sks[j] = rlwe.NewKeyGenerator(st.params).GenSecretKey()
		wire[j] = kgs[j].appendShare(nil, kgs[j].genShare(sks[j]))
	}
	keys := make([]*keyShare, np)
	var digest [32]byte
	for me, kg := range kgs {
		agg := kg.newShare()
		for k := range np { // party me starts with its own share
			share, err := kg.readShare(wire[(me+k)%np])
			if err != nil {
				t.Fatal(err)
			}
			kg.aggregate(agg, share)
		}
		pk := kg.publicKey(agg)
		if d := st.publicKeyDigest(pk); me == 0 {
			digest = d
		} else if d != digest {
			t.Fatalf("party %d aggregated the public-key shares to another key", me)
		}
		var master [32]byte
		if _, err := rand.Read(master[:]); err != nil {
			t.Fatal(err)
		}
		k := st.newKeyShare(sks[me], pk, crs, master)
		keys[me] = &k
	}
	return keys
}

func testWorker(t testing.TB) *worker {
	t.Helper()
	w, err := newWorker(getSuite())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestStepsEncryptThenShare: every party's shares-to-encryption share of
// its own values, aggregated, encrypts their sum; the encryption-to-shares
// steps on that ciphertext switched to Q' (c1 switched as a product share
// is, c0 as the aggregator's own c0 part; party 1 aggregating) give shares of
// the sum at the targets, exactly.
func TestStepsEncryptThenShare(t *testing.T) {
	const np, g, o = 3, 17, 5
	keys, st, w := testKeys(t, np), getSuite(), testWorker(t)
	rng := testRand(4)
	values := make([][]uint64, np)
	a, c0 := w.rq.NewPoly(), w.rq.NewPoly()
	keys[0].commonPoly(g, a)
	for j, k := range keys {
		values[j] = make([]uint64, RingDegree)
		for i := range values[j] {
			values[j][i] = rng.Uint64()
		}
		b := w.rq.NewPoly()
		k.commonPoly(g, b)
		if !w.rq.Equal(a, b) {
			t.Fatalf("party %d derived another common polynomial", j)
		}
		h := w.rq.NewPoly()
		k.s2eShare(w, g, b, func(dst []uint64) { copy(dst, values[j]) }, h)
		aggregatePoly(w.rq, c0, h)
	}
	st.switchNTT(w, a, nil)
	targets := []int{0, 1, 2, 1000, RingDegree/2 + 3, RingDegree - 1}
	y := newVec(len(st.low.q), len(targets))
	const agg = 1
	shares := make([][]uint64, np)
	keys[agg].e2sAggregatorShare(w, a, ownProduct{c0: c0}, targets, y)
	for j, k := range keys {
		if j != agg {
			var masked [][]uint64
			masked, shares[j] = k.e2sShare(w, o, a, ownProduct{}, targets, MaskBits(np))
			st.aggregateMasked(y, masked)
		}
	}
	shares[agg] = st.switchedFinalize(y)
	for ti, pos := range targets {
		var got, want uint64
		for j := range keys {
			got += shares[j][ti]
			want += values[j][pos]
		}
		if got != want {
			t.Fatalf("target %d: shares sum to %#x, want %#x", pos, got, want)
		}
	}
}

// localChunk runs one chunk for every party in one process: the chunk
// states' step functions, with each round's items encoded by the sender and
// decoded by the receiver as the round driver does, but no transport. It
// returns every party's output shares (outLen values each).
func localChunk(t *testing.T, keys []*keyShare, plans []*plan, encBase, outBase uint64, outLen int) [][]uint64 {
	t.Helper()
	np := len(keys)
	cs := make([]*chunkState, np)
	for j := range cs {
		cs[j] = newChunkState(keys[j], np, j, plans[j], encBase, outBase, testWorker(t))
		defer cs[j].release()
	}
	encs, prods, c1s, masks := cs[0].routes()
	// up rounds go from every party to each item's aggregator, down rounds
	// from the aggregator to everyone
	exchange := func(r itemRoute, up bool, put func(*chunkState, []byte, int) []byte, read func(*chunkState, []byte, int) ([]byte, error)) {
		for from := range cs {
			for to := range cs {
				if from == to {
					continue
				}
				idx := r.of(from)
				if up {
					idx = r.of(to)
				}
				_, body := r.encode(idx, func(dst []byte, i int) []byte { return put(cs[from], dst, i) })
				err := decodeItems(body, idx, func(src []byte, i int) ([]byte, error) { return read(cs[to], src, i) })
				if err != nil {
					t.Fatalf("%d to %d: %v", from, to, err)
				}
			}
		}
	}
	each := func(n int, step func(*chunkState, *worker, int) error) {
		for _, c := range cs {
			w := testWorker(t)
			for i := 0; i < n; i++ {
				if err := step(c, w, i); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	pl := plans[0]
	each(pl.nEnc, (*chunkState).genS2E)
	exchange(encs, true, (*chunkState).putEnc, (*chunkState).absorbS2E)
	exchange(encs, false, (*chunkState).putEnc, (*chunkState).storeEnc)
	each(len(pl.groups), (*chunkState).genProducts)
	exchange(prods, true, (*chunkState).putProduct, (*chunkState).absorbProduct)
	exchange(c1s, false, (*chunkState).putC1, (*chunkState).storeC1)
	each(len(pl.outs), (*chunkState).genE2S)
	exchange(masks, true, (*chunkState).putMasked, (*chunkState).absorbMasked)
	outs := make([][]uint64, np)
	for j, c := range cs {
		outs[j] = make([]uint64, outLen)
		c.finish(outs[j])
	}
	return outs
}

func randomWords(seed uint64, n int) []uint64 {
	r := testRand(seed)
	v := make([]uint64, n)
	for i := range v {
		v[i] = r.Uint64()
	}
	return v
}

// TestStepsChunkWithoutNetwork: a whole element-wise chunk and a whole
// matrix chunk, run through the per-step functions and the share encodings
// in one process, give shares of the exact products.
func TestStepsChunkWithoutNetwork(t *testing.T) {
	const np = 3
	keys := testKeys(t, np)
	t.Run("element-wise", func(t *testing.T) {
		n := 2*ElementwiseSlots + 7
		as, bs, plans := make([][]uint64, np), make([][]uint64, np), make([]*plan, np)
		for j := range plans {
			as[j], bs[j] = randomWords(uint64(10+j), n), randomWords(uint64(20+j), n)
			plans[j] = elemPlan(as[j], bs[j], 0, ceilDiv(n, ElementwiseSlots))
		}
		outs := localChunk(t, keys, plans, 40, 41, n)
		for i := 0; i < n; i++ {
			var a, b, c uint64
			for j := range keys {
				a, b, c = a+as[j][i], b+bs[j][i], c+outs[j][i]
			}
			if c != a*b {
				t.Fatalf("element %d: %#x, want %#x", i, c, a*b)
			}
		}
	})
	t.Run("matrix", func(t *testing.T) {
		const m, k, n = 9, 50, 6
		l, err := chooseMatLayout(m, k, n, np, DefaultCommWeight)
		if err != nil {
			t.Fatal(err)
		}
		if l.transposed || l.rowBlocksPerChunk() < l.mb {
			t.Fatalf("layout %+v: want one chunk, not transposed", l)
		}
		as, bs, plans := make([][]uint64, np), make([][]uint64, np), make([]*plan, np)
		for j := range plans {
			as[j], bs[j] = randomWords(uint64(30+j), m*k), randomWords(uint64(40+j), k*n)
			plans[j] = l.plan(as[j], bs[j], 0, l.mb)
		}
		outs := localChunk(t, keys, plans, 7, 2, m*n)
		for r := 0; r < m; r++ {
			for c := 0; c < n; c++ {
				var want, got uint64
				for x := 0; x < k; x++ {
					var a, b uint64
					for j := range keys {
						a, b = a+as[j][r*k+x], b+bs[j][x*n+c]
					}
					want += a * b
				}
				for j := range keys {
					got += outs[j][r*n+c]
				}
				if got != want {
					t.Fatalf("C[%d,%d] = %#x, want %#x", r, c, got, want)
				}
			}
		}
	})
}

// TestStepsAggregationOrderIndependent: product shares aggregated in any
// order encode to the same bytes, and so do the public-key shares.
func TestStepsAggregationOrderIndependent(t *testing.T) {
	const np = 4
	keys, st, w := testKeys(t, np), getSuite(), testWorker(t)
	a, b := randomWords(50, ElementwiseSlots), randomWords(51, ElementwiseSlots)
	pl := elemPlan(a, b, 0, 1)
	enc, crp := []*ring.Poly{w.rq.NewPoly()}, []*ring.Poly{w.rq.NewPoly()}
	keys[0].commonPoly(3, crp[0])
	keys[0].s2eShare(w, 3, crp[0], func(dst []uint64) { pl.fillEnc(0, dst) }, enc[0])
	plains := []*ring.Poly{w.rq.NewPoly()}
	st.plainPoly(w, pl.plainDeg, func(dst []uint64) { pl.groups[0].fill(0, dst) }, plains[0])
	shares := make([][]byte, np)
	for j, k := range keys {
		share, _ := k.productShare(w, 9, pl.outs[0], enc, crp, plains)
		shares[j] = st.appendProductShare(nil, share)
	}
	sum := func(order []int) []byte {
		acc := st.newProductShare()
		acc.c1.Zero()
		for _, j := range order {
			s := st.newProductShare()
			if _, err := st.readProductShare(shares[j], s); err != nil {
				t.Fatal(err)
			}
			st.aggregateProducts(w.rq, &acc, s)
		}
		return st.appendProductShare(nil, acc)
	}
	first := sum([]int{0, 1, 2, 3})
	for _, order := range [][]int{{3, 2, 1, 0}, {2, 0, 3, 1}, {1, 3, 0, 2}} {
		if !bytes.Equal(sum(order), first) {
			t.Fatalf("aggregation in order %v differs", order)
		}
	}
	if bytes.Equal(shares[0], shares[1]) || slices.Equal(first, shares[0]) {
		t.Fatal("shares or aggregate degenerate")
	}
}

// TestStepsRejectMalformedShares: a short, long or out-of-range share body
// is an error from the decoding step, never a panic.
func TestStepsRejectMalformedShares(t *testing.T) {
	st := getSuite()
	keys := testKeys(t, 2)
	w := testWorker(t)
	const targets = 10
	good := st.newProductShare()
	good.c1.Zero()
	body := st.appendProductShare(nil, good)
	if len(body) != st.productShareBytes() {
		t.Fatalf("product share of %d bytes, want %d", len(body), st.productShareBytes())
	}
	above := append([]byte(nil), body...)
	copy(above, bytes.Repeat([]byte{0xff}, 8))
	for name, b := range map[string][]byte{
		"empty": nil, "short": body[:len(body)-1], "residue above q": above,
	} {
		if _, err := st.readProductShare(b, st.newProductShare()); !errors.Is(err, errFormat) {
			t.Errorf("product share %s: got %v, want a format error", name, err)
		}
		if _, err := st.readVec(b[:min(len(b), st.vecBytes(targets)-1)], newVec(len(st.q), targets)); !errors.Is(err, errFormat) {
			t.Errorf("masked share %s: got %v, want a format error", name, err)
		}
	}
	// a round's items: a body one byte short fails on the last item
	r := itemRoute{np: 2, base: 0, n: 4, size: func(int) int { return st.polyBytes }}
	c := newChunkState(keys[0], 2, 0, &plan{nEnc: 4}, 0, 0, w)
	for e := range c.enc {
		c.enc[e] = w.rq.NewPoly()
	}
	idx := r.of(0)
	_, items := r.encode(idx, func(dst []byte, i int) []byte { return st.appendPoly(dst, w.rq.NewPoly()) })
	if err := decodeItems(items[:len(items)-1], idx, c.absorbS2E); !errors.Is(err, errFormat) {
		t.Errorf("short round body: got %v", err)
	}
	// setup: public-key shares and commitments
	kg, err := newKeyGen(st, [32]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	share := kg.appendShare(nil, kg.genShare(rlwe.NewKeyGenerator(st.params).GenSecretKey()))
	for name, b := range map[string][]byte{"empty": nil, "short": share[:len(share)-1], "long": append(share, 0)} {
		if _, err := kg.readShare(b); !errors.Is(err, errFormat) {
			t.Errorf("public-key share %s: got %v", name, err)
		}
	}
	commit := st.commitBody(3, [32]byte{2})
	if _, err := st.openCommitBody(commit[:10], 3); !errors.Is(err, errFormat) {
		t.Errorf("short commitment: %v", err)
	}
	if _, err := st.openCommitBody(commit, 4); !errors.Is(err, errOtherParameters) {
		t.Errorf("commitment for another party count: %v", err)
	}
	coins, commits := [][32]byte{{1}, {2}}, [][32]byte{coinCommitment(0, [32]byte{1}), coinCommitment(1, [32]byte{3})}
	if _, err := commonReference(coins, commits); err == nil {
		t.Error("a reveal that does not match its commitment was accepted")
	}
}
