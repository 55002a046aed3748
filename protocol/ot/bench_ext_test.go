package ot

import (
	"fmt"
	"testing"

	"github.com/tessera-mpc/tessera/sharing"
)

// One end of an extension on its own (no network, one core): the receiver's
// and the sender's half of a batch of 64*w OTs, rows and hashes, per OT.
// w = 360 is a cancer-sized daBit batch (23k daBits), 4096 a full one.
func BenchmarkExtend(b *testing.B) {
	r, s := extensionPair(b)
	h := newCRHash()
	for _, w := range []int{8, 360, 4096} {
		choices := randWords(w)
		u, _ := r.extend(h, choices, outWords)
		b.Run(fmt.Sprintf("receiver/w=%d", w), func(b *testing.B) {
			for range b.N {
				r.extend(h, choices, outWords)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64*w), "ns/OT")
		})
		b.Run(fmt.Sprintf("sender/w=%d", w), func(b *testing.B) {
			for range b.N {
				s.extend(h, u, w, outWords)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64*w), "ns/OT")
		})
	}
}

// One block's leaf streams for a full chunk (sixteen leaves, 32 AES blocks
// each) on every path this CPU has, per AES block.
func BenchmarkLeafFill(b *testing.B) {
	var leaves [ssBlocks][ssLeaves]sharing.Seed
	paths := map[leafPath]string{pathPortable: "portable", pathAESNI: "aesni", pathVAES: "vaes", pathVAES512: "vaes512"}
	have := map[leafPath]bool{pathPortable: true, pathAESNI: haveAESNI, pathVAES: haveVAES, pathVAES512: haveVAES512}
	for path := pathPortable; path <= pathVAES512; path++ {
		if !have[path] {
			continue
		}
		lc := newLeafCipherPath(&leaves, func(int) int { return 0 }, path)
		var ctrs counterBlocks
		var g [ssLeaves][ssChunk]uint64
		nb := ssChunk / 2
		ctrs.set(1, 0, nb)
		b.Run("path="+paths[path], func(b *testing.B) {
			for range b.N {
				lc.fill(0, &ctrs, nb, &g)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nb*ssLeaves), "ns/block")
		})
	}
}
