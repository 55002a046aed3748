package he

import (
	"math/big"
	"testing"
)

// coalitionView is what parties 0 and 1 of 3 (party 0 aggregating) derive
// from the decryption-to-shares of a query of m when party 2 is honest: c0 +
// c1*(s_0 + s_1) plus party 2's masked share, that is x - M_2, as an integer.
// With unmasked, it returns x itself (what they would see without masks).
func coalitionView(t *testing.T, qs []*QueryParty, key *QueryKey, m []uint64, unmasked bool) []byte {
	t.Helper()
	st := getQuerySuite()
	w, err := newWorker(st)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := EncryptQuery(key, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := len(m)
	y := newVec(len(st.q), n)
	for i := range st.q {
		copy(y[i], ct.c0.Coeffs[i][:n])
	}
	coalition := []int{0, 1}
	if unmasked {
		coalition = append(coalition, 2) // adds c1*s_2
	}
	for _, p := range coalition {
		d := qs[p].k.partialDecryption(w, ct.c1)
		for i, q := range st.q {
			for j := range n {
				y[i][j] = addMod(y[i][j], d.Coeffs[i][j], q)
			}
		}
	}
	if !unmasked {
		masked, _, err := qs[2].MaskQuery(ct, n)
		if err != nil {
			t.Fatal(err)
		}
		other := newVec(len(st.q), n)
		if _, err := st.readVec(masked, other); err != nil {
			t.Fatal(err)
		}
		st.addVec(y, other)
	}
	var out []byte
	res := make([]uint64, len(st.q))
	for j := range n {
		for i := range st.q {
			res[i] = y[i][j]
		}
		out = le16(out, centred(st, res))
	}
	return out
}

// TestQueryViewIndependentOfInput: what a coalition of all parties but one
// derives from the decryption-to-shares (x - M_h, with x = m + 2^64*E the
// decrypted value and M_h the honest party's mask) has uniform low 128 bits
// whether the query is all zeros or a constant, and the two are
// indistinguishable (chi-square, 7 sigma). The same statistics on x itself
// (no mask) tell the two queries apart: the test has the power to fail.
func TestQueryViewIndependentOfInput(t *testing.T) {
	qs := testQueryParties(t, 3)
	key := qs[0].Key()
	const n = 2048
	zeros, constant := make([]uint64, n), make([]uint64, n)
	for j := range constant {
		constant[j] = 0x0123456789abcdef
	}
	a := byteHist(coalitionView(t, qs, key, zeros, false))
	b := byteHist(coalitionView(t, qs, key, constant, false))
	if c := chi2Uniform(a[:]); c > chi2Max255 {
		t.Errorf("view of a zero query: chi2 against uniform %.0f > %.0f", c, chi2Max255)
	}
	if c := chi2Uniform(b[:]); c > chi2Max255 {
		t.Errorf("view of a constant query: chi2 against uniform %.0f > %.0f", c, chi2Max255)
	}
	if c := chi2Homogeneity(a[:], b[:]); c > chi2Max255 {
		t.Errorf("views of two queries differ: chi2 %.0f > %.0f", c, chi2Max255)
	}
	ua := byteHist(coalitionView(t, qs, key, zeros, true))
	ub := byteHist(coalitionView(t, qs, key, constant, true))
	if c := chi2Homogeneity(ua[:], ub[:]); c <= chi2Max255 {
		t.Errorf("control: unmasked decryptions of two queries look alike (chi2 %.0f): the statistic has no power", c)
	}
}

// clientView is what the client decrypts from the parties' answers as an
// integer, above the 64 bits of the value: bits 64..191 of c0 + c1*s_c.
func clientView(t *testing.T, client *ClientKey, shares [][]uint64, smudge bool) []byte {
	t.Helper()
	st, w := getSuite(), testWorker(t)
	var cts []*Ciphertext
	for _, s := range shares {
		cts = append(cts, encryptAnswer(st, w, client.pub, s, rand16(t), smudge))
	}
	sum, err := SumAnswers(cts...)
	if err != nil {
		t.Fatal(err)
	}
	d := w.tmp
	w.rq.MulCoeffsMontgomery(sum.c1, client.s, d)
	w.rq.InvNTT(d, d)
	var out []byte
	res := make([]uint64, len(st.q))
	for j := range shares[0] {
		for i, q := range st.q {
			res[i] = addMod(sum.c0.Coeffs[i][j], d.Coeffs[i][j], q)
		}
		out = le16(out, new(big.Int).Rsh(centred(st, res), 64))
	}
	return out
}

// TestAnswerHidesShareCarries: the client's decryption above the answer's 64
// bits (the carries of the integer sum of the parties' shares and the noise)
// is uniform with the parties' smudging, and far from uniform without it.
func TestAnswerHidesShareCarries(t *testing.T) {
	client, err := NewClientKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2048
	shares := [][]uint64{make([]uint64, n), make([]uint64, n)}
	for j := range n {
		shares[0][j] = 1<<63 - 1 - uint64(j) // the integer sum carries
		shares[1][j] = 1<<63 - 1
	}
	h := byteHist(clientView(t, client, shares, true))
	if c := chi2Uniform(h[:]); c > chi2Max255 {
		t.Errorf("smudged answer: chi2 against uniform %.0f > %.0f", c, chi2Max255)
	}
	u := byteHist(clientView(t, client, shares, false))
	if c := chi2Uniform(u[:]); c <= chi2Max255 {
		t.Errorf("control: an answer without smudging looks uniform above its value (chi2 %.0f)", c)
	}
}
