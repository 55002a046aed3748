package ot

import (
	"fmt"
	"io"

	"github.com/tessera-mpc/tessera/sharing"
)

// SoftSpoken OT (Roy, CRYPTO 2022), semi-honest, with k = ssK: the kappa
// columns of IKNP are cut into kappa/k blocks of k columns, and each block is a
// small-field VOLE from a punctured PRF with 2^k leaves instead of k pairs of
// PRG columns. The receiver then sends one bit per OT per block, kappa/k bits
// per OT instead of kappa (see doc.go for the protocol and its leakage).

const (
	ssK      = 4               // columns per block
	ssBlocks = kappa / ssK     // blocks
	ssLeaves = 1 << ssK        // leaves of a block's punctured PRF
	ggmNode  = uint64(1) << 62 // PRG stream of a tree node's expansion (batches count from 0)
)

// uWords is the length in words of the receiver's message for a batch of w
// words of OTs: one w-word vector per block.
func uWords(w int) int { return ssBlocks * w }

// expandNode returns the two children of a GGM tree node.
func expandNode(node sharing.Seed) (left, right sharing.Seed) {
	var buf [2 * sharing.SeedSize]byte
	prg := sharing.NewPRG(node, ggmNode)
	if _, err := prg.Read(buf[:]); err != nil {
		panic(err) // unreachable: the PRG never fails
	}
	copy(left[:], buf[:sharing.SeedSize])
	copy(right[:], buf[sharing.SeedSize:])
	return left, right
}

func xorSeed(a *sharing.Seed, b sharing.Seed) {
	for i := range a {
		a[i] ^= b[i]
	}
}

// plant draws a fresh GGM tree per block from rng and sets the receiver's
// leaves and, as the messages of the block's k base OTs, the XOR of all left
// (k0) and of all right (k1) nodes of each depth. Leaf x of a block is reached
// by taking at depth i the child given by bit i-1 of x.
func (r *extReceiver) plant(rng io.Reader) error {
	for b := range ssBlocks {
		root, err := sharing.NewSeed(rng)
		if err != nil {
			return fmt.Errorf("ot: drawing a GGM root: %w", err)
		}
		level := []sharing.Seed{root}
		for depth := 1; depth <= ssK; depth++ {
			next := make([]sharing.Seed, 2*len(level))
			l := b*ssK + depth - 1
			r.k0[l], r.k1[l] = sharing.Seed{}, sharing.Seed{}
			for p, node := range level {
				left, right := expandNode(node)
				next[p], next[p|len(level)] = left, right
				xorSeed(&r.k0[l], left)
				xorSeed(&r.k1[l], right)
			}
			level = next
		}
		copy(r.leaves[b][:], level)
	}
	r.cipher = newLeafCipher(&r.leaves, func(int) int { return 0 })
	return nil
}

// blockDelta is the sender's punctured point of block b: bit i-1 is the
// direction of the path at depth i, the opposite of the base-OT choice of the
// block's i-th column (the sender learned the sum of the side it chose, which
// is the side off the path).
func (s *extSender) blockDelta(b int) int {
	d := 0
	for i := range ssK {
		if s.choice(b*ssK+i) == 0 {
			d |= 1 << i
		}
	}
	return d
}

// choice is bit l of s (the base-OT choice of column l).
func (s *extSender) choice(l int) uint64 {
	if l < 64 {
		return (s.s0 >> uint(l)) & 1
	}
	return (s.s1 >> uint(l-64)) & 1
}

// puncture rebuilds every leaf but the punctured one of each block from the
// chosen sums in s.seeds: at each depth it expands the nodes it knows and gets
// the sibling of the path as the chosen sum minus the other nodes on that side.
func (s *extSender) puncture() {
	for b := range ssBlocks {
		delta := s.blockDelta(b)
		level := []sharing.Seed{{}} // the root is unknown: it is on the path
		for depth := 1; depth <= ssK; depth++ {
			half := len(level)
			next := make([]sharing.Seed, 2*half)
			path := delta & (half - 1) // the path's node at depth-1
			side := (delta >> (depth - 1)) & 1
			off := s.seeds[b*ssK+depth-1] // the sum of the nodes off the path's side
			for p, node := range level {
				if p == path {
					continue
				}
				left, right := expandNode(node)
				next[p], next[p|half] = left, right
				if side == 1 {
					xorSeed(&off, left)
				} else {
					xorSeed(&off, right)
				}
			}
			next[path|(1-side)*half] = off
			level = next
		}
		copy(s.leaves[b][:], level)
		s.leaves[b][delta] = sharing.Seed{} // unknown: never used
	}
	s.cipher = newLeafCipher(&s.leaves, s.blockDelta)
}

// ssChunk is the words of a batch (64 OTs each) whose rows are made at once:
// their 128 columns (64 KiB) and a block's 16 leaf streams (8 KiB) stay in
// the cache, where whole-batch columns (16 MiB for an AND batch) did not.
const ssChunk = 64

// ssScratch is the working memory of a batch of an extension (~224 KiB,
// whatever the batch size; from scratchPool): a chunk's columns, leaf
// streams, counters and rows, the hash's buffers and a chunk's outputs. (On the stack of the
// per-batch goroutine, the columns and leaves made it grow by copying every
// batch.) Rows are hashed chunk by chunk while in the cache: a batch's rows
// are never held at once (16 MiB for an AND batch).
type ssScratch struct {
	cols [kappa][ssChunk]uint64
	g    [ssLeaves][ssChunk]uint64
	ctrs counterBlocks
	tmp  [2][64][4]uint64 // transposeChunk's
	rows [2 * 64 * ssChunk]uint64
	hash hashBuffers
	outs [2][64 * ssChunk]uint64 // a chunk's x0, x1 (extSender.extendEach)
}

// ssRows returns the receiver's rows t for a batch (row i is t[2i], t[2i+1])
// and writes the message u (block b's vector at u[b*w:]); see ssChunks.
func (r *extReceiver) ssRows(choices []uint64, u []uint64) []uint64 {
	t := make([]uint64, 2*64*len(choices))
	r.ssChunks(choices, u, func(c0 int, rows []uint64, _ *ssScratch) { copy(t[2*64*c0:], rows) })
	return t
}

// ssChunks writes the message u (block b's vector at u[b*w:]) and hands use
// the receiver's rows t chunk by chunk: the rows of words c0..c0+cw-1 (row i
// is rows[2i], rows[2i+1]), valid until use returns, with the rest of the
// scratch (hash and output buffers) for it to use. Per block, with G_x leaf
// x's PRG stream for the batch, u_b = choices ^ XOR_x G_x and column i of the
// block is XOR of G_x over the x with bit i set.
func (r *extReceiver) ssChunks(choices []uint64, u []uint64, use func(c0 int, rows []uint64, sc *ssScratch)) {
	w := len(choices)
	sc := scratchPool.Get().(*ssScratch)
	defer scratchPool.Put(sc)
	g := &sc.g
	for c0 := 0; c0 < w; c0 += ssChunk {
		cw := min(ssChunk, w-c0)
		nb := (cw + 1) / 2 // AES blocks of each leaf's stream (c0 is even)
		sc.ctrs.set(r.batch, uint64(c0/2), nb)
		for b := range ssBlocks {
			r.cipher.fill(b, &sc.ctrs, nb, g)
			sum := foldLeaves(g, cw, (*[ssK][ssChunk]uint64)(sc.cols[b*ssK:]))
			ub := u[b*w+c0 : b*w+c0+cw]
			for k := range ub {
				ub[k] = choices[c0+k] ^ sum[k]
			}
		}
		rows := sc.rows[:2*64*cw]
		transposeChunk(&sc.cols, cw, rows, &sc.tmp)
		use(c0, rows, sc)
	}
}

// ssRows returns the sender's rows q for a batch from the receiver's u; see
// ssChunks.
func (s *extSender) ssRows(u []uint64, w int) []uint64 {
	q := make([]uint64, 2*64*w)
	s.ssChunks(u, w, func(c0 int, rows []uint64, _ *ssScratch) { copy(q[2*64*c0:], rows) })
	return q
}

// ssChunks hands use the sender's rows q for a batch from the receiver's u,
// chunk by chunk as the receiver's ssChunks: column i of block b is XOR of
// G_x over the known leaves x with bit i of x ^ Delta_b set, plus bit i of
// Delta_b times u_b. Then q = t ^ r * Delta with Delta = NOT s (doc.go).
func (s *extSender) ssChunks(u []uint64, w int, use func(c0 int, rows []uint64, sc *ssScratch)) {
	var deltas [ssBlocks]int
	for b := range deltas {
		deltas[b] = s.blockDelta(b)
	}
	sc := scratchPool.Get().(*ssScratch)
	defer scratchPool.Put(sc)
	g := &sc.g
	for c0 := 0; c0 < w; c0 += ssChunk {
		cw := min(ssChunk, w-c0)
		nb := (cw + 1) / 2
		sc.ctrs.set(s.batch, uint64(c0/2), nb)
		for b := range ssBlocks {
			// Leaf x is at position x ^ Delta_b (leafCipher's order), and
			// column i sums the positions with bit i set: the punctured
			// leaf's position 0 (garbage) counts in none, and u_b added to
			// position Delta_b counts in the columns of Delta_b's bits, one
			// pass over u_b instead of one per bit.
			s.cipher.fill(b, &sc.ctrs, nb, g)
			xorInto(g[deltas[b]][:cw], u[b*w+c0:b*w+c0+cw])
			foldLeaves(g, cw, (*[ssK][ssChunk]uint64)(sc.cols[b*ssK:]))
		}
		rows := sc.rows[:2*64*cw]
		transposeChunk(&sc.cols, cw, rows, &sc.tmp)
		use(c0, rows, sc)
	}
}

// foldLeaves writes into cols[i] the XOR of the leaves x with bit i set, for
// the first cw words of the 16 leaf vectors in g, and returns the XOR of all
// of them (g[0], overwritten). A tree of pairwise sums: 26 XORs per word
// instead of 16 for the sum and 8 per column. With AVX2, four words at a
// time (fold_amd64.s; it may also write words cw..cw+2 of g[0] and cols,
// which nothing reads).
func foldLeaves(g *[ssLeaves][ssChunk]uint64, cw int, cols *[ssK][ssChunk]uint64) []uint64 {
	if haveAVX2 && cw > 0 {
		foldLeavesAVX2(g, cw, cols)
		return g[0][:cw]
	}
	return foldLeavesGo(g, cw, cols)
}

// foldLeavesGo is foldLeaves one word at a time.
func foldLeavesGo(g *[ssLeaves][ssChunk]uint64, cw int, cols *[ssK][ssChunk]uint64) []uint64 {
	for k := 0; k < cw; k++ {
		// Sums of pairs, quadruples, octets: sAB is leaves A..B.
		s01, s23, s45, s67 := g[0][k]^g[1][k], g[2][k]^g[3][k], g[4][k]^g[5][k], g[6][k]^g[7][k]
		s89, s1011, s1213, s1415 := g[8][k]^g[9][k], g[10][k]^g[11][k], g[12][k]^g[13][k], g[14][k]^g[15][k]
		cols[0][k] = g[1][k] ^ g[3][k] ^ g[5][k] ^ g[7][k] ^ g[9][k] ^ g[11][k] ^ g[13][k] ^ g[15][k]
		cols[1][k] = s23 ^ s67 ^ s1011 ^ s1415
		s03, s47, s811, s1215 := s01^s23, s45^s67, s89^s1011, s1213^s1415
		cols[2][k] = s47 ^ s1215
		s815 := s811 ^ s1215
		cols[3][k] = s815
		g[0][k] = s03 ^ s47 ^ s815
	}
	return g[0][:cw]
}

// transposeChunk turns kappa columns of cw words (column j holds bit j of
// every row) into 64*cw rows of 128 bits: row i is (out[2i], out[2i+1]).
// With AVX2 it transposes the blocks of four words at once, reading the
// columns and writing the rows itself (transposeChunkAVX2, tmp its working
// memory).
func transposeChunk(cols *[kappa][ssChunk]uint64, cw int, out []uint64, tmp *[2][64][4]uint64) {
	b := 0
	if haveAVX2 && cw >= 4 {
		groups := cw / 4
		transposeChunkAVX2(&cols[0][0], groups, tmp, &out[0])
		b = 4 * groups
	}
	var blk [64]uint64
	for ; b < cw; b++ {
		for half := 0; half < 2; half++ {
			for j := 0; j < 64; j++ {
				blk[j] = cols[64*half+j][b]
			}
			transpose64(&blk)
			for i := 0; i < 64; i++ {
				out[2*(64*b+i)+half] = blk[i]
			}
		}
	}
}

func xorInto(dst, src []uint64) {
	for k := range dst {
		dst[k] ^= src[k]
	}
}
