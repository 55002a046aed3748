package he

import (
	"crypto/sha256"
	"math"
	"math/big"
	"math/bits"

	"github.com/ldsec/lattigo/v2/ring"
	"github.com/tessera-mpc/tessera/sharing"
)

// Every random value of a request comes from an AES-128-CTR stream
// (sharing.PRG) keyed by a per-purpose key derived from the party's secret
// master seed (itself from crypto/rand unless the caller supplies a reader),
// with a stream index that is unique in the session: the request number for
// operand shares, the session-wide ciphertext counters for noise and masks.
// Results therefore do not depend on how work is spread over goroutines.

// deriveSeed derives the AES key of one purpose from a 32-byte secret.
func deriveSeed(secret [32]byte, label string) sharing.Seed {
	h := sha256.New()
	h.Write([]byte("tessera/he/seed/"))
	h.Write([]byte(label))
	h.Write([]byte{0})
	h.Write(secret[:])
	var s sharing.Seed
	copy(s[:], h.Sum(nil))
	return s
}

// stream reads uniform words from a PRG in blocks.
type stream struct {
	prg *sharing.PRG
	buf [512]uint64
	pos int
}

func newStream(seed sharing.Seed, index uint64) *stream {
	s := &stream{prg: sharing.NewPRG(seed, index)}
	s.pos = len(s.buf)
	return s
}

func (s *stream) next() uint64 {
	if s.pos == len(s.buf) {
		s.prg.Fill(s.buf[:])
		s.pos = 0
	}
	v := s.buf[s.pos]
	s.pos++
	return v
}

// uniformPoly fills p with uniform residues (rejection sampling), reading
// the stream's buffer directly.
func (s *stream) uniformPoly(q []uint64, p *ring.Poly) {
	for i, qi := range q {
		mask := uint64(1)<<bits.Len64(qi) - 1
		c := p.Coeffs[i][:RingDegree]
		for j := 0; j < len(c); {
			if s.pos == len(s.buf) {
				s.prg.Fill(s.buf[:])
				s.pos = 0
			}
			buf := s.buf[s.pos:]
			k := 0
			for k < len(buf) && j < len(c) {
				v := buf[k] & mask
				k++
				if v < qi {
					c[j] = v
					j++
				}
			}
			s.pos += k
		}
	}
}

// ternary fills dst with uniform values of {-1, 0, 1}.
func (s *stream) ternary(dst []int64) {
	var w uint64
	left := 0
	for j := range dst {
		for {
			if left == 0 {
				w, left = s.next(), 8
			}
			b := w & 0xff
			w >>= 8
			left--
			if b < 255 { // 255 = 3*85: reject the last value for uniformity
				dst[j] = int64(b%3) - 1
				break
			}
		}
	}
}

// gaussCDT[k] = floor(2^63 * P(|e| <= k)) for the discrete Gaussian of
// parameter Sigma truncated at NoiseBound, k = 0..NoiseBound-1.
var gaussCDT = func() [NoiseBound]uint64 {
	var rho [NoiseBound + 1]float64
	total := 0.0
	for k := 0; k <= NoiseBound; k++ {
		rho[k] = math.Exp(-float64(k*k) / (2 * Sigma * Sigma))
		if k == 0 {
			total += rho[k]
		} else {
			total += 2 * rho[k]
		}
	}
	var t [NoiseBound]uint64
	cum := new(big.Float).SetPrec(128)
	scale := new(big.Float).SetPrec(128).SetMantExp(big.NewFloat(1), 63)
	for k := 0; k < NoiseBound; k++ {
		p := rho[k] / total
		if k > 0 {
			p *= 2
		}
		cum.Add(cum, big.NewFloat(p))
		v, _ := new(big.Float).Mul(cum, scale).Uint64()
		t[k] = v
	}
	return t
}()

// gaussSearch is gaussCDT padded to 32 entries with 2^63, above every
// 63-bit r, for a binary search of fixed length.
var gaussSearch = func() (t [32]uint64) {
	for k := range t {
		t[k] = 1 << 63
	}
	copy(t[:], gaussCDT[:])
	return t
}()

// gaussian fills dst with discrete Gaussian samples of standard deviation
// Sigma, truncated to [-NoiseBound, NoiseBound], by inversion of the
// cumulative table, one stream word per sample: the magnitude is the number
// of entries r >= t for r = w >> 1, the sign the low bit of w. It takes the
// words a buffer at a time (gaussianWords).
func (s *stream) gaussian(dst []int64) {
	for len(dst) > 0 {
		if s.pos == len(s.buf) {
			s.prg.Fill(s.buf[:])
			s.pos = 0
		}
		k := min(len(s.buf)-s.pos, len(dst))
		gaussianWords(s.buf[s.pos:s.pos+k], dst[:k])
		s.pos += k
		dst = dst[k:]
	}
}

// gaussianWords writes the sample of words[j] into dst[j]: eight at a time
// by comparing r with all 19 entries (gaussianAVX512), the rest by a binary
// search of five steps. Neither branches on r (the same samples as a scan
// of all 19 entries, gaussianScan).
func gaussianWords(words []uint64, dst []int64) {
	dst = dst[:len(words)]
	j := 0
	if useAVX512 && len(words) >= 8 {
		j = len(words) &^ 7
		gaussianAVX512(&words[0], j, &dst[0], &gaussCDT)
	}
	for ; j < len(words); j++ {
		w := words[j]
		r := w >> 1
		var pos uint64
		for step := uint64(16); step > 0; step >>= 1 {
			// pos += step * (r >= gaussSearch[pos+step-1])
			_, borrow := bits.Sub64(r, gaussSearch[pos+step-1], 0)
			pos += step & -(borrow ^ 1)
		}
		sign := w & 1
		v := int64(pos)
		dst[j] = v - 2*int64(sign)*v
	}
}

// scaledSmall writes (or, with add, adds) t*e mod q_i, t = 2^64, into the
// first len(e) coefficients of dst, for small signed e.
func (st *suite) scaledSmall(e []int64, dst *ring.Poly, add bool) {
	vec := 0 // values done by the kernel
	if useAVX512 {
		vec = len(e) &^ 7
	}
	for i, q := range st.q {
		c := dst.Coeffs[i][:len(e)]
		tm, qi := st.tMont[i], st.qInv[i]
		if vec > 0 {
			scaledSmallAVX512(&e[0], &c[0], vec, tm, q, qi, boolInt(add))
		}
		for j := vec; j < len(e); j++ {
			v := e[j]
			r := uint64(v) + q&uint64(v>>63) // v mod q, without a branch on the sign
			r = ring.MRed(r, tm, q, qi)
			if add {
				r += c[j]
				if r >= q {
					r -= q
				}
			}
			c[j] = r
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mask draws a uniform integer M in [0, 2^b) (b in (128, 256]) from
// ceil(b/64) words of the stream and returns its residues modulo every q_i
// in res and its low 64 bits.
func (s *stream) mask(b int, q []uint64, res []uint64) uint64 {
	var w [4]uint64
	top := (b+63)/64 - 1
	for i := range top + 1 {
		w[i] = s.next()
	}
	w[top] &= uint64(1)<<(b-64*top) - 1 // a shift by 64 gives 0: all ones
	for i, qi := range q {
		r := w[top]
		if r >= qi { // never for the widths in use: the top word has fewer bits than q_i
			r %= qi
		}
		for k := top - 1; k >= 0; k-- {
			_, r = bits.Div64(r, w[k], qi)
		}
		res[i] = r
	}
	return w[0]
}
