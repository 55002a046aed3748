package protocol

import (
	"context"
	"fmt"
	"math/bits"

	"github.com/tessera-mpc/tessera/sharing"
)

// Sign bits by "open and compare", from a dealer's lookup material (KindCompare),
// in two rounds instead of the binary adder's six or seven.
//
// The material gives, per element, a uniform r in [0, 2^w) (additive shares), XOR
// shares of r's top bit r_{w-1}, and for the low w-1 bits cut into chunks of at
// most 8 bits (compareChunks) XOR shares of the one-hot vector of every chunk's
// value r_j (2^b bits for a b-bit chunk), plus the material of one multi-input AND.
//
//  1. Every party adds its share of r to its w-bit value and the parties open
//     c = x + r mod 2^w (packed w-bit lanes, added lane by lane). Bit w-1 of x mod
//     2^w is c_{w-1} ^ r_{w-1} ^ [c_low < r_low], the borrow of the low bits of
//     c - r. With c public, every chunk's lt_j = [c_j < r_j] (the XOR of the
//     one-hot bits above c_j) and eq_j = [c_j = r_j] (the one-hot bit at c_j) are
//     local XOR shares.
//  2. The borrow is lt_{k-1} ^ eq_{k-1} lt_{k-2} ^ eq_{k-1} eq_{k-2} lt_{k-3} ^ ...
//     (k chunks). Its monomials are products of up to k of the 2(k-1) inputs eq_1..
//     eq_{k-1}, lt_0..lt_{k-2}, made in ONE round from a multi-input AND: the
//     dealer gives XOR shares of random masks a_s of the inputs and of the product
//     a_T of every subset T of them; the parties open d_s = u_s ^ a_s, and every
//     product of inputs over a set S is the XOR over T ⊆ S of a_T times the
//     product of the public d_s over S \ T, linear in the shares.
//
// Leakage: c is x masked by a uniform r mod 2^w, so it is uniform whatever x is;
// every d_s is masked by a fresh uniform dealer bit a_s. What a coalition of up
// to N-1 parties sees is uniform and independent of x (TestCompareOpeningsUniform).
// The one-hot vectors and products are the dealer's: a dealer-free source makes
// no KindCompare, and its engines keep the adder (Config.LookupComparisons).

// compareChunks returns the bit widths of the chunks of the low width-1 bits of a
// width-bit comparison, low chunk first.
func compareChunks(width int) []int {
	if width == 16 {
		return []int{8, 7}
	}
	return []int{8, 8, 8, 7}
}

// compareTableWords is the number of words of one element's one-hot vectors.
func compareTableWords(width int) int {
	words := 0
	for _, b := range compareChunks(width) {
		words += (1 << b) / 64
	}
	return words
}

// compareInputs is the number of inputs of the multi-input AND of a width-bit
// comparison: eq_1..eq_{k-1} in slots 0..k-2, lt_0..lt_{k-2} in slots k-1..2k-3.
func compareInputs(width int) int { return 2 * (len(compareChunks(width)) - 1) }

// CompareRequest asks for the lookup material of n sign extractions on width bits
// (16 or 32).
func CompareRequest(n, width int) Request {
	return Request{Kind: KindCompare, Shape: []int{n}, Bits: width}
}

// CompareMaterial is one party's share of KindCompare material for n elements:
// R (additive shares of r in [0, 2^w)), OneHot (XOR shares, compareTableWords
// words per element: chunk 0's vector first, bit v of a chunk's words is [r_j =
// v]) and Bits (XOR shares, one word per element: bit 0 is r_{w-1}, bit T for a
// non-empty set T of input slots is the product a_T of their masks, so bit 1<<s
// is the mask a_s of slot s).
type CompareMaterial struct {
	R      sharing.Tensor
	OneHot []uint64
	Bits   []uint64
}

// Compare is the typed view of KindCompare material.
func (m Material) Compare() CompareMaterial {
	return CompareMaterial{R: m.Parts[0], OneHot: m.Parts[1].Data, Bits: m.Parts[2].Data}
}

// generateCompare draws the secret values of a KindCompare request of n elements.
func generateCompare(prg *sharing.PRG, n, width int) []sharing.Tensor {
	r := prg.Tensor(n)
	masks := prg.Tensor(n)
	for i := range r.Data {
		r.Data[i] &= 1<<width - 1
	}
	oneHot, products := compareValues(r.Data, masks.Data, width)
	return []sharing.Tensor{r, {Shape: []int{len(oneHot)}, Data: oneHot}, {Shape: []int{n}, Data: products}}
}

// compareValues returns, for the values r (below 2^width) and random words whose
// low input bits are the masks, the one-hot vectors and the words of r's top bit
// and the masks' subset products (CompareMaterial's layout).
func compareValues(r, masks []uint64, width int) (oneHot, products []uint64) {
	chunks := compareChunks(width)
	tw := compareTableWords(width)
	inputs := compareInputs(width)
	oneHot = make([]uint64, len(r)*tw)
	products = make([]uint64, len(r))
	for i, v := range r {
		off, shift := i*tw, 0
		for _, b := range chunks {
			cv := int(v>>shift) & (1<<b - 1)
			oneHot[off+cv/64] |= 1 << (cv % 64)
			off += (1 << b) / 64
			shift += b
		}
		a := masks[i] & (1<<inputs - 1)
		word := (v >> (width - 1)) & 1
		for set := uint64(1); set < 1<<inputs; set++ {
			if a&set == set {
				word |= 1 << set
			}
		}
		products[i] = word
	}
	return oneHot, products
}

// signBitsLookup is signBits on 16 or 32 bits from KindCompare material: two
// rounds (see the comment at the top of this file).
func (e *Engine) signBitsLookup(ctx context.Context, x []uint64, width int) ([]uint64, error) {
	n := len(x)
	mat, err := e.fetch(ctx, CompareRequest(n, width))
	if err != nil {
		return nil, fmt.Errorf("sign by lookup: preprocessing: %w", err)
	}
	m := mat.Compare()
	opened, err := e.openMaskedLanes(ctx, x, m.R.Data, width)
	if err != nil {
		return nil, fmt.Errorf("sign by lookup: masked values: %w", err)
	}
	u := compareLocalInputs(opened, m, width)
	d, err := e.OpenBinary(ctx, maskInputs(u, m.Bits, compareInputs(width)))
	if err != nil {
		return nil, fmt.Errorf("sign by lookup: masked chunk bits: %w", err)
	}
	return combineSign(e.self == 0, opened, d, u, m.Bits, width), nil
}

// openLanes opens lanes of packed additive shares, each lane added modulo 2^w on
// its own (top marks every lane's top bit), in one round.
func (e *Engine) openLanes(ctx context.Context, words []uint64, top uint64) ([]uint64, error) {
	return e.exchangeWith(ctx, words, opOpenLanes, combination{lanesFrom: 0, xorFrom: len(words), laneTop: top})
}

// unpackLanes is packLanes' inverse: the n width-bit lanes as words.
func unpackLanes(packed []uint64, n, width int) []uint64 {
	out := make([]uint64, n)
	mask := uint64(1)<<width - 1
	for i := range out {
		pos := i * width
		x := packed[pos/64] >> (pos % 64)
		if spill := pos%64 + width - 64; spill > 0 {
			x |= packed[pos/64+1] << (width - spill)
		}
		out[i] = x & mask
	}
	return out
}

// chunkInputs holds one element's local XOR shares of every chunk's lt and eq.
type chunkInputs struct{ lt, eq uint64 }

// compareLocalInputs returns, per element, this party's XOR shares of lt_j (bit j
// of lt) and eq_j (bit j of eq) for the opened c: lt_j is the parity of the
// one-hot bits above c_j, eq_j the bit at c_j.
func compareLocalInputs(c []uint64, m CompareMaterial, width int) []chunkInputs {
	chunks := compareChunks(width)
	tw := compareTableWords(width)
	out := make([]chunkInputs, len(c))
	for i, v := range c {
		off, shift := i*tw, 0
		var in chunkInputs
		for j, b := range chunks {
			cv := int(v>>shift) & (1<<b - 1)
			words := m.OneHot[off : off+(1<<b)/64]
			q := cv / 64
			parity := bits.OnesCount64(words[q] &^ (2<<(cv%64) - 1))
			for _, w := range words[q+1:] {
				parity += bits.OnesCount64(w)
			}
			in.lt |= uint64(parity&1) << j
			in.eq |= (words[q] >> (cv % 64) & 1) << j
			off += (1 << b) / 64
			shift += b
		}
		out[i] = in
	}
	return out
}

// inputSlots returns the multi-input AND's inputs of one element (slot s in bit
// s): eq_1..eq_{k-1}, then lt_0..lt_{k-2}.
func inputSlots(in chunkInputs, k int) uint64 {
	return in.eq>>1&(1<<(k-1)-1) | (in.lt&(1<<(k-1)-1))<<(k-1)
}

// maskInputs packs every element's inputs masked by its a_s, `inputs` bits per
// element, densely: what the second round opens.
func maskInputs(u []chunkInputs, material []uint64, inputs int) []uint64 {
	k := inputs/2 + 1
	out := make([]uint64, (len(u)*inputs+63)/64)
	for i, in := range u {
		putBits(out, i*inputs, inputs, inputSlots(in, k)^inputMasks(material[i], inputs))
	}
	return out
}

// inputMasks gathers the masks a_s of a material word (bit 1<<s) into bit s.
func inputMasks(word uint64, inputs int) uint64 {
	var a uint64
	for s := range inputs {
		a |= (word >> (1 << s) & 1) << s
	}
	return a
}

// putBits writes the low n bits of v at bit position pos of the stream s.
func putBits(s []uint64, pos, n int, v uint64) {
	s[pos/64] |= v << (pos % 64)
	if pos%64+n > 64 {
		s[pos/64+1] |= v >> (64 - pos%64)
	}
}

// getBits reads n bits at bit position pos of the stream s.
func getBits(s []uint64, pos, n int) uint64 {
	v := s[pos/64] >> (pos % 64)
	if pos%64+n > 64 {
		v |= s[pos/64+1] << (64 - pos%64)
	}
	return v & (1<<n - 1)
}

// combineSign returns this party's XOR shares of every element's sign bit,
// packed one bit per element: c_{w-1} (public, party 0) ^ r_{w-1} ^ lt_{k-1} ^
// the monomials eq_{k-1}..eq_{j+1} lt_j for j < k-1, each from the opened d.
func combineSign(first bool, c, d []uint64, u []chunkInputs, material []uint64, width int) []uint64 {
	k := len(compareChunks(width))
	inputs := compareInputs(width)
	out := make([]uint64, (len(c)+63)/64)
	for i, cv := range c {
		b := material[i]&1 ^ u[i].lt>>(k-1)&1
		if first {
			b ^= cv >> (width - 1) & 1
		}
		opened := getBits(d, i*inputs, inputs)
		for j := 0; j < k-1; j++ {
			b ^= productShare(first, monomial(j, k), opened, material[i])
		}
		out[i/64] |= b << (i % 64)
	}
	return out
}

// monomial is the set of input slots whose product is the borrow's term for
// chunk j < k-1: lt_j (slot k-1+j) and eq_i for i > j (slots i-1).
func monomial(j, k int) uint64 {
	set := uint64(1) << (k - 1 + j)
	for i := j + 1; i < k; i++ {
		set |= 1 << (i - 1)
	}
	return set
}

// productShare is this party's XOR share of the product of the inputs in set,
// given the opened d_s = u_s ^ a_s and its shares of the mask products a_T (bit T
// of material): prod_{s in S} (d_s ^ a_s) = XOR over T ⊆ S of a_T prod_{S\T} d_s.
// The product of the d over S \ T is 1 exactly when S \ T lies in the set D of
// ones of d, so the terms are the T from S \ D up to S; the empty T (a_∅ = 1,
// public) is party 0's.
func productShare(first bool, set, d, material uint64) uint64 {
	must := set &^ d
	free := set & d
	var b uint64
	for sub := free; ; sub = (sub - 1) & free {
		t := must | sub
		if t == 0 {
			if first {
				b ^= 1
			}
		} else {
			b ^= material >> t & 1
		}
		if sub == 0 {
			break
		}
	}
	return b
}

// And3Request asks for the material of words*64 three-input ANDs.
func And3Request(words int) Request { return Request{Kind: KindAnd3, Shape: []int{words}} }

// generateAnd3 draws the secret values of a KindAnd3 request of n words: masks
// a, b, c and their products ab, ac, bc, abc.
func generateAnd3(prg *sharing.PRG, n int) []sharing.Tensor {
	masks := prg.Tensor(3 * n)
	products := sharing.Zeros(4 * n)
	for i := range n {
		a, b, c := masks.Data[i], masks.Data[n+i], masks.Data[2*n+i]
		products.Data[i], products.Data[n+i], products.Data[2*n+i], products.Data[3*n+i] = a&b, a&c, b&c, a&b&c
	}
	return []sharing.Tensor{masks, products}
}

// and3 returns XOR shares of x AND y AND z, word by word, in ONE round from
// KindAnd3 material: d = x^a, e = y^b, f = z^c are opened (masked by fresh
// uniform dealer words), and
//
//	xyz = def ^ de c ^ df b ^ ef a ^ d bc ^ e ac ^ f ab ^ abc
//
// (def party 0's), linear in the shares.
func (e *Engine) and3(ctx context.Context, x, y, z []uint64) ([]uint64, error) {
	n := len(x)
	if len(y) != n || len(z) != n {
		return nil, fmt.Errorf("protocol: 3-input AND of %d, %d and %d words", n, len(y), len(z))
	}
	mat, err := e.fetch(ctx, And3Request(n))
	if err != nil {
		return nil, fmt.Errorf("protocol: 3-input AND: preprocessing: %w", err)
	}
	m, p := mat.Parts[0].Data, mat.Parts[1].Data
	a, b, c := m[:n], m[n:2*n], m[2*n:]
	ab, ac, bc, abc := p[:n], p[n:2*n], p[2*n:3*n], p[3*n:]
	masked := make([]uint64, 3*n)
	for i := range n {
		masked[i], masked[n+i], masked[2*n+i] = x[i]^a[i], y[i]^b[i], z[i]^c[i]
	}
	opened, err := e.OpenBinary(ctx, masked)
	if err != nil {
		return nil, fmt.Errorf("protocol: 3-input AND: %w", err)
	}
	out := make([]uint64, n)
	for i := range n {
		d, f, g := opened[i], opened[n+i], opened[2*n+i]
		out[i] = d&f&c[i] ^ d&g&b[i] ^ f&g&a[i] ^ d&bc[i] ^ f&ac[i] ^ g&ab[i] ^ abc[i]
		if e.self == 0 {
			out[i] ^= d & f & g
		}
	}
	return out, nil
}

// andAll3 is andAll from three-input ANDs: a tree of and3 calls, one round per
// level, ceil(log3(len(slots))) rounds. A level's leftover pair is ANDed with a
// slot of ones (party 0's), a leftover single slot passes on.
func (e *Engine) andAll3(ctx context.Context, slots [][]uint64) ([]uint64, error) {
	for level := 0; len(slots) > 1; level++ {
		w := len(slots[0])
		if len(slots)%3 == 2 {
			ones := make([]uint64, w)
			if e.self == 0 {
				for i := range ones {
					ones[i] = ^uint64(0)
				}
			}
			slots = append(slots, ones)
		}
		groups := len(slots) / 3
		ins := [3][]uint64{}
		for k := range ins {
			ins[k] = make([]uint64, 0, groups*w)
			for g := range groups {
				ins[k] = append(ins[k], slots[3*g+k]...)
			}
		}
		z, err := e.and3(ctx, ins[0], ins[1], ins[2])
		if err != nil {
			return nil, fmt.Errorf("AND tree level %d: %w", level, err)
		}
		next := make([][]uint64, 0, groups+1)
		for g := range groups {
			next = append(next, z[g*w:(g+1)*w:(g+1)*w])
		}
		slots = append(next, slots[3*groups:]...)
	}
	return slots[0], nil
}

// andTreeRounds is the number of rounds of andAll over the given number of
// slots: ceil(log2) by AND triples, ceil(log3) by three-input ANDs (lookup).
func andTreeRounds(slots int, lookup bool) int {
	rounds := 0
	for fan := 2 + btoi(lookup); slots > 1; rounds++ {
		slots = (slots + fan - 1) / fan
	}
	return rounds
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
