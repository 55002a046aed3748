package protocol

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tessera-mpc/tessera/sharing"
)

// MaxRowsArg returns MaxRows' row maxima and, for every entry, a shared bit at
// integer scale that is 1 exactly where the entry equals its row's maximum (ties
// all get 1, as the plaintext twin's max pooling routes a gradient to every
// maximal entry). Max pooling's backward pass multiplies a gradient by these bits.
//
// One bit per pair cannot tell x_j = x_k from x_j > x_k, and the tie bits need
// that, so every pair's difference d = x_j - x_k yields two bits from ONE binary
// addition: its sign [d < 0] (the carry tree of MSB) and [d = 0], read from the
// same addends without carries: a + b = 0 mod 2^64 iff a ^ b = (a | b) << 1 (the
// carry-free test of Cortadella et al.), so [d = 0] is the AND of 64 local bits,
// a tree that shares every round of the carry tree (signZeroBits). Then, with
// lt = [x_j < x_k] and eq = [x_j = x_k] for j < k:
//
//	first maximum w_j = AND_{k>j} NOT lt(j,k) AND AND_{k<j} lt(k,j)
//	tie indicator t_j = AND_{k>j} NOT lt(j,k) AND AND_{k<j} (lt(k,j) ^ eq(k,j))
//
// (lt and eq exclude each other, so their OR is their XOR, local), both in one AND
// tree; the maximum is sum_j w_j x_j, and w and t are converted to arithmetic
// shares in one round that also carries the products.
//
// Against MaxRows followed by a comparison of every entry with the maximum (what
// a training pass did before), this saves that second comparison layer: R_msb
// rounds, and cols 64-bit sign extractions per row (about 8 words opened each for
// N = 3), for cols(cols-1)/2 zero trees of 63 ANDs (about 2 words each): for 2x2
// pooling windows and N = 3, 20 rounds and 1,399 bytes per window become 11 and
// 1,086 (BenchmarkMaxPoolTraining). Comparing both orders of every pair in one
// layer would also save the rounds, but at a sign extraction per extra pair
// instead of a zero tree: more bytes than before for cols >= 4.
//
// Rounds: MaxRowsArgRounds(N, cols): those of MaxRows, one more for N = 2 (there
// the carry tree starts with a combined first level the zero tree cannot join).
// Leakage: as MaxRows, only triple- and daBit-masked words are opened.
func (e *Engine) MaxRowsArg(ctx context.Context, x sharing.Tensor) (maxima, winners sharing.Tensor, err error) {
	return e.MaxRowsArgOn(ctx, x, 64)
}

// MaxRowsArgOn is MaxRowsArg reading every pair's difference on its low width bits
// (32 or 64): exact while every two entries of a row differ by less than
// 2^(width-1) ring units (MaxPoolBound as reals for fixed point at width
// MaxPoolCompareBits). On 32 bits the sign and zero trees are one level shorter
// and every And opens half the bits: LeNet's first max pool sends 435 -> 229 MB
// per party per training step. Without lookup material and N >= 3 the 32-bit
// signs and zero bits come from a sign pair instead (signZeroBits: 50 AND
// gates per pair against the adder's 156 at N = 3, 6 rounds whatever N).
// Rounds: MaxRowsArgRoundsOnFor.
func (e *Engine) MaxRowsArgOn(ctx context.Context, x sharing.Tensor, width int) (maxima, winners sharing.Tensor, err error) {
	if len(x.Shape) != 2 || x.Shape[1] < 1 || x.Shape[0] < 0 || x.Shape[0]*x.Shape[1] != x.Len() {
		return maxima, winners, fmt.Errorf("protocol: MaxRowsArg of shape %v: need a matrix with at least one column", x.Shape)
	}
	if width != 32 && width != 64 {
		return maxima, winners, fmt.Errorf("protocol: MaxRowsArg on %d bits: want 32 or 64", width)
	}
	rows, cols := x.Shape[0], x.Shape[1]
	if cols == 1 {
		winners = e.AddScalar(sharing.Zeros(rows, 1), 1)
		return sharing.Tensor{Shape: []int{rows, 1}, Data: append([]uint64(nil), x.Data...)}, winners, nil
	}
	start := time.Now()
	less, zero, err := e.signZeroBits(ctx, pairDiffs(x), width)
	if err != nil {
		return maxima, winners, fmt.Errorf("protocol: MaxRowsArg: %w", err)
	}
	both, err := e.andAll(ctx, e.argmaxSlots(less, zero, rows, cols))
	if err != nil {
		return maxima, winners, fmt.Errorf("protocol: MaxRowsArg: %w", err)
	}
	bitsOut, picked, err := e.bitsToArithTimesHead(ctx, both, 2*rows*cols, x)
	if err != nil {
		return maxima, winners, fmt.Errorf("protocol: MaxRowsArg: %w", err)
	}
	maxima = sharing.Zeros(rows, 1)
	for r := range rows {
		for j := range cols {
			maxima.Data[r] += picked.Data[r*cols+j]
		}
	}
	winners = sharing.Tensor{Shape: []int{rows, cols}, Data: bitsOut.Data[rows*cols:]}
	e.account("max-rows-arg", start, 0, 0)
	return maxima, winners, nil
}

// MaxRowsArgRounds is the number of rounds of MaxRowsArg among the given number
// of parties on rows of cols entries.
func MaxRowsArgRounds(parties, cols int) int {
	return MaxRowsArgRoundsOn(parties, cols, 64)
}

// MaxRowsArgRoundsOn is the number of rounds of MaxRowsArgOn at width on an
// engine without lookup material: MaxRowsArgRoundsOnFor(parties, cols, width,
// false).
func MaxRowsArgRoundsOn(parties, cols, width int) int {
	return MaxRowsArgRoundsOnFor(parties, cols, width, false)
}

// MaxRowsArgRoundsOnFor is the number of rounds of MaxRowsArgOn at width on an
// engine with lookup material or not. Without, on 32 bits: the sign pair's
// (SignPairRounds(32) = 6, the zero bits in the same rounds), the AND tree and
// the conversion, whatever N (11 for 2x2 windows). Else, by the adder: those of
// MaxRows, one more for N = 2, one fewer on 32 bits (both trees a level
// shorter); lookup material has no zero test, so engines with it take the adder.
func MaxRowsArgRoundsOnFor(parties, cols, width int, lookup bool) int {
	if cols <= 1 {
		return 0
	}
	if !lookup && useSignPair(parties, width) {
		return SignPairRounds(width) + andTreeRounds(cols-1, false) + 1
	}
	r := MaxRowsRounds(parties, cols)
	if parties == 2 {
		r++
	}
	if width == 32 {
		r--
	}
	return r
}

// MaxRowsOn is MaxRows reading every pair's difference on its low width bits (16,
// 32 or 64): exact under MaxRowsArgOn's condition, one carry level fewer per
// halving (a sign pair where that takes fewer rounds, see signBits). Rounds:
// MaxRowsOnRoundsFor(N, cols, width, false).
func (e *Engine) MaxRowsOn(ctx context.Context, x sharing.Tensor, width int) (sharing.Tensor, error) {
	return e.maxRows(ctx, x, width)
}

// MaxPoolCompareBits is the width nn's max pooling compares on at fracBits: 32,
// as ReLU (ReLUCompareBits), while the bound 2^(31-f) on the differences it
// implies is at least 2^11, else 64 (exact for any value).
func MaxPoolCompareBits(fracBits int) int { return ReLUCompareBits(fracBits) }

// MaxPoolBound is the difference between two entries of a pooling window, as a
// real, below which max pooling is exact at fracBits: 2^(31-f) on 32 bits
// (32,768 at f = 16; entries below half of it in magnitude always qualify),
// +Inf on 64. Beyond it a pair is ordered by its difference mod 2^32 read as a
// signed integer: a wrong maximum, never a leak.
func MaxPoolBound(fracBits int) float64 { return ReLUBound(fracBits) }

// argmaxSlots packs, for every entry c = r*cols + j, the cols-1 bits whose AND is
// its first-maximum bit (at bit c) and its tie bit (at bit rows*cols + c), slot s
// holding the bit against the s-th other column. NOT is XOR with 1 by party 0.
func (e *Engine) argmaxSlots(less, zero []uint64, rows, cols int) [][]uint64 {
	cands := rows * cols
	pairs := cols * (cols - 1) / 2
	slots := make([][]uint64, cols-1)
	for s := range slots {
		slots[s] = make([]uint64, (2*cands+63)/64)
	}
	bitAt := func(v []uint64, i int) uint64 { return (v[i/64] >> (i % 64)) & 1 }
	var not uint64
	if e.self == 0 {
		not = 1
	}
	for r := range rows {
		for j := range cols {
			c := r*cols + j
			for k := range cols {
				var first, tie uint64
				switch {
				case k == j:
					continue
				case k > j:
					first = bitAt(less, r*pairs+pairIndex(cols, j, k)) ^ not
					tie = first
				default:
					i := r*pairs + pairIndex(cols, k, j)
					first = bitAt(less, i)
					tie = first ^ bitAt(zero, i)
				}
				s := k
				if k > j {
					s--
				}
				slots[s][c/64] |= first << (c % 64)
				slots[s][(cands+c)/64] |= tie << ((cands + c) % 64)
			}
		}
	}
	return slots
}

// signZeroBits returns XOR shares of [x < 0] and [x = 0] for every element, read
// on its low width bits (32 or 64; signBits' lanes), packed one bit per element.
// Without lookup material, on 32 bits, it reads a sign pair (signBitsBySignPair:
// 6 rounds, 50 ANDs per element); else the adder (adderSignZeroBits), in the
// rounds of signBits(x, width) (one more for N = 2).
func (e *Engine) signZeroBits(ctx context.Context, x []uint64, width int) (sign, zero []uint64, err error) {
	n := len(x)
	if n == 0 {
		return nil, nil, nil
	}
	if !e.lookup && useSignPair(e.n, width) {
		return e.signBitsBySignPair(ctx, x, width, true)
	}
	return e.adderSignZeroBits(ctx, x, width)
}

// adderSignZeroBits is signZeroBits by the adder. The zero test needs
// the addends a, b of the carry tree and a & b, the generate bits it computes
// anyway: with u = a ^ b ^ ((a | b) << 1) and a | b = a ^ b ^ (a & b), a + b = 0
// mod 2^width iff u = 0 in the lane, so [x = 0] is the AND of the width bits of
// NOT u, reduced level by level in the And calls of the carry tree.
func (e *Engine) adderSignZeroBits(ctx context.Context, x []uint64, width int) (sign, zero []uint64, err error) {
	n := len(x)
	top, bottom := laneMasks(width)
	lanes := packLanes(x, width)
	var g, p, hi, notU []uint64
	treeWidth := width
	if e.n == 2 {
		// Party p's share is its own addend: a + b = 0 iff a = -b, and party 1 holds
		// -b itself, so u = a ^ (-b) is XOR-shared without an AND.
		own := make([]uint64, n)
		for i, v := range x {
			if e.self == 1 {
				v = -v
			} else {
				v = ^v
			}
			own[i] = v
		}
		notU = packLanes(own, width)
		hi = lanes
		if g, p, err = e.firstLevelOfOwnShares(ctx, lanes, n*width, top); err != nil {
			return nil, nil, err
		}
		treeWidth = width / 2
	} else {
		if g, p, hi, err = e.topNeutralAddends(ctx, lanes, bottom, top); err != nil {
			return nil, nil, err
		}
		// g = a & b below every lane's top bit, all that (a | b) << 1 reads within
		// the lane (the top bit shifted into the next lane is cleared).
		notU = make([]uint64, len(lanes))
		for i := range notU {
			notU[i] = hi[i] ^ ((hi[i]^g[i])<<1)&^bottom
			if e.self == 0 {
				notU[i] = ^notU[i]
			}
		}
	}
	carry, zero, err := e.carryAndZeroTrees(ctx, g, p, treeWidth, notU, width, n)
	if err != nil {
		return nil, nil, err
	}
	for i := range n {
		pos := i*width + width - 1
		carry[i/64] ^= ((hi[pos/64] >> (pos % 64)) & 1) << (i % 64)
	}
	return carry, zero, nil
}

// carryAndZeroTrees runs carryTree on (g, p) of n elements of width positions and,
// in the same And calls, the AND of the allWidth bits of every lane of all: a
// tree that halves the bits per element every level (all' = all_odd & all_even,
// as the propagate bits). It returns the carries and the packed ANDs.
func (e *Engine) carryAndZeroTrees(ctx context.Context, g, p []uint64, width int, all []uint64, allWidth, n int) (carry, zero []uint64, err error) {
	for level := 0; width > 1 || allWidth > 1; level++ {
		var gO []uint64
		var h, ha int
		words := (n*width/2+63)/64*2 + (n*allWidth/2+63)/64
		left, right := make([]uint64, 0, words), make([]uint64, 0, words)
		if width > 1 {
			gE, gOdd := unzip(g, n*width)
			pE, pO := unzip(p, n*width)
			gO, h = gOdd, len(gOdd)
			if width == 2 {
				left, right = append(left, pO...), append(right, gE...)
			} else {
				left = append(append(left, pO...), pO...)
				right = append(append(right, gE...), pE...)
			}
		}
		if allWidth > 1 {
			aE, aO := unzip(all, n*allWidth)
			ha = len(aO)
			left, right = append(left, aO...), append(right, aE...)
		}
		z, err := e.And(ctx, left, right)
		if err != nil {
			return nil, nil, fmt.Errorf("carry and zero level %d: %w", level, err)
		}
		if width > 1 {
			for i := range gO {
				gO[i] ^= z[i]
			}
			if width == 2 {
				g = gO
			} else {
				g, p = gO, z[h:2*h]
			}
			width /= 2
		}
		if allWidth > 1 {
			all = z[len(z)-ha:]
			allWidth /= 2
		}
	}
	return g, all, nil
}

// bitsToArithTimesHead converts the first total packed XOR-shared bits to
// arithmetic shares and multiplies the first x.Len() of them by x, in one round:
// bitsToArithTimes for a prefix, bitsToArith for the rest (one opened bit each,
// no product).
//
// The prefix's masks are daBit triples (r, B, C = r B): with c = b ^ r and
// d = x - B opened, b x = c x + (1 - 2c) r x and r x = d r + C, linear in the
// shares of r and C since c and d are public: one bit and one word opened per
// product. The rest of the bits, padding to whole words included, are masked
// by plain daBits, so that every opened bit is masked.
func (e *Engine) bitsToArithTimesHead(ctx context.Context, bitsIn []uint64, total int, x sharing.Tensor) (b, bx sharing.Tensor, err error) {
	n := x.Len()
	words := (total + 63) / 64
	if total < n || len(bitsIn) < words {
		return b, bx, fmt.Errorf("bit conversion: %d words for %d bits, %d products", len(bitsIn), total, n)
	}
	var t DaBitTriple
	if n > 0 {
		mat, err := e.fetch(ctx, DaBitTripleRequest(n))
		if err != nil {
			return b, bx, fmt.Errorf("bit product: preprocessing: %w", err)
		}
		t = mat.DaBitTriple()
	}
	rBin, rArith := t.Binary, t.Arith.Data
	if rest := 64*words - n; rest > 0 {
		mat, err := e.fetch(ctx, DaBitRequest(rest))
		if err != nil {
			return b, bx, fmt.Errorf("bit conversion: preprocessing: %w", err)
		}
		db := mat.DaBits()
		rBin, rArith = append(slices.Clip(rBin), db.Binary...), append(slices.Clip(rArith), db.Arith.Data...)
	}
	masked := maskedByDaBits(bitsIn[:words], rBin)
	arith := make([]uint64, n)
	for i := range n {
		arith[i] = x.Data[i] - t.B.Data[i]
	}
	sums, c, err := e.openMixed(ctx, arith, masked)
	if err != nil {
		return b, bx, fmt.Errorf("bit conversion: %w", err)
	}
	b, bx = sharing.Zeros(total), sharing.Zeros(n)
	for i := range total {
		ci := (c[i/64] >> (i % 64)) & 1
		b.Data[i] = e.unmaskDaBit(ci, rArith[i])
		if i < n {
			xr := sums[i]*rArith[i] + t.C.Data[i]
			bx.Data[i] = ci*x.Data[i] + (1-2*ci)*xr
		}
	}
	return b, bx, nil
}

// MulBits returns b * x element-wise for a sharing b of bits (0 or 1 at integer
// scale, as ReLU's derivative or MaxRowsArg's winners) and a sharing x of the
// same shape, exactly, in one round: the low bits of the parties' shares of b
// are XOR shares of b (the low bit of a sum is the XOR of the low bits), so the
// product is bitsToArithTimes's, one bit and one word opened per element
// against Mul's two words. A b that is not a sharing of bits gives garbage.
func (e *Engine) MulBits(ctx context.Context, b, x sharing.Tensor) (sharing.Tensor, error) {
	if !sharing.SameShape(b, x) {
		return sharing.Tensor{}, fmt.Errorf("protocol: MulBits of shapes %v and %v", b.Shape, x.Shape)
	}
	start := time.Now()
	_, bx, err := e.bitsToArithTimesHead(ctx, packLanes(b.Data, 1), b.Len(), x)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: MulBits: %w", err)
	}
	bx.Shape = append([]int(nil), x.Shape...)
	e.account("mul-bits", start, 0, 0)
	return bx, nil
}
