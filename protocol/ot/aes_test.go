package ot

import (
	"crypto/aes"
	"crypto/rand"
	"encoding/binary"
	"testing"
)

// The batched AES (AES-NI eight at a time, or the portable loop) must be
// crypto/aes block by block, for lengths around the batch of eight.
func TestFixedAESMatchesCryptoAES(t *testing.T) {
	var key [16]byte
	rand.Read(key[:])
	b, err := aes.NewCipher(key[:])
	if err != nil {
		t.Fatal(err)
	}
	a := newFixedAES(key, b)
	for _, n := range []int{1, 7, 8, 9, 16, 37} {
		buf := make([]byte, 16*n)
		rand.Read(buf)
		want := make([]byte, len(buf))
		for i := 0; i < n; i++ {
			b.Encrypt(want[16*i:16*i+16], buf[16*i:16*i+16])
		}
		words := make([]uint64, 2*n)
		for i := range words {
			words[i] = binary.LittleEndian.Uint64(buf[8*i:])
		}
		a.encryptWords(words)
		for i := range words {
			if got := binary.LittleEndian.Uint64(want[8*i:]); words[i] != got {
				t.Fatalf("n=%d (AES-NI %v): word %d is %x, want %x", n, haveAESNI, i, words[i], got)
			}
		}
	}
}

// hashRows over several chunks is MMO^sigma with crypto/aes, row by row: the
// hash the extension always used (same key, same outputs). The sizes take
// every kernel: 32 rows at a time (AVX-512), then 16 (VAES on YMM), then
// the rest one by one.
func TestCRHashMatchesMMOSigma(t *testing.T) {
	for _, n := range []int{2*hashChunk + 13, 32 + 16 + 5, 31, 16} {
		checkCRHash(t, n)
	}
}

func checkCRHash(t *testing.T, n int) {
	h := newCRHash()
	rs := randWords(2 * n)
	const tweak, d0, d1 = 1 << 40, 0x0123456789abcdef, 0xfedcba9876543210
	out := make([]uint64, n)
	h.hashRows(tweak, rs, d0, d1, outWords, out)
	var x [16]byte
	for i := range n {
		lo := rs[2*i] ^ d0 ^ (tweak + uint64(i))
		hi := rs[2*i+1] ^ d1
		binary.LittleEndian.PutUint64(x[:8], lo^hi)
		binary.LittleEndian.PutUint64(x[8:], lo)
		h.pi.block.Encrypt(x[:], x[:])
		if want := binary.LittleEndian.Uint64(x[:8]) ^ lo ^ hi; out[i] != want {
			t.Fatalf("%d rows: row %d: %x, want %x", n, i, out[i], want)
		}
	}
}
