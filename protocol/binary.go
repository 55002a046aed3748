package protocol

import (
	"context"
	"fmt"
	"time"

	"github.com/tessera-mpc/tessera/sharing"
)

// Binary (XOR) sharing: a word w is shared as w_0 ^ ... ^ w_{N-1}. XOR with a public
// constant is done by party 0 alone; XOR of two sharings and shifts or bit
// selections (any GF(2)-linear map) are local; AND costs one AND triple per word
// and one round.
//
// Sign-bit extraction works on bit-sliced words: element i's 64 bit positions live
// in one word, so carries move by shifts inside the word, and the later levels of
// the carry tree pack the surviving bits of all elements densely (see carryTree).

// And returns XOR shares of x AND y, word by word (64 independent bit ANDs per
// word). It uses one AND triple per word and ONE round however many words: x^a and
// y^b are opened together, then z = c ^ (d&b) ^ (e&a) ^ [party 0: d&e]. Both
// openings are masked by fresh uniform triple words.
func (e *Engine) And(ctx context.Context, x, y []uint64) ([]uint64, error) {
	if len(x) != len(y) {
		return nil, fmt.Errorf("protocol: And of %d and %d words", len(x), len(y))
	}
	n := len(x)
	if n == 0 {
		return []uint64{}, nil
	}
	start := time.Now()
	mat, err := e.fetch(ctx, AndRequest(n))
	if err != nil {
		return nil, fmt.Errorf("protocol: And: preprocessing: %w", err)
	}
	t := mat.BinaryTriple()
	masked := make([]uint64, 2*n)
	for i := range x {
		masked[i] = x[i] ^ t.A[i]
		masked[n+i] = y[i] ^ t.B[i]
	}
	opened, err := e.OpenBinary(ctx, masked)
	if err != nil {
		return nil, fmt.Errorf("protocol: And: %w", err)
	}
	d, f := opened[:n], opened[n:]
	z := make([]uint64, n)
	for i := range z {
		z[i] = t.C[i] ^ d[i]&t.B[i] ^ f[i]&t.A[i]
		if e.self == 0 {
			z[i] ^= d[i] & f[i]
		}
	}
	e.account("and", start, 0, 0)
	return z, nil
}

// andAll returns XOR shares of the AND of all the slots (equal-length packed
// bit vectors), bit by bit: a tree of And calls, one per level for all pairs of
// that level, ceil(log2(len(slots))) rounds.
func (e *Engine) andAll(ctx context.Context, slots [][]uint64) ([]uint64, error) {
	if len(slots) == 0 {
		return nil, fmt.Errorf("AND of no slots")
	}
	for level := 0; len(slots) > 1; level++ {
		half := len(slots) / 2
		w := len(slots[0])
		left, right := make([]uint64, 0, half*w), make([]uint64, 0, half*w)
		for i := range half {
			left = append(left, slots[2*i]...)
			right = append(right, slots[2*i+1]...)
		}
		z, err := e.And(ctx, left, right)
		if err != nil {
			return nil, fmt.Errorf("AND tree level %d: %w", level, err)
		}
		next := make([][]uint64, 0, half+1)
		for i := range half {
			next = append(next, z[i*w:(i+1)*w:(i+1)*w])
		}
		if len(slots)%2 == 1 {
			next = append(next, slots[len(slots)-1])
		}
		slots = next
	}
	return slots[0], nil
}

// MSB returns arithmetic shares (over Z_2^64) of the most significant bit of x,
// element-wise: 1 where x, read as a signed 64-bit integer, is negative. It works
// for any ring value; for fixed-point values it is the comparison x < 0.
//
// Each party's additive share is its own private 64-bit addend, so x is the sum
// of N addends that are trivially XOR-shared (party p holds addend p, the others
// hold zero). The protocol adds them in the binary domain and converts the top
// bit back:
//
//   - N = 2: the first level of the carry tree is built directly from the two
//     owners' words in one round of 3 ANDs on half-words (each bilinear term pairs
//     a value of party 0 with a value of party 1), then 5 levels: 6 AND rounds.
//   - N >= 3: carry-save adders (3:2 compressors, maj(a,b,c) = ((a^c)&(b^c))^c,
//     one AND per compressor) reduce the N addends to 2 in L(N) rounds (L = 1 for
//     N = 3, 2 for N = 4, 3 for N = 5..6, 4 for N = 7..9), then one round for the
//     generate bits and 6 levels of the carry tree: L(N) + 7 AND rounds.
//   - One more round converts the XOR-shared bit to an arithmetic share with a
//     daBit (c = msb ^ r is opened; msb = c + r - 2cr).
//
// Rounds (MSBRounds): 7 for N = 2, 9 for N = 3, 10 for N = 4, 11 for N = 5 or 6,
// independent of the number of elements. Every opened word is masked by a fresh uniform triple
// word or daBit, so the openings are uniform whatever x is. Per element, a party
// opens (sends to every peer) about 5 words for N = 2 and 8 for N = 3.
func (e *Engine) MSB(ctx context.Context, x sharing.Tensor) (sharing.Tensor, error) {
	start := time.Now()
	bits, err := e.msbBinary(ctx, x.Data)
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: MSB: %w", err)
	}
	out, err := e.bitsToArith(ctx, bits, x.Len())
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("protocol: MSB: %w", err)
	}
	out.Shape = append([]int(nil), x.Shape...)
	e.account("msb", start, 0, 0)
	return out, nil
}

// MSBRounds is the number of communication rounds of MSB among the given number
// of parties (at least 2), whatever the number of elements.
func MSBRounds(parties int) int {
	if parties <= 2 {
		return 7
	}
	return csaLayers(parties) + 8
}

// csaLayers is the number of carry-save layers that reduce n addends to 2.
func csaLayers(n int) int {
	layers := 0
	for n > 2 {
		n = 2*(n/3) + n%3
		layers++
	}
	return layers
}

// firstLevelOfOwnShares is firstLevelOwned for N = 2 on the parties' own shares:
// party 0's share is addend a, party 1's is addend b, each holding zero for the
// other.
func (e *Engine) firstLevelOfOwnShares(ctx context.Context, lanes []uint64, bits int, top uint64) (g, p []uint64, err error) {
	a, b := make([]uint64, len(lanes)), make([]uint64, len(lanes))
	if e.self == 0 {
		copy(a, lanes)
	} else {
		copy(b, lanes)
	}
	return e.firstLevelOwned(ctx, a, b, bits, top)
}

// topNeutralAddends reduces the N > 2 parties' shares of lanes to two XOR-shared
// addends a, b (carrySave) and returns the carry tree's generate and propagate
// bits with every lane's top position made neutral (generate 0, propagate 1: a's
// top cleared, b's set), and hi, the shares of a ^ b before that, whose top bits
// are a_top ^ b_top. One And round, beside carrySave's.
func (e *Engine) topNeutralAddends(ctx context.Context, lanes []uint64, bottom, top uint64) (g, p, hi []uint64, err error) {
	a, b, err := e.carrySave(ctx, lanes, bottom)
	if err != nil {
		return nil, nil, nil, err
	}
	hi, p = make([]uint64, len(lanes)), make([]uint64, len(lanes))
	for i := range lanes {
		hi[i] = a[i] ^ b[i]
		a[i] &^= top
		b[i] &^= top
		if e.self == 0 {
			b[i] |= top
		}
		p[i] = a[i] ^ b[i]
	}
	if g, err = e.And(ctx, a, b); err != nil {
		return nil, nil, nil, fmt.Errorf("generate bits: %w", err)
	}
	return g, p, hi, nil
}

// msbBinary returns XOR shares of msb(x) for every element, packed one bit per
// element (element i in bit i%64 of word i/64).
func (e *Engine) msbBinary(ctx context.Context, x []uint64) ([]uint64, error) {
	return e.signBits(ctx, x, 64)
}

// signBits returns XOR shares of bit width-1 of every element of x (width 16, 32
// or 64), packed as msbBinary's: the sign of x when |x| < 2^(width-1). It adds the
// parties' shares modulo 2^width only: the elements are packed in lanes of width
// bits (two to a word for 32, four for 16), so each halving of the lane halves
// the words every AND opens and takes one level off the carry tree. With
// Config.LookupComparisons, 16 and 32 bits are read by open and compare instead
// (signBitsLookup): 2 rounds; without, by a sign pair's opening and a
// comparison with its bits (signBitsBySignPair: 6 rounds on 32 bits, 5 on 16)
// wherever that takes no more rounds than the adder.
func (e *Engine) signBits(ctx context.Context, x []uint64, width int) ([]uint64, error) {
	n := len(x)
	if n == 0 {
		return nil, nil
	}
	if width != 16 && width != 32 && width != 64 {
		return nil, fmt.Errorf("sign of %d-bit lanes: want 16, 32 or 64", width)
	}
	if e.lookup && width != 64 {
		return e.signBitsLookup(ctx, x, width)
	}
	if useSignPair(e.n, width) {
		sign, _, err := e.signBitsBySignPair(ctx, x, width, false)
		return sign, err
	}
	return e.adderSignBits(ctx, x, width)
}

// adderSignBits is signBits by the binary adder on the parties' shares.
func (e *Engine) adderSignBits(ctx context.Context, x []uint64, width int) ([]uint64, error) {
	n := len(x)
	lanes := packLanes(x, width)
	top, bottom := laneMasks(width)
	// The top bit of a + b is a_top ^ b_top ^ (carry into the top). To get that
	// carry as the carry out of a full lane-wide tree, the top position is made
	// neutral (generate 0, propagate 1): clear it in a and set it in b.
	var g, p []uint64
	// hi holds, at each lane's top bit, this party's share of a_top ^ b_top.
	var hi []uint64
	treeWidth := width
	if e.n == 2 {
		// The two addends belong to one party each: party 0's share is a, party 1's
		// is b. Each party holds its own addend and zero for the other.
		hi = lanes
		var err error
		if g, p, err = e.firstLevelOfOwnShares(ctx, lanes, n*width, top); err != nil {
			return nil, err
		}
		treeWidth = width / 2
	} else {
		var err error
		if g, p, hi, err = e.topNeutralAddends(ctx, lanes, bottom, top); err != nil {
			return nil, err
		}
	}
	carry, err := e.carryTree(ctx, g, p, n, treeWidth)
	if err != nil {
		return nil, err
	}
	for i := range n {
		pos := i*width + width - 1
		carry[i/64] ^= ((hi[pos/64] >> (pos % 64)) & 1) << (i % 64)
	}
	return carry, nil
}

// packLanes packs the low width bits (1 to 64) of every element into
// consecutive lanes of a bit stream, end to end, a lane crossing into the next
// word where width does not divide 64 (a GF(2)-linear map, local on XOR shares
// and on each party's addend).
func packLanes(x []uint64, width int) []uint64 {
	if width == 64 {
		return append([]uint64(nil), x...)
	}
	out := make([]uint64, (len(x)*width+63)/64)
	mask := uint64(1)<<width - 1
	for i, v := range x {
		v &= mask
		pos := i * width
		out[pos/64] |= v << (pos % 64)
		if spill := pos%64 + width - 64; spill > 0 {
			out[pos/64+1] |= v >> (width - spill)
		}
	}
	return out
}

// laneMasks returns the words with every lane's top bit and every lane's bottom
// bit set.
func laneMasks(width int) (top, bottom uint64) {
	for off := 0; off < 64; off += width {
		top |= 1 << (off + width - 1)
		bottom |= 1 << off
	}
	return top, bottom
}

// carrySave reduces the N parties' addends (XOR-shared: party p holds addend p,
// the others zero) to two XOR-shared addends with the same sum mod 2^64. Every
// layer batches all its compressors into one And call: one round per layer.
// Carries shifted out of one lane must not enter the next: bottom marks every
// lane's lowest bit, cleared after each shift.
func (e *Engine) carrySave(ctx context.Context, x []uint64, bottom uint64) ([]uint64, []uint64, error) {
	n := len(x)
	ops := make([][]uint64, e.n)
	for p := range ops {
		ops[p] = make([]uint64, n)
		if p == e.self {
			copy(ops[p], x)
		}
	}
	for layer := 0; len(ops) > 2; layer++ {
		triples := len(ops) / 3
		// maj(u, v, w) = ((u^w) & (v^w)) ^ w: one AND per bit instead of two.
		left, right := make([]uint64, triples*n), make([]uint64, triples*n)
		for t := range triples {
			u, v, w := ops[3*t], ops[3*t+1], ops[3*t+2]
			for i := range n {
				left[t*n+i] = u[i] ^ w[i]
				right[t*n+i] = v[i] ^ w[i]
			}
		}
		z, err := e.And(ctx, left, right)
		if err != nil {
			return nil, nil, fmt.Errorf("carry-save layer %d: %w", layer, err)
		}
		next := make([][]uint64, 0, 2*triples+len(ops)%3)
		for t := range triples {
			u, v, w := ops[3*t], ops[3*t+1], ops[3*t+2]
			sum, carry := make([]uint64, n), make([]uint64, n)
			for i := range n {
				sum[i] = u[i] ^ v[i] ^ w[i]
				carry[i] = (z[t*n+i] ^ w[i]) << 1 &^ bottom
			}
			next = append(next, sum, carry)
		}
		ops = append(next, ops[3*triples:]...)
	}
	return ops[0], ops[1], nil
}

// firstLevelOwned computes, for two addends a (party 0's) and b (party 1's) of
// nbits packed bits with each lane's top bit (top) made neutral, the generate and propagate bits of every 2-bit block
// (positions 2j+1, 2j), in one round. With o/e the odd/even bit of a block,
//
//	G = ao bo ^ ao ae be ^ ae bo be = [(ao^be) & (ao ae ^ bo)] ^ ao ae ^ bo be ^ [ae & (bo be)]
//	P = (ao ^ bo) & (ae ^ be)
//
// Products of one party's own bits (ao ae, bo be) are local, because the other
// party's share of that addend is zero; the three bracketed ANDs pair the two
// parties' values and share one round. The blocks of all elements are packed
// densely: 3 half-words of AND per element instead of 2 whole words for a
// generate round followed by a first tree level. a and b are overwritten.
func (e *Engine) firstLevelOwned(ctx context.Context, a, b []uint64, nbits int, top uint64) (g, p []uint64, err error) {
	for i := range a {
		a[i] &^= top
		if e.self == 1 {
			b[i] |= top
		}
	}
	aE, aO := unzip(a, nbits)
	bE, bO := unzip(b, nbits)
	h := len(aE)
	left, right := make([]uint64, 3*h), make([]uint64, 3*h)
	localA, localB := make([]uint64, h), make([]uint64, h)
	for i := range h {
		localA[i] = aO[i] & aE[i]
		localB[i] = bO[i] & bE[i]
		left[i], right[i] = aO[i]^bE[i], localA[i]^bO[i]
		left[h+i], right[h+i] = aE[i], localB[i]
		left[2*h+i], right[2*h+i] = aO[i]^bO[i], aE[i]^bE[i]
	}
	z, err := e.And(ctx, left, right)
	if err != nil {
		return nil, nil, fmt.Errorf("first carry level: %w", err)
	}
	g, p = make([]uint64, h), make([]uint64, h)
	for i := range h {
		g[i] = z[i] ^ localA[i] ^ localB[i] ^ z[h+i]
		p[i] = z[2*h+i]
	}
	return g, p, nil
}

// carryTree reduces per-element generate/propagate groups of `width` positions
// (width a power of two; element i's positions at bits [i*width, (i+1)*width) of
// the packed streams g and p) to one carry-out bit per element, in log2(width)
// rounds. Each level pairs adjacent positions (odd = high, even = low):
//
//	G' = Go ^ (Po & Ge),  P' = Po & Pe
//
// Since width is even, pairs never straddle two elements, so a level is the same
// bit-parallel operation on the whole stream, and the stream halves every level:
// a level costs n*width/64 words of AND (the last one, which needs no P', half
// that).
func (e *Engine) carryTree(ctx context.Context, g, p []uint64, n, width int) ([]uint64, error) {
	for level := 0; width > 1; level++ {
		gE, gO := unzip(g, n*width)
		pE, pO := unzip(p, n*width)
		h := len(gO)
		if width == 2 {
			z, err := e.And(ctx, pO, gE)
			if err != nil {
				return nil, fmt.Errorf("carry level %d: %w", level, err)
			}
			for i := range gO {
				gO[i] ^= z[i]
			}
			return gO, nil
		}
		left, right := make([]uint64, 2*h), make([]uint64, 2*h)
		copy(left, pO)
		copy(left[h:], pO)
		copy(right, gE)
		copy(right[h:], pE)
		z, err := e.And(ctx, left, right)
		if err != nil {
			return nil, fmt.Errorf("carry level %d: %w", level, err)
		}
		for i := range gO {
			gO[i] ^= z[i]
		}
		g, p = gO, z[h:]
		width /= 2
	}
	return g, nil
}

// unzip splits a packed stream of nbits bits (nbits even) into its even-indexed
// and odd-indexed bits, each packed from bit 0: a GF(2)-linear map, so it applies
// to XOR shares locally.
func unzip(s []uint64, nbits int) (even, odd []uint64) {
	words := (nbits/2 + 63) / 64
	even, odd = make([]uint64, words), make([]uint64, words)
	for k, w := range s[:(nbits+63)/64] {
		shift := uint(32 * (k & 1))
		even[k/2] |= evenBits(w) << shift
		odd[k/2] |= evenBits(w>>1) << shift
	}
	return even, odd
}

// evenBits gathers bits 0, 2, ..., 62 of x into bits 0..31.
func evenBits(x uint64) uint64 {
	x &= 0x5555555555555555
	x = (x | x>>1) & 0x3333333333333333
	x = (x | x>>2) & 0x0f0f0f0f0f0f0f0f
	x = (x | x>>4) & 0x00ff00ff00ff00ff
	x = (x | x>>8) & 0x0000ffff0000ffff
	x = (x | x>>16) & 0x00000000ffffffff
	return x
}

// bitsToArith converts XOR-shared bits (packed, n of them) to additive shares over
// Z_2^64 with daBits, in one round: c = b ^ r is opened (64 bits a word) and
// b = c + r - 2cr, linear in the arithmetic share of r since c is public. The
// daBits are requested in whole words so that every opened bit, padding
// included, is masked.
func (e *Engine) bitsToArith(ctx context.Context, bits []uint64, n int) (sharing.Tensor, error) {
	out := sharing.Zeros(n)
	if n == 0 {
		return out, nil
	}
	words := (n + 63) / 64
	if len(bits) < words {
		return sharing.Tensor{}, fmt.Errorf("bit conversion: %d words for %d bits", len(bits), n)
	}
	mat, err := e.fetch(ctx, DaBitRequest(64*words))
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("bit conversion: preprocessing: %w", err)
	}
	db := mat.DaBits()
	c, err := e.OpenBinary(ctx, maskedByDaBits(bits[:words], db.Binary))
	if err != nil {
		return sharing.Tensor{}, fmt.Errorf("bit conversion: %w", err)
	}
	for i := range out.Data {
		out.Data[i] = e.unmaskDaBit((c[i/64]>>(i%64))&1, db.Arith.Data[i])
	}
	return out, nil
}

// maskedByDaBits returns the packed bits XORed with the daBits' binary shares (bit
// i of the result is bit i of bits ^ bit 0 of r[i]): what a conversion opens.
func maskedByDaBits(bits, r []uint64) []uint64 {
	masked := append([]uint64(nil), bits...)
	for i, ri := range r {
		masked[i/64] ^= (ri & 1) << (i % 64)
	}
	return masked
}

// unmaskDaBit is this party's arithmetic share of b = c ^ r, given the opened bit
// c = b ^ r and its share of the daBit r: c + r - 2cr, the public c added by
// party 0.
func (e *Engine) unmaskDaBit(c, r uint64) uint64 {
	v := r - 2*c*r
	if e.self == 0 {
		v += c
	}
	return v
}

// bitsToArithTimes is bitsToArith that also returns shares of b * x for a sharing
// x of the same length, in the same single round: b = c + r - 2cr with c public,
// so b x = c x + (1 - 2c) x r, and x r is a Beaver product of x and the daBit's
// arithmetic share r whose openings (x - A, r - B, masked by a fresh triple) go
// out with c. The product of a comparison bit and a value needs no round of its
// own.
func (e *Engine) bitsToArithTimes(ctx context.Context, bits []uint64, x sharing.Tensor) (b, bx sharing.Tensor, err error) {
	if x.Len() == 0 {
		return sharing.Zeros(0), sharing.Zeros(0), nil
	}
	return e.bitsToArithTimesHead(ctx, bits, x.Len(), x)
}
