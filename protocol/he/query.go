package he

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ldsec/lattigo/v2/ring"
	"github.com/tessera-mpc/tessera/sharing"
)

// Encrypted queries: the step functions of a prediction service in which a
// client encrypts its feature rows under the parties' collective public key,
// the parties turn the ciphertext into additive shares over Z_2^64 (the
// engine's), compute on the shares, and turn the output shares into one
// ciphertext under the client's own public key. Only the client decrypts it.
//
// Encoding. A query ciphertext holds up to RingDegree values of Z_2^64 (the
// sharing codec's fixed-point words), value j at coefficient j, read as a
// centred integer m_j (|m_j| <= 2^63). Both kinds of public key are scaled
// by t = 2^64 as in the package documentation: pk = (-a*s + 2^64 e, a), so
// an encryption (pk0*u + 2^64 e0 + m, pk1*u + 2^64 e1) decrypts to
// c0 + c1*s = m + 2^64*E (mod Q) with E small, and m mod 2^64 is exact.
//
// Queries live modulo Q_query, the product of the first queryModuli primes
// of Q (about 2^180), not Q: a decrypted query coefficient is below
// 2^queryLogX (about 2^85), and its mask of queryMaskBits (174 bits for
// three parties) still hides it with StatLambda bits, so the fourth prime
// carried nothing but cost. The query key is the collective key reduced mod
// Q_query (an RLWE sample mod Q reduced mod a divisor of Q is one mod that
// divisor, with the same secret and error: no weaker), and a party's share
// of the secret is read mod Q_query. A query, its c1 and a masked share are
// a quarter smaller, and so are the client's NTTs and every party's.
// Answers stay modulo Q: their smudging needs 64 + answerSmudgeBits bits.
//
// Steps (no transport; party/serve moves the messages):
//
//	client        NewClientKey, EncryptQuery(QueryKey, values)
//	aggregator    QueryParty.AggregateQuery(ct, n, peers' masked shares) -> its share
//	other party   QueryParty.MaskQuery(ct, n) -> masked share (to the aggregator), its share
//	every party   QueryParty.EncryptAnswer(client key, its output share) -> to the aggregator
//	aggregator    SumAnswers -> the answer, to the client
//	client        ClientKey.Decrypt(answer, n)
//
// Leakage, per message (the decryption-to-shares is the same as a request's
// E2S step, pitfalls included):
//
//   - Query ciphertext: a public-key encryption under the collective key, so
//     pseudorandom to any coalition missing one party's key share.
//   - Masked share of party h, (c1*s_h)[T] - M_h with M_h uniform on
//     queryMaskBits(n) bits: with what a coalition of the others knows it gives
//     x - M_h, x = m + 2^64*E, |x| <= 2^queryLogX(n) <= 2^(queryMaskBits - 80):
//     within statistical distance 2^-80 per coefficient of a simulation from
//     h's output share alone (TestQueryViewIndependentOfInput).
//   - Answer share of party h: an encryption under the client's key (the
//     parties cannot decrypt it). The client decrypts the sum over parties of
//     y_i + 2^64*R_i plus 2^64 times the noise; R_h uniform on
//     answerSmudgeBits = 129 bits hides the carries of the integer sum of the
//     shares and the noise (together below 2^25 in magnitude), so the client
//     learns y = sum y_i mod 2^64 and, within 2^-100 per coefficient,
//     nothing else.
//
// A client is trusted to encrypt well-formed ciphertexts: nothing here can
// tell an honest encryption from an arbitrary pair (c0, c1), whose
// "decryption" c0 + c1*s involves the collective secret s; the service then
// computes the model on it (docs/security.md, "Serving").

// answerSmudgeBits is the width of the uniform R_i a party adds, times 2^64,
// to its output share before encrypting it under the client's key.
const answerSmudgeBits = 129

// queryModuli is how many of Q's primes a query's modulus takes.
const queryModuli = 3

// getQuerySuite is the suite of the queries' ring, modulo Q_query.
var getQuerySuite = sync.OnceValue(func() *suite {
	s, err := newSuiteOf(moduliQ[:queryModuli])
	if err != nil {
		panic(fmt.Sprintf("he: invalid built-in query parameters: %v", err)) // unreachable: constants
	}
	return s
})

// queryMaskBits is the width of the masks of a query's decryption to shares
// with np parties (as MaskBits is for Q): the sum of a decrypted coefficient
// and np-1 masks stays below Q_query/8.
func queryMaskBits(np int) int { return getQuerySuite().logQFloor - 3 - ceilLog2(np) }

// QueryKey is the collective public key as clients use it: 2^64 times the
// public key of the key setup, modulo Q_query, in NTT form.
type QueryKey struct {
	pk [2]*ring.Poly
	// mont is pk in Montgomery form, as encryption multiplies by it: made
	// once per key rather than once per ciphertext.
	montOnce sync.Once
	mont     [2]*ring.Poly
}

// montgomery returns the key in Montgomery form.
func (k *QueryKey) montgomery(rq *ring.Ring) [2]*ring.Poly {
	k.montOnce.Do(func() {
		for c := range k.mont {
			k.mont[c] = getQuerySuite().newPoly()
			rq.MForm(k.pk[c], k.mont[c])
		}
	})
	return k.mont
}

// QueryKeyBytes is the wire size of a QueryKey.
func QueryKeyBytes() int { return 2 * getQuerySuite().polyBytes }

// Bytes encodes the key (residues bit-packed, as every message of the package).
func (k *QueryKey) Bytes() []byte {
	st := getQuerySuite()
	return st.appendPoly(st.appendPoly(encodeBuffer(QueryKeyBytes()), k.pk[0]), k.pk[1])
}

// Digest is the SHA-256 digest of the key's encoding: a client states it with
// every query, so that a query under another key is refused before any step.
func (k *QueryKey) Digest() [32]byte {
	h := sha256.New()
	h.Write([]byte("tessera/he/query-key/v2"))
	h.Write(k.Bytes())
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}

// ParseQueryKey decodes a key of exactly QueryKeyBytes bytes.
func ParseQueryKey(b []byte) (*QueryKey, error) {
	st := getQuerySuite()
	if len(b) != QueryKeyBytes() {
		return nil, fmt.Errorf("he: query key of %d bytes, want %d: %w", len(b), QueryKeyBytes(), errFormat)
	}
	k := &QueryKey{pk: [2]*ring.Poly{st.newPoly(), st.newPoly()}}
	rest, err := st.readPoly(b, k.pk[0])
	if err == nil {
		_, err = st.readPoly(rest, k.pk[1])
	}
	if err != nil {
		return nil, fmt.Errorf("he: query key: %w", err)
	}
	return k, nil
}

// queryKey converts the party's 2^64*pk (Montgomery form) to a QueryKey: its
// residues modulo the first queryModuli primes.
func (k *keyShare) queryKey() *QueryKey {
	out := &QueryKey{}
	qst := getQuerySuite()
	for c := range out.pk {
		out.pk[c] = qst.newPoly()
		for i, q := range qst.q {
			for j, v := range k.pkT[c].Coeffs[i] {
				out.pk[c].Coeffs[i][j] = ring.InvMForm(v, q, k.st.qInv[i])
			}
		}
	}
	return out
}

// encodeBuffer is an empty buffer for an encoding of n bytes. The packer
// stores whole words and asks for 8 bytes of capacity beyond what it writes:
// without them the last residue row grew (copied) the whole buffer, a
// megabyte per ciphertext.
func encodeBuffer(n int) []byte { return make([]byte, 0, n+8) }

// Ciphertext is a query (modulo Q_query) or an answer (modulo Q): c0 in
// coefficient form, c1 in NTT form.
type Ciphertext struct {
	st     *suite // getQuerySuite() or getSuite()
	c0, c1 *ring.Poly
}

// CiphertextBytes is the wire size of an answer Ciphertext.
func CiphertextBytes() int { return 2 * getSuite().polyBytes }

// QueryCiphertextBytes is the wire size of a query Ciphertext.
func QueryCiphertextBytes() int { return 2 * getQuerySuite().polyBytes }

// MaxValues is how many values one ciphertext holds.
const MaxValues = RingDegree

// Bytes encodes the ciphertext.
func (ct *Ciphertext) Bytes() []byte { return ct.AppendBytes(encodeBuffer(2 * ct.st.polyBytes)) }

// AppendBytes appends the ciphertext's encoding to dst. It stores whole
// words: with fewer than 8 bytes of capacity beyond the encoding, dst grows.
func (ct *Ciphertext) AppendBytes(dst []byte) []byte {
	return ct.st.appendPoly(ct.st.appendPoly(dst, ct.c0), ct.c1)
}

// C1Bytes encodes c1 alone: what the parties other than the aggregator need
// of a query (MaskQuery reads nothing else).
func (ct *Ciphertext) C1Bytes() []byte {
	return ct.st.appendPoly(encodeBuffer(ct.st.polyBytes), ct.c1)
}

// C1Bytes is the wire size of a query ciphertext's c1: the last C1Bytes
// bytes of its encoding are c1's (c0 comes first).
func C1Bytes() int { return getQuerySuite().polyBytes }

// ParseC1 decodes a query's c1 of exactly C1Bytes bytes into a query
// ciphertext whose c0 is zero: enough for MaskQuery, nothing else.
func ParseC1(b []byte) (*Ciphertext, error) {
	st := getQuerySuite()
	if len(b) != C1Bytes() {
		return nil, fmt.Errorf("he: c1 of %d bytes, want %d: %w", len(b), C1Bytes(), errFormat)
	}
	ct := newCiphertext(st)
	if _, err := st.readPoly(b, ct.c1); err != nil {
		return nil, fmt.Errorf("he: c1: %w", err)
	}
	return ct, nil
}

// ParseQueryCiphertext decodes a query ciphertext of exactly
// QueryCiphertextBytes bytes, checking every residue.
func ParseQueryCiphertext(b []byte) (*Ciphertext, error) {
	return parseCiphertext(getQuerySuite(), b)
}

// ParseCiphertext decodes an answer ciphertext of exactly CiphertextBytes
// bytes, checking every residue.
func ParseCiphertext(b []byte) (*Ciphertext, error) { return parseCiphertext(getSuite(), b) }

func parseCiphertext(st *suite, b []byte) (*Ciphertext, error) {
	if len(b) != 2*st.polyBytes {
		return nil, fmt.Errorf("he: ciphertext of %d bytes, want %d: %w", len(b), 2*st.polyBytes, errFormat)
	}
	ct := newCiphertext(st)
	rest, err := st.readPoly(b, ct.c0)
	if err == nil {
		_, err = st.readPoly(rest, ct.c1)
	}
	if err != nil {
		return nil, fmt.Errorf("he: ciphertext: %w", err)
	}
	return ct, nil
}

// newPolyQ allocates a polynomial mod Q (a plain allocation: lattigo's ring
// objects are not goroutine-safe, pitfall 7).
func newPolyQ() *ring.Poly { return getSuite().newPoly() }

// newPoly allocates a polynomial modulo the suite's primes.
func (st *suite) newPoly() *ring.Poly { return ring.NewPoly(RingDegree, len(st.q)) }

func newCiphertext(st *suite) *Ciphertext {
	return &Ciphertext{st: st, c0: st.newPoly(), c1: st.newPoly()}
}

// ClientPublicKey is a client's public key (b, a) = (-a*s + 2^64 e, a), NTT
// form; a is expanded from a 32-byte seed, so the key travels as b and the seed.
type ClientPublicKey struct {
	b, a *ring.Poly
	seed sharing.Seed
}

// ClientPublicKeyBytes is the wire size of a ClientPublicKey.
func ClientPublicKeyBytes() int { return getSuite().polyBytes + sharing.SeedSize }

// Bytes encodes the key.
func (k *ClientPublicKey) Bytes() []byte {
	return append(getSuite().appendPoly(encodeBuffer(ClientPublicKeyBytes()), k.b), k.seed[:]...)
}

// ParseClientPublicKey decodes a key of exactly ClientPublicKeyBytes bytes.
func ParseClientPublicKey(b []byte) (*ClientPublicKey, error) {
	st := getSuite()
	if len(b) != ClientPublicKeyBytes() {
		return nil, fmt.Errorf("he: client public key of %d bytes, want %d: %w", len(b), ClientPublicKeyBytes(), errFormat)
	}
	k := &ClientPublicKey{b: newPolyQ()}
	rest, err := st.readPoly(b, k.b)
	if err != nil {
		return nil, fmt.Errorf("he: client public key: %w", err)
	}
	copy(k.seed[:], rest)
	k.a = newPolyQ()
	newStream(k.seed, 0).uniformPoly(st.q, k.a)
	return k, nil
}

// ClientKey is a client's key pair. The secret never leaves the client.
// Safe for concurrent use.
type ClientKey struct {
	s   *ring.Poly // NTT and Montgomery form
	pub *ClientPublicKey
}

// clientWorkers and queryWorkers recycle the workers of client-side steps,
// modulo Q (keys, answers) and Q_query (queries): a worker's ring costs its
// NTT tables to build, and lattigo's objects are not goroutine-safe, so each
// call takes one of its own.
var (
	clientWorkers = workerPool(getSuite)
	queryWorkers  = workerPool(getQuerySuite)
)

func workerPool(st func() *suite) *sync.Pool {
	return &sync.Pool{New: func() any {
		w, err := newWorker(st())
		if err != nil {
			panic(fmt.Sprintf("he: a ring of the built-in parameters: %v", err)) // unreachable: constants
		}
		return w
	}}
}

// NewClientKey makes a key pair from rnd (crypto/rand.Reader when nil): s
// uniform ternary, e Gaussian as in the key setup, a from a fresh seed.
func NewClientKey(rnd io.Reader) (*ClientKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	st := getSuite()
	w := clientWorkers.Get().(*worker)
	defer clientWorkers.Put(w)
	var seeds [3]sharing.Seed // a, s, e
	for i := range seeds {
		if _, err := io.ReadFull(rnd, seeds[i][:]); err != nil {
			return nil, fmt.Errorf("he: client key: %w", err)
		}
	}
	rq := w.rq
	pub := &ClientPublicKey{a: rq.NewPoly(), b: rq.NewPoly()}
	copy(pub.seed[:], seeds[0][:])
	newStream(pub.seed, 0).uniformPoly(st.q, pub.a)
	s := rq.NewPoly()
	newStream(seeds[1], 0).ternary(w.small)
	smallPoly(st, w.small, s)
	w.st.ntt(s)
	rq.MForm(s, s)
	newStream(seeds[2], 0).gaussian(w.small)
	st.scaledSmall(w.small, pub.b, false)
	w.st.ntt(pub.b)
	e := w.tmp
	mulMont(rq, pub.a, s, e, montSet)
	rq.Sub(pub.b, e, pub.b)
	return &ClientKey{s: s, pub: pub}, nil
}

// Public is the client's public key.
func (k *ClientKey) Public() *ClientPublicKey { return k.pub }

// smallPoly writes the small signed values v into p (all moduli).
func smallPoly(st *suite, v []int64, p *ring.Poly) {
	for i, q := range st.q {
		row := p.Coeffs[i]
		for j, x := range v {
			row[j] = uint64(x) + q&uint64(x>>63)
		}
	}
}

// encryptScaled encrypts values (centred elements of Z_2^64, at coefficients
// 0..len-1) under the 2^64-scaled public key (pk0, pk1) (NTT form), with u,
// e0, e1 from the stream s: (pk0*u + 2^64 e0 + m, pk1*u + 2^64 e1). addHigh,
// when set, adds further integers (multiples of 2^64) at the value
// coefficients: the answer's smudging.
func encryptScaled(st *suite, w *worker, pk0, pk1 *ring.Poly, values []uint64, s *stream, addHigh func(t int, res []uint64)) *Ciphertext {
	rq := w.rq
	ct := newCiphertext(st)
	u := w.tmp2
	s.ternary(w.small)
	smallPoly(st, w.small, u)
	w.st.ntt(u)
	rq.MForm(u, u)
	mulMont(rq, pk0, u, ct.c0, montSet)
	mulMont(rq, pk1, u, ct.c1, montSet)
	w.st.invNTT(ct.c0, ct.c0)
	s.gaussian(w.small)
	st.scaledSmall(w.small, w.tmp, false)
	w.st.ntt(w.tmp)
	rq.Add(ct.c1, w.tmp, ct.c1)
	s.gaussian(w.small)
	st.scaledSmall(w.small, w.tmp, false)
	rq.Add(ct.c0, w.tmp, ct.c0)
	for t, v := range values {
		for i, q := range st.q {
			ct.c0.Coeffs[i][t] = addMod(ct.c0.Coeffs[i][t], residue(v, q, st.bred[i]), q)
		}
		if addHigh != nil {
			addHigh(t, w.res)
			for i, q := range st.q {
				ct.c0.Coeffs[i][t] = addMod(ct.c0.Coeffs[i][t], w.res[i], q)
			}
		}
	}
	return ct
}

// EncryptQuery encrypts up to MaxValues words of Z_2^64 (the sharing
// codec's encoding) under the collective key, with randomness from rnd
// (crypto/rand.Reader when nil). The client of the service calls it.
func EncryptQuery(key *QueryKey, values []uint64, rnd io.Reader) (*Ciphertext, error) {
	if len(values) == 0 || len(values) > MaxValues {
		return nil, fmt.Errorf("he: a query ciphertext holds 1 to %d values, got %d", MaxValues, len(values))
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	st := getQuerySuite()
	w := queryWorkers.Get().(*worker)
	defer queryWorkers.Put(w)
	var seed sharing.Seed
	if _, err := io.ReadFull(rnd, seed[:]); err != nil {
		return nil, fmt.Errorf("he: query encryption: %w", err)
	}
	pk := key.montgomery(w.rq)
	return encryptScaled(st, w, pk[0], pk[1], values, newStream(seed, 0), nil), nil
}

// Decrypt returns the first n values of an answer under the client's key.
func (k *ClientKey) Decrypt(ct *Ciphertext, n int) ([]uint64, error) {
	if n < 1 || n > MaxValues {
		return nil, fmt.Errorf("he: an answer holds 1 to %d values, asked for %d", MaxValues, n)
	}
	st := getSuite()
	if ct.st != st {
		return nil, errors.New("he: not an answer ciphertext")
	}
	w := clientWorkers.Get().(*worker)
	defer clientWorkers.Put(w)
	d := w.tmp
	mulMont(w.rq, ct.c1, k.s, d, montSet)
	w.st.invNTT(d, d)
	out := make([]uint64, n)
	res := make([]uint64, len(st.q))
	for t := range out {
		for i, q := range st.q {
			res[i] = addMod(ct.c0.Coeffs[i][t], d.Coeffs[i][t], q)
		}
		out[t] = st.crtMod64(res)
	}
	return out, nil
}

// queryLogX is log2 of the worst-case |x| of a decrypted coefficient of an
// honest query with np parties: |m| <= 2^63 plus 2^64*|E|, E = e_pk*u + e0 +
// e1*s with |e_pk| <= np*NoiseBound, |s| <= np, u ternary:
// |E| <= NoiseBound*(2*N*np + 1).
func queryLogX(np int) float64 {
	return math.Log2(math.Ldexp(1, 63) + math.Ldexp(NoiseBound*(2*RingDegree*float64(np)+1), 64))
}

// QueryParty is a party's end of the query steps: its share of the
// collective secret key, from a key setup (Setup), and pools of workers
// modulo Q (answers) and Q_query (queries). Safe for concurrent use.
type QueryParty struct {
	k        *keyShare
	me, np   int
	workers  chan *worker // modulo Q
	qworkers chan *worker // modulo Q_query
	rnd      io.Reader
	masked   atomic.Uint64 // coefficients masked, bounded by MaxMaskedCoefficients
}

// NewQueryParty makes the query end of a key setup's party. The setup must be
// dedicated to queries: its masking budget is shared with nothing else.
// rnd (crypto/rand.Reader when nil) seeds the masks and encryption noise.
func NewQueryParty(p *Party, rnd io.Reader) (*QueryParty, error) {
	return newQueryParty(&p.keyShare, p.me, p.np, rnd)
}

func newQueryParty(k *keyShare, me, np int, rnd io.Reader) (*QueryParty, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if queryLogX(np) > float64(queryMaskBits(np)-StatLambda) {
		return nil, fmt.Errorf("he: %d parties are too many for the query masks", np)
	}
	n := runtime.GOMAXPROCS(0)
	q := &QueryParty{k: k, me: me, np: np, workers: make(chan *worker, n), qworkers: make(chan *worker, n), rnd: rnd}
	for range n {
		w, err := newWorker(k.st)
		if err != nil {
			return nil, err
		}
		q.workers <- w
		if w, err = newWorker(getQuerySuite()); err != nil {
			return nil, err
		}
		q.qworkers <- w
	}
	return q, nil
}

// Key is the collective public key clients encrypt under.
func (q *QueryParty) Key() *QueryKey { return q.k.queryKey() }

var errMaskBudget = errors.New("he: the key setup's masking budget is spent: a new key setup is needed")

// take reserves n masked coefficients of the budget and a worker of pool.
func (q *QueryParty) take(pool chan *worker, n int) (*worker, error) {
	if q.masked.Add(uint64(n)) > MaxMaskedCoefficients {
		return nil, errMaskBudget
	}
	return <-pool, nil
}

func (q *QueryParty) seed() (sharing.Seed, error) {
	var s sharing.Seed
	if _, err := io.ReadFull(q.rnd, s[:]); err != nil {
		return s, fmt.Errorf("he: drawing a seed: %w", err)
	}
	return s, nil
}

func checkCount(n int) error {
	if n < 1 || n > MaxValues {
		return fmt.Errorf("he: a ciphertext holds 1 to %d values, asked for %d", MaxValues, n)
	}
	return nil
}

// checkQuery checks that ct is a query ciphertext (modulo Q_query) of n values.
func checkQuery(ct *Ciphertext, n int) error {
	if ct.st != getQuerySuite() {
		return errors.New("he: not a query ciphertext")
	}
	return checkCount(n)
}

// MaskedShareBytes is the wire size of a masked share of n values.
func MaskedShareBytes(n int) int { return getQuerySuite().vecBytes(n) }

// MaskQuery is a non-aggregator's decryption-to-shares step on a query
// ciphertext with n values: its masked share (c1*s_i)[0..n) - M_i, for the
// aggregator, and its output shares M_i mod 2^64. Call it once per
// ciphertext: a second masked share of the same ciphertext with a fresh mask
// would leak (lattigo's SECURITY.md).
func (q *QueryParty) MaskQuery(ct *Ciphertext, n int) (masked []byte, share []uint64, err error) {
	if err := checkQuery(ct, n); err != nil {
		return nil, nil, err
	}
	seed, err := q.seed()
	if err != nil {
		return nil, nil, err
	}
	w, err := q.take(q.qworkers, n)
	if err != nil {
		return nil, nil, err
	}
	defer func() { q.qworkers <- w }()
	st := getQuerySuite()
	d := q.k.partialDecryption(w, ct.c1) // the query ring reads s_i mod Q_query
	s := newStream(seed, 0)
	vec := newVec(len(st.q), n)
	share = make([]uint64, n)
	bits := queryMaskBits(q.np)
	for t := range share {
		share[t] = s.mask(bits, st.q, w.res)
		for i, qi := range st.q {
			vec[i][t] = subMod(d.Coeffs[i][t], w.res[i], qi)
		}
	}
	return st.appendVec(encodeBuffer(st.vecBytes(n)), vec), share, nil
}

// AggregateQuery is the aggregator's decryption-to-shares step: c0 +
// (c1*s_agg) plus every other party's masked share (indexed by party; its own
// entry is ignored), recovered as an integer and kept mod 2^64: its output
// shares. Each masked share must be exactly MaskedShareBytes(n) bytes.
func (q *QueryParty) AggregateQuery(ct *Ciphertext, n int, peers [][]byte) ([]uint64, error) {
	if err := checkQuery(ct, n); err != nil {
		return nil, err
	}
	if len(peers) != q.np {
		return nil, fmt.Errorf("he: %d masked shares for %d parties", len(peers), q.np)
	}
	st := getQuerySuite()
	y := newVec(len(st.q), n)
	other := newVec(len(st.q), n)
	for j, m := range peers {
		if j == q.me {
			continue
		}
		if len(m) != st.vecBytes(n) {
			return nil, fmt.Errorf("he: masked share of party %d has %d bytes, want %d: %w", j, len(m), st.vecBytes(n), errFormat)
		}
		if _, err := st.readVec(m, other); err != nil {
			return nil, fmt.Errorf("he: masked share of party %d: %w", j, err)
		}
		st.addVec(y, other)
	}
	w, err := q.take(q.qworkers, 0)
	if err != nil {
		return nil, err
	}
	defer func() { q.qworkers <- w }()
	d := q.k.partialDecryption(w, ct.c1)
	for i, qi := range st.q {
		for t, v := range ct.c0.Coeffs[i][:n] {
			y[i][t] = addMod(y[i][t], addMod(v, d.Coeffs[i][t], qi), qi)
		}
	}
	return st.e2sFinalize(y), nil
}

// EncryptAnswer encrypts the party's output shares (at most MaxValues) under
// the client's key, each plus 2^64*R_i with R_i uniform on answerSmudgeBits
// bits (see the leakage notes above).
func (q *QueryParty) EncryptAnswer(client *ClientPublicKey, share []uint64) (*Ciphertext, error) {
	if err := checkCount(len(share)); err != nil {
		return nil, err
	}
	seed, err := q.seed()
	if err != nil {
		return nil, err
	}
	w, err := q.take(q.workers, 0)
	if err != nil {
		return nil, err
	}
	defer func() { q.workers <- w }()
	return encryptAnswer(q.k.st, w, client, share, seed, true), nil
}

// encryptAnswer encrypts share under the client's key; smudge is false only
// in the test that shows what the smudging hides.
func encryptAnswer(st *suite, w *worker, client *ClientPublicKey, share []uint64, seed sharing.Seed, smudge bool) *Ciphertext {
	b, a := w.rq.NewPoly(), w.rq.NewPoly()
	w.rq.MForm(client.b, b)
	w.rq.MForm(client.a, a)
	smudges := newStream(seed, 1)
	high := make([]uint64, len(st.q))
	if !smudge {
		return encryptScaled(st, w, b, a, share, newStream(seed, 0), nil)
	}
	return encryptScaled(st, w, b, a, share, newStream(seed, 0), func(_ int, res []uint64) {
		// 2^64*R = M - (M mod 2^64), M uniform on 64 + answerSmudgeBits bits.
		low := smudges.mask(64+answerSmudgeBits, st.q, high)
		for i, qi := range st.q {
			res[i] = subMod(high[i], residue(low, qi, st.bred[i]), qi)
			if int64(low) < 0 { // residue read low as negative: add back 2^64
				res[i] = subMod(res[i], ring.MRed(1, st.tMont[i], qi, st.qInv[i]), qi)
			}
		}
	})
}

// SumAnswers adds the parties' answer ciphertexts into one, the answer.
func SumAnswers(cts ...*Ciphertext) (*Ciphertext, error) {
	if len(cts) == 0 {
		return nil, errors.New("he: no answer shares to sum")
	}
	st := getSuite()
	out := newCiphertext(st)
	for _, ct := range cts {
		if ct.st != st {
			return nil, errors.New("he: not an answer ciphertext")
		}
		for i, q := range st.q {
			for j := range RingDegree {
				out.c0.Coeffs[i][j] = addMod(out.c0.Coeffs[i][j], ct.c0.Coeffs[i][j], q)
				out.c1.Coeffs[i][j] = addMod(out.c1.Coeffs[i][j], ct.c1.Coeffs[i][j], q)
			}
		}
	}
	return out, nil
}
