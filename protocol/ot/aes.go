package ot

import (
	"crypto/cipher"
	"encoding/binary"
	"unsafe"
)

// fixedAES is AES-128 under one public key, for the correlation-robust hash:
// it encrypts whole buffers of blocks in place (ECB), eight blocks at a time
// with AES-NI where the CPU has it. crypto/aes only offers one block per call
// (cipher.Block), which waits out the full latency of the ten rounds for every
// block and paid ~21 ns per hash; pipelined, the AES units overlap eight
// blocks.
type fixedAES struct {
	block cipher.Block // portable path, and the reference the tests compare with
	keys  [11][16]byte // round keys of FIPS-197 (byte order), for the AES-NI path
	keys2 [11][32]byte // each round key twice, for VAES on YMM registers
}

func newFixedAES(key [16]byte, block cipher.Block) *fixedAES {
	a := &fixedAES{block: block}
	expandKey128(key, &a.keys)
	for r, k := range a.keys {
		copy(a.keys2[r][:16], k[:])
		copy(a.keys2[r][16:], k[:])
	}
	return a
}

// encryptWords encrypts len(blocks)/2 blocks in place, block i being the
// 16 bytes of blocks[2i] and blocks[2i+1] in little-endian order.
func (a *fixedAES) encryptWords(blocks []uint64) {
	n := len(blocks) / 2
	if n == 0 {
		return
	}
	if haveAESNI { // amd64: the words' memory is that byte string
		encryptBlocksAESNI(&a.keys, (*byte)(unsafe.Pointer(&blocks[0])), n)
		return
	}
	var x [16]byte
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint64(x[:8], blocks[2*i])
		binary.LittleEndian.PutUint64(x[8:], blocks[2*i+1])
		a.block.Encrypt(x[:], x[:])
		blocks[2*i], blocks[2*i+1] = binary.LittleEndian.Uint64(x[:8]), binary.LittleEndian.Uint64(x[8:])
	}
}

// sbox is AES's S-box, computed (inverse in GF(2^8) followed by the affine
// map) rather than tabulated; TestFixedAESMatchesCryptoAES checks it.
var sbox = func() (s [256]byte) {
	// p runs over the powers of 3, q over the powers of 3^-1, so q = p^-1.
	p, q := byte(1), byte(1)
	for {
		p = p ^ (p << 1) ^ byte(int8(p)>>7)&0x1b // p *= 3
		q ^= q << 1                              // q /= 3
		q ^= q << 2
		q ^= q << 4
		if q&0x80 != 0 {
			q ^= 0x09
		}
		x := q ^ rotl8(q, 1) ^ rotl8(q, 2) ^ rotl8(q, 3) ^ rotl8(q, 4)
		s[p] = x ^ 0x63
		if p == 1 {
			break
		}
	}
	s[0] = 0x63
	return s
}()

func rotl8(x byte, k uint) byte { return x<<k | x>>(8-k) }

// expandKey128 is the AES-128 key schedule (FIPS-197, section 5.2).
func expandKey128(key [16]byte, keys *[11][16]byte) {
	var w [44][4]byte
	for i := range 4 {
		copy(w[i][:], key[4*i:4*i+4])
	}
	rcon := byte(1)
	for i := 4; i < 44; i++ {
		t := w[i-1]
		if i%4 == 0 {
			t = [4]byte{sbox[t[1]] ^ rcon, sbox[t[2]], sbox[t[3]], sbox[t[0]]}
			rcon = rcon<<1 ^ byte(int8(rcon)>>7)&0x1b
		}
		for k := range 4 {
			w[i][k] = w[i-4][k] ^ t[k]
		}
	}
	for r := range 11 {
		for c := range 4 {
			copy(keys[r][4*c:4*c+4], w[4*r+c][:])
		}
	}
}
