package he

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/ldsec/lattigo/v2/ring"
)

// Wire format. Every message starts with a 20-byte header:
//
//	magic "HE", version 1, step (1 byte), request (8), chunk (4), items (4)
//
// followed by a body whose exact length the receiver computes from the
// request (all parties run the same requests in the same order): a message of
// any other length, step, request, chunk or item count is rejected before it
// is decoded. Residues modulo q_i are bit-packed at bits.Len64(q_i) = 60 bits
// and every decoded residue is checked to be below q_i.

const (
	headerSize    = 20
	formatVersion = 1
)

// Protocol steps, as carried in the header.
const (
	stepCommit  byte = 1  // setup: hash commitment to a coin-toss share
	stepReveal  byte = 2  // setup: the share itself
	stepCKG     byte = 3  // setup: public-key share
	stepConfirm byte = 4  // setup: digest of the public key
	stepS2EUp   byte = 10 // shares-to-encryption shares, to the ciphertext's aggregator
	stepS2EDown byte = 11 // aggregated encryptions, from their aggregator
	stepProdUp  byte = 12 // re-randomised products, to the output's aggregator
	stepC1Down  byte = 13 // aggregated c1 of the output, from its aggregator
	stepE2SUp   byte = 14 // masked decryption shares, to the output's aggregator
)

func stepName(s byte) string {
	switch s {
	case stepCommit:
		return "coin-toss commitment"
	case stepReveal:
		return "coin-toss reveal"
	case stepCKG:
		return "public-key share"
	case stepConfirm:
		return "public-key confirmation"
	case stepS2EUp:
		return "shares-to-encryption share"
	case stepS2EDown:
		return "aggregated encryption"
	case stepProdUp:
		return "re-randomised product"
	case stepC1Down:
		return "aggregated product c1"
	case stepE2SUp:
		return "masked decryption share"
	}
	return fmt.Sprintf("step %d", s)
}

type header struct {
	step  byte
	req   uint64
	chunk uint32
	items uint32
}

func appendHeader(dst []byte, h header) []byte {
	dst = append(dst, 'H', 'E', formatVersion, h.step)
	dst = binary.LittleEndian.AppendUint64(dst, h.req)
	dst = binary.LittleEndian.AppendUint32(dst, h.chunk)
	return binary.LittleEndian.AppendUint32(dst, h.items)
}

var errFormat = errors.New("malformed message")

// openMessage checks msg's header against want and its body length against
// bodyLen, and returns the body.
func openMessage(msg []byte, want header, bodyLen int) ([]byte, error) {
	if len(msg) < headerSize {
		return nil, fmt.Errorf("%w: %d bytes, shorter than a header", errFormat, len(msg))
	}
	if msg[0] != 'H' || msg[1] != 'E' || msg[2] != formatVersion {
		return nil, fmt.Errorf("%w: bad magic or version", errFormat)
	}
	got := header{
		step:  msg[3],
		req:   binary.LittleEndian.Uint64(msg[4:]),
		chunk: binary.LittleEndian.Uint32(msg[12:]),
		items: binary.LittleEndian.Uint32(msg[16:]),
	}
	if got != want {
		return nil, fmt.Errorf("%w: got %s (request %d, chunk %d, %d items), want %s (request %d, chunk %d, %d items)",
			errFormat, stepName(got.step), got.req, got.chunk, got.items, stepName(want.step), want.req, want.chunk, want.items)
	}
	if len(msg)-headerSize != bodyLen {
		return nil, fmt.Errorf("%w: %s body of %d bytes, want %d", errFormat, stepName(want.step), len(msg)-headerSize, bodyLen)
	}
	return msg[headerSize:], nil
}

// packedLen is the size of count residues packed at width w.
func packedLen(count int, w uint) int { return (count*int(w) + 7) / 8 }

// appendPacked appends vals (each < 2^w) as a little-endian bit stream.
func appendPacked(dst []byte, vals []uint64, w uint) []byte {
	if w == blockWidth {
		dst = slices.Grow(dst, packedLen(len(vals), w)+8)
		whole := len(vals) / blockValues * blockValues
		if useAVX512 && haveVBMI && whole > 0 {
			n0 := len(dst)
			dst = dst[:n0+whole/blockValues*blockBytes]
			pack60AVX512(&vals[0], whole/8, &dst[n0], &pack60)
		} else {
			for b := 0; b < whole; b += blockValues {
				dst = appendBlock60(dst, vals[b:b+blockValues])
			}
		}
		vals = vals[whole:]
	}
	return appendPackedBits(dst, vals, w)
}

// pack60Consts are the permutations and masks of the AVX-512 60-bit
// packing kernels (kernels_amd64.s) on a group of 8 values, 60 bytes: value
// k starts at byte b_k = floor(7.5k), bit 4 if k is odd. Its layout is the
// kernels'.
type pack60Consts struct {
	even, odd [64]byte  // output byte j from byte (j - b_k) of value k, k even (odd)
	read      [64]byte  // byte i of value k from byte b_k + i
	shift     [8]uint64 // 4 for odd k
	group     uint64    // mask of the 60 bytes of a group
	fromEven  uint64    // mask of the output bytes that come from even values
	fromOdd   uint64    // and from odd ones (byte b_k of odd k from both)
}

var pack60 = func() (c pack60Consts) {
	c.group = 1<<60 - 1
	for k := range 8 {
		b := 60 * k / 8
		c.shift[k] = uint64(60 * k % 8)
		for i := range 8 {
			c.read[8*k+i] = byte(b + i)
			if k%2 == 0 {
				c.even[b+i] = byte(8*k + i)
				c.fromEven |= 1 << (b + i)
			} else {
				c.odd[b+i] = byte(8*k + i)
				c.fromOdd |= 1 << (b + i)
			}
		}
	}
	return c
}()

// Every prime is 60 bits wide, and 16 residues of 60 bits are 15 whole words:
// blocks of them are packed and unpacked with fixed shifts, twice as fast as
// the bit-by-bit loop (which packs what is left, from a byte boundary).
const (
	blockWidth  = 60
	blockValues = 16
	blockBytes  = blockValues * blockWidth / 8
)

// appendBlock60 appends 16 residues below 2^60: residue k > 0 starts at bit
// 60k, that is bit 64 - 4k of word k-1, and ends in word k.
func appendBlock60(dst []byte, vals []uint64) []byte {
	var w [blockValues]uint64 // w[15] stays zero: the block is 15 words
	w[0] = vals[0]
	for k := 1; k < blockValues; k++ {
		v := vals[k]
		w[k-1] |= v << (64 - 4*k)
		w[k] |= v >> (4 * k)
	}
	for _, x := range w[:blockBytes/8] {
		dst = binary.LittleEndian.AppendUint64(dst, x)
	}
	return dst
}

// readBlock60 decodes 16 residues of 60 bits from 120 bytes and checks each
// is below q.
func readBlock60(src []byte, dst []uint64, q uint64) error {
	var w [blockValues]uint64
	src = src[:blockBytes]
	for i := range blockBytes / 8 {
		w[i] = binary.LittleEndian.Uint64(src[8*i:])
	}
	dst = dst[:blockValues]
	dst[0] = w[0] & (1<<blockWidth - 1)
	for k := 1; k < blockValues; k++ {
		dst[k] = (w[k-1]>>(64-4*k) | w[k]<<(4*k)) & (1<<blockWidth - 1)
	}
	for _, v := range dst {
		if v >= q {
			return fmt.Errorf("%w: residue %d not below modulus %d", errFormat, v, q)
		}
	}
	return nil
}

// appendPackedBits is appendPacked bit by bit, for any width.
func appendPackedBits(dst []byte, vals []uint64, w uint) []byte {
	n0 := len(dst)
	total := packedLen(len(vals), w)
	dst = slices.Grow(dst, total+8)[:n0+total+8] // 8 bytes of slack for whole-word stores
	out := dst[n0:]
	pos := 0
	var acc uint64
	var n uint // bits held in acc
	for _, v := range vals {
		acc |= v << n
		if n+w >= 64 {
			binary.LittleEndian.PutUint64(out[pos:], acc)
			pos += 8
			acc = v >> (64 - n) // Go: a shift by 64 gives 0
			n = n + w - 64
		} else {
			n += w
		}
	}
	binary.LittleEndian.PutUint64(out[pos:], acc) // the last partial word
	return dst[:n0+total]
}

// readPacked decodes len(dst) residues of width w from src, checks each is
// below q and that the padding bits are zero, and returns the rest of src.
func readPacked(src []byte, dst []uint64, w uint, q uint64) ([]byte, error) {
	if w == blockWidth && len(src) >= packedLen(len(dst), w) {
		whole := len(dst) / blockValues
		first := 0 // blocks read by the kernel
		if useAVX512 && haveVBMI && whole > 0 {
			first = unpack60AVX512(&src[0], 2*whole, &dst[0], &pack60, q) / 2
		}
		for b := first; b < whole; b++ {
			if err := readBlock60(src[b*blockBytes:], dst[b*blockValues:], q); err != nil {
				return nil, err
			}
		}
		src, dst = src[whole*blockBytes:], dst[whole*blockValues:]
	}
	return readPackedBits(src, dst, w, q)
}

// readPackedBits is readPacked bit by bit, for any width.
func readPackedBits(src []byte, dst []uint64, w uint, q uint64) ([]byte, error) {
	need := packedLen(len(dst), w)
	if len(src) < need {
		return nil, fmt.Errorf("%w: truncated residues", errFormat)
	}
	b := src[:need]
	mask := uint64(1)<<w - 1
	var acc uint64
	var n uint // unread bits in acc
	pos := 0
	for j := range dst {
		var v uint64
		if n >= w {
			v = acc & mask
			acc >>= w
			n -= w
		} else {
			var next uint64
			if len(b)-pos >= 8 {
				next = binary.LittleEndian.Uint64(b[pos:])
				pos += 8
			} else {
				for k := 0; pos < len(b); k++ {
					next |= uint64(b[pos]) << (8 * k)
					pos++
				}
			}
			v = (acc | next<<n) & mask
			acc = next >> (w - n)
			n = 64 - (w - n)
		}
		if v >= q {
			return nil, fmt.Errorf("%w: residue %d not below modulus %d", errFormat, v, q)
		}
		dst[j] = v
	}
	if acc != 0 {
		return nil, fmt.Errorf("%w: non-zero padding", errFormat)
	}
	return src[need:], nil
}

// appendPoly appends the residues of p modulo every q_i.
func (s *suite) appendPoly(dst []byte, p *ring.Poly) []byte {
	for i := range s.q {
		dst = appendPacked(dst, p.Coeffs[i][:RingDegree], s.qWidth[i])
	}
	return dst
}

// readPoly decodes one polynomial into p.
func (s *suite) readPoly(src []byte, p *ring.Poly) ([]byte, error) {
	var err error
	for i, q := range s.q {
		if src, err = readPacked(src, p.Coeffs[i][:RingDegree], s.qWidth[i], q); err != nil {
			return nil, err
		}
	}
	return src, nil
}

// vecBytes is the wire size of count residues modulo every q_i.
func (s *suite) vecBytes(count int) int {
	n := 0
	for _, w := range s.qWidth {
		n += packedLen(count, w)
	}
	return n
}

// appendVec appends v[i] (residues modulo q_i, equal lengths).
func (s *suite) appendVec(dst []byte, v [][]uint64) []byte {
	for i := range s.q {
		dst = appendPacked(dst, v[i], s.qWidth[i])
	}
	return dst
}

func (s *suite) readVec(src []byte, v [][]uint64) ([]byte, error) {
	var err error
	for i, q := range s.q {
		if src, err = readPacked(src, v[i], s.qWidth[i], q); err != nil {
			return nil, err
		}
	}
	return src, nil
}
