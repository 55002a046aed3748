package protocol

import (
	"context"
	"fmt"
	"math/bits"
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
// rounds: comparePublic on 32 bits without the equality.
func (e *Engine) lessThanPublic(ctx context.Context, a, b []uint64) ([]uint64, error) {
	lt, _, err := e.comparePublic(ctx, a, b, 32, false)
	return lt, err
}

// comparePublic returns XOR shares of lt = [a_i mod 2^(w-1) < b_i mod 2^(w-1)]
// and, if withEq, of eq = [a_i mod 2^w = b_i mod 2^w], packed one bit per
// element, for public a and XOR-shared b, w = 16 or 32, in log2(w) rounds of
// a carry tree with generate bits g_j = b_j and not a_j and propagate bits p_j
// = b_j xnor a_j (bit w-1 neutral: g 0, p 1). Both are linear in b, so the
// first level's G = g_hi ^ p_hi g_lo and P = p_hi p_lo are linear in b_hi,
// b_lo and the one product b_hi b_lo: w/2 ANDs per element instead of w.
// Above it a pair needs p_hi g_lo for G and p_hi p_lo for P, but no P of the
// group holding bit 0 is ever read: 42 ANDs in all on 32 bits (a full tree of
// pairs takes 61), 19 on 16.
//
// eq is the AND of every p_j with bit w-1 real: the tree's P except in the
// group holding bit 0 (never computed) and the top group (neutral there). So
// the first level also multiplies b_{w-1} b_{w-2} (the top pair's real P is
// linear in it) and every level above two more bits, group 0's and the top
// group's real P (one at the last level): 50 ANDs per element on 32 bits, in
// the same rounds.
func (e *Engine) comparePublic(ctx context.Context, a, b []uint64, w int, withEq bool) (lt, eq []uint64, err error) {
	low := uint64(1)<<(w-1) - 1
	n, half := len(a), w/2
	bl, bh, al, ah := make([]uint64, n), make([]uint64, n), make([]uint64, n), make([]uint64, n)
	xl, xh := bl, bh
	if withEq {
		xl, xh = make([]uint64, n), make([]uint64, n)
	}
	for i := range n {
		bv, av := b[i]&low, ^a[i]&low|1<<(w-1) // av = not a, neutral at bit w-1
		bl[i], bh[i], al[i], ah[i] = evenBits(bv), evenBits(bv>>1), evenBits(av), evenBits(av>>1)
		if withEq { // lane bit half: b_{w-2} b_{w-1}, for the top pair's real P
			xl[i] = bl[i] | (b[i]>>(w-2)&1)<<half
			xh[i] = bh[i] | (b[i]>>(w-1)&1)<<half
		}
	}
	lanes := half
	if withEq {
		lanes++
	}
	m, err := e.andLanes(ctx, xl, xh, lanes)
	if err != nil {
		return nil, nil, fmt.Errorf("comparison level 0: %w", err)
	}
	g, p, q := make([]uint64, n), make([]uint64, n), make([]uint64, n) // q: eq's P
	for i := range n {
		mi := m[i] & (1<<half - 1)
		g[i] = bh[i]&ah[i] ^ mi&al[i] ^ bl[i]&ah[i]&al[i]
		p[i] = mi ^ bh[i]&al[i] ^ bl[i]&ah[i]
		if e.self == 0 {
			p[i] ^= ah[i] & al[i]
		}
		if withEq {
			// (b_hi ^ na_hi)(b_lo ^ na_lo) on bits w-1, w-2 with na = not a.
			bLo, bHi, naLo, naHi := b[i]>>(w-2)&1, b[i]>>(w-1)&1, ^a[i]>>(w-2)&1, ^a[i]>>(w-1)&1
			top := m[i]>>half&1 ^ bHi&naLo ^ bLo&naHi
			if e.self == 0 {
				top ^= naHi & naLo
			}
			q[i] = p[i]&^(1<<(half-1)) | top<<(half-1)
		}
	}
	for groups, level := half, 1; groups > 1; groups, level = groups/2, level+1 {
		if err := e.compareLevel(ctx, g, p, q, groups, withEq); err != nil {
			return nil, nil, fmt.Errorf("comparison level %d: %w", level, err)
		}
	}
	if withEq {
		eq = packLanes(q, 1)
	}
	return packLanes(g, 1), eq, nil // bit 0 of g: the carry out of all w bits
}

// compareLevel merges pairs of the groups of comparePublic's tree, in place,
// in one round: G = G_hi ^ P_hi G_lo for every pair, P = P_hi P_lo for all but
// the pair holding bit 0, and with eq eq's P of that pair and of the top one.
func (e *Engine) compareLevel(ctx context.Context, g, p, q []uint64, groups int, withEq bool) error {
	h := groups / 2
	width := 2*h - 1
	extra := 0
	if withEq {
		extra = min(2, h)
	}
	x, y := make([]uint64, len(g)), make([]uint64, len(g))
	for i := range g {
		pO := evenBits(p[i] >> 1)
		x[i] = pO | (pO>>1)<<h
		y[i] = evenBits(g[i]) | (evenBits(p[i])>>1)<<h
		if withEq {
			qO, qE := evenBits(q[i]>>1), evenBits(q[i])
			x[i] |= (qO&1)<<width | (qO>>(h-1)&1)<<(width+1)
			y[i] |= (qE&1)<<width | (qE>>(h-1)&1)<<(width+1)
		}
	}
	z, err := e.andLanes(ctx, x, y, width+extra)
	if err != nil {
		return err
	}
	for i := range g {
		g[i] = evenBits(g[i]>>1) ^ z[i]&(1<<h-1)
		p[i] = z[i] >> h & (1<<(h-1) - 1) << 1 // the P of groups 1..h-1; group 0's is never read
		if withEq {
			q0 := z[i] >> width & 1
			if h == 1 {
				q[i] = q0
				continue
			}
			q[i] = p[i]&^(1<<(h-1)) | q0 | (z[i]>>(width+1)&1)<<(h-1)
		}
	}
	return nil
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

// Signs from one opening, for engines without lookup material.
//
// The sign of x on w = 32 bits (bit 31 of x mod 2^32, as the adder reads it)
// needs no truncation, so a sign pair serves it with its R' (RShifted) and
// R''s XOR-shared bits alone: R' is uniform below 2^32 whatever the pair's
// Bits, and the parties open one 32-bit lane per element,
//
//	U' = sum_i (x_i + R'_i) mod 2^32 = (x + R') mod 2^32,
//
// exact (R''s shares add up to R' modulo 2^64, lanes are added modulo 2^32).
// Then x mod 2^32 = (U' - R') mod 2^32, whose bit 31 is U'_31 xor R'_31 xor
// [U' mod 2^31 < R' mod 2^31] (the borrow into bit 31), compared by
// comparePublic; and x = 0 mod 2^32 exactly when U' = R', its eq. No wrap of
// 2^32 matters, so neither R's top bit nor a 33rd lane bit is needed. On w =
// 16 bits (bit 15 of x mod 2^16) the same runs on R' mod 2^16: 16-bit lanes
// and comparePublic on 16 bits.
//
// Signs and zero bits are the adder's bit for bit, for every ring value: both
// read x mod 2^w, nothing else. Rounds: SignPairRounds(w), 6 on 32 bits and 5
// on 16 whatever N, against the adder's MSBRounds(N) - 2 on 32 (5 for N = 2, 7
// for N = 3, 9 for N = 5) and - 3 on 16; signBits and signZeroBits take the
// adder where it needs fewer rounds (N = 2). AND gates per element: 42 on 32
// bits (50 with the zero bit), 19 on 16, against the adder's 125 (156) and 61
// at N = 3, growing with N.
//
// Leakage: U' is x plus R' mod 2^w, uniform whatever x (R' is uniform given
// any N - 1 parties' shares of the pair), and each party's lane is its share
// of x + R' reduced: given U' and N - 1 parties' lanes the last one is
// determined, so a coalition learns nothing beyond the uniform U'. The
// comparison's openings are Beaver openings masked by fresh AND triples.
// Nothing else is opened; R's own shares and its top bit go unused.

// signPairBits is the truncation width of the sign pairs a plain sign asks
// for: any Bits gives the same R', and every source serves Bits >= 1.
const signPairBits = 1

// SignPairRounds is the number of rounds of a sign on width (16 or 32) bits
// from a sign pair: the opening and log2(width) levels of the comparison.
func SignPairRounds(width int) int { return 1 + bits.TrailingZeros(uint(width)) }

// useSignPair says whether a sign on width bits without lookups reads a sign
// pair: on 16 and 32 bits, unless the adder takes fewer rounds.
func useSignPair(parties, width int) bool {
	return width < 64 && SignPairRounds(width) <= adderSignRounds(parties, width)
}

// signBitsBySignPair returns XOR shares of bit width-1 of every element of x
// and, with withZero, of [x = 0 mod 2^width], each packed one bit per element,
// from a sign pair (see above).
func (e *Engine) signBitsBySignPair(ctx context.Context, x []uint64, width int, withZero bool) (sign, zero []uint64, err error) {
	n := len(x)
	mat, err := e.fetch(ctx, TruncSignRequest(n, signPairBits))
	if err != nil {
		return nil, nil, fmt.Errorf("sign by sign pair: preprocessing: %w", err)
	}
	tp := mat.TruncSignPair()
	u, err := e.openMaskedLanes(ctx, x, tp.RShifted.Data, width)
	if err != nil {
		return nil, nil, fmt.Errorf("sign by sign pair: masked values: %w", err)
	}
	sign, zero, err = e.comparePublic(ctx, u, tp.Bits, width, withZero)
	if err != nil {
		return nil, nil, fmt.Errorf("sign by sign pair: %w", err)
	}
	for i := range n {
		bit := tp.Bits[i] >> (width - 1) & 1
		if e.self == 0 {
			bit ^= u[i] >> (width - 1) & 1
		}
		sign[i/64] ^= bit << (i % 64)
	}
	return sign, zero, nil
}

// openMaskedLanes opens x + r modulo 2^width, one lane of width bits per
// element (packLanes, added as lanes: no carry crosses into the next), and
// returns the opened values: the public side of a sign read by lookup or from
// a sign pair, each party sending only its share's low width bits.
func (e *Engine) openMaskedLanes(ctx context.Context, x, r []uint64, width int) ([]uint64, error) {
	masked := make([]uint64, len(x))
	for i, v := range x {
		masked[i] = v + r[i]
	}
	top, _ := laneMasks(width)
	c, err := e.openLanes(ctx, packLanes(masked, width), top)
	if err != nil {
		return nil, err
	}
	return unpackLanes(c, len(x), width), nil
}
