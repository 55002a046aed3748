package he

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/ldsec/lattigo/v2/drlwe"
	"github.com/ldsec/lattigo/v2/ring"
	"github.com/ldsec/lattigo/v2/rlwe"
	"github.com/ldsec/lattigo/v2/utils"
	"github.com/tessera-mpc/tessera/sharing"
)

// The per-step functions of the key setup: the coin toss (commit, then
// reveal, then hash everything into the common reference seed), the
// collective public-key generation (lattigo drlwe CKG: genShare, aggregate,
// publicKey) and the party's resulting key material. Setup (setup.go) runs
// them with one exchange per step.

// commitBodyLen is the size of a coin-toss commitment message: parameter
// fingerprint, party count, commitment.
const commitBodyLen = 32 + 4 + 32

var errOtherParameters = errors.New("runs other parameters or another party count")

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

// commitBody is the coin-toss commitment message. It carries the parameter
// fingerprint and the party count, so that parties that disagree on either
// stop before any key material is exchanged.
func (st *suite) commitBody(np int, commit [32]byte) []byte {
	body := append(make([]byte, 0, commitBodyLen), st.fingerprint[:]...)
	body = binary.LittleEndian.AppendUint32(body, uint32(np))
	return append(body, commit[:]...)
}

// openCommitBody checks a peer's commitment message against our parameters
// and party count and returns its commitment.
func (st *suite) openCommitBody(body []byte, np int) ([32]byte, error) {
	var c [32]byte
	if len(body) != commitBodyLen {
		return c, fmt.Errorf("sent a commitment of %d bytes, want %d: %w", len(body), commitBodyLen, errFormat)
	}
	if !bytes.Equal(body[:32], st.fingerprint[:]) || binary.LittleEndian.Uint32(body[32:]) != uint32(np) {
		return c, errOtherParameters
	}
	copy(c[:], body[36:])
	return c, nil
}

// commonReference checks every party's revealed coin against its commitment
// and returns the common reference seed, the hash of all coins: uniform if
// one party is honest.
func commonReference(coins, commits [][32]byte) ([32]byte, error) {
	var crs [32]byte
	if len(coins) != len(commits) {
		return crs, fmt.Errorf("%d coins for %d commitments", len(coins), len(commits))
	}
	h := sha256.New()
	h.Write([]byte("tessera/he/crs/v1"))
	for j, c := range coins {
		want := coinCommitment(j, c)
		if subtle.ConstantTimeCompare(want[:], commits[j][:]) != 1 {
			return crs, fmt.Errorf("party %d revealed a coin share that does not match its commitment", j)
		}
		h.Write(c[:])
	}
	copy(crs[:], h.Sum(nil))
	return crs, nil
}

// keyGen is the collective public-key generation (lattigo drlwe CKG) on the
// common reference polynomial of a coin toss. Not goroutine-safe.
type keyGen struct {
	st  *suite
	ckg *drlwe.CKGProtocol
	crp drlwe.CKGCRP
}

func newKeyGen(st *suite, crs [32]byte) (*keyGen, error) {
	ckg := drlwe.NewCKGProtocol(st.params)
	prng, err := utils.NewKeyedPRNG(append([]byte("tessera/he/ckg/v1"), crs[:]...))
	if err != nil {
		return nil, err
	}
	return &keyGen{st: st, ckg: ckg, crp: ckg.SampleCRP(prng)}, nil
}

// genShare returns the party's public-key share e_i - crp*s_i (fresh noise
// from lattigo's crypto/rand sampler).
func (kg *keyGen) genShare(sk *rlwe.SecretKey) *drlwe.CKGShare {
	s := kg.ckg.AllocateShares()
	kg.ckg.GenShare(sk, kg.crp, s)
	return s
}

// newShare returns a zero share, the start of an aggregation.
func (kg *keyGen) newShare() *drlwe.CKGShare { return kg.ckg.AllocateShares() }

// aggregate adds share into acc.
func (kg *keyGen) aggregate(acc, share *drlwe.CKGShare) { kg.ckg.AggregateShares(acc, share, acc) }

// publicKey finalises the aggregate of every party's share.
func (kg *keyGen) publicKey(agg *drlwe.CKGShare) *rlwe.PublicKey {
	pk := rlwe.NewPublicKey(kg.st.params)
	kg.ckg.GenPublicKey(agg, kg.crp, pk)
	return pk
}

// shareBytes is the wire size of a share: its residues mod Q, then mod P.
func (kg *keyGen) shareBytes() int { return kg.st.polyBytes + polyBytesP() }

func (kg *keyGen) appendShare(dst []byte, s *drlwe.CKGShare) []byte {
	return appendPolyP(kg.st.appendPoly(dst, s.Value.Q), s.Value.P)
}

// readShare decodes a share of exactly shareBytes bytes.
func (kg *keyGen) readShare(src []byte) (*drlwe.CKGShare, error) {
	if len(src) != kg.shareBytes() {
		return nil, fmt.Errorf("%w: public-key share of %d bytes, want %d", errFormat, len(src), kg.shareBytes())
	}
	s := kg.ckg.AllocateShares()
	rest, err := kg.st.readPoly(src, s.Value.Q)
	if err == nil {
		_, err = readPolyP(rest, s.Value.P)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// publicKeyDigest is the SHA-256 digest the parties confirm.
func (st *suite) publicKeyDigest(pk *rlwe.PublicKey) [32]byte {
	dg := sha256.New()
	dg.Write([]byte("tessera/he/pk/v1"))
	for _, v := range pk.Value {
		dg.Write(st.appendPoly(nil, v.Q))
		dg.Write(appendPolyP(nil, v.P))
	}
	var d [32]byte
	copy(d[:], dg.Sum(nil))
	return d
}

// newKeyShare keeps what the requests need: s_i mod Q, 2^64*pk mod Q in
// Montgomery form, the common reference seed of the coin toss and the
// per-purpose seeds of the party's master seed.
func (st *suite) newKeyShare(sk *rlwe.SecretKey, pk *rlwe.PublicKey, crs, master [32]byte) keyShare {
	k := keyShare{st: st, sk: sk.Value.Q.CopyNew(), crpSeed: deriveSeed(crs, "crp"), seeds: map[string]sharing.Seed{}}
	rq := st.params.RingQ()
	for c := 0; c < 2; c++ {
		x := pk.Value[c].Q.CopyNew()
		for i, q := range st.q {
			row := x.Coeffs[i]
			for j, v := range row {
				row[j] = ring.MRed(v, st.tMont[i], q, st.qInv[i])
			}
		}
		rq.MForm(x, x)
		k.pkT[c] = x
	}
	for _, l := range []string{labelA, labelB, labelS2E, labelRerand, labelMask} {
		k.seeds[l] = deriveSeed(master, l)
	}
	return k
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
