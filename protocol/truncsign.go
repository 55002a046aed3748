package protocol

import (
	"context"
	"fmt"
	"time"

	"github.com/tessera-mpc/tessera/sharing"
)

// Truncation and sign in one opening, for engines without lookup material.
//
// TruncateReLU on a product z at scale 2^(2f) needs y = Truncate(z) and the
// sign of y. With a KindTruncSign pair (R a uniform multiple of 2^f below
// 2^(f+33), its high part R^ = R >> f: 32 bits R' = RShifted and a top bit rho
// = RMSB, and R' also XOR-shared bit by bit) the parties open one 33-bit lane
// per element:
//
//	U = sum_i floor(c_i mod 2^k / 2^f) mod 2^33,  c_i = z_i + R_i (+ 2^(k-2) + K for party 0),
//
// with k = f + 33 and K = floor(N (2^f - 1) / 2). The low f bits of the
// shares are never sent: their sum, low in [0, N(2^f - 1)], is congruent to
// z + K modulo 2^f, so Y = (z + 2^(k-2) + K - low) / 2^f is an integer and
// U = Y + R^ mod 2^33. For |z| < 2^(k-2) - N 2^(f-1), Y lies in [0, 2^32), so
// Y + R' < 2^33 does not wrap and Y + R' = U' + 2^32 (U_32 xor rho) (U' = U mod
// 2^32): the truncated value t = Y - 2^31 = (z + K - low) / 2^f is linear in
// the shares of R' and rho. Its error |t - z / 2^f| < N/2 units in the last
// place, centred: given z, the dropped bits of N - 1 shares are uniform and
// the last one's then too, so low has mean K (up to 1/2).
//
// The sign of t is bit 31 of Y negated, and bit 31 of Y = (U' - R') mod 2^32
// is U_31 xor R'_31 xor [U mod 2^31 < R' mod 2^31]: a comparison of a public
// value with XOR-shared bits. Its generate and propagate bits (not U_j and
// R'_j; U_j xnor R'_j) are linear in R', so the carry tree alone takes AND
// gates (42 per element, see lessThanPublic; a sign on shares needs ANDs for
// its addends' generate bits and, for N > 2, their carry-save reduction too). The
// sign is t's own, exact, so ReLU(t) = t (1 - sign) has no transitional
// region.
//
// Leakage: U is Y plus the uniform R^ modulo 2^33, uniform whatever z; each
// party's lane is its share of c reduced and shifted, uniform given the others'
// as R's shares are. The carry tree's openings are Beaver openings masked by
// fresh AND triples, the conversion's those of bitsToArithTimes. Nothing else
// is opened.

// truncSignLanes returns this party's lanes of U (one 33-bit value a word).
func (e *Engine) truncSignLanes(z, r sharing.Tensor, f int) sharing.Tensor {
	k := f + 33
	offset := uint64(1)<<(k-2) + uint64(e.n)*(1<<f-1)/2
	out := sharing.Zeros(z.Len())
	for i, v := range z.Data {
		c := v + r.Data[i]
		if e.self == 0 {
			c += offset
		}
		out.Data[i] = (c & (1<<k - 1)) >> f
	}
	return out
}

// truncSignShares returns this party's shares of t from the opened U:
// t = U' - R' + 2^32 (U_32 xor rho) - 2^31, and U_32 xor rho = rho or 1 - rho.
func truncSignShares(first bool, u []uint64, tp TruncSignPair) sharing.Tensor {
	out := sharing.Zeros(len(u))
	for i, uv := range u {
		top := uv >> 32
		rho := tp.RMSB.Data[i]
		v := -tp.RShifted.Data[i]
		if top == 1 {
			v -= rho << 32
		} else {
			v += rho << 32
		}
		if first {
			v += uv&(1<<32-1) + top<<32 - 1<<31
		}
		out.Data[i] = v
	}
	return out
}

// lessThanPublic returns XOR shares of [a_i < b_i] on the low 31 bits, packed
// one bit per element (as signBits'), for public a and XOR-shared b, in 5
// rounds of a carry tree with generate bits g_j = b_j and not a_j and
// propagate bits p_j = b_j xnor a_j (bit 31 neutral: g 0, p 1). Both are
// linear in b, so the first level's G = g_hi ^ p_hi g_lo and P = p_hi p_lo
// are linear in b_hi, b_lo and the one product b_hi b_lo: 16 ANDs per element
// instead of 32. Above it a pair needs p_hi g_lo for G and p_hi p_lo for P,
// but no P of the group holding bit 0 is ever read: 15, 7, 3 and 1 more, 42
// in all (a full tree of pairs takes 61).
func (e *Engine) lessThanPublic(ctx context.Context, a, b []uint64) ([]uint64, error) {
	const low = 1<<31 - 1
	n := len(a)
	bl, bh, al, ah := make([]uint64, n), make([]uint64, n), make([]uint64, n), make([]uint64, n)
	for i := range n {
		bv, av := b[i]&low, ^a[i]&low|1<<31 // av = not a, neutral at bit 31
		bl[i], bh[i], al[i], ah[i] = evenBits(bv), evenBits(bv>>1), evenBits(av), evenBits(av>>1)
	}
	m, err := e.andLanes(ctx, bl, bh, 16)
	if err != nil {
		return nil, fmt.Errorf("comparison level 0: %w", err)
	}
	g, p := make([]uint64, n), make([]uint64, n)
	for i := range n {
		g[i] = bh[i]&ah[i] ^ m[i]&al[i] ^ bl[i]&ah[i]&al[i]
		p[i] = m[i] ^ bh[i]&al[i] ^ bl[i]&ah[i]
		if e.self == 0 {
			p[i] ^= ah[i] & al[i]
		}
	}
	for w, level := 16, 1; w > 1; w, level = w/2, level+1 {
		h := w / 2
		x, y := make([]uint64, n), make([]uint64, n)
		for i := range n {
			pO := evenBits(p[i] >> 1)
			x[i] = pO | (pO>>1)<<h
			y[i] = evenBits(g[i]) | (evenBits(p[i])>>1)<<h
		}
		z, err := e.andLanes(ctx, x, y, 2*h-1)
		if err != nil {
			return nil, fmt.Errorf("comparison level %d: %w", level, err)
		}
		for i := range n {
			g[i] = evenBits(g[i]>>1) ^ z[i]&(1<<h-1)
			p[i] = z[i] >> h << 1 // the P of groups 1..h-1; group 0's is never read
		}
	}
	return packLanes(g, 1), nil // bit 0 of g: the carry out of all 32 bits
}

// andLanes ANDs the low width bits of x[i] and y[i] for every i, packed end to
// end so that the AND triples cover n*width bits, in one round.
func (e *Engine) andLanes(ctx context.Context, x, y []uint64, width int) ([]uint64, error) {
	z, err := e.And(ctx, packLanes(x, width), packLanes(y, width))
	if err != nil {
		return nil, err
	}
	return unpackLanes(z, len(x), width), nil
}

// truncateReLUBySign is TruncateReLU for an engine without lookup material
// (see above): one opening of 33-bit lanes, the 5 rounds of a comparison
// with the mask's bits, and the bit's conversion with its product.
func (e *Engine) truncateReLUBySign(ctx context.Context, z sharing.Tensor) (y, deriv sharing.Tensor, err error) {
	start := time.Now()
	f, n := e.codec.FracBits, z.Len()
	mat, err := e.fetch(ctx, TruncSignRequest(n, f))
	if err != nil {
		return y, deriv, fmt.Errorf("protocol: TruncateReLU: preprocessing: %w", err)
	}
	tp := mat.TruncSignPair()
	opened, err := e.Open(ctx, e.truncSignLanes(z, tp.R, f))
	if err != nil {
		return y, deriv, fmt.Errorf("protocol: TruncateReLU: masked values: %w", err)
	}
	u := opened[0].Data
	for i := range u {
		u[i] &= 1<<33 - 1
	}
	x := truncSignShares(e.self == 0, u, tp)
	x.Shape = append([]int(nil), z.Shape...)
	lt, err := e.lessThanPublic(ctx, u, tp.Bits)
	if err != nil {
		return y, deriv, fmt.Errorf("protocol: TruncateReLU: comparison: %w", err)
	}
	// sign = not bit 31 of Y = 1 xor U_31 xor R'_31 xor lt.
	for i := range n {
		bit := tp.Bits[i] >> 31 & 1
		if e.self == 0 {
			bit ^= 1 ^ u[i]>>31&1
		}
		lt[i/64] ^= bit << (i % 64)
	}
	if y, deriv, err = e.reluOfSign(ctx, lt, x); err != nil {
		return y, deriv, fmt.Errorf("protocol: TruncateReLU: %w", err)
	}
	e.account("truncate-relu", start, 0, 0)
	return y, deriv, nil
}

// TruncateReLURoundsFor is the number of rounds of TruncateReLU among the given
// number of parties at fracBits, comparing by lookup or not: ReLU's by lookup
// (the truncation rides on its first opening), 7 without (the opening, the
// comparison's 5 and the conversion) on 32 bits, Truncate then ReLU on 64.
func TruncateReLURoundsFor(parties, fracBits int, lookup bool) int {
	switch {
	case ReLUCompareBits(fracBits) == 64:
		return 1 + ReLURoundsFor(parties, fracBits, lookup)
	case lookup:
		return ReLURoundsFor(parties, fracBits, lookup)
	}
	return 1 + 5 + 1
}
