package he

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/sharing"
)

// The query steps, several parties in one process and no transport: the
// client's ciphertext and every share go through their encodings.

func testQueryParties(t *testing.T, np int) []*QueryParty {
	t.Helper()
	keys := testKeys(t, np)
	qs := make([]*QueryParty, np)
	for i, k := range keys {
		q, err := newQueryParty(k, i, np, nil)
		if err != nil {
			t.Fatal(err)
		}
		qs[i] = q
	}
	return qs
}

// queryToShares runs the decryption-to-shares of ct (n values) with party agg
// aggregating and returns every party's shares.
func queryToShares(t *testing.T, qs []*QueryParty, ct *Ciphertext, n, agg int) [][]uint64 {
	t.Helper()
	wire, err := ParseQueryCiphertext(ct.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	shares := make([][]uint64, len(qs))
	masked := make([][]byte, len(qs))
	for i, q := range qs {
		if i == agg {
			continue
		}
		if masked[i], shares[i], err = q.MaskQuery(wire, n); err != nil {
			t.Fatal(err)
		}
		if len(masked[i]) != MaskedShareBytes(n) {
			t.Fatalf("party %d: masked share of %d bytes, want %d", i, len(masked[i]), MaskedShareBytes(n))
		}
	}
	if shares[agg], err = qs[agg].AggregateQuery(wire, n, masked); err != nil {
		t.Fatal(err)
	}
	return shares
}

func edgeWords(n int) []uint64 {
	v := randomWords(uint64(n), n)
	copy(v, []uint64{0, 1, 1 << 63, 1<<63 - 1, ^uint64(0), 1 << 62})
	return v
}

// TestQueryRoundTrip: a client's values, encrypted under the collective key,
// decrypted to shares whose sum is the values, each party's shares encrypted
// under the client's key and summed, decrypt to the values: exactly, for 2, 3
// and 5 parties and every aggregator.
func TestQueryRoundTrip(t *testing.T) {
	for _, np := range []int{2, 3, 5} {
		qs := testQueryParties(t, np)
		key, err := ParseQueryKey(qs[0].Key().Bytes())
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range qs {
			if q.Key().Digest() != key.Digest() {
				t.Fatalf("%d parties: party %d has another query key", np, i)
			}
		}
		client, err := NewClientKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := ParseClientPublicKey(client.Public().Bytes())
		if err != nil {
			t.Fatal(err)
		}
		for agg := range np {
			n := []int{MaxValues, 1, 7840}[agg%3]
			values := edgeWords(n)
			ct, err := EncryptQuery(key, values, nil)
			if err != nil {
				t.Fatal(err)
			}
			shares := queryToShares(t, qs, ct, n, agg)
			answers := make([]*Ciphertext, np)
			for i, q := range qs {
				sum := sharing.Tensor{Data: make([]uint64, n)}
				for _, s := range shares {
					for j, v := range s {
						sum.Data[j] += v
					}
				}
				if i == 0 && !equalWords(sum.Data, values) {
					t.Fatalf("%d parties, aggregator %d: the shares do not sum to the values", np, agg)
				}
				ans, err := q.EncryptAnswer(pub, shares[i])
				if err != nil {
					t.Fatal(err)
				}
				if answers[i], err = ParseCiphertext(ans.Bytes()); err != nil {
					t.Fatal(err)
				}
			}
			answer, err := SumAnswers(answers...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := client.Decrypt(answer, n)
			if err != nil {
				t.Fatal(err)
			}
			if !equalWords(got, values) {
				t.Fatalf("%d parties, aggregator %d: the client decrypted other values", np, agg)
			}
		}
	}
}

func equalWords(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestQueryRejectsMalformed: wrong sizes, residues above their modulus and
// counts out of range are errors, not panics.
func TestQueryRejectsMalformed(t *testing.T) {
	qs := testQueryParties(t, 2)
	ct, err := EncryptQuery(qs[0].Key(), []uint64{1, 2, 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := ct.Bytes()
	if _, err := ParseQueryCiphertext(b[:len(b)-1]); !errors.Is(err, errFormat) {
		t.Errorf("short ciphertext: %v", err)
	}
	bad := bytes.Clone(b)
	binary.LittleEndian.PutUint64(bad, ^uint64(0)>>4) // first residue 2^60-1 >= q_0
	if _, err := ParseQueryCiphertext(bad); !errors.Is(err, errFormat) {
		t.Errorf("residue above the modulus: %v", err)
	}
	if _, err := ParseC1(b); !errors.Is(err, errFormat) {
		t.Errorf("a whole ciphertext parsed as c1: %v", err)
	}
	if _, err := ParseQueryKey(b[:10]); !errors.Is(err, errFormat) {
		t.Errorf("short key: %v", err)
	}
	if _, err := ParseClientPublicKey(b); !errors.Is(err, errFormat) {
		t.Errorf("client key of the wrong size: %v", err)
	}
	if _, _, err := qs[0].MaskQuery(ct, MaxValues+1); err == nil {
		t.Error("a count above the ring degree was accepted")
	}
	if _, err := qs[1].AggregateQuery(ct, 3, [][]byte{make([]byte, 5), nil}); !errors.Is(err, errFormat) {
		t.Errorf("a masked share of the wrong size: %v", err)
	}
	if _, err := EncryptQuery(qs[0].Key(), make([]uint64, MaxValues+1), nil); err == nil {
		t.Error("a query of too many values was encrypted")
	}
}

// TestQueryWrongKeyGivesOtherValues: a query under another collective key
// decrypts to unrelated shares (so the service must refuse it by the key
// digest before the steps, which party/serve does).
func TestQueryWrongKeyGivesOtherValues(t *testing.T) {
	qs, other := testQueryParties(t, 2), testQueryParties(t, 2)
	if qs[0].Key().Digest() == other[0].Key().Digest() {
		t.Fatal("two key setups gave the same key")
	}
	values := edgeWords(64)
	ct, err := EncryptQuery(other[0].Key(), values, nil)
	if err != nil {
		t.Fatal(err)
	}
	shares := queryToShares(t, qs, ct, 64, 0)
	same := 0
	for j := range values {
		if shares[0][j]+shares[1][j] == values[j] {
			same++
		}
	}
	if same > 1 {
		t.Fatalf("%d of 64 values survived decryption under the wrong key", same)
	}
}

// centred returns the residues res (mod every q_i) as an integer in (-Q/2, Q/2].
func centred(st *suite, res []uint64) *big.Int {
	bigQ := st.params.QBigInt()
	x := new(big.Int)
	for i, q := range st.q {
		bq := new(big.Int).SetUint64(q)
		hat := new(big.Int).Quo(bigQ, bq)
		inv := new(big.Int).ModInverse(new(big.Int).Mod(hat, bq), bq)
		term := new(big.Int).Mul(hat, inv)
		term.Mul(term, new(big.Int).SetUint64(res[i]))
		x.Add(x, term)
	}
	x.Mod(x, bigQ)
	if x.Cmp(new(big.Int).Rsh(bigQ, 1)) > 0 {
		x.Sub(x, bigQ)
	}
	return x
}

// le16 appends the low 16 bytes of x (two's complement) to dst.
func le16(dst []byte, x *big.Int) []byte {
	m := new(big.Int).Mod(x, new(big.Int).Lsh(big.NewInt(1), 128))
	b := m.FillBytes(make([]byte, 16))
	return append(dst, b...)
}

func rand16(t *testing.T) sharing.Seed {
	var s sharing.Seed
	if _, err := rand.Read(s[:]); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStreamMaskWidths: a mask of b bits is the integer of the stream's next
// ceil(b/64) words cut to b bits, and its residues (mod Q's and Q_query's
// primes) and low word are that integer's, for the query masks' widths
// (b <= 192) as for the engine's.
func TestStreamMaskWidths(t *testing.T) {
	seed := rand16(t)
	for _, st := range []*suite{getSuite(), getQuerySuite()} {
		testStreamMaskWidths(t, st, seed)
	}
}

func testStreamMaskWidths(t *testing.T, st *suite, seed sharing.Seed) {
	t.Helper()
	for _, b := range []int{129, 174, 192, 193, 234, 256} {
		masks, words := newStream(seed, uint64(b)), newStream(seed, uint64(b))
		res := make([]uint64, len(st.q))
		for range 100 {
			low := masks.mask(b, st.q, res)
			m := new(big.Int)
			for k := range (b + 63) / 64 {
				m.Or(m, new(big.Int).Lsh(new(big.Int).SetUint64(words.next()), uint(64*k)))
			}
			m.Mod(m, new(big.Int).Lsh(big.NewInt(1), uint(b)))
			if low != new(big.Int).Mod(m, new(big.Int).Lsh(big.NewInt(1), 64)).Uint64() {
				t.Fatalf("%d bits: low word differs", b)
			}
			for i, q := range st.q {
				if want := new(big.Int).Mod(m, new(big.Int).SetUint64(q)).Uint64(); res[i] != want {
					t.Fatalf("%d bits: residue mod q_%d is %d, want %d", b, i, res[i], want)
				}
			}
		}
	}
}

// TestQueryModulusBounds: queries live modulo the first queryModuli primes,
// a quarter smaller on the wire than answers, and for every party count up
// to 64 the query masks are StatLambda bits above the largest decrypted
// coefficient while x plus the others' masks stays below Q_query/4 (what
// e2sFinalize recovers).
func TestQueryModulusBounds(t *testing.T) {
	qst := getQuerySuite()
	if len(qst.q) != queryModuli || QueryCiphertextBytes()*len(moduliQ) != CiphertextBytes()*queryModuli {
		t.Fatalf("query ciphertexts of %d bytes mod %d primes, answers of %d bytes", QueryCiphertextBytes(), len(qst.q), CiphertextBytes())
	}
	quarter := new(big.Int).Rsh(qst.params.QBigInt(), 2)
	for np := 2; np <= 64; np++ {
		b := queryMaskBits(np)
		if queryLogX(np)+StatLambda > float64(b) {
			t.Fatalf("%d parties: a %d-bit mask hides a %.1f-bit value with fewer than %d bits", np, b, queryLogX(np), StatLambda)
		}
		sum := new(big.Int).Lsh(big.NewInt(int64(np-1)), uint(b))
		sum.Add(sum, new(big.Int).Lsh(big.NewInt(1), uint(math.Ceil(queryLogX(np)))))
		if sum.Cmp(quarter) >= 0 {
			t.Fatalf("%d parties: masks of %d bits reach Q_query/4", np, b)
		}
	}
}

// TestPackedBlocksMatchBits: the 60-bit block packer writes the bytes of the
// bit-by-bit one, for lengths around and far beyond a block, and reads them
// back, refusing a residue at or above the modulus inside a block.
func TestPackedBlocksMatchBits(t *testing.T) {
	forEachKernelPath(t, checkPackedBlocks)
}

func checkPackedBlocks(t *testing.T) {
	q := moduliQ[1]
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 100, 15680, RingDegree} {
		vals := randomWords(uint64(n)+1, n)
		for j := range vals {
			vals[j] %= q
		}
		prefix := []byte{0xAA, 0xBB, 0xCC}
		got := appendPacked(bytes.Clone(prefix), vals, blockWidth)
		want := appendPackedBits(bytes.Clone(prefix), vals, blockWidth)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d values: the block packer wrote other bytes", n)
		}
		back := make([]uint64, n)
		rest, err := readPacked(append(got[len(prefix):], 0x55), back, blockWidth, q)
		if err != nil || !equalWords(back, vals) || !bytes.Equal(rest, []byte{0x55}) {
			t.Fatalf("%d values: read back %v (rest %x)", n, err, rest)
		}
		if n >= 2*blockValues {
			bad := slices.Clone(vals)
			bad[blockValues+5] = q
			b := appendPacked(nil, bad, blockWidth)
			if _, err := readPacked(b, back, blockWidth, q); !errors.Is(err, errFormat) {
				t.Fatalf("%d values: a residue equal to q inside a block: %v", n, err)
			}
		}
	}
	checkPackedEdges(t, q)
}

// checkPackedEdges: the widest values pack as the bit-by-bit packer does,
// and a residue at or above q is refused at every position of a block, q-1
// accepted.
func checkPackedEdges(t *testing.T, q uint64) {
	const n = 3 * blockValues
	ones := make([]uint64, n)
	for j := range ones {
		ones[j] = 1<<blockWidth - 1
	}
	if !bytes.Equal(appendPacked(nil, ones, blockWidth), appendPackedBits(nil, ones, blockWidth)) {
		t.Fatal("values 2^60-1: the block packer wrote other bytes")
	}
	back := make([]uint64, n)
	for pos := range n {
		vals := make([]uint64, n)
		vals[pos] = q - 1
		if _, err := readPacked(appendPacked(nil, vals, blockWidth), back, blockWidth, q); err != nil || back[pos] != q-1 {
			t.Fatalf("q-1 at %d: %v", pos, err)
		}
		for _, bad := range []uint64{q, 1<<blockWidth - 1} {
			vals[pos] = bad
			_, err := readPacked(appendPacked(nil, vals, blockWidth), back, blockWidth, q)
			if !errors.Is(err, errFormat) || !strings.Contains(err.Error(), fmt.Sprint(bad)) {
				t.Fatalf("%#x at %d: %v", bad, pos, err)
			}
		}
	}
}
