package he

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"

	"github.com/ldsec/lattigo/v2/rlwe"
	"github.com/tessera-mpc/tessera/protocol"
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
// DefaultCommWeight, trades ~10% more CPU for ~19% fewer bytes than a LAN
// setting (2) would; lower it for CPU-bound parties on a fast network. All parties
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
	mu       sync.Mutex
	tr       protocol.Transport
	me       int
	np       int
	keyShare // the key material the per-step functions use (steps.go)

	pkDigest [32]byte

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
// (~0.7 MB) to each peer. Each round is a pure step (keygen.go) and one
// exchange of its output.
func Setup(ctx context.Context, tr protocol.Transport, opts ...Option) (*Party, error) {
	o, err := setupOptions(tr, opts)
	if err != nil {
		return nil, err
	}
	np, me := tr.Parties(), tr.Self()
	st := getSuite()
	p := &Party{tr: tr, me: me, np: np, commWeight: o.commWeight}

	var master, coin [32]byte
	if _, err := io.ReadFull(o.rand, master[:]); err != nil {
		return nil, fmt.Errorf("he: setup: drawing the master seed: %w", err)
	}
	if _, err := io.ReadFull(o.rand, coin[:]); err != nil {
		return nil, fmt.Errorf("he: setup: drawing the coin-toss share: %w", err)
	}
	crs, err := p.coinToss(ctx, st, coin)
	if err != nil {
		return nil, err
	}
	kg, err := newKeyGen(st, crs)
	if err != nil {
		return nil, fmt.Errorf("he: setup: %w", err)
	}
	sk := rlwe.NewKeyGenerator(st.params).GenSecretKey() // uniform ternary, NTT and Montgomery form, in QP
	pk, err := p.collectivePublicKey(ctx, kg, sk)
	if err != nil {
		return nil, err
	}
	p.pkDigest = st.publicKeyDigest(pk)
	peers, err := p.exchange(ctx, header{step: stepConfirm, items: 1}, p.pkDigest[:], 32)
	if err != nil {
		return nil, err
	}
	for j, m := range peers {
		if j != me && subtle.ConstantTimeCompare(m, p.pkDigest[:]) != 1 {
			return nil, fmt.Errorf("he: setup: party %d computed a different public key", j)
		}
	}
	p.keyShare = st.newKeyShare(sk, pk, crs, master)
	p.workers = make([]*worker, o.workers)
	for i := range p.workers {
		if p.workers[i], err = newWorker(st); err != nil {
			return nil, fmt.Errorf("he: setup: %w", err)
		}
	}
	return p, nil
}

// setupOptions applies opts and checks them and the party count.
func setupOptions(tr protocol.Transport, opts []Option) (options, error) {
	o := options{rand: rand.Reader, workers: runtime.GOMAXPROCS(0), commWeight: DefaultCommWeight}
	for _, f := range opts {
		f(&o)
	}
	if o.workers < 1 {
		o.workers = 1
	}
	if !(o.commWeight >= 0) || math.IsInf(o.commWeight, 1) {
		return o, fmt.Errorf("he: setup: communication weight %v is not a finite non-negative number", o.commWeight)
	}
	np, me := tr.Parties(), tr.Self()
	if np < 2 || me < 0 || me >= np {
		return o, fmt.Errorf("he: setup: party %d of %d: need at least 2 parties", me, np)
	}
	if !switchFits(np) || logXBound(np, 1, float64(ElementwiseSlots)) > maxLogX(np) {
		return o, fmt.Errorf("he: setup: %d parties are too many for the modulus", np)
	}
	return o, nil
}

// coinToss runs the commit and reveal rounds and returns the seed of the
// common reference string.
func (p *Party) coinToss(ctx context.Context, st *suite, coin [32]byte) ([32]byte, error) {
	commit := coinCommitment(p.me, coin)
	peers, err := p.exchange(ctx, header{step: stepCommit, items: 1}, st.commitBody(p.np, commit), commitBodyLen)
	if err != nil {
		return [32]byte{}, err
	}
	commits := make([][32]byte, p.np)
	for j, m := range peers {
		if j == p.me {
			commits[j] = commit
		} else if commits[j], err = st.openCommitBody(m, p.np); err != nil {
			return [32]byte{}, fmt.Errorf("he: setup: party %d %w", j, err)
		}
	}
	peers, err = p.exchange(ctx, header{step: stepReveal, items: 1}, coin[:], 32)
	if err != nil {
		return [32]byte{}, err
	}
	coins := make([][32]byte, p.np)
	for j, m := range peers {
		if j == p.me {
			coins[j] = coin
		} else {
			copy(coins[j][:], m)
		}
	}
	crs, err := commonReference(coins, commits)
	if err != nil {
		return [32]byte{}, fmt.Errorf("he: setup: %w", err)
	}
	return crs, nil
}

// collectivePublicKey sends this party's public-key share to every peer and
// aggregates every party's.
func (p *Party) collectivePublicKey(ctx context.Context, kg *keyGen, sk *rlwe.SecretKey) (*rlwe.PublicKey, error) {
	share := kg.genShare(sk)
	peers, err := p.exchange(ctx, header{step: stepCKG, items: 1}, kg.appendShare(nil, share), kg.shareBytes())
	if err != nil {
		return nil, err
	}
	agg := kg.newShare()
	kg.aggregate(agg, share)
	for j, m := range peers {
		if j == p.me {
			continue
		}
		peer, err := kg.readShare(m)
		if err != nil {
			return nil, fmt.Errorf("he: setup: public-key share of party %d: %w", j, err)
		}
		kg.aggregate(agg, peer)
	}
	return kg.publicKey(agg), nil
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
