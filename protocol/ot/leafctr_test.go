package ot

import (
	"crypto/rand"
	"testing"

	"github.com/tessera-mpc/tessera/sharing"
)

// The leaf streams of a batch (AES-NI eight keys at a time, or the portable
// loop) must be sharing.PRG's streams bit for bit, at any counter offset, for
// any batch number (its bytes all differ here) and block counts around the
// eight in flight, in the leaf order asked for.
func TestLeafCipherMatchesPRG(t *testing.T) {
	var leaves [ssBlocks][ssLeaves]sharing.Seed
	for b := range leaves {
		for x := range leaves[b] {
			rand.Read(leaves[b][x][:])
		}
	}
	perm := func(b int) int { return (5*b + 3) % ssLeaves }
	lc := newLeafCipher(&leaves, perm)
	const batch = 0x0102030405060708
	var ctrs counterBlocks
	var g [ssLeaves][ssChunk]uint64
	for _, first := range []uint64{0, 5, 1<<32 - 3} {
		for _, nb := range []int{1, 7, 8, 9, ssChunk / 2} {
			ctrs.set(batch, first, nb)
			for _, b := range []int{0, 17, ssBlocks - 1} {
				lc.fill(b, &ctrs, nb, &g)
				for y := range ssLeaves {
					want := make([]uint64, 2*nb)
					sharing.NewPRGAt(leaves[b][y^perm(b)], batch, 2*first).Fill(want)
					for k, v := range want {
						if g[y][k] != v {
							t.Fatalf("first %d nb %d block %d position %d (AES-NI %v): word %d is %x, want %x",
								first, nb, b, y, haveAESNI, k, g[y][k], v)
						}
					}
				}
			}
		}
	}
}
