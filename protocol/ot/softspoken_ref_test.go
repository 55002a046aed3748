package ot

import (
	"slices"
	"testing"

	"github.com/tessera-mpc/tessera/sharing"
)

// The reference extension: whole-batch columns as SoftSpoken defines them
// (one XOR of every leaf stream into u_b and into each column whose bit it
// has), then transposed. ssRows must give the same rows and u.

// refColumns returns the receiver's kappa columns t (w words each) for a batch
// and writes the message u (block b's vector at u[b*w:]): per block, with G_x
// leaf x's PRG stream for the batch, u_b = choices ^ XOR_x G_x and column i of
// the block is XOR of G_x over the x with bit i set.
func (r *extReceiver) refColumns(choices []uint64, u []uint64) [][]uint64 {
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

// refColumns returns the sender's kappa columns q for a batch from the
// receiver's u: column i of block b is XOR of G_x over the known leaves x with
// bit i of x ^ Delta_b set, plus bit i of Delta_b times u_b. Then
// q = t ^ r * Delta with Delta = NOT s (doc.go).
func (s *extSender) refColumns(u []uint64, w int) [][]uint64 {
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

// refRows turns kappa columns of w words (column j holds bit j of every row) into
// 64*w rows of 128 bits: row i is (out[2i], out[2i+1]).
func refRows(cols [][]uint64, w int) []uint64 {
	out := make([]uint64, 2*64*w)
	var blk [64]uint64
	for b := 0; b < w; b++ {
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
	return out
}

// TestSSRowsMatchReference checks the chunked rows of both ends against the
// reference columns for batch widths around the chunk, over two batches, and
// that they are correlated as IKNP needs: q = t ^ r*Delta.
func TestSSRowsMatchReference(t *testing.T) {
	r, s := extensionPair(t)
	for _, w := range []int{1, 63, 64, 65, 200} {
		for batch := range uint64(2) {
			r.batch, s.batch = batch, batch
			choices := randWords(w)
			u, uRef := make([]uint64, uWords(w)), make([]uint64, uWords(w))
			tRows := r.ssRows(choices, u)
			if want := refRows(r.refColumns(choices, uRef), w); !slices.Equal(tRows, want) || !slices.Equal(u, uRef) {
				t.Fatalf("w=%d batch %d: receiver rows or u differ from the reference", w, batch)
			}
			q := s.ssRows(u, w)
			if want := refRows(s.refColumns(u, w), w); !slices.Equal(q, want) {
				t.Fatalf("w=%d batch %d: sender rows differ from the reference", w, batch)
			}
			for i := range 64 * w {
				var d0, d1 uint64
				if choices[i/64]>>(i%64)&1 == 1 {
					d0, d1 = ^s.s0, ^s.s1
				}
				if q[2*i] != tRows[2*i]^d0 || q[2*i+1] != tRows[2*i+1]^d1 {
					t.Fatalf("w=%d row %d: q != t ^ r*Delta", w, i)
				}
			}
		}
	}
}

// The four-lane transposition is transpose64 on each lane.
func TestTranspose64x4(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2 on this machine")
	}
	var a [64][4]uint64
	for r := range a {
		a[r] = [4]uint64(randWords(4))
	}
	var want [4][64]uint64
	for l := range 4 {
		for r := range 64 {
			want[l][r] = a[r][l]
		}
		transpose64(&want[l])
	}
	transpose64x4AVX2(&a)
	for l := range 4 {
		for r := range 64 {
			if a[r][l] != want[l][r] {
				t.Fatalf("lane %d row %d: %x, want %x", l, r, a[r][l], want[l][r])
			}
		}
	}
}
