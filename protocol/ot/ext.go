package ot

import (
	"crypto/aes"
	"crypto/sha256"
	"sync"

	"github.com/tessera-mpc/tessera/sharing"
)

// kappa is the computational security parameter: the number of base OTs per
// ordered pair of parties and the width of the IKNP matrix.
const kappa = 128

// crHash is the correlation-robust hash of the extension: fixed-key AES in the
// Matyas-Meyer-Oseas construction with a linear orthomorphism of Guo,
// Kolesnikov, Wang and Yang ("Efficient and secure multiparty computation from
// fixed-key block ciphers", IEEE S&P 2020, MMO^sigma): H(x) = pi(sigma(x)) XOR
// sigma(x), sigma(lo, hi) = (lo XOR hi, lo), pi = AES-128 under a fixed public
// key; circular correlation robust in the ideal-permutation model, which
// implies the correlation robustness semi-honest IKNP and SoftSpoken need for
// their one correlation Delta per ordered pair: H(t_i XOR Delta) looks random
// given the rows t_i, which are uniform (PRG outputs), never chosen by an
// adversary. The OT's index i is XORed into the input (H(i, x) = H(x XOR i)),
// which keeps the rows uniform and separates equal rows of different OTs; the
// tweakable TMMO (two AES calls) is only needed against a malicious receiver.
// One AES call per hash, eight blocks at a time (fixedAES). Outputs are
// truncated to 64 bits.
type crHash struct{ pi *fixedAES }

func newCRHash() crHash {
	key := sha256.Sum256([]byte("tessera/protocol/ot: fixed AES key of the MMO hash"))
	b, err := aes.NewCipher(key[:16])
	if err != nil {
		panic(err) // unreachable: fixed key size
	}
	return crHash{pi: newFixedAES([16]byte(key[:16]), b)}
}

// hashChunk is the number of rows hashed per AES pass: 8 kB of blocks, which
// stay in the L1 cache between the passes that fill and read them.
const hashChunk = 512

// hashRows writes H(tweak+i, row_i XOR (d0, d1)) for every 128-bit row i of
// rs (row i is rs[2i], rs[2i+1]) into out, in the given output mode. Per
// chunk of rows: sigma of every input into a buffer, one AES pass over the
// buffer, then the MMO feed-forward.
func (h crHash) hashRows(tweak uint64, rs []uint64, d0, d1 uint64, mode int, out []uint64) {
	h.hashRowsWith(new(hashBuffers), tweak, rs, d0, d1, mode, out)
}

// hashBuffers is hashRows's working memory: one chunk of AES blocks, their
// sigma low halves, and hash words for the bit mode.
type hashBuffers struct {
	blocks [2 * hashChunk]uint64
	slo    [hashChunk]uint64
	words  [hashChunk]uint64
}

// hashRowsWith is hashRows in the given working memory. With VAES the rows
// go 32 at a time through hashRowsVAES512 (AVX-512), sixteen through
// hashRowsVAES (sigma, AES and feed-forward in registers), and only a
// chunk's last few through the loops here.
func (h crHash) hashRowsWith(buf *hashBuffers, tweak uint64, rs []uint64, d0, d1 uint64, mode int, out []uint64) {
	n := len(rs) / 2
	for start := 0; start < n; start += hashChunk {
		m := min(n-start, hashChunk)
		words := buf.words[:m]
		if mode == outWords {
			words = out[start : start+m]
		}
		h.hashWords(buf, tweak+uint64(start), rs[2*start:2*(start+m)], d0, d1, words)
		if mode == outBits {
			for k, v := range words {
				put(out, mode, start+k, v)
			}
		}
	}
}

// hashWords writes H(tweak+i, row_i ^ (d0, d1)) for the len(out) <= hashChunk
// rows of rs into out.
func (h crHash) hashWords(buf *hashBuffers, tweak uint64, rs []uint64, d0, d1 uint64, out []uint64) {
	done := 0
	if haveVAES512 && len(out) >= 32 {
		done = len(out) &^ 31
		c := [40]uint64{d0, d1, d0, d1, d0, d1, d0, d1,
			tweak, 0, tweak + 1, 0, tweak + 2, 0, tweak + 3, 0,
			4, 0, 4, 0, 4, 0, 4, 0,
			^uint64(0), 0, ^uint64(0), 0, ^uint64(0), 0, ^uint64(0), 0,
			0, 2, 4, 6, 8, 10, 12, 14}
		hashRowsVAES512(&h.pi.keys2, &rs[0], done, &c, &out[0])
	}
	if haveVAES && len(out)-done >= 16 {
		t := tweak + uint64(done)
		c := [12]uint64{d0, d1, d0, d1, t, 0, t + 1, 0, 2, 0, 2, 0}
		hashRowsVAES(&h.pi.keys2, &rs[2*done], 16, &c, &out[done])
		done += 16
	}
	m := len(out) - done
	in, blk, s := rs[2*done:], buf.blocks[:2*m], buf.slo[:m]
	for k := range s {
		lo := in[2*k] ^ d0 ^ (tweak + uint64(done+k))
		s[k] = lo ^ in[2*k+1] ^ d1 // sigma(lo, hi) = (lo ^ hi, lo)
		blk[2*k], blk[2*k+1] = s[k], lo
	}
	h.pi.encryptWords(blk)
	o := out[done:]
	for k := range o {
		o[k] = blk[2*k] ^ s[k]
	}
}

// hash returns the low 64 bits of H(tweak, (lo, hi)) (tests).
func (h crHash) hash(tweak, lo, hi uint64) uint64 {
	var out [1]uint64
	h.hashRows(tweak, []uint64{lo, hi}, 0, 0, outWords, out[:])
	return out[0]
}

// transpose64 transposes a 64x64 bit matrix in place, with entry (r, c) in bit
// c of a[r] (Hacker's Delight, 7-3, recursive block swaps).
func transpose64(a *[64]uint64) {
	m := uint64(0x00000000FFFFFFFF)
	for j := 32; j != 0; j >>= 1 {
		for k := 0; k < 64; k = (k + j + 1) &^ j {
			t := ((a[k] >> uint(j)) ^ a[k+j]) & m
			a[k] ^= t << uint(j)
			a[k+j] ^= t
		}
		m ^= m << uint(j>>1)
	}
}

// extSender is this party's end of the extension in which it is the OT sender
// towards one peer: its base-OT choices s, the chosen seeds (level sums of the
// peer's GGM trees) and the leaves it rebuilt from them; its correlation is
// Delta = NOT s (softspoken.go).
type extSender struct {
	s0, s1 uint64
	seeds  [kappa]sharing.Seed
	leaves [ssBlocks][ssLeaves]sharing.Seed
	cipher leafCipher // the leaves' key schedules, in Delta's order
	batch  uint64     // batches extended so far: PRG stream index
	tweak  uint64     // OTs extended so far: hash tweak
}

// extReceiver is this party's end of the extension in which it is the OT
// receiver from one peer: both base-OT messages of every column and all the
// leaves of its GGM trees.
type extReceiver struct {
	k0, k1 [kappa]sharing.Seed
	leaves [ssBlocks][ssLeaves]sharing.Seed
	cipher leafCipher
	batch  uint64
	tweak  uint64
}

// scratchPool holds the extensions' working memory between batches: a party
// needs one per extension running at the moment (at most one per peer and
// channel), not one per extension of the session, and the pool lets the
// garbage collector take them back when idle.
var scratchPool = sync.Pool{New: func() any { return new(ssScratch) }}

// output modes of an extension.
const (
	outWords = iota // one 64-bit string per OT
	outBits         // one bit per OT, packed 64 to a word
)

func outLen(mode, w int) int {
	if mode == outBits {
		return w
	}
	return 64 * w
}

func put(out []uint64, mode, i int, h uint64) {
	if mode == outBits {
		out[i>>6] |= (h & 1) << uint(i&63)
		return
	}
	out[i] = h
}

// outputsFrom returns the part of a batch's output buffer that holds the OTs
// of words c0.. in the given mode.
func outputsFrom(out []uint64, mode, c0 int) []uint64 {
	if mode == outBits {
		return out[c0:]
	}
	return out[64*c0:]
}

// extend runs the receiver's half of one batch of 64*len(choices) random OTs
// with the given (packed) choice bits. It returns the message u for the sender
// (uWords(w) words) and x_c for every OT.
func (r *extReceiver) extend(h crHash, choices []uint64, mode int) (u, xc []uint64) {
	u, xc = make([]uint64, uWords(len(choices))), make([]uint64, outLen(mode, len(choices)))
	r.extendInto(h, choices, mode, u, xc)
	return u, xc
}

// extendInto is extend writing u into the given uWords(w) words (a message's
// body) and x_c into the given outLen(mode, w) words (which must be zero in
// outBits mode; outWords overwrites them). Each chunk's rows are hashed as
// they come.
func (r *extReceiver) extendInto(h crHash, choices []uint64, mode int, u, xc []uint64) {
	w := len(choices)
	r.ssChunks(choices, u, func(c0 int, rows []uint64, sc *ssScratch) {
		h.hashRowsWith(&sc.hash, r.tweak+uint64(64*c0), rows, 0, 0, mode, outputsFrom(xc, mode, c0))
	})
	r.batch++
	r.tweak += uint64(64 * w)
}

// extend runs the sender's half of one batch: from the receiver's u
// (uWords(w) words) it returns both random messages x0, x1 of every OT.
func (s *extSender) extend(h crHash, u []uint64, w int, mode int) (x0, x1 []uint64) {
	x0, x1 = make([]uint64, outLen(mode, w)), make([]uint64, outLen(mode, w))
	s.ssChunks(u, w, func(c0 int, rows []uint64, sc *ssScratch) {
		tweak := s.tweak + uint64(64*c0)
		h.hashRowsWith(&sc.hash, tweak, rows, 0, 0, mode, outputsFrom(x0, mode, c0))
		h.hashRowsWith(&sc.hash, tweak, rows, ^s.s0, ^s.s1, mode, outputsFrom(x1, mode, c0))
	})
	s.batch++
	s.tweak += uint64(64 * w)
	return x0, x1
}

// extendEach is extend in outWords mode handing each the messages chunk by
// chunk, x0[i], x1[i] those of OT 64*c0+i, valid until each returns, instead
// of returning the batch's: a caller that folds them at once (the daBit
// fold) never holds 2 x 64w words per peer.
func (s *extSender) extendEach(h crHash, u []uint64, w int, each func(c0 int, x0, x1 []uint64)) {
	s.ssChunks(u, w, func(c0 int, rows []uint64, sc *ssScratch) {
		tweak := s.tweak + uint64(64*c0)
		m := len(rows) / 2
		x0, x1 := sc.outs[0][:m], sc.outs[1][:m]
		h.hashRowsWith(&sc.hash, tweak, rows, 0, 0, outWords, x0)
		h.hashRowsWith(&sc.hash, tweak, rows, ^s.s0, ^s.s1, outWords, x1)
		each(c0, x0, x1)
	})
	s.batch++
	s.tweak += uint64(64 * w)
}
