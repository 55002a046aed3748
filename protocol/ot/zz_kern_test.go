package ot

import (
	"testing"
	"unsafe"
)

func BenchmarkZZLeaf(b *testing.B) {
	var keys [11][ssLeaves][16]byte
	var ctrs counterBlocks
	var g [ssLeaves][ssChunk]uint64
	for range b.N {
		ctr16KeysVAES(&keys, &ctrs[0][0], 32, (*byte)(unsafePointer(&g[0][0])))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*32*16), "ns/block")
}

func BenchmarkZZHash(b *testing.B) {
	h := newCRHash()
	rs := make([]uint64, 2*512)
	out := make([]uint64, 512)
	c := [12]uint64{0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 2, 0}
	for range b.N {
		hashRowsVAES(&h.pi.keys2, &rs[0], 512, &c, &out[0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*512), "ns/block")
}

func unsafePointer(p *uint64) unsafe.Pointer { return unsafe.Pointer(p) }

func BenchmarkZZLeaf512(b *testing.B) {
	var keys [11][ssLeaves][16]byte
	var ctrs counterBlocks
	var g [ssLeaves][ssChunk]uint64
	for range b.N {
		ctr16KeysVAES512(&keys, &ctrs[0][0], 32, (*byte)(unsafePointer(&g[0][0])))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*32*16), "ns/block")
}
