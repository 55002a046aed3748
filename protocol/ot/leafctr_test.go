package ot

import (
	"crypto/rand"
	"testing"

	"github.com/tessera-mpc/tessera/sharing"
)

// The leaf streams of a batch, on every path this CPU has (VAES sixteen keys
// and two or four counters at a time, AES-NI eight keys at a time, the portable
// loop), must be sharing.PRG's streams bit for bit, at any counter offset, for
// any batch number (its bytes all differ here) and block counts around the
// blocks in flight, in the leaf order asked for.
func TestLeafCipherMatchesPRG(t *testing.T) {
	var leaves [ssBlocks][ssLeaves]sharing.Seed
	for b := range leaves {
		for x := range leaves[b] {
			rand.Read(leaves[b][x][:])
		}
	}
	perm := func(b int) int { return (5*b + 3) % ssLeaves }
	paths := []leafPath{pathPortable}
	if haveAESNI {
		paths = append(paths, pathAESNI)
	}
	if haveVAES {
		paths = append(paths, pathVAES)
	}
	if haveVAES512 {
		paths = append(paths, pathVAES512)
	}
	for _, path := range paths {
		checkLeafCipher(t, newLeafCipherPath(&leaves, perm, path), &leaves, perm)
	}
}

func checkLeafCipher(t *testing.T, lc leafCipher, leaves *[ssBlocks][ssLeaves]sharing.Seed, perm func(int) int) {
	const batch = 0x0102030405060708
	var ctrs counterBlocks
	var g [ssLeaves][ssChunk]uint64
	for _, first := range []uint64{0, 5, 1<<32 - 3} {
		for _, nb := range []int{1, 2, 7, 8, 9, ssChunk/2 - 1, ssChunk / 2} {
			ctrs.set(batch, first, nb)
			for _, b := range []int{0, 17, ssBlocks - 1} {
				lc.fill(b, &ctrs, nb, &g)
				for y := range ssLeaves {
					want := make([]uint64, 2*nb)
					sharing.NewPRGAt(leaves[b][y^perm(b)], batch, 2*first).Fill(want)
					for k, v := range want {
						if g[y][k] != v {
							t.Fatalf("path %d: first %d nb %d block %d position %d: word %d is %x, want %x",
								lc.path, first, nb, b, y, k, g[y][k], v)
						}
					}
				}
			}
		}
	}
}

// foldLeaves (AVX2 four words at a time where the CPU has it) is the word by
// word fold for every chunk width.
func TestFoldLeavesMatchesGo(t *testing.T) {
	for cw := 1; cw <= ssChunk; cw++ {
		var g, gRef [ssLeaves][ssChunk]uint64
		for x := range g {
			copy(g[x][:], randWords(ssChunk))
		}
		gRef = g
		var cols, colsRef [ssK][ssChunk]uint64
		sum := foldLeaves(&g, cw, &cols)
		sumRef := foldLeavesGo(&gRef, cw, &colsRef)
		for k := range cw {
			if sum[k] != sumRef[k] {
				t.Fatalf("cw %d (AVX2 %v): sum word %d is %x, want %x", cw, haveAVX2, k, sum[k], sumRef[k])
			}
			for i := range ssK {
				if cols[i][k] != colsRef[i][k] {
					t.Fatalf("cw %d (AVX2 %v): column %d word %d is %x, want %x", cw, haveAVX2, i, k, cols[i][k], colsRef[i][k])
				}
			}
		}
	}
}
