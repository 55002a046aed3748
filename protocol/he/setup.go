package he

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"runtime"
	"sync"

	"github.com/ldsec/lattigo/v2/drlwe"
	"github.com/ldsec/lattigo/v2/ring"
	"github.com/ldsec/lattigo/v2/rlwe"
	"github.com/ldsec/lattigo/v2/utils"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// Option configures Setup.
type Option func(*options)

type options struct {
	rand       io.Reader
	workers    int
	commWeight float64
}

// WithRand sets where the party's 32-byte coin-toss share and master seed
// come from (default crypto/rand.Reader). All per-request randomness
// (operand shares, encryption noise, masks) is expanded from the master seed
// with AES-CTR; the secret key and the public-key share noise always come
// from crypto/rand through lattigo.
func WithRand(r io.Reader) Option { return func(o *options) { o.rand = r } }

// WithWorkers sets how many goroutines a party uses for the ring arithmetic
// (default GOMAXPROCS). Each has its own ring and buffers.
func WithWorkers(n int) Option { return func(o *options) { o.workers = n } }

// WithCommWeight sets how the matrix packing trades computation for
// communication: the cost of sending one ciphertext polynomial (480 KiB), in
// units of one number-theoretic transform (~0.8 ms). The default,
// DefaultCommWeight, suits a LAN; raise it for scarce bandwidth. All parties
// must use the same value.
func WithCommWeight(w float64) Option { return func(o *options) { o.commWeight = w } }

// Party is one party's share of a threshold CKKS key pair and its end of a
// dealer-free preprocessing session. It implements protocol.Source (the
// arithmetic kinds in Kinds) by running the generation protocol
// with the other parties over the transport given to Setup, which must be
// dedicated to it (not the online engine's).
//
// All parties must make the same requests in the same order. Requests are
// serialised; a Party is safe for concurrent use but gains nothing from it.
// After any failure the Party refuses further requests: the parties' counters
// may disagree, and retrying could re-send a decryption share.
type Party struct {
	mu  sync.Mutex
	tr  protocol.Transport
	st  *suite
	me  int
	np  int
	sk  *ring.Poly    // s_i mod Q: NTT and Montgomery form; never leaves the party
	pkT [2]*ring.Poly // 2^64 * (collective public key), mod Q, NTT and Montgomery form

	pkDigest [32]byte
	crpSeed  sharing.Seed // from the coin toss: common reference polynomials
	seeds    map[string]sharing.Seed

	workers    []*worker
	commWeight float64

	nextReq uint64 // requests served
	nextEnc uint64 // encryptions made: index of the next common reference polynomial
	nextOut uint64 // output ciphertexts decrypted to shares
	masked  uint64 // coefficients masked so far (bounded by MaxMaskedCoefficients)
	failed  error

	masks map[uint64][2]int // dimensions of the masks made, by ID
}

var _ protocol.Source = (*Party)(nil)

// Seed labels of the per-purpose AES keys.
const (
	labelA      = "A"      // operand A shares
	labelB      = "B"      // operand B shares
	labelS2E    = "s2e"    // shares-to-encryption noise
	labelRerand = "rerand" // re-randomisation u, e0, e1
	labelMask   = "mask"   // encryption-to-shares masks
)

// Setup runs the key setup among the tr.Parties() parties: a joint coin toss
// for the common reference string (each party commits to a random 32-byte
// value with SHA-256, then reveals it; the seed is the hash of all values),
// collective public-key generation (lattigo drlwe CKG: every party sends
// e_i - crp*s_i to every other, all aggregate) and a key confirmation (every
// party sends the digest of the public key it computed; all must agree).
// Three rounds and a confirmation; each party sends one public-key share
// (~0.7 MB) to each peer.
func Setup(ctx context.Context, tr protocol.Transport, opts ...Option) (*Party, error) {
	o := options{rand: rand.Reader, workers: runtime.GOMAXPROCS(0), commWeight: DefaultCommWeight}
	for _, f := range opts {
		f(&o)
	}
	if o.workers < 1 {
		o.workers = 1
	}
	if !(o.commWeight >= 0) || math.IsInf(o.commWeight, 1) {
		return nil, fmt.Errorf("he: setup: communication weight %v is not a finite non-negative number", o.commWeight)
	}
	np, me := tr.Parties(), tr.Self()
	if np < 2 || me < 0 || me >= np {
		return nil, fmt.Errorf("he: setup: party %d of %d: need at least 2 parties", me, np)
	}
	if MaskBits(np) <= 192 || logXBound(np, 1, float64(ElementwiseSlots)) > maxLogX(np) {
		return nil, fmt.Errorf("he: setup: %d parties are too many for the modulus", np)
	}
	st := getSuite()
	p := &Party{tr: tr, st: st, me: me, np: np, commWeight: o.commWeight}

	var master, coin [32]byte
	if _, err := io.ReadFull(o.rand, master[:]); err != nil {
		return nil, fmt.Errorf("he: setup: drawing the master seed: %w", err)
	}
	if _, err := io.ReadFull(o.rand, coin[:]); err != nil {
		return nil, fmt.Errorf("he: setup: drawing the coin-toss share: %w", err)
	}
	p.seeds = map[string]sharing.Seed{}
	for _, l := range []string{labelA, labelB, labelS2E, labelRerand, labelMask} {
		p.seeds[l] = deriveSeed(master, l)
	}

	// Round 1 and 2: coin toss.
	commit := coinCommitment(me, coin)
	body := append([]byte(nil), st.fingerprint[:]...)
	body = binary.LittleEndian.AppendUint32(body, uint32(np))
	body = append(body, commit[:]...)
	peers, err := p.exchange(ctx, header{step: stepCommit, items: 1}, body, 32+4+32)
	if err != nil {
		return nil, err
	}
	commits := make([][32]byte, np)
	commits[me] = commit
	for j, m := range peers {
		if j == me {
			continue
		}
		if !bytes.Equal(m[:32], st.fingerprint[:]) || binary.LittleEndian.Uint32(m[32:]) != uint32(np) {
			return nil, fmt.Errorf("he: setup: party %d runs other parameters or another party count", j)
		}
		copy(commits[j][:], m[36:])
	}
	peers, err = p.exchange(ctx, header{step: stepReveal, items: 1}, coin[:], 32)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte("tessera/he/crs/v1"))
	for j := 0; j < np; j++ {
		c := coin
		if j != me {
			copy(c[:], peers[j])
			want := coinCommitment(j, c)
			if subtle.ConstantTimeCompare(want[:], commits[j][:]) != 1 {
				return nil, fmt.Errorf("he: setup: party %d revealed a coin share that does not match its commitment", j)
			}
		}
		h.Write(c[:])
	}
	var crs [32]byte
	copy(crs[:], h.Sum(nil))
	p.crpSeed = deriveSeed(crs, "crp")

	// Round 3: collective public key.
	params := st.params
	kg := rlwe.NewKeyGenerator(params)
	sk := kg.GenSecretKey() // uniform ternary, NTT and Montgomery form, in QP
	ckg := drlwe.NewCKGProtocol(params)
	crsPRNG, err := utils.NewKeyedPRNG(append([]byte("tessera/he/ckg/v1"), crs[:]...))
	if err != nil {
		return nil, fmt.Errorf("he: setup: %w", err)
	}
	crp := ckg.SampleCRP(crsPRNG)
	share := ckg.AllocateShares()
	ckg.GenShare(sk, crp, share)
	body = st.appendPoly(nil, share.Value.Q)
	body = appendPolyP(body, share.Value.P)
	peers, err = p.exchange(ctx, header{step: stepCKG, items: 1}, body, st.polyBytes+polyBytesP())
	if err != nil {
		return nil, err
	}
	agg := ckg.AllocateShares()
	agg.Value.Q.Copy(share.Value.Q)
	agg.Value.P.Copy(share.Value.P)
	peerShare := ckg.AllocateShares()
	for j, m := range peers {
		if j == me {
			continue
		}
		rest, err := st.readPoly(m, peerShare.Value.Q)
		if err == nil {
			_, err = readPolyP(rest, peerShare.Value.P)
		}
		if err != nil {
			return nil, fmt.Errorf("he: setup: public-key share of party %d: %w", j, err)
		}
		ckg.AggregateShares(agg, peerShare, agg)
	}
	pk := rlwe.NewPublicKey(params)
	ckg.GenPublicKey(agg, crp, pk)

	// Round 4: key confirmation.
	dg := sha256.New()
	dg.Write([]byte("tessera/he/pk/v1"))
	for _, v := range pk.Value {
		dg.Write(st.appendPoly(nil, v.Q))
		dg.Write(appendPolyP(nil, v.P))
	}
	copy(p.pkDigest[:], dg.Sum(nil))
	peers, err = p.exchange(ctx, header{step: stepConfirm, items: 1}, p.pkDigest[:], 32)
	if err != nil {
		return nil, err
	}
	for j, m := range peers {
		if j != me && subtle.ConstantTimeCompare(m, p.pkDigest[:]) != 1 {
			return nil, fmt.Errorf("he: setup: party %d computed a different public key", j)
		}
	}

	// Keep s_i mod Q and 2^64*pk mod Q in Montgomery form.
	rq := params.RingQ()
	p.sk = sk.Value.Q.CopyNew()
	for c := 0; c < 2; c++ {
		x := pk.Value[c].Q.CopyNew()
		for i, q := range st.q {
			row := x.Coeffs[i]
			for j, v := range row {
				row[j] = ring.MRed(v, st.tMont[i], q, st.qInv[i])
			}
		}
		rq.MForm(x, x)
		p.pkT[c] = x
	}
	p.workers = make([]*worker, o.workers)
	for i := range p.workers {
		w, err := newWorker(st)
		if err != nil {
			return nil, fmt.Errorf("he: setup: %w", err)
		}
		p.workers[i] = w
	}
	return p, nil
}

func coinCommitment(party int, coin [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("tessera/he/coin/v1"))
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(party))
	h.Write(b[:])
	h.Write(coin[:])
	var c [32]byte
	copy(c[:], h.Sum(nil))
	return c
}

// The special primes' residues are packed like Q's.
func polyBytesP() int {
	n := 0
	for _, q := range moduliP {
		n += packedLen(RingDegree, uint(bits.Len64(q)))
	}
	return n
}

func appendPolyP(dst []byte, p *ring.Poly) []byte {
	for i, q := range moduliP {
		dst = appendPacked(dst, p.Coeffs[i][:RingDegree], uint(bits.Len64(q)))
	}
	return dst
}

func readPolyP(src []byte, p *ring.Poly) ([]byte, error) {
	var err error
	for i, q := range moduliP {
		if src, err = readPacked(src, p.Coeffs[i][:RingDegree], uint(bits.Len64(q)), q); err != nil {
			return nil, err
		}
	}
	return src, nil
}

// exchange sends body to every peer under header h (request 0 marks setup)
// and returns every peer's body of exactly bodyLen bytes, indexed by party.
func (p *Party) exchange(ctx context.Context, h header, body []byte, bodyLen int) ([][]byte, error) {
	msg := appendHeader(make([]byte, 0, headerSize+len(body)), h)
	msg = append(msg, body...)
	for j := 0; j < p.np; j++ {
		if j == p.me {
			continue
		}
		if err := p.tr.Send(ctx, j, msg); err != nil {
			return nil, fmt.Errorf("he: setup: sending the %s to party %d: %w", stepName(h.step), j, err)
		}
	}
	out := make([][]byte, p.np)
	for j := 0; j < p.np; j++ {
		if j == p.me {
			continue
		}
		m, err := p.tr.Recv(ctx, j)
		if err != nil {
			return nil, fmt.Errorf("he: setup: waiting for the %s of party %d: %w", stepName(h.step), j, err)
		}
		if out[j], err = openMessage(m, h, bodyLen); err != nil {
			return nil, fmt.Errorf("he: setup: %s of party %d: %w", stepName(h.step), j, err)
		}
	}
	return out, nil
}

// PublicKeyDigest is the SHA-256 digest of the collective public key; every
// party of a session has the same.
func (p *Party) PublicKeyDigest() [32]byte { return p.pkDigest }

// Self is this party's index.
func (p *Party) Self() int { return p.me }

// Parties is the number of parties.
func (p *Party) Parties() int { return p.np }
