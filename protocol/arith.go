package protocol

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/tessera-mpc/tessera/sharing"
)

// Mul returns a sharing of the element-wise ring product x ⊙ y (no truncation):
// one Beaver triple, one round in which d = x-a and e = y-b are opened together.
func (e *Engine) Mul(ctx context.Context, x, y sharing.Tensor) (sharing.Tensor, error) {
	if !sharing.SameShape(x, y) {
		return sharing.Tensor{}, fmt.Errorf("protocol: Mul of shapes %v and %v", x.Shape, y.Shape)
	}
	start := time.Now()
	mat, err := e.fetch(ctx, ElementwiseRequest(x.Shape))
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Mul: preprocessing: %w", err)
	}
	t := mat.Triple()
	opened, err := e.Open(ctx, sharing.Sub(x, t.A), sharing.Sub(y, t.B))
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Mul: %w", err)
	}
	d, ed := opened[0], opened[1]
	z := t.C.Clone()
	for i := range z.Data {
		z.Data[i] += d.Data[i]*t.B.Data[i] + ed.Data[i]*t.A.Data[i]
		if e.self == 0 {
			z.Data[i] += d.Data[i] * ed.Data[i]
		}
	}
	e.account("mul", start, 0, 0)
	return z, nil
}

// Square returns a sharing of x ⊙ x with a square pair: one round, half the
// opening of Mul.
func (e *Engine) Square(ctx context.Context, x sharing.Tensor) (sharing.Tensor, error) {
	start := time.Now()
	mat, err := e.fetch(ctx, SquareRequest(x.Shape))
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Square: preprocessing: %w", err)
	}
	p := mat.SquarePair()
	opened, err := e.Open(ctx, sharing.Sub(x, p.A))
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: Square: %w", err)
	}
	d := opened[0]
	z := p.A2.Clone()
	for i := range z.Data {
		z.Data[i] += 2 * d.Data[i] * p.A.Data[i]
		if e.self == 0 {
			z.Data[i] += d.Data[i] * d.Data[i]
		}
	}
	e.account("square", start, 0, 0)
	return z, nil
}

// MatMul returns a sharing of the ring matrix product x·y (m x k times k x n) with a
// matrix triple: one round opening m*k + k*n elements, however large m*k*n is.
func (e *Engine) MatMul(ctx context.Context, x, y sharing.Tensor) (sharing.Tensor, error) {
	if len(x.Shape) != 2 || len(y.Shape) != 2 || x.Shape[1] != y.Shape[0] {
		return sharing.Tensor{}, fmt.Errorf("protocol: MatMul of shapes %v and %v", x.Shape, y.Shape)
	}
	start := time.Now()
	m, k, n := x.Shape[0], x.Shape[1], y.Shape[1]
	mat, err := e.fetch(ctx, MatrixRequest(m, k, n))
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: MatMul %dx%dx%d: preprocessing: %w", m, k, n, err)
	}
	t := mat.Triple()
	opened, err := e.Open(ctx, sharing.Sub(x, t.A), sharing.Sub(y, t.B))
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: MatMul %dx%dx%d: %w", m, k, n, err)
	}
	d, ed := opened[0], opened[1]
	// XY = (D+A)(E+B) = D(B+E) + AE + AB; party 0 adds the public D·E term by using
	// B_0+E in place of B_0, so every party does two local products.
	bPlus := t.B
	if e.self == 0 {
		bPlus = sharing.Add(t.B, ed)
	}
	z := sharing.MatMul(d, bPlus)
	sharing.AddInPlace(z, sharing.MatMul(t.A, ed))
	sharing.AddInPlace(z, t.C)
	e.account("matmul", start, 0, 0)
	return z, nil
}

// Truncate divides a fixed-point sharing by 2^f (f = the codec's fractional bits).
// It is wrap-safe: probabilistic truncation with an MSB correction (Escudero et al.,
// CRYPTO 2020). For |x| < 2^62 the result is floor(x / 2^f) or one more, never
// anything else, and the one opened value, x + 2^62 + r, is uniform.
func (e *Engine) Truncate(ctx context.Context, x sharing.Tensor) (sharing.Tensor, error) {
	return e.TruncateBy(ctx, x, e.codec.FracBits)
}

// TruncateBy is Truncate by an explicit number of bits in [1, 61].
func (e *Engine) TruncateBy(ctx context.Context, x sharing.Tensor, bits int) (sharing.Tensor, error) {
	out, err := e.TruncateMany(ctx, bits, x)
	if err != nil {
		return sharing.Tensor{}, err
	}
	return out[0], nil
}

// TruncateMany truncates several sharings by the same number of bits in one round.
func (e *Engine) TruncateMany(ctx context.Context, bits int, xs ...sharing.Tensor) ([]sharing.Tensor, error) {
	return e.TruncateEach(ctx, repeat(bits, len(xs)), xs)
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// TruncateEach truncates xs[i] by bits[i], all in one round (compactly with
// Config.CompactTruncations).
func (e *Engine) TruncateEach(ctx context.Context, bits []int, xs []sharing.Tensor) ([]sharing.Tensor, error) {
	if e.compact {
		return e.TruncateEachCompact(ctx, bits, xs)
	}
	start := time.Now()
	st, masked, err := e.prepareTruncations(ctx, bits, xs, false)
	if err != nil {
		return nil, err
	}
	opened, err := e.Open(ctx, masked...)
	if err != nil {
		return nil, fmt.Errorf("protocol: Truncate: %w", err)
	}
	out := st.finish(e.self, opened)
	e.account("truncate", start, 0, 0)
	return out, nil
}

// TruncateEachCompact is TruncateEach opening only what the truncation reads:
// every party sends the top 64 - b bits of its share of c = x + 2^62 + r,
// packed floor(64 / (64 - b)) to a word (two for b >= 32, three for b >= 43,
// one below 32), and the packed words are added as in any opening. The low b
// bits of the shares are never opened, so the mask r needs no low bits: with
// packed lanes it is the high part of a pair (KindTruncHigh: a uniform
// multiple of 2^b, for which protocol/ot makes 64 - max(b, 58 - ceil(log2 N))
// daBits per element instead of 64, the rest from the parties' own bounded
// values, within the slack below). What a party sends is
// a function of its share of c, a uniform share of a value whose top 64 - b
// bits are uniform (r's are), so each lane it sends is uniform, as is their
// sum.
//
// The lanes add up to the top bits of c~ = c + K - low + 2^b kappa: low, the
// sum of the shares' dropped bits, is in [0, N(2^b - 1)] and congruent to
// x + K modulo 2^b; kappa in [0, N-1] counts the carries from the lane below in
// the word (none for the first). With the low bits of c~ zero, the result is
// exactly (x + K - low + 2^b kappa) / 2^b. Given x, the dropped bits of N - 1
// shares are uniform and the last one's is then uniform too, so low has mean
// N(2^b - 1)/2 whatever x is: party 0 adds K = N(2^b - 1)/2 (minus kappa's
// mean, (N-1) 2^(b-1), in the lanes above the first), centring the error: it
// is within N - 1/2 units in the last place of x / 2^b (N/2 with one lane a
// word: no carries), unbiased up to 2^-b, and the truncation is wrap-safe for
// |x| < 2^62 - N 2^b - 2^TruncHighSlackBits (the high pair's slack: with
// 2^b RShifted up to that much above R mod 2^63, y + 2^b RShifted below
// 2^64 needs y = x + 2^62 that much below 2^63).
func (e *Engine) TruncateEachCompact(ctx context.Context, bits []int, xs []sharing.Tensor) ([]sharing.Tensor, error) {
	start := time.Now()
	st, masked, err := e.prepareTruncations(ctx, bits, xs, true)
	if err != nil {
		return nil, err
	}
	packed := make([]sharing.Tensor, len(masked))
	for i, m := range masked {
		packed[i] = e.packTopBits(m, bits[i])
	}
	opened, err := e.Open(ctx, packed...)
	if err != nil {
		return nil, fmt.Errorf("protocol: Truncate: %w", err)
	}
	for i, o := range opened {
		opened[i] = unpackTopBits(o, bits[i], masked[i].Len())
	}
	out := st.finish(e.self, opened)
	e.account("truncate", start, 0, 0)
	return out, nil
}

// topBitLanes is how many lanes of the top 64 - b bits of a word fit in one.
func topBitLanes(b int) int { return 64 / (64 - b) }

// packTopBits packs this party's share bits b..63 of every element of m into
// lanes of 64 - b bits, party 0 adding the centring constant of its lane first
// (see TruncateEachCompact).
func (e *Engine) packTopBits(m sharing.Tensor, b int) sharing.Tensor {
	lanes := topBitLanes(b)
	w := 64 - b
	out := sharing.Zeros((m.Len() + lanes - 1) / lanes)
	centre := uint64(e.n) * (1<<b - 1) / 2
	carries := uint64(e.n-1) << (b - 1)
	for i, v := range m.Data {
		lane := i % lanes
		if e.self == 0 {
			v += centre
			if lane > 0 {
				v -= carries
			}
		}
		out.Data[i/lanes] |= (v >> b) << (lane * w)
	}
	return out
}

// unpackTopBits returns the n opened values c~ (top bits only) from packTopBits'
// lanes, added up.
func unpackTopBits(o sharing.Tensor, b, n int) sharing.Tensor {
	lanes := topBitLanes(b)
	w := 64 - b
	out := sharing.Zeros(n)
	for i := range out.Data {
		out.Data[i] = (o.Data[i/lanes] >> ((i % lanes) * w)) << b
	}
	return out
}

// truncations are prepared truncations waiting for their opening.
type truncations struct {
	bits    []int
	pairs   map[int]TruncPair
	offsets []int
	shapes  [][]int
}

// prepareTruncations fetches the pairs for truncating xs[i] by bits[i] and
// returns what to open: the masked values c = x + r + 2^62. With high set, r
// is the high part of a pair, zero in its low b bits (KindTruncHigh): only a
// caller that never opens the low b bits of the shares may ask for that
// (TruncateEachCompact).
func (e *Engine) prepareTruncations(ctx context.Context, bits []int, xs []sharing.Tensor, high bool) (*truncations, []sharing.Tensor, error) {
	if len(bits) != len(xs) {
		return nil, nil, fmt.Errorf("protocol: %d truncation widths for %d tensors", len(bits), len(xs))
	}
	// One truncation pair per distinct width, in order of first appearance, so every
	// party asks for the same material in the same order.
	var widths []int
	sizes := map[int]int{}
	for i, b := range bits {
		if b < 1 || b > 61 {
			return nil, nil, fmt.Errorf("protocol: truncation by %d bits is out of range [1, 61]", b)
		}
		if _, ok := sizes[b]; !ok {
			widths = append(widths, b)
		}
		sizes[b] += xs[i].Len()
	}
	st := &truncations{bits: bits, pairs: map[int]TruncPair{}, offsets: make([]int, len(xs))}
	for _, b := range widths {
		req := TruncRequest([]int{sizes[b]}, b)
		if high {
			req = TruncHighRequest([]int{sizes[b]}, b)
		}
		mat, err := e.fetch(ctx, req)
		if err != nil {
			return nil, nil, fmt.Errorf("protocol: Truncate: preprocessing: %w", err)
		}
		st.pairs[b] = mat.TruncPair()
	}
	// y = x + 2^62 lies in [0, 2^63) for |x| < 2^62, so y + (r mod 2^63) does not wrap
	// and its top bit is msb(c) xor msb(r), computable linearly from public c. (A
	// high pair's 2^b RShifted may exceed r mod 2^63 by its slack: see
	// TruncateEachCompact's bound.)
	const bias = uint64(1) << 62
	masked := make([]sharing.Tensor, len(xs))
	used := map[int]int{} // elements of each width's pair consumed so far
	for i, x := range xs {
		tp, off := st.pairs[bits[i]], used[bits[i]]
		st.offsets[i] = off
		st.shapes = append(st.shapes, x.Shape)
		m := sharing.Zeros(x.Len())
		for j, v := range x.Data {
			m.Data[j] = v + tp.R.Data[off+j]
			if e.self == 0 {
				m.Data[j] += bias
			}
		}
		masked[i] = m
		used[bits[i]] = off + x.Len()
	}
	return st, masked, nil
}

// finish returns this party's shares of the truncated values from the opened c.
func (st *truncations) finish(self int, opened []sharing.Tensor) []sharing.Tensor {
	const bias = uint64(1) << 62
	out := make([]sharing.Tensor, len(opened))
	for i, c := range opened {
		b, tp, off := st.bits[i], st.pairs[st.bits[i]], st.offsets[i]
		high := uint64(1) << (63 - b)
		res := sharing.Zeros(st.shapes[i]...)
		for j, cv := range c.Data {
			cMSB := cv >> 63
			rMSB := tp.RMSB.Data[off+j]
			// share of s_msb = c_msb xor r_msb = c_msb + r_msb - 2 c_msb r_msb
			v := (rMSB-2*cMSB*rMSB)*high - tp.RShifted.Data[off+j]
			if self == 0 {
				v += cMSB*high + (cv&^(1<<63))>>b - bias>>b
			}
			res.Data[j] = v
		}
		out[i] = res
	}
	return out
}

// MulFixed multiplies two fixed-point sharings element-wise: Mul then Truncate.
func (e *Engine) MulFixed(ctx context.Context, x, y sharing.Tensor) (sharing.Tensor, error) {
	z, err := e.Mul(ctx, x, y)
	if err != nil {
		return z, err
	}
	return e.Truncate(ctx, z)
}

// SquareFixed squares a fixed-point sharing element-wise.
func (e *Engine) SquareFixed(ctx context.Context, x sharing.Tensor) (sharing.Tensor, error) {
	z, err := e.Square(ctx, x)
	if err != nil {
		return z, err
	}
	return e.Truncate(ctx, z)
}

// MatMulFixed multiplies fixed-point matrices: MatMul then Truncate.
func (e *Engine) MatMulFixed(ctx context.Context, x, y sharing.Tensor) (sharing.Tensor, error) {
	z, err := e.MatMul(ctx, x, y)
	if err != nil {
		return z, err
	}
	return e.Truncate(ctx, z)
}

// ConstantBits is the precision of a public constant in ScaleFixed: the constant
// is encoded with about this many significant bits whatever its magnitude, so
// small learning rates lose nothing to the fixed-point grid.
const ConstantBits = 20

// ScaleFixed multiplies fixed-point sharings by a public real c: a local product
// with c encoded at scale 2^s (s chosen for ConstantBits significant bits), then
// one truncation by s bits for all tensors together. Safe while
// |x * c| < 2^(41 - f).
func (e *Engine) ScaleFixed(ctx context.Context, c float64, xs ...sharing.Tensor) ([]sharing.Tensor, error) {
	cs := make([]float64, len(xs))
	for i := range cs {
		cs[i] = c
	}
	return e.ScaleEach(ctx, cs, xs)
}

// ScaleEach multiplies xs[i] by the public real cs[i], all in one round.
func (e *Engine) ScaleEach(ctx context.Context, cs []float64, xs []sharing.Tensor) ([]sharing.Tensor, error) {
	if len(cs) != len(xs) {
		return nil, fmt.Errorf("protocol: %d constants for %d tensors", len(cs), len(xs))
	}
	combos := make([]Combo, len(xs))
	for i := range xs {
		combos[i] = Combo{{C: cs[i], X: xs[i]}}
	}
	return e.LinearCombos(ctx, combos)
}

// Term is one public-constant multiple c*x of a fixed-point sharing. Shift says x
// is held at scale 2^(f+Shift) rather than 2^f: a product not yet truncated (Shift
// = f), whose truncation the combination then does itself. Bound is what the
// caller guarantees of |x| (as a real); 0 means DefaultTermBound.
type Term struct {
	C     float64
	X     sharing.Tensor
	Shift int
	Bound float64
}

// DefaultTermBound is the magnitude LinearCombos assumes of a term's operand when
// the term states none.
const DefaultTermBound = 1 << 15

// minMergedBits is the fewest significant bits LinearCombos gives a constant when
// it truncates terms of different Shift together (see comboGroups).
const minMergedBits = 10

// boundBits is ceil(log2) of the term's bound.
func (t Term) boundBits() int {
	if t.Bound <= 0 || math.IsNaN(t.Bound) || math.IsInf(t.Bound, 0) {
		return 15
	}
	return int(math.Ceil(math.Log2(t.Bound)))
}

// Combo is a sum of terms of one shape.
type Combo []Term

// LinearCombos computes sum_j c_j x_j for each combo with public real constants,
// all in one round. A combo's terms are encoded at one common scale: a term of
// Shift h at 2^(s + H - h), H the combo's largest Shift, so that every product
// is at 2^(f + H + s); the products are summed locally and the sum truncated
// once by s + H. s gives the smallest constant about ConstantBits significant
// bits while keeping every product below 2^61 for operands within their Bound
// (DefaultTermBound, 2^15, unless stated). When that leaves some constant fewer
// than 10 significant bits and the combo mixes Shifts, the terms of each Shift
// are truncated on their own (one truncation per distinct Shift, added up
// after): more openings, full precision. The error is one truncation (at most
// one unit in the last place) per truncated sum, plus each constant's encoding.
func (e *Engine) LinearCombos(ctx context.Context, combos []Combo) ([]sharing.Tensor, error) {
	return e.linearCombos(ctx, combos, false)
}

// LinearCombosCompact is LinearCombos with compact truncation openings
// (TruncateEachCompact): fewer bytes for a larger error, at most N + 1 units in
// the last place per truncated sum instead of one (unbiased), beside the
// constants' encoding. For updates whose noise is far below the gradient's.
func (e *Engine) LinearCombosCompact(ctx context.Context, combos []Combo) ([]sharing.Tensor, error) {
	return e.linearCombos(ctx, combos, true)
}

func (e *Engine) linearCombos(ctx context.Context, combos []Combo, compact bool) ([]sharing.Tensor, error) {
	var bits []int
	var sums []sharing.Tensor
	var which []int // the combo of each sum
	out := make([]sharing.Tensor, len(combos))
	for i, combo := range combos {
		if len(combo) == 0 {
			return nil, fmt.Errorf("protocol: combination %d has no terms", i)
		}
		out[i] = sharing.Zeros(combo[0].X.Shape...)
		groups, err := e.comboGroups(i, combo)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			bits, sums, which = append(bits, g.bits), append(sums, g.sum), append(which, i)
		}
	}
	if len(sums) == 0 {
		return out, nil
	}
	truncate := e.TruncateEach
	if compact {
		truncate = e.TruncateEachCompact
	}
	res, err := truncate(ctx, bits, sums)
	if err != nil {
		return nil, err
	}
	for k, i := range which {
		sharing.AddInPlace(out[i], res[k])
	}
	return out, nil
}

// comboGroup is the encoded sum of a combo's terms of one Shift, and the bits to
// truncate it by.
type comboGroup struct {
	sum  sharing.Tensor
	bits int
}

// comboGroups encodes combo i's terms: one group for the whole combo when its
// constants keep minMergedBits significant bits at the common scale (always for a
// single Shift), else one group per distinct Shift in order of first appearance;
// groups whose constants are all 0 are left out.
func (e *Engine) comboGroups(i int, combo Combo) ([]comboGroup, error) {
	f := e.codec.FracBits
	var shifts []int
	for _, t := range combo {
		if math.IsNaN(t.C) || math.IsInf(t.C, 0) {
			return nil, fmt.Errorf("protocol: scaling by %v", t.C)
		}
		if !sharing.SameShape(t.X, combo[0].X) {
			return nil, fmt.Errorf("protocol: combination %d mixes shapes %v and %v", i, combo[0].X.Shape, t.X.Shape)
		}
		if t.Shift < 0 || t.Shift > f {
			return nil, fmt.Errorf("protocol: combination %d: a term at shift %d, want [0, %d]", i, t.Shift, f)
		}
		if !slices.Contains(shifts, t.Shift) {
			shifts = append(shifts, t.Shift)
		}
	}
	if len(shifts) > 1 {
		g, bits, err := e.encodeGroup(combo)
		if err == nil && bits >= minMergedBits {
			if g.sum.Data == nil {
				return nil, nil
			}
			return []comboGroup{g}, nil
		}
	}
	var out []comboGroup
	for _, shift := range shifts {
		var terms Combo
		for _, t := range combo {
			if t.Shift == shift {
				terms = append(terms, t)
			}
		}
		g, _, err := e.encodeGroup(terms)
		if err != nil {
			return nil, err
		}
		if g.sum.Data != nil {
			out = append(out, g)
		}
	}
	return out, nil
}

// encodeGroup encodes terms at one common scale (see LinearCombos) and sums
// them; it returns the group (an empty sum when every constant is 0) and the
// fewest significant bits a nonzero constant got.
func (e *Engine) encodeGroup(terms Combo) (comboGroup, int, error) {
	f := e.codec.FracBits
	top, nonzero := 0, false
	for _, t := range terms {
		if t.C != 0 {
			top, nonzero = max(top, t.Shift), true
		}
	}
	if !nonzero {
		return comboGroup{}, 0, nil
	}
	precise, safe := math.MinInt, math.MaxInt
	for _, t := range terms {
		if t.C == 0 {
			continue
		}
		lc := int(math.Ceil(math.Log2(math.Abs(t.C))))
		precise = max(precise, ConstantBits-lc-(top-t.Shift))
		safe = min(safe, 61-f-top-lc-t.boundBits())
	}
	s := max(1, min(61-top, precise, safe))
	sum := sharing.Zeros(terms[0].X.Shape...)
	fewest := math.MaxInt
	for _, t := range terms {
		if t.C == 0 {
			continue
		}
		enc := math.Round(math.Ldexp(t.C, s+top-t.Shift))
		if math.Abs(enc) >= math.Ldexp(1, 62-f-t.Shift) {
			return comboGroup{}, 0, fmt.Errorf("protocol: scaling by %g: constant too large for %d fractional bits", t.C, f)
		}
		fewest = min(fewest, bits.Len64(uint64(math.Abs(enc))))
		k := uint64(int64(enc))
		for j, v := range t.X.Data {
			sum.Data[j] += k * v
		}
	}
	return comboGroup{sum: sum, bits: s + top}, fewest, nil
}

// Polynomial evaluates sum_j coeffs[j] x^j element-wise on a fixed-point sharing.
// Powers come from Square / Mul (with truncation); the public coefficients are
// applied locally at scale 2^2f and the sum is truncated once, so a degree-d
// polynomial costs 2(d-1)+1 rounds and d-1 Beaver products.
func (e *Engine) Polynomial(ctx context.Context, x sharing.Tensor, coeffs []float64) (sharing.Tensor, error) {
	if len(coeffs) == 0 {
		return sharing.Zeros(x.Shape...), nil
	}
	f := e.codec.FracBits
	enc := make([]uint64, len(coeffs))
	for j, c := range coeffs {
		v, err := e.codec.Encode(c)
		if err != nil {
			return sharing.Tensor{}, fmt.Errorf("protocol: polynomial coefficient %d: %w", j, err)
		}
		enc[j] = v
	}
	acc := sharing.Zeros(x.Shape...)
	if e.self == 0 {
		for i := range acc.Data {
			acc.Data[i] = enc[0] << f
		}
	}
	power := x
	for j := 1; j < len(coeffs); j++ {
		if j > 1 {
			var err error
			if j == 2 {
				power, err = e.SquareFixed(ctx, x)
			} else {
				power, err = e.MulFixed(ctx, power, x)
			}
			if err != nil {
				return sharing.Tensor{}, fmt.Errorf("protocol: polynomial power %d: %w", j, err)
			}
		}
		if enc[j] == 0 {
			continue
		}
		for i, v := range power.Data {
			acc.Data[i] += enc[j] * v
		}
	}
	return e.Truncate(ctx, acc)
}

// Masked is a matrix sharing opened once under a fresh mask, ready for any number
// of matrix products (MatMulMasked) without further openings. Reusing the opened
// value across products reveals nothing new: every product's extra material is
// the product of the masks, made by the preprocessing source.
type Masked struct {
	X    sharing.Tensor // this party's share of the matrix
	A    sharing.Tensor // this party's share of the mask
	D    sharing.Tensor // the public x - mask
	mask MaskRef
}

// MaskMatrices opens matrices under fresh masks, all in one round.
func (e *Engine) MaskMatrices(ctx context.Context, xs ...sharing.Tensor) ([]*Masked, error) {
	start := time.Now()
	out := make([]*Masked, len(xs))
	diffs := make([]sharing.Tensor, len(xs))
	for i, x := range xs {
		if len(x.Shape) != 2 {
			return nil, fmt.Errorf("protocol: masking a tensor of shape %v, not a matrix", x.Shape)
		}
		mat, err := e.fetch(ctx, MaskRequest(x.Shape[0], x.Shape[1]))
		if err != nil {
			return nil, fmt.Errorf("protocol: mask %dx%d: preprocessing: %w", x.Shape[0], x.Shape[1], err)
		}
		m := mat.MaskShare()
		out[i] = &Masked{X: x, A: m.A, mask: MaskRef{ID: m.ID, Rows: x.Shape[0], Cols: x.Shape[1]}}
		diffs[i] = sharing.Sub(x, m.A)
	}
	opened, err := e.Open(ctx, diffs...)
	if err != nil {
		return nil, fmt.Errorf("protocol: masking: %w", err)
	}
	for i := range out {
		out[i].D = opened[i]
	}
	e.account("mask", start, 0, 0)
	return out, nil
}

// MatMulMasked returns a sharing of the ring product op(x)·op(y) of two masked
// matrices, op transposing where asked, with no communication: with D, E the opened
// differences and A, B the masks, XY = D(B+E) + AE + AB, and AB comes from the
// preprocessing source.
func (e *Engine) MatMulMasked(ctx context.Context, x *Masked, transX bool, y *Masked, transY bool) (sharing.Tensor, error) {
	return e.maskedProduct(ctx, time.Now(), "MatMulMasked", "matmul-masked", x.mask, x.D, x.A, transX, y, transY)
}

// maskedProduct is op(X)·op(Y) for X given by its opened difference xd, mask
// share xa and mask reference xr (xd and xa already unfolded when xr asks for an
// unfolding): D(B+E) + AE + AB, AB from the source for (xr, y's mask). op names
// the call in errors, kind in the engine's accounting, which counts from start.
func (e *Engine) maskedProduct(ctx context.Context, start time.Time, op, kind string, xr MaskRef, xd, xa sharing.Tensor, transX bool, y *Masked, transY bool) (sharing.Tensor, error) {
	xr.Trans = transX
	yr := y.mask
	yr.Trans = transY
	m, k := xr.dims()
	k2, n := yr.dims()
	if k != k2 {
		return sharing.Tensor{}, fmt.Errorf("protocol: %s of %dx%d and %dx%d", op, m, k, k2, n)
	}
	mat, err := e.fetch(ctx, MaskProductRequest(xr, yr))
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: %s %dx%dx%d: preprocessing: %w", op, m, k, n, err)
	}
	// op distributes over the sum, so party 0's public D·E term rides on B+E in
	// the masks' own orientation.
	bPlus := y.A
	if e.self == 0 {
		bPlus = sharing.Add(y.A, y.D)
	}
	z := sharing.MatMulOp(xd, transX, bPlus, transY)
	sharing.AddInPlace(z, sharing.MatMulOp(xa, transX, y.D, transY))
	sharing.AddInPlace(z, mat.Parts[0])
	e.account(kind, start, 0, 0)
	return z, nil
}
