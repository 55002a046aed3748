package sharing

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"
	"unsafe"
)

// Random fills a tensor of the given shape with uniform ring elements from rng.
func Random(rng io.Reader, shape ...int) (Tensor, error) {
	t := Zeros(shape...)
	if err := FillUniform(rng, t.Data); err != nil {
		return Tensor{}, err
	}
	return t, nil
}

// FillUniform fills dst with uniform 64-bit words read from rng.
func FillUniform(rng io.Reader, dst []uint64) error {
	if p, ok := rng.(*PRG); ok {
		p.Fill(dst)
		return nil
	}
	buf := make([]byte, 8*min(len(dst), 4096))
	for off := 0; off < len(dst); {
		n := min(len(dst)-off, len(buf)/8)
		if _, err := io.ReadFull(rng, buf[:8*n]); err != nil {
			return fmt.Errorf("sharing: reading randomness: %w", err)
		}
		for i := 0; i < n; i++ {
			dst[off+i] = binary.LittleEndian.Uint64(buf[8*i:])
		}
		off += n
	}
	return nil
}

// Split returns n additive shares of x: n-1 uniform tensors and a last one that makes
// the sum equal x mod 2^64.
func Split(rng io.Reader, x Tensor, n int) ([]Tensor, error) {
	if n < 2 {
		return nil, fmt.Errorf("sharing: need at least 2 shares, got %d", n)
	}
	shares := make([]Tensor, n)
	last := x.Clone()
	for i := 0; i < n-1; i++ {
		s, err := Random(rng, x.Shape...)
		if err != nil {
			return nil, err
		}
		SubInPlace(last, s)
		shares[i] = s
	}
	shares[n-1] = last
	return shares, nil
}

// Reconstruct sums the shares.
func Reconstruct(shares []Tensor) (Tensor, error) {
	if len(shares) == 0 {
		return Tensor{}, fmt.Errorf("sharing: no shares to reconstruct")
	}
	out := shares[0].Clone()
	for i, s := range shares[1:] {
		if !SameShape(out, s) {
			return Tensor{}, fmt.Errorf("sharing: share %d has shape %v, want %v", i+1, s.Shape, out.Shape)
		}
		AddInPlace(out, s)
	}
	return out, nil
}

// SeedSize is the size of a PRG seed: an AES-128 key.
const SeedSize = 16

// Seed is the key of a pseudo-random share stream.
type Seed [SeedSize]byte

// NewSeed draws a seed from rng (normally crypto/rand.Reader).
func NewSeed(rng io.Reader) (Seed, error) {
	var s Seed
	if _, err := io.ReadFull(rng, s[:]); err != nil {
		return s, fmt.Errorf("sharing: drawing a seed: %w", err)
	}
	return s, nil
}

// PRG expands a seed into a stream of uniform words with AES-128 in counter mode.
// Streams are domain-separated by a 64-bit stream index in the IV, so one seed
// serves many independent requests (one per preprocessing request, say).
type PRG struct {
	stream cipher.Stream
	buf    []byte
}

// NewPRG returns the stream with the given index under seed.
func NewPRG(seed Seed, stream uint64) *PRG {
	return newPRGAt(seedCipher(seed), stream, 0)
}

// NewPRGAt returns the stream with the given index under seed, positioned at its
// word-th word: what NewPRG(seed, stream) yields after word words, without
// generating them.
func NewPRGAt(seed Seed, stream, word uint64) *PRG {
	return newPRGAt(seedCipher(seed), stream, word)
}

func seedCipher(seed Seed) cipher.Block {
	block, err := aes.NewCipher(seed[:])
	if err != nil {
		panic(err) // unreachable: the key size is fixed
	}
	return block
}

// newPRGAt positions the counter at the AES block holding the word-th word. The
// IV is the stream index (high 64 bits) and the block counter (low 64 bits), which
// CTR mode increments as one 128-bit big-endian number: block k of a stream has
// counter stream·2^64 + k, whether reached by counting from 0 or set here.
func newPRGAt(block cipher.Block, stream, word uint64) *PRG {
	const wordsPerBlock = aes.BlockSize / 8
	var iv [aes.BlockSize]byte
	binary.BigEndian.PutUint64(iv[:8], stream)
	binary.BigEndian.PutUint64(iv[8:], word/wordsPerBlock)
	p := &PRG{stream: cipher.NewCTR(block, iv[:])}
	if skip := word % wordsPerBlock; skip > 0 {
		var discard [aes.BlockSize]byte
		p.stream.XORKeyStream(discard[:8*skip], discard[:8*skip])
	}
	return p
}

// Read fills p with key-stream bytes; it never fails.
func (p *PRG) Read(b []byte) (int, error) {
	clear(b)
	p.stream.XORKeyStream(b, b)
	return len(b), nil
}

// zeroBlock is a read-only source of zeros for key-stream generation.
var zeroBlock = make([]byte, 32<<10)

// Fill fills dst with uniform words.
func (p *PRG) Fill(dst []uint64) {
	if hostLittleEndian && len(dst) > 0 {
		// The key stream goes straight into dst's memory (XOR with zeros): no
		// clearing or conversion pass over dst.
		b := unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 8*len(dst))
		for off := 0; off < len(b); off += len(zeroBlock) {
			n := min(len(zeroBlock), len(b)-off)
			p.stream.XORKeyStream(b[off:off+n], zeroBlock[:n])
		}
		return
	}
	const chunk = 2048
	if cap(p.buf) < 8*chunk {
		p.buf = make([]byte, 8*chunk)
	}
	for off := 0; off < len(dst); off += chunk {
		n := min(chunk, len(dst)-off)
		b := p.buf[:8*n]
		clear(b)
		p.stream.XORKeyStream(b, b)
		for i := 0; i < n; i++ {
			dst[off+i] = binary.LittleEndian.Uint64(b[8*i:])
		}
	}
}

// SubFrom subtracts the next len(dst) words of the stream from dst: dst minus
// Tensor's expansion, without allocating the expansion.
func (p *PRG) SubFrom(dst []uint64) {
	var buf [512]uint64
	for off := 0; off < len(dst); off += len(buf) {
		n := min(len(buf), len(dst)-off)
		p.Fill(buf[:n])
		for i, w := range buf[:n] {
			dst[off+i] -= w
		}
	}
}

// Uint64 returns one uniform word.
func (p *PRG) Uint64() uint64 {
	var b [8]byte
	p.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// Tensor returns a uniform tensor of the given shape.
func (p *PRG) Tensor(shape ...int) Tensor {
	t := Zeros(shape...)
	p.Fill(t.Data)
	return t
}
