package protocol

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/tessera-mpc/tessera/sharing"
)

// Nonlinear functions on fixed-point sharings (value = round(x * 2^f)).
// Comparisons go through MSB (R_msb = MSBRounds(N) rounds: 7 for N = 2, 9 for
// N = 3, 11 for N = 5), or, on 16 and 32 bits with Config.LookupComparisons (a
// dealer's material), through the open-and-compare sign of compare.go (2 rounds
// whatever N), or, on 16 and 32 bits without it, through a sign pair's opening and
// comparison (truncsign.go: SignPairRounds, 5 and 6 whatever N, where the adder
// takes more: N >= 3); the ...RoundsFor functions count every way. The smooth
// functions are iterations of Beaver products
// with a wrap-safe truncation after each, evaluated at a higher internal precision
// than f where that buys accuracy. Every function handles a whole tensor at once:
// rounds do not depend on its size. Error bounds are absolute, for the decoded
// result, and hold for every f in [12, 24] unless stated otherwise.
//
// Leakage: these functions open nothing but Beaver-masked differences (x - a,
// uniform for a fresh triple), truncation masks (uniform, see TruncateEach) and
// MSB's masked binary openings (by lookup: x + r mod 2^w for a uniform r, and
// bits masked by fresh dealer bits; by sign pair: x + R' mod 2^w for a uniform
// R', and AND openings), so a coalition of up to N-1 parties learns only
// the shapes and the public ranges and constants the caller passes.

// LessThanZero returns arithmetic shares of the bits [x < 0] (integer scale: 0 or
// 1, not fixed point). It is MSB: R_msb rounds.
func (e *Engine) LessThanZero(ctx context.Context, x sharing.Tensor) (sharing.Tensor, error) {
	return e.MSB(ctx, x)
}

// LessThan returns arithmetic shares of the bits [x < y] (integer scale), valid
// while |x - y| < 2^63 in the ring, which holds for any two encodable fixed-point
// values. R_msb rounds.
func (e *Engine) LessThan(ctx context.Context, x, y sharing.Tensor) (sharing.Tensor, error) {
	if !sharing.SameShape(x, y) {
		return sharing.Tensor{}, fmt.Errorf("protocol: LessThan of shapes %v and %v", x.Shape, y.Shape)
	}
	return e.MSB(ctx, sharing.Sub(x, y))
}

// Select returns b ? x : y element-wise, for arithmetic shares b of bits at
// integer scale (as MSB returns them), as y + b(x - y): one Beaver product of a
// bit by a ring value, exact, no truncation, whatever the scale of x and y. One
// round.
func (e *Engine) Select(ctx context.Context, b, x, y sharing.Tensor) (sharing.Tensor, error) {
	if !sharing.SameShape(b, x) || !sharing.SameShape(x, y) {
		return sharing.Tensor{}, fmt.Errorf("protocol: Select of shapes %v, %v and %v", b.Shape, x.Shape, y.Shape)
	}
	d, err := e.Mul(ctx, b, sharing.Sub(x, y))
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Select: %w", err)
	}
	sharing.AddInPlace(d, y)
	return d, nil
}

// oneMinus returns shares of 1 - b for integer-scale bits b.
func (e *Engine) oneMinus(b sharing.Tensor) sharing.Tensor {
	return e.AddScalar(sharing.Neg(b), 1)
}

// ReLU returns y = max(x, 0) and its derivative deriv = [x >= 0] for a fixed-point
// sharing x. deriv is a sharing of bits at INTEGER scale (0 or 1, not 2^f): the
// backward pass multiplies a fixed-point gradient by it with Mul, exactly and
// without truncation. y = x * (1 - msb(x)) is one such product, so y is exactly
// max(x, 0) (bit for bit, no rounding error). The product shares the round of
// the bit's conversion (bitsToArithTimes).
//
// The sign is read on the low ReLUCompareBits(f) bits of x (signBits): 32 for
// f <= 20, so the result is exact for |x| < ReLUBound(f) = 2^(31-f) (32,768 at
// f = 16, 2,048 at f = 20), half the AND material and bytes of a 64-bit sign and
// one carry level fewer. Beyond the bound the sign is that of x mod 2^32 read as
// a signed 32-bit integer: x in [2^31, 2^32) ulps comes out as 0 with derivative
// 0, x in [-2^32, -2^31) passes through unchanged with derivative 1, and so on
// periodically. For f > 20 the sign is read on all 64 bits and ReLU is exact for
// every ring value. Rounds: ReLURounds(N, f): on 32 bits 7 for N >= 3 (a sign
// pair, truncsign.go: 8 for N = 3 and 10 for N = 5 by the adder), 6 for N = 2
// (the adder, R_msb - 1); comparing by lookup, ReLURoundsFor(N, f, true): 3.
func (e *Engine) ReLU(ctx context.Context, x sharing.Tensor) (y, deriv sharing.Tensor, err error) {
	start := time.Now()
	bits, err := e.signBits(ctx, x.Data, ReLUCompareBits(e.codec.FracBits))
	if err != nil {
		return y, deriv, fmt.Errorf("protocol: ReLU: %w", err)
	}
	if y, deriv, err = e.reluOfSign(ctx, bits, x); err != nil {
		return y, deriv, fmt.Errorf("protocol: ReLU: %w", err)
	}
	e.account("relu", start, 0, 0)
	return y, deriv, nil
}

// reluOfSign returns y = x (1 - msb) and deriv = 1 - msb for XOR-shared sign
// bits msb of x (packed one per element), in one round: the product rides on
// the bit's conversion (bitsToArithTimes).
func (e *Engine) reluOfSign(ctx context.Context, msbBits []uint64, x sharing.Tensor) (y, deriv sharing.Tensor, err error) {
	msb, msbX, err := e.bitsToArithTimes(ctx, msbBits, x)
	if err != nil {
		return y, deriv, err
	}
	msb.Shape = append([]int(nil), x.Shape...)
	deriv = e.oneMinus(msb)
	y = sharing.Sub(x, sharing.Tensor{Shape: deriv.Shape, Data: msbX.Data})
	return y, deriv, nil
}

// TruncateReLU returns ReLU(Truncate(z)) and its derivative for a product z at
// scale 2^(2f) (a matrix product before its truncation).
//
// Comparing by lookup, it takes the rounds of ReLU alone: the truncation's
// opening travels with the first round of the sign (ride), whose input needs no
// truncated value. Each party shifts its own share right by f bits; the shifted
// shares add up to floor(z / 2^f) - delta modulo 2^32 with delta in [0, N-1]
// (the carries lost from the low bits, whatever the shares), so their 32-bit
// sign is that of floor(z / 2^f) - delta. With x = Truncate(z) (floor(z / 2^f)
// or one more, as Truncate), y = x where floor(z / 2^f) >= N - 1, y = 0 =
// max(x, 0) where z < 0, and y is x or 0 in between: |y - max(x, 0)| <= (N-1)
// 2^-f; deriv (integer scale) is 1 where y = x and 0 where the sign read
// negative, so y = x deriv always.
//
// Without lookup material (dealer-free engines) it truncates with a sign pair
// and reads the truncated value's own sign from the opening and the pair's bits
// (truncsign.go): 7 rounds whatever N. x is within N/2 units in the last place
// of z / 2^f (unbiased), and y = max(x, 0) exactly.
//
// Either way signs are exact for |x| < ReLUBound(f) - N 2^-f; past that, as
// ReLU past its bound. For f > 20, where ReLU reads 64 bits, it is Truncate then
// ReLU, one round more. Rounds: TruncateReLURoundsFor(N, f, lookup).
func (e *Engine) TruncateReLU(ctx context.Context, z sharing.Tensor) (y, deriv sharing.Tensor, err error) {
	f := e.codec.FracBits
	if ReLUCompareBits(f) != 32 || z.Len() == 0 {
		x, err := e.Truncate(ctx, z)
		if err != nil {
			return y, deriv, err
		}
		return e.ReLU(ctx, x)
	}
	if !e.lookup {
		return e.truncateReLUBySign(ctx, z)
	}
	start := time.Now()
	st, masked, err := e.prepareTruncations(ctx, []int{f}, []sharing.Tensor{z}, false)
	if err != nil {
		return y, deriv, fmt.Errorf("protocol: TruncateReLU: %w", err)
	}
	opening := e.ride(masked[0].Data)
	shifted := make([]uint64, z.Len())
	for i, v := range z.Data {
		shifted[i] = v >> f
	}
	bits, err := e.signBits(ctx, shifted, 32)
	if err != nil {
		return y, deriv, fmt.Errorf("protocol: TruncateReLU: %w", err)
	}
	x := st.finish(e.self, []sharing.Tensor{{Shape: []int{z.Len()}, Data: opening.sum}})[0]
	x.Shape = append([]int(nil), z.Shape...)
	if y, deriv, err = e.reluOfSign(ctx, bits, x); err != nil {
		return y, deriv, fmt.Errorf("protocol: TruncateReLU: %w", err)
	}
	e.account("truncate-relu", start, 0, 0)
	return y, deriv, nil
}

// ReLUCompareBits is the width ReLU reads signs on at fracBits: 32 while the
// bound 2^(31-f) it implies is at least 2^11, else 64 (exact for any value).
func ReLUCompareBits(fracBits int) int {
	if 31-fracBits >= 11 {
		return 32
	}
	return 64
}

// ReLUBound is the magnitude below which ReLU is exact at fracBits, as a real:
// 2^(31-f) on 32 bits, +Inf on 64.
func ReLUBound(fracBits int) float64 {
	if ReLUCompareBits(fracBits) == 64 {
		return math.Inf(1)
	}
	return math.Ldexp(1, 31-fracBits)
}

// ReLURounds is the number of rounds of ReLU among the given number of parties at
// fracBits on an engine without lookup material: MSBRounds on 64 bits; on 32, 7
// by a sign pair (N >= 3) and MSBRounds - 1 by the adder (N = 2).
func ReLURounds(parties, fracBits int) int { return ReLURoundsFor(parties, fracBits, false) }

// ReLURoundsFor is ReLURounds of an engine that compares by lookup or not
// (Config.LookupComparisons): on 32 bits the sign's rounds (signRounds: 2 by
// lookup, 6 by a sign pair, the adder's for N = 2) and the bit's conversion.
func ReLURoundsFor(parties, fracBits int, lookup bool) int {
	if ReLUCompareBits(fracBits) == 32 {
		return signRounds(parties, 32, lookup) + 1
	}
	return MSBRounds(parties)
}

// LookupSignRounds is the number of rounds of a sign extraction on 16 or 32 bits
// by lookup: the masked values, then the masked chunk bits.
const LookupSignRounds = 2

// signRounds is the number of rounds of signBits on width bits, unconverted:
// LookupSignRounds by lookup below 64 bits, else SignPairRounds where signBits
// reads a sign pair (useSignPair), else the adder's.
func signRounds(parties, width int, lookup bool) int {
	switch {
	case lookup && width < 64:
		return LookupSignRounds
	case useSignPair(parties, width):
		return SignPairRounds(width)
	}
	return adderSignRounds(parties, width)
}

// adderSignRounds is the number of rounds of the binary adder's sign on width
// bits: MSBRounds less the conversion and one carry level per halving of 64.
func adderSignRounds(parties, width int) int {
	return MSBRounds(parties) - bits.Len(uint(64/width))
}

// MaxRows returns the rows x 1 maximum of every row of a rows x cols matrix of
// ring or fixed-point values (|x| < 2^62, as every encodable value is), exactly.
//
// All pairs at once rather than a tournament: one sign extraction (in the binary
// domain, not converted) compares every pair j < k of every row; candidate j of a
// row is the winner when it is at least every later entry and above every earlier
// one, an AND of cols-1 of those bits (a tree: ceil(log2(cols-1)) AND rounds, all
// candidates together), so exactly one entry per row wins, the first of the
// maximal ones. The winner bits are converted to arithmetic shares and multiplied
// exactly by the values in one round (bitsToArithTimes); summed over the row, the
// products give the maximum.
// A tournament needs ceil(log2 cols) sign extractions one after another; this
// needs one, for cols(cols-1)/2 comparisons a row instead of cols-1.
//
// Rounds: MaxRowsRounds(N, cols) = R_msb + ceil(log2(cols-1)) (0 for one
// column): 13 for 10 columns and N = 3 (a tournament took 40).
func (e *Engine) MaxRows(ctx context.Context, x sharing.Tensor) (sharing.Tensor, error) {
	return e.maxRows(ctx, x, 64)
}

// maxRows is MaxRows comparing the low width bits of the differences (signBits):
// exact while every two entries of a row differ by less than 2^(width-1).
func (e *Engine) maxRows(ctx context.Context, x sharing.Tensor, width int) (sharing.Tensor, error) {
	return e.maxRowsOf(ctx, x, width, func() (sharing.Tensor, error) { return x, nil })
}

// maxRowsOf returns, for every row, the entry of values() at the column where x
// is largest (the first such): the maximum of x when values() is x. values is
// called once the comparisons are done, after at least one round when x has
// more than one column.
func (e *Engine) maxRowsOf(ctx context.Context, x sharing.Tensor, width int, values func() (sharing.Tensor, error)) (sharing.Tensor, error) {
	if len(x.Shape) != 2 || x.Shape[1] < 1 || x.Shape[0] < 0 || x.Shape[0]*x.Shape[1] != x.Len() {
		return sharing.Tensor{}, fmt.Errorf("protocol: MaxRows of shape %v: need a matrix with at least one column", x.Shape)
	}
	rows, cols := x.Shape[0], x.Shape[1]
	if cols == 1 {
		v, err := values()
		return sharing.Tensor{Shape: []int{rows, 1}, Data: append([]uint64(nil), v.Data...)}, err
	}
	start := time.Now()
	pairs := cols * (cols - 1) / 2
	less, err := e.signBits(ctx, pairDiffs(x), width)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: MaxRows: %w", err)
	}
	// slots[s] packs, for every candidate (r, j), its s-th "beats" bit: against k
	// (the s-th other column) it is NOT [x_j < x_k] for k > j and [x_k < x_j] for
	// k < j. NOT is XOR with 1, done by party 0 alone.
	slots := make([][]uint64, cols-1)
	cands := rows * cols
	for s := range slots {
		slots[s] = make([]uint64, (cands+63)/64)
	}
	bitAt := func(i int) uint64 { return (less[i/64] >> (i % 64)) & 1 }
	for r := range rows {
		for j := range cols {
			c := r*cols + j
			for k := range cols {
				if k == j {
					continue
				}
				s := k
				if k > j {
					s--
				}
				var b uint64
				if k > j {
					b = bitAt(r*pairs + pairIndex(cols, j, k))
					if e.self == 0 {
						b ^= 1
					}
				} else {
					b = bitAt(r*pairs + pairIndex(cols, k, j))
				}
				slots[s][c/64] |= b << (c % 64)
			}
		}
	}
	// With a dealer's material (lookup), three-input ANDs: ceil(log3) rounds.
	andTree := e.andAll
	if e.lookup {
		andTree = e.andAll3
	}
	wins, err := andTree(ctx, slots)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: MaxRows: %w", err)
	}
	v, err := values()
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: MaxRows: %w", err)
	}
	_, picked, err := e.bitsToArithTimes(ctx, wins, v)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: MaxRows: %w", err)
	}
	out := sharing.Zeros(rows, 1)
	for r := range rows {
		for j := range cols {
			out.Data[r] += picked.Data[r*cols+j]
		}
	}
	e.account("max-rows", start, 0, 0)
	return out, nil
}

// pairDiffs returns, for every row r of the matrix x and every pair of its
// columns j < k in order (pairIndex), x[r,j] - x[r,k]: its sign is [x_j < x_k].
func pairDiffs(x sharing.Tensor) []uint64 {
	rows, cols := x.Shape[0], x.Shape[1]
	diff := make([]uint64, 0, rows*cols*(cols-1)/2)
	for r := range rows {
		row := x.Data[r*cols : (r+1)*cols]
		for j := range cols {
			for k := j + 1; k < cols; k++ {
				diff = append(diff, row[j]-row[k])
			}
		}
	}
	return diff
}

// pairIndex is the position of the pair of columns j < k among a row's pairs in
// pairDiffs.
func pairIndex(cols, j, k int) int { return j*cols - j*(j+1)/2 + (k - j - 1) }

// MaxRowsRounds is the number of rounds of MaxRows among the given number of
// parties on rows of cols entries.
func MaxRowsRounds(parties, cols int) int { return MaxRowsOnRoundsFor(parties, cols, 64, false) }

// MaxRowsOnRoundsFor is the number of rounds of MaxRows comparing on width bits
// (MaxRowsOn), by lookup or not: the sign, the AND tree (of three-input ANDs by
// lookup: ceil(log3(cols-1)) levels), the conversion.
func MaxRowsOnRoundsFor(parties, cols, width int, lookup bool) int {
	if cols <= 1 {
		return 0
	}
	return signRounds(parties, width, lookup) + andTreeRounds(cols-1, lookup) + 1
}

// ExpIterations is the number of squarings in Exp.
const ExpIterations = 8

// expScale is Exp's internal precision (fractional bits). The squared values are
// at most 1, so their products stay below 2^(2*30) < 2^62, as truncation needs.
const expScale = 30

// ExpMinInput is the lower end of the range on which Exp meets its error bound.
const ExpMinInput = -(1 << ExpIterations)

// ExpMaxError returns Exp's error bound at fracBits fractional bits:
// 2^-f + 5e-6 (about 1.3 units in the last place at f = 16).
func ExpMaxError(fracBits int) float64 { return math.Ldexp(1, -fracBits) + 5e-6 }

// Exp returns e^x element-wise for fixed-point x in [ExpMinInput, 0] = [-256, 0],
// the range softmax needs after subtracting the row maximum. With n =
// ExpIterations and u = x / 2^n it computes
//
//	p(u)^(2^n),  p(u) = 1 + u + u^2/2 = ((1+u)^2 + 1) / 2,
//
// by n squarings. A second-order base instead of CrypTen's 1 + u cuts the largest
// approximation error on [-256, 0] from 1.1e-3 (at x = -2) to 3.5e-6 (at x = -3)
// for the cost of one extra squaring. The work runs at 30 fractional bits whatever
// f is: 1 + u is exact there (for f <= 22) and each squaring's truncation adds
// 2^-30, so after 8 squarings the fixed-point error is below 2^-21 plus the final
// rounding to f bits.
//
// Error: |Exp(x) - e^x| <= ExpMaxError(f) = 2^-f + 5e-6 on [-256, 0], where the
// result lies in [0, 1 + 2^-f]. From -256 down to -384 the result stays below
// 1e-50 + 2^-f; below -384 it is meaningless. Above 0 the error stays below
// 2^-f + 1e-5 up to x = 1; beyond 1.38 the squares overflow.
//
// Each squaring of a truncated value is held (fused.go): the truncation's own
// opening serves as its Beaver opening, and the material's cross terms are opened
// with the first square, so a squaring costs one round (its truncation), not two.
// The values are those of a square then a truncation, bit for bit in distribution.
//
// Rounds: n + 2 = 10 (11 when f > 22, where x / 2^n needs a truncation to fit
// 30 bits).
func (e *Engine) Exp(ctx context.Context, x sharing.Tensor) (sharing.Tensor, error) {
	start := time.Now()
	r, err := e.expHeld(ctx, x, expScale, 0)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Exp: %w", err)
	}
	e.account("exp", start, 0, 0)
	return sharing.Tensor{Shape: append([]int(nil), x.Shape...), Data: r.out.share(e.self)}, nil
}

// expResult is Exp's result held, beside the truncation that made it, and, when
// asked for (Softmax), the row sums of the value that truncation took, truncated
// in the same round to f bits and held, with the cross terms of their square.
type expResult struct {
	out      held
	outTrunc fusedTrunc
	sum      held
	sumTrunc fusedTrunc
	sumSq    crossTerms
}

// expHeld is Exp at internal precision F (at most expScale), with the row sums of
// rows of sumCols entries when sumCols > 0 (see expResult).
func (e *Engine) expHeld(ctx context.Context, x sharing.Tensor, F, sumCols int) (expResult, error) {
	f, n := e.codec.FracBits, ExpIterations
	// u = x / 2^n at scale 2^F.
	var u sharing.Tensor
	if shift := F - f - n; shift >= 0 {
		u = sharing.Scale(x, 1<<shift)
	} else {
		var err error
		if u, err = e.TruncateBy(ctx, x, -shift); err != nil {
			return expResult{}, err
		}
	}
	return e.expSquarings(ctx, e.AddScalar(u, 1<<F), n, f, F, sumCols)
}

// expSquarings returns p(u)^(2^n) at f fractional bits for base = 1 + u at
// scale 2^F: the first square (w = (1+u)^2), then n + 1 truncations, the
// first by F+1 after adding 1 (p(u) = (w + 1)/2), and a square of each
// truncated value but the last, held (see fused.go) so that it needs no round of
// its own. The cross terms of those n squares (and of the row sums' square) are
// opened with the first square. Rounds: n + 2.
func (e *Engine) expSquarings(ctx context.Context, base sharing.Tensor, n, f, F, sumCols int) (expResult, error) {
	size := base.Len()
	mat, err := e.fetch(ctx, SquareRequest(base.Shape))
	if err != nil {
		return expResult{}, fmt.Errorf("square: preprocessing: %w", err)
	}
	sq := mat.SquarePair()
	truncs := make([]fusedTrunc, n+1)
	var squares []product
	for i := range truncs {
		bits := F
		switch i {
		case 0:
			bits = F + 1
		case n:
			bits = 2*F - f // the last truncation also returns to f bits
		}
		if truncs[i], err = e.fetchTrunc(ctx, size, bits); err != nil {
			return expResult{}, err
		}
		if i < n {
			squares = append(squares, product{a: truncs[i], b: truncs[i], square: true})
		}
	}
	var res expResult
	if sumCols > 0 {
		if res.sumTrunc, err = e.fetchTrunc(ctx, size/sumCols, 2*F-f); err != nil {
			return expResult{}, err
		}
		squares = append(squares, product{a: res.sumTrunc, b: res.sumTrunc, square: true})
	}
	pending, open, err := e.prepareProducts(ctx, squares)
	if err != nil {
		return expResult{}, err
	}
	opened, err := e.Open(ctx, append([]sharing.Tensor{sharing.Sub(base, sq.A)}, open...)...)
	if err != nil {
		return expResult{}, fmt.Errorf("square: %w", err)
	}
	cross := pending.finish(e.self, opened[1:])
	if sumCols > 0 {
		res.sumSq = cross[n]
	}
	// (1+u)^2 + 1 at scale 2F.
	d := opened[0].Data
	y := make([]uint64, size)
	for i := range y {
		y[i] = sq.A2.Data[i] + 2*d[i]*sq.A.Data[i]
		if e.self == 0 {
			y[i] += d[i]*d[i] + 1<<(2*F)
		}
	}
	for i, t := range truncs {
		vals, ts := [][]uint64{y}, []fusedTrunc{t}
		if i == n && sumCols > 0 {
			vals, ts = append(vals, rowSums(y, sumCols)), append(ts, res.sumTrunc)
		}
		h, _, err := e.truncateHeld(ctx, vals, ts)
		if err != nil {
			return expResult{}, fmt.Errorf("squaring %d: %w", i, err)
		}
		if i == n {
			res.out, res.outTrunc = h[0], t
			if sumCols > 0 {
				res.sum = h[1]
			}
			return res, nil
		}
		y = heldMul(e.self, h[0], h[0], cross[i])
	}
	panic("unreachable")
}

// rowSums returns the sums of the rows of cols entries of x (a sharing: local).
func rowSums(x []uint64, cols int) []uint64 {
	out := make([]uint64, len(x)/cols)
	for i, v := range x {
		out[i/cols] += v
	}
	return out
}

// reciprocalPlan is the public schedule of Reciprocal on [lo, hi].
type reciprocalPlan struct {
	scale int     // internal fractional bits
	steps int     // iterations of (y, e) <- (y(1+e), e^2)
	a, b  float64 // initial guess y0 = a - b x
}

// maxReciprocalSteps bounds the iterations; a range that needs more is too wide.
const maxReciprocalSteps = 16

func planReciprocal(lo, hi float64, f int) (reciprocalPlan, error) {
	if !(lo > 0) || !(hi >= lo) || math.IsInf(hi, 0) {
		return reciprocalPlan{}, fmt.Errorf("protocol: Reciprocal range [%g, %g]: need 0 < lo <= hi < inf", lo, hi)
	}
	// The iterate y stays below 2/lo and 1+e below 2, so their product at scale
	// 2^(2F) must stay below 2^62: F <= (59 + log2 lo) / 2.
	scale := min(30, int(math.Floor((59+math.Floor(math.Log2(lo)))/2)))
	if scale <= f {
		return reciprocalPlan{}, fmt.Errorf("protocol: Reciprocal range [%g, %g] does not fit %d fractional bits", lo, hi, f)
	}
	// The linear guess minimising max |1 - x y0| on [lo, hi] (equioscillation at
	// lo, hi and the midpoint); its relative error is E.
	den := lo*lo + 6*lo*hi + hi*hi
	b := 8 / den
	a := b * (lo + hi)
	rel := (hi-lo)*(hi-lo)/den + hi*math.Ldexp(1, 3-scale) // plus fixed-point slack
	if rel >= 0.999 {
		return reciprocalPlan{}, fmt.Errorf("protocol: Reciprocal range [%g, %g] is too wide", lo, hi)
	}
	// After k steps |1 - x y| = |e0|^(2^k): stop below lo 2^-(f+2).
	target := math.Log2(lo) - float64(f+2)
	steps := 1
	for ; steps < maxReciprocalSteps && math.Ldexp(math.Log2(rel), steps) > target; steps++ {
	}
	if math.Ldexp(math.Log2(rel), steps) > target {
		return reciprocalPlan{}, fmt.Errorf("protocol: Reciprocal range [%g, %g] needs more than %d steps", lo, hi, maxReciprocalSteps)
	}
	return reciprocalPlan{scale: scale, steps: steps, a: a, b: b}, nil
}

// ReciprocalRounds returns the rounds of Reciprocal on [lo, hi] at fracBits
// fractional bits: 3 + 2k, with k the number of steps the range needs
// (k = 3 for [1, 2], 5 for [1, 10], 7 for [1, 64] at f = 16).
func ReciprocalRounds(lo, hi float64, fracBits int) (int, error) {
	p, err := planReciprocal(lo, hi, fracBits)
	if err != nil {
		return 0, err
	}
	return 3 + 2*p.steps, nil
}

// ReciprocalMaxError returns the error bound of Reciprocal on [lo, hi]:
// 1.5 * 2^-f + 8 (k+1) 2^-F / lo, with F = min(30, floor((59 + floor(log2 lo))/2))
// the internal precision and k the steps. For [1, 10]: 2.3e-5 at f = 16 (1.5
// units in the last place), 1.8e-7 at f = 24 (3 units).
func ReciprocalMaxError(lo, hi float64, fracBits int) (float64, error) {
	p, err := planReciprocal(lo, hi, fracBits)
	if err != nil {
		return 0, err
	}
	return 1.5*math.Ldexp(1, -fracBits) + 8*float64(p.steps+1)*math.Ldexp(1, -p.scale)/lo, nil
}

// Reciprocal returns 1/x element-wise for fixed-point x in the public range
// [lo, hi], 0 < lo <= hi. The range sets the schedule, so it must hold for every
// element (slightly outside is harmless; far outside gives garbage).
//
// A linear initial guess y0 = a - b x, optimal for the range, leaves a relative
// error e0 = 1 - x y0 with |e0| <= E = (hi-lo)^2 / (hi^2 + 6 lo hi + lo^2); then k
// steps of (y, e) <- (y (1 + e), e^2), both products in one Beaver round, give
// y_k = (1 - e0^(2^k)) / x: the same quadratic convergence as Newton-Raphson at
// half its rounds. All of it runs at about 29 fractional bits (see
// ReciprocalMaxError) so the truncation errors the product form accumulates stay
// far below 2^-f. k is the least step count with E^(2^k) <= lo 2^-(f+2).
//
// Error: |Reciprocal(x) - 1/x| <= ReciprocalMaxError(lo, hi, f), about 1.5 units
// in the last place at f = 16 for lo >= 1/2. Rounds: ReciprocalRounds = 3 + 2k (13 for
// [1, 10] at f = 16). It is an error to pass a range too wide for f (more than 16
// steps) or with lo so small that 1/lo leaves no headroom.
func (e *Engine) Reciprocal(ctx context.Context, x sharing.Tensor, lo, hi float64) (sharing.Tensor, error) {
	f := e.codec.FracBits
	plan, err := planReciprocal(lo, hi, f)
	if err != nil {
		return sharing.Tensor{}, err
	}
	start := time.Now()
	F := plan.scale
	one := uint64(1) << F
	// y0 = a - b x at scale F: b at scale F times x at scale f, less f bits.
	y, err := e.TruncateBy(ctx, sharing.Scale(x, uint64(math.Round(math.Ldexp(plan.b, F)))), f)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Reciprocal: %w", err)
	}
	y = e.AddScalar(sharing.Neg(y), uint64(math.Round(math.Ldexp(plan.a, F))))
	// e0 = 1 - x y0, computed from the y0 actually held so that y_k = (1 - e0^(2^k))/x
	// holds up to truncation whatever rounding y0 suffered.
	xy, err := e.Mul(ctx, x, y)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Reciprocal: %w", err)
	}
	if xy, err = e.TruncateBy(ctx, xy, f); err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Reciprocal: %w", err)
	}
	eps := e.AddScalar(sharing.Neg(xy), one)
	n := x.Len()
	for k := range plan.steps {
		if k == plan.steps-1 {
			// Last step: only y, and the truncation returns to f bits.
			p, err := e.Mul(ctx, y, e.AddScalar(eps, one))
			if err != nil {
				return sharing.Tensor{}, fmt.Errorf("protocol: Reciprocal step %d: %w", k, err)
			}
			if y, err = e.TruncateBy(ctx, p, 2*F-f); err != nil {
				return sharing.Tensor{}, fmt.Errorf("protocol: Reciprocal step %d: %w", k, err)
			}
			break
		}
		// (y, e) <- (y (1 + e), e^2): one Mul of the two stacked, one truncation.
		left, right := sharing.Zeros(2*n), sharing.Zeros(2*n)
		copy(left.Data, y.Data)
		copy(left.Data[n:], eps.Data)
		copy(right.Data, e.AddScalar(eps, one).Data)
		copy(right.Data[n:], eps.Data)
		p, err := e.Mul(ctx, left, right)
		if err != nil {
			return sharing.Tensor{}, fmt.Errorf("protocol: Reciprocal step %d: %w", k, err)
		}
		if p, err = e.TruncateBy(ctx, p, F); err != nil {
			return sharing.Tensor{}, fmt.Errorf("protocol: Reciprocal step %d: %w", k, err)
		}
		copy(y.Data, p.Data[:n])
		copy(eps.Data, p.Data[n:])
	}
	y.Shape = append([]int(nil), x.Shape...)
	e.account("reciprocal", start, 0, 0)
	return y, nil
}

// softmaxPlan is the public schedule of Softmax on rows of cols entries.
type softmaxPlan struct {
	expScale int // Exp's internal precision: cols 2^(2 expScale) stays below 2^62
	scale    int // the reciprocal's internal precision F
	steps    int // iterations of (y, e) <- (y(1+e), e^2)
	a        uint64
	b        uint64 // the guess y0 = a - b S: a at scale F, b at scale F - f
}

// softmaxSchedule returns Softmax's plan among the given number of parties and
// whether its maximum compares on the 16-bit window (softmaxWindow), which it
// does where the window applies and the wider range of row sums it implies
// still gets a reciprocal guess at f bits (f <= 22 for 10 classes); c is the
// window's resolution.
func softmaxSchedule(parties, cols, f int) (plan softmaxPlan, c int, window bool, err error) {
	if c, ok := softmaxWindow(parties); ok {
		if plan, err := planSoftmax(cols, f, true); err == nil {
			return plan, c, true, nil
		}
	}
	plan, err = planSoftmax(cols, f, false)
	return plan, 0, false, err
}

func planSoftmax(cols, f int, window bool) (softmaxPlan, error) {
	if cols < 1 {
		return softmaxPlan{}, fmt.Errorf("protocol: Softmax of %d classes", cols)
	}
	// With the window, the maximum Softmax subtracts may sit up to 1/2 below the
	// true one, so the exponentials reach e^(1/2) and their row sums
	// softmaxSumRange cols.
	hi := float64(cols)
	if window {
		hi *= softmaxSumRange
	}
	// The row sums of Exp's last products (each at most e^(1/2) at scale
	// 2^(2 expScale)) are truncated beside them, so they must stay below 2^62.
	expF := min(expScale, int(math.Floor((62-math.Log2(hi)-0.01)/2)))
	r, err := planReciprocal(1, hi, f)
	if err != nil {
		return softmaxPlan{}, err
	}
	F := r.scale
	// y0 = a - b S is linear in the held row sum S (f bits), so b is used at scale
	// F - f: the rounded b (either neighbour, at least one unit) gets the a that
	// suits it best, and the steps are counted for that guess.
	rel, a, bq := math.Inf(1), 0.0, 0.0
	for _, q := range []float64{math.Floor(math.Ldexp(r.b, F-f)), math.Ceil(math.Ldexp(r.b, F-f))} {
		q = max(q, 1)
		qa, qrel := bestGuessOffset(math.Ldexp(q, f-F), hi)
		if qrel < rel {
			rel, a, bq = qrel, qa, q
		}
	}
	rel += hi * math.Ldexp(1, 3-F)
	target := -float64(f + 2)
	steps := 1
	for ; steps < maxReciprocalSteps && math.Ldexp(math.Log2(rel), steps) > target; steps++ {
	}
	if rel >= 0.999 || math.Ldexp(math.Log2(rel), steps) > target {
		return softmaxPlan{}, fmt.Errorf("protocol: Softmax of %d classes: the reciprocal's guess is too coarse", cols)
	}
	return softmaxPlan{expScale: expF, scale: F, steps: steps, a: uint64(math.Round(math.Ldexp(a, F))), b: uint64(bq)}, nil
}

// bestGuessOffset returns the a that minimises E = max |1 - x (a - b x)| over x in
// [1, hi] for a fixed b > 0, and that E. E is convex in a (a maximum of absolute
// values of functions affine in a), so a ternary search finds it.
func bestGuessOffset(b, hi float64) (a, rel float64) {
	worst := func(a float64) float64 {
		g := func(x float64) float64 { return math.Abs(1 - x*(a-b*x)) }
		return max(g(1), g(hi), g(min(hi, max(1, a/(2*b)))))
	}
	lo, up := 0.0, 2+2*b*hi
	for range 200 {
		m1, m2 := lo+(up-lo)/3, up-(up-lo)/3
		if worst(m1) < worst(m2) {
			up = m2
		} else {
			lo = m1
		}
	}
	a = (lo + up) / 2
	return a, worst(a)
}

// softmaxSumRange bounds the row sums of Softmax's exponentials over the classes:
// e^(1/2 + 2^-12) < 1.65 (see softmaxWindow).
const softmaxSumRange = 1.65

// expMaxErrorAt is Exp's error bound on [-256, 1/2] at internal precision F: its
// approximation error (below 1e-5 up to 1), 2^-(F-10) from the truncations of the
// squarings of values up to e^(1/2), and the final rounding to f bits.
func expMaxErrorAt(fracBits, F int) float64 {
	return math.Ldexp(1, -fracBits) + 1e-5 + math.Ldexp(1, 10-F)
}

// SoftmaxMaxError returns Softmax's error bound for rows of `classes` entries at
// fracBits: (classes + 1) E + 1.5 2^-f + 8 (k+1) 2^-F + 2^-(f-1), with E Exp's
// bound at Softmax's internal precision (expMaxErrorAt) and F, k the reciprocal's
// precision and steps (2.7e-4 for 10 classes at f = 16; the errors seen in tests
// are about 20 times smaller, since the bound adds every element's worst case).
func SoftmaxMaxError(classes, fracBits int) (float64, error) {
	p, _, _, err := softmaxSchedule(2, max(classes, 1), fracBits) // the window's bound where it applies covers the exact maximum's too
	if err != nil {
		return 0, err
	}
	recip := 1.5*math.Ldexp(1, -fracBits) + 8*float64(p.steps+1)*math.Ldexp(1, -p.scale)
	return float64(classes+1)*expMaxErrorAt(fracBits, p.expScale) + recip + math.Ldexp(1, 1-fracBits), nil
}

// SoftmaxRounds returns the rounds of Softmax among the given number of parties on
// rows of classes entries at fracBits: SoftmaxMaxRounds + Exp's n + 2 (one more
// when f > expScale - n) + k + 2 for the normalisation's k steps.
func SoftmaxRounds(parties, classes, fracBits int) (int, error) {
	return SoftmaxRoundsFor(parties, classes, fracBits, false)
}

// SoftmaxRoundsFor is SoftmaxRounds of an engine that compares by lookup or not.
func SoftmaxRoundsFor(parties, classes, fracBits int, lookup bool) (int, error) {
	p, _, _, err := softmaxSchedule(parties, max(classes, 1), fracBits)
	if err != nil {
		return 0, err
	}
	exp := ExpIterations + 2
	if p.expScale-fracBits-ExpIterations < 0 {
		exp++
	}
	return SoftmaxMaxRoundsFor(parties, classes, fracBits, lookup) + exp + p.steps + 2, nil
}

// Softmax returns the row-wise softmax of a rows x classes fixed-point matrix:
// exp(x - max) / sum(exp(x - max)), with the row maximum from MaxRows (exact), so
// every exponent lies in [-spread, 0] and the row sum in [1, classes], the range
// the reciprocal is scheduled for.
//
// Valid while every row's spread (max - min) is at most 256 (ExpMinInput): the
// error is then at most SoftmaxMaxError(classes, f); entries that sit 256 to 384
// below their row maximum still come out as 0, beyond that they are garbage.
// For N <= 32 (and f <= 22 with 10 classes) the maximum compares the entries on
// a 16-bit window at a resolution of 2^-(ceil(log2 N)+1) (softmaxWindow): the
// entry it subtracts is within 1/2 of the row's maximum, which softmax does not
// see (Exp and the reciprocal are scheduled for it), over spreads up to 512.
// Otherwise it compares on 32 bits for f <= 21 (softmaxCompareBits), exact for
// spreads below 2^(31-f), and on 64 above.
//
// Rounds: SoftmaxRoundsFor(N, classes, f, lookup): for 10 classes at f = 16, the
// maximum on the 16-bit window (R_msb + 2 by the adder for N = 2; 10 by a sign
// pair for N >= 3: its 5, the AND tree's 4, the conversion; by lookup 5: the
// sign's 2, three-input ANDs over 9 bits 2, the conversion), Exp (10) and the
// normalisation (7): 26 for N = 2, 27 for N >= 3 (28 for N = 3 and 30 for N = 5
// by the adder), 22 by lookup for any N (73
// before the all-pairs maximum on 32 bits and the held products, 30 before the
// row sums came out of Exp's last round and the 16-bit window).
func (e *Engine) Softmax(ctx context.Context, x sharing.Tensor) (sharing.Tensor, error) {
	if len(x.Shape) != 2 || x.Shape[1] < 1 || x.Shape[0]*x.Shape[1] != x.Len() {
		return sharing.Tensor{}, fmt.Errorf("protocol: Softmax of shape %v: need a rows x classes matrix", x.Shape)
	}
	plan, c, window, err := softmaxSchedule(e.n, x.Shape[1], e.codec.FracBits)
	if err != nil {
		return sharing.Tensor{}, err
	}
	logits := func() (sharing.Tensor, error) { return x, nil }
	if window {
		return e.softmax(ctx, plan, shiftShares(x, e.codec.FracBits-c), 16, logits)
	}
	return e.softmax(ctx, plan, x, softmaxCompareBits(e.codec.FracBits), logits)
}

// softmaxWindow returns c such that Softmax's maximum compares the entries at a
// resolution of 2^-c on 16 bits, c = ceil(log2 N) + 1, and whether it does (N <=
// 32). Each party shifts its share of x right by f - c bits; the shifted shares
// add up to floor(x / 2^(f-c)) - delta_x modulo 2^16, delta_x in [0, N-1], one
// well-defined value per entry, so the comparisons stay consistent (a total
// order: exactly one winner per row) and the winner lies within N 2^-c <= 1/2 of
// the row's true maximum, over spreads up to 2^(15-c) >= 512. Exp and the
// reciprocal are scheduled for exponents up to 1/2 (softmaxSumRange); softmax is
// unchanged by which shift is subtracted. Two carry levels fewer than 64 bits,
// and a quarter of the AND material.
func softmaxWindow(parties int) (c int, ok bool) {
	c = bits.Len(uint(parties-1)) + 1
	return c, c <= 6
}

// shiftShares returns this party's share of x shifted right by k bits as an
// unsigned word: see softmaxWindow and TruncateReLU for what the shifted shares add
// up to.
func shiftShares(x sharing.Tensor, k int) sharing.Tensor {
	out := sharing.Zeros(x.Shape...)
	for i, v := range x.Data {
		out.Data[i] = v >> k
	}
	return out
}

// TruncateSoftmax is Softmax(Truncate(z)) for logits z at scale 2^(2f) (a matrix
// product before its truncation), in the rounds of Softmax alone: as in
// TruncateReLU, the truncation's opening rides on the first round of the
// maximum's comparisons, which compare the parties' shares shifted right (by 2f
// - c bits on Softmax's 16-bit window, by f bits on 32 bits). Those sum to one
// well-defined value per entry, floor(z / 2^shift) - delta_j (delta_j in [0,
// N-1]), so the comparisons stay consistent and pick one entry per row, within
// 1/2 + 2^-f of the true maximum on the window (N units of the last place on 32
// bits), which Exp and the reciprocal are scheduled for; the result is Softmax's
// of the truncated logits (softmax is unchanged by the shift). Error:
// SoftmaxMaxError(classes, f) against the softmax of Truncate(z). Without the
// window and for f > 21, or for one class, it is Truncate then Softmax, one round
// more. Rounds: SoftmaxRounds(N, classes, f).
func (e *Engine) TruncateSoftmax(ctx context.Context, z sharing.Tensor) (sharing.Tensor, error) {
	f := e.codec.FracBits
	if len(z.Shape) != 2 || z.Shape[1] < 1 || z.Shape[0]*z.Shape[1] != z.Len() {
		return sharing.Tensor{}, fmt.Errorf("protocol: TruncateSoftmax of shape %v: need a rows x classes matrix", z.Shape)
	}
	plan, c, window, err := softmaxSchedule(e.n, z.Shape[1], f)
	if err != nil {
		return sharing.Tensor{}, err
	}
	if (!window && softmaxCompareBits(f) != 32) || z.Shape[1] == 1 || z.Len() == 0 {
		x, err := e.Truncate(ctx, z)
		if err != nil {
			return sharing.Tensor{}, err
		}
		return e.Softmax(ctx, x)
	}
	st, masked, err := e.prepareTruncations(ctx, []int{f}, []sharing.Tensor{z}, false)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: TruncateSoftmax: %w", err)
	}
	opening := e.ride(masked[0].Data)
	cmp, width := shiftShares(z, f), 32
	if window {
		cmp, width = shiftShares(z, 2*f-c), 16
	}
	return e.softmax(ctx, plan, cmp, width, func() (sharing.Tensor, error) {
		if opening.sum == nil {
			return sharing.Tensor{}, fmt.Errorf("protocol: TruncateSoftmax: the truncation was not opened")
		}
		x := st.finish(e.self, []sharing.Tensor{{Shape: []int{z.Len()}, Data: opening.sum}})[0]
		x.Shape = append([]int(nil), z.Shape...)
		return x, nil
	})
}

// softmax is Softmax of logits(), with the maximum's column chosen by comparing
// the entries of cmp on width bits.
func (e *Engine) softmax(ctx context.Context, plan softmaxPlan, cmp sharing.Tensor, width int, logits func() (sharing.Tensor, error)) (sharing.Tensor, error) {
	rows, cols := cmp.Shape[0], cmp.Shape[1]
	start := time.Now()
	var x sharing.Tensor
	m, err := e.maxRowsOf(ctx, cmp, width, func() (sharing.Tensor, error) {
		var err error
		x, err = logits()
		return x, err
	})
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Softmax: %w", err)
	}
	z := x.Clone()
	for r := range rows {
		for j := range cols {
			z.Data[r*cols+j] -= m.Data[r]
		}
	}
	ez, err := e.expHeld(ctx, z, plan.expScale, cols)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Softmax: exp: %w", err)
	}
	out, err := e.normalizeRows(ctx, ez, plan, rows, cols)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Softmax: %w", err)
	}
	e.account("softmax", start, 0, 0)
	return sharing.Tensor{Shape: []int{rows, cols}, Data: out}, nil
}

// softmaxCompareBits is the width Softmax's maximum compares on: 32 bits while
// 2^(31-f) leaves room above the largest spread Softmax supports (Exp's range,
// 256, and the 384 up to which entries still come out as 0), else 64.
func softmaxCompareBits(fracBits int) int {
	if 31-fracBits > 9 {
		return 32
	}
	return 64
}

// SoftmaxMaxRounds is the rounds of Softmax's maximum among the given number of
// parties on rows of cols entries at fracBits: MaxRowsOnRoundsFor at its width,
// 16 bits (softmaxWindow: N <= 32), else 32 (f <= 21) or 64.
func SoftmaxMaxRounds(parties, cols, fracBits int) int {
	return SoftmaxMaxRoundsFor(parties, cols, fracBits, false)
}

// SoftmaxMaxRoundsFor is SoftmaxMaxRounds of an engine that compares by lookup
// or not: by lookup, LookupSignRounds for the sign on 16 or 32 bits.
func SoftmaxMaxRoundsFor(parties, cols, fracBits int, lookup bool) int {
	width := softmaxCompareBits(fracBits)
	if _, _, window, _ := softmaxSchedule(parties, cols, fracBits); window {
		width = 16
	}
	return MaxRowsOnRoundsFor(parties, cols, width, lookup)
}

// normalizeRows returns ez / S at f bits for Exp's held rows x cols output ez (in
// [0, 1]) and the held row sums S (in [1, cols]) that came out of Exp's last
// round: Reciprocal's iteration on S with every product held (fused.go), then
// one product by ez:
//
//	y0 = a - b S, e0 = 1 - S y0 = 1 - a S + b S^2, (y, e) <- (y (1+e), e^2) k times.
//
// y0 is linear in the held S, so it costs nothing, and e0 is one truncation
// (S^2 is held, its cross terms opened with Exp's first square); y stays at the
// internal precision F and the result is ez y_k, truncated once from f+F bits.
// Rounds: e0's, one per step, the last product's: k + 2 (7 for 10 classes at
// f = 16, against Reciprocal then a product's 15). The cross terms of the later
// products are opened in e0's round.
func (e *Engine) normalizeRows(ctx context.Context, ex expResult, plan softmaxPlan, rows, cols int) ([]uint64, error) {
	f, F, k := e.codec.FracBits, plan.scale, plan.steps
	var err error
	trunc := func(n, bits int) fusedTrunc {
		if err != nil {
			return fusedTrunc{}
		}
		var t fusedTrunc
		t, err = e.fetchTrunc(ctx, n, bits)
		return t
	}
	// tE[j] makes e_j, tY[j] y_j (j >= 1), tOut the result.
	tE, tY := make([]fusedTrunc, k), make([]fusedTrunc, k+1)
	tE[0] = trunc(rows, f)
	for j := 1; j <= k; j++ {
		tY[j] = trunc(rows, F)
		if j < k {
			tE[j] = trunc(rows, F)
		}
	}
	tOut := trunc(rows*cols, F)
	if err != nil {
		return nil, err
	}
	products := []product{{a: ex.sumTrunc, b: tE[0]}} // S (1 + e0), for y1
	for j := range k {
		if j > 0 {
			products = append(products, product{a: tY[j], b: tE[j]})
		}
		if j < k-1 {
			products = append(products, product{a: tE[j], b: tE[j], square: true})
		}
	}
	products = append(products, product{a: ex.outTrunc, b: tY[k], repeatB: cols})
	pending, open, err := e.prepareProducts(ctx, products)
	if err != nil {
		return nil, err
	}
	// e0 = 1 - a S + b S^2 at scale f+F, less f bits.
	sum, sumSq := ex.sum.share(e.self), heldMul(e.self, ex.sum, ex.sum, ex.sumSq)
	e0 := make([]uint64, rows)
	for i := range e0 {
		e0[i] = plan.b*sumSq[i] - plan.a*sum[i]
		if e.self == 0 {
			e0[i] += 1 << (F + f)
		}
	}
	h, opened, err := e.truncateHeld(ctx, [][]uint64{e0}, []fusedTrunc{tE[0]}, open...)
	if err != nil {
		return nil, fmt.Errorf("reciprocal error term: %w", err)
	}
	cross := pending.finish(e.self, opened)
	eps, y, next := h[0], held{}, 1
	for j := range k {
		// (y, e) <- (y (1+e), e^2), both held products, one truncation round; y1 =
		// a (1 + e0) - b S (1 + e0) from S itself.
		onePlus := eps.plus(1 << F)
		var yNext []uint64
		if j == 0 {
			sp, ep := heldMul(e.self, ex.sum, onePlus, cross[0]), onePlus.share(e.self)
			yNext = make([]uint64, rows)
			for i := range yNext {
				yNext[i] = plan.a*ep[i] - plan.b*sp[i]
			}
		} else {
			yNext = heldMul(e.self, y, onePlus, cross[next])
			next++
		}
		vals, ts := [][]uint64{yNext}, []fusedTrunc{tY[j+1]}
		if j < k-1 {
			vals, ts = append(vals, heldMul(e.self, eps, eps, cross[next])), append(ts, tE[j+1])
			next++
		}
		if h, _, err = e.truncateHeld(ctx, vals, ts); err != nil {
			return nil, fmt.Errorf("reciprocal step %d: %w", j, err)
		}
		y = h[0]
		if j < k-1 {
			eps = h[1]
		}
	}
	// ez (f bits) times y_k (F bits), back to f bits.
	prod := heldMul(e.self, ex.out, y.repeated(cols), cross[next])
	if h, _, err = e.truncateHeld(ctx, [][]uint64{prod}, []fusedTrunc{tOut}); err != nil {
		return nil, fmt.Errorf("normalisation: %w", err)
	}
	return h[0].share(e.self), nil
}

// SigmoidClamp is where Sigmoid saturates: inputs beyond +-32 are treated as +-32,
// which changes the result by e^-32 < 1.3e-14, far below any 2^-f.
const SigmoidClamp = 32

// SigmoidMaxError returns Sigmoid's error bound: ExpMaxError(f) +
// ReciprocalMaxError(1, 2, f) + e^-32, about 2.9 units in the last place (4.3e-5
// at f = 16).
func SigmoidMaxError(fracBits int) float64 {
	r, _ := ReciprocalMaxError(1, 2, fracBits) // [1, 2] fits every f in [12, 24]
	return ExpMaxError(fracBits) + r + math.Exp(-SigmoidClamp)
}

// Sigmoid returns 1 / (1 + e^-x) element-wise for any fixed-point x (|x| < 2^62 in
// the ring). One MSB call compares x with -32, 0 and 32 at once; a single exact
// product of x by an integer combination of those bits gives t = min(|x|, 32);
// then q = 1 / (1 + Exp(-t)) with the reciprocal on [1, 2], and the result is q
// for x >= 0 and 1 - q for x < 0 (one exact Select). Working on -|x| keeps Exp in
// its range for every input and the reciprocal on a short range.
//
// Error: |Sigmoid(x) - sigmoid(x)| <= SigmoidMaxError(f) for every x. Rounds:
// R_msb + 1 + 10 (Exp; 11 for f > 22) + 9 (reciprocal on [1, 2]; 7 for f <= 14) +
// 1: 28 for N = 2, 30 for N = 3 at f = 16.
func (e *Engine) Sigmoid(ctx context.Context, x sharing.Tensor) (sharing.Tensor, error) {
	start := time.Now()
	n := x.Len()
	c := e.codec.MustEncode(SigmoidClamp)
	// One comparison call: [x < 0], [x < -L] = msb(x + L), [x < L] = msb(x - L).
	probe := sharing.Zeros(3 * n)
	copy(probe.Data, x.Data)
	copy(probe.Data[n:], e.AddScalar(x, c).Data)
	copy(probe.Data[2*n:], e.AddScalar(x, -c).Data)
	bits, err := e.MSB(ctx, probe)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Sigmoid: %w", err)
	}
	neg := sharing.Tensor{Shape: []int{n}, Data: bits.Data[:n:n]}
	belowLow, belowHigh := bits.Data[n:2*n], bits.Data[2*n:]
	// t = min(|x|, L) = L (1 - bH + bL) + x (bH + bL - 2 neg): the x coefficient is
	// -1 on [-L, 0), 1 on [0, L) and 0 outside [-L, L), where the L term takes over.
	coef, lin := sharing.Zeros(n), sharing.Zeros(n)
	for i := range n {
		coef.Data[i] = belowHigh[i] + belowLow[i] - 2*neg.Data[i]
		lin.Data[i] = belowLow[i] - belowHigh[i]
	}
	lin = e.AddScalar(lin, 1)
	flat := sharing.Tensor{Shape: []int{n}, Data: x.Data}
	t, err := e.Mul(ctx, flat, coef)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Sigmoid: %w", err)
	}
	for i := range t.Data {
		t.Data[i] += c * lin.Data[i]
	}
	s, err := e.Exp(ctx, sharing.Neg(t))
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Sigmoid: %w", err)
	}
	q, err := e.Reciprocal(ctx, e.AddScalar(s, e.codec.One()), 1, 2)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Sigmoid: %w", err)
	}
	// x < 0: 1 - q, else q.
	out, err := e.Select(ctx, neg, e.AddScalar(sharing.Neg(q), e.codec.One()), q)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Sigmoid: %w", err)
	}
	out.Shape = append([]int(nil), x.Shape...)
	e.account("sigmoid", start, 0, 0)
	return out, nil
}

// AnyAbsAtLeast reports whether any element of x, read as a signed ring value, has
// |x| >= limit (limit >= 1, in the same units as x), opening exactly one bit:
// every element's two comparisons with ±limit stay shared, their sum (the count
// of elements out of range) stays shared, and only [count > 0] is opened. It
// guards fixed-point values that no party sees (a shared model) against growing
// past the range where truncation is exact. 2 R_msb + 1 rounds.
func (e *Engine) AnyAbsAtLeast(ctx context.Context, x sharing.Tensor, limit uint64) (bool, error) {
	if limit < 1 || limit >= 1<<62 {
		return false, fmt.Errorf("protocol: range check against %d: the limit must lie in [1, 2^62)", limit)
	}
	n := x.Len()
	if n == 0 {
		return false, nil
	}
	// [limit-1 - x < 0] = [x >= limit] and [x + limit-1 < 0] = [x <= -limit].
	both := sharing.Zeros(2 * n)
	for i, v := range x.Data {
		both.Data[i] = -v
		both.Data[n+i] = v
	}
	both = e.AddScalar(both, limit-1)
	outside, err := e.LessThanZero(ctx, both)
	if err != nil {
		return false, fmt.Errorf("protocol: range check: %w", err)
	}
	count := sharing.Zeros(1)
	for _, b := range outside.Data {
		count.Data[0] += b
	}
	// [count - 1 < 0] = [count = 0]: count <= 2n < 2^63, so the sign is exact.
	none, err := e.LessThanZero(ctx, e.AddScalar(count, ^uint64(0)))
	if err != nil {
		return false, fmt.Errorf("protocol: range check: %w", err)
	}
	opened, err := e.Open(ctx, none)
	if err != nil {
		return false, fmt.Errorf("protocol: range check: %w", err)
	}
	return opened[0].Data[0] == 0, nil
}
