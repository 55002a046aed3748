package ot

import (
	"fmt"
	"testing"
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
