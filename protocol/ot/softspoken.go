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
}

// ssColumns returns the receiver's kappa columns t (w words each) for a batch
// and writes the message u (block b's vector at u[b*w:]): per block, with G_x
// leaf x's PRG stream for the batch, u_b = choices ^ XOR_x G_x and column i of
// the block is XOR of G_x over the x with bit i set.
func (r *extReceiver) ssColumns(choices []uint64, u []uint64) [][]uint64 {
	w := len(choices)
	cols := make([][]uint64, kappa)
	g := make([]uint64, w)
	for b := range ssBlocks {
		ub := u[b*w : (b+1)*w]
		copy(ub, choices)
		for i := range ssK {
			cols[b*ssK+i] = make([]uint64, w)
		}
		for x := range ssLeaves {
			sharing.NewPRG(r.leaves[b][x], r.batch).Fill(g)
			xorInto(ub, g)
			for i := range ssK {
				if x>>i&1 == 1 {
					xorInto(cols[b*ssK+i], g)
				}
			}
		}
	}
	return cols
}

// ssColumns returns the sender's kappa columns q for a batch from the
// receiver's u: column i of block b is XOR of G_x over the known leaves x with
// bit i of x ^ Delta_b set, plus bit i of Delta_b times u_b. Then
// q = t ^ r * Delta with Delta = NOT s (doc.go).
func (s *extSender) ssColumns(u []uint64, w int) [][]uint64 {
	cols := make([][]uint64, kappa)
	g := make([]uint64, w)
	for b := range ssBlocks {
		delta := s.blockDelta(b)
		for i := range ssK {
			cols[b*ssK+i] = make([]uint64, w)
			if delta>>i&1 == 1 {
				copy(cols[b*ssK+i], u[b*w:(b+1)*w])
			}
		}
		for x := range ssLeaves {
			if x == delta {
				continue
			}
			sharing.NewPRG(s.leaves[b][x], s.batch).Fill(g)
			for i := range ssK {
				if (x^delta)>>i&1 == 1 {
					xorInto(cols[b*ssK+i], g)
				}
			}
		}
	}
	return cols
}

func xorInto(dst, src []uint64) {
	for k := range dst {
		dst[k] ^= src[k]
	}
}
