package ot

import (
	"context"
	"fmt"
	"sync"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

//go:generate go run gen_corrpack.go

// Element-wise triples and square pairs over Z_2^64 by Gilboa's product from
// correlated OT: for a cross term a_i * b_j (i != j), j chooses with the 64 bits
// of b_j, and the OT of bit k carries the correlation a_i * 2^k, which needs
// only its 64-k low bits on the wire (doc.go, "Products").

// maxProductElems bounds a batch: 64 OTs per element, so a u message of
// 32 words per element (2 MiB) and corrections of 32.5 words per element; the
// receiver holds a 64-word OT output per element for every peer at once
// (4 MiB per peer), the sender one chunk's (productCorrections).
const maxProductElems = 1 << 13

// correctionBits is the packed length of one element's corrections: bit k's
// correction has 64-k bits.
const correctionBits = 64 * 65 / 2

// correctionWords is the length of a batch's corrections, packed end to end.
func correctionWords(w int) int { return (correctionBits*w + 63) / 64 }

// elementwiseTriple makes this party's shares of A, B and C = A ⊙ B.
func (p *Party) elementwiseTriple(ctx context.Context, shape []int) (protocol.Material, error) {
	size, err := productSize(shape)
	if err != nil {
		return protocol.Material{}, err
	}
	if err := p.lock(ctx); err != nil {
		return protocol.Material{}, err
	}
	defer p.mu.Unlock()
	a, b := p.private(size), p.private(size)
	c, err := p.products(ctx, a, b, false)
	if err != nil {
		return protocol.Material{}, fmt.Errorf("ot: element-wise triples: %w", err)
	}
	return protocol.Material{Parts: []sharing.Tensor{tensor(a, shape), tensor(b, shape), tensor(c, shape)}}, nil
}

// squarePair makes this party's shares of A and A ⊙ A: A^2 = sum_i a_i^2 +
// 2 sum_{i<j} a_i a_j, so only the pairs with the sender first are run, with
// the correlation doubled.
func (p *Party) squarePair(ctx context.Context, shape []int) (protocol.Material, error) {
	size, err := productSize(shape)
	if err != nil {
		return protocol.Material{}, err
	}
	if err := p.lock(ctx); err != nil {
		return protocol.Material{}, err
	}
	defer p.mu.Unlock()
	a := p.private(size)
	c, err := p.products(ctx, a, a, true)
	if err != nil {
		return protocol.Material{}, fmt.Errorf("ot: square pairs: %w", err)
	}
	return protocol.Material{Parts: []sharing.Tensor{tensor(a, shape), tensor(c, shape)}}, nil
}

func productSize(shape []int) (int, error) {
	size := 1
	for _, d := range shape {
		if d < 0 || d > protocol.MaxMessageElements || size*d > protocol.MaxMessageElements {
			return 0, fmt.Errorf("ot: product material of shape %v is out of range", shape)
		}
		size *= d
	}
	return size, nil
}

func tensor(data []uint64, shape []int) sharing.Tensor {
	t, err := sharing.FromData(data, shape...)
	if err != nil {
		panic(err) // unreachable: sizes come from the shape
	}
	return t
}

// products returns this party's share of sum_i a_i ⊙ sum_j b_j, in batches.
// With square set (a = b), only pairs with sender < receiver run, doubled.
func (p *Party) products(ctx context.Context, a, b []uint64, square bool) ([]uint64, error) {
	c := make([]uint64, len(a))
	for done := 0; done < len(a); {
		m := min(maxProductElems, len(a)-done)
		if err := p.productBatch(ctx, a[done:done+m], b[done:done+m], c[done:done+m], square); err != nil {
			return nil, err
		}
		done += m
	}
	return c, nil
}

// runs reports whether the OTs with sender s and receiver r run.
func runs(s, r int, square bool) bool { return s != r && (!square || s < r) }

// productBatch adds this party's share of the batch's products to c: its own
// a_i b_i, then for every ordered pair that runs, the Gilboa shares.
func (p *Party) productBatch(ctx context.Context, a, b, c []uint64, square bool) error {
	w := len(a)
	mult := uint64(1)
	if square {
		mult = 2
	}
	for e := range c {
		c[e] = a[e] * b[e]
	}
	var from, to []int // the peers this party receives from and sends to
	for _, q := range p.peers() {
		if runs(q, p.self, square) {
			from = append(from, q)
		}
		if runs(p.self, q, square) {
			to = append(to, q)
		}
	}
	// Receiver role: the choices are the bits of b, 64 OTs per element.
	xc, recvBatch, err := p.extendAsReceiver(ctx, from, b, outWords, "product extension matrix")
	if err != nil {
		return err
	}
	// Sender role: correlation mult * a * 2^k for the OT of bit k.
	us, pooled := make([][]uint64, p.n), make([]bool, p.n)
	for _, q := range to {
		body, err := p.recvMsg(ctx, q, tagU, p.send[q].batch, 8*uWords(w), "product extension matrix")
		if err != nil {
			return err
		}
		us[q], pooled[q] = wordsOf(body)
	}
	msgs, own := make([]wordMessage, p.n), make([][]uint64, p.n)
	var wg sync.WaitGroup
	for _, q := range to {
		msgs[q] = newWordMessage(tagE, p.send[q].batch, correctionWords(w))
		own[q] = make([]uint64, w)
		wg.Go(func() { p.productCorrections(q, us[q], a, mult, msgs[q].body(), own[q]) })
	}
	wg.Wait()
	for _, q := range to {
		if pooled[q] {
			putWords(us[q])
		}
		for e, v := range own[q] {
			c[e] -= v
		}
		if err := p.sendMessage(ctx, q, msgs[q], "product correction"); err != nil {
			return err
		}
	}
	// Receiver role: x_c + c * e' for every bit, scaled by 2^k, read from the
	// message in place. Every correction is read and masked by the choice bit:
	// a branch on the bits of b (uniform) was mispredicted half the time.
	for _, q := range from {
		body, err := p.recvMsg(ctx, q, tagE, recvBatch[q], 8*correctionWords(w), "product correction")
		if err != nil {
			return err
		}
		addProductShares(c, b, xc[q], body)
		putWords(xc[q])
	}
	return nil
}

// addProductShares adds to c[e] the receiver's share of a peer's cross term,
// sum_k 2^k (x_c + b_ek * e'), from the OT outputs x (64 per element) and the
// packed corrections e' in body: two elements at a time through
// unpackCorrectionPair, then an odd last one through a byteUnpacker.
func addProductShares(c, b, x []uint64, body []byte) {
	var corr [128]uint64
	add := func(e int, corr []uint64) {
		be, xe := b[e], x[64*e:64*e+64]
		var sum uint64
		for k := range 64 {
			sum += (xe[k] + -(be>>uint(k)&1)&corr[k]) << uint(k)
		}
		c[e] += sum
	}
	e := 0
	for ; e+1 < len(c); e += 2 {
		unpackCorrectionPair(&corr, body[8*65*(e/2):])
		add(e, corr[:64])
		add(e+1, corr[64:])
	}
	if e < len(c) {
		un := byteUnpacker{in: body, pos: 64 * 65 * (e / 2)}
		un.get(corr[:64], descendingWidths[:])
		add(e, corr[:64])
	}
}

// productCorrections is the sender's half of a product batch towards q, run
// for every peer at once: from q's u it packs the corrections mult a_e 2^k +
// x0 - x1 of every bit k of every element e into corr and writes sum_k x0 2^k,
// this party's share to subtract, into own[e], chunk by chunk as the
// extension hashes them (never the batch's 2 x 64w words of x0, x1).
func (p *Party) productCorrections(q int, u, a []uint64, mult uint64, corr, own []uint64) {
	pk := packer{out: corr}
	p.send[q].extendEach(p.h, u, len(a), func(c0 int, x0, x1 []uint64) {
		m := len(x0) / 64
		for i := range m {
			z := mult * a[c0+i]
			x0i, x1i := x0[64*i:64*i+64], x1[64*i:64*i+64] // the corrections overwrite x1
			var sum uint64
			for k := range 64 {
				x1i[k] = z + x0i[k] - x1i[k]
				sum += x0i[k] << uint(k)
			}
			own[c0+i] = sum
		}
		pk.putCorrections(x1[:64*m])
	})
}

// putCorrections puts the product corrections of len(vals)/64 elements
// (value k of each of 64-k bits): two elements, 65 words, at a time through
// packCorrectionPair while the packer is at a word boundary (after an even
// number of elements), the others through put.
func (pk *packer) putCorrections(vals []uint64) {
	for len(vals) >= 128 && pk.n == 0 {
		packCorrectionPair((*[65]uint64)(pk.out[pk.i:pk.i+65]), (*[128]uint64)(vals[:128]))
		pk.i += 65
		vals = vals[128:]
	}
	for ; len(vals) >= 64; vals = vals[64:] {
		pk.put(vals[:64], descendingWidths[:])
	}
}

// packer writes values of given bit lengths one after the other, each into
// the bits after the last. put keeps the word being filled in a register
// and stores it whole at every value (and at the end), without a branch: packing used to OR
// each value into memory, so that every value waited on the store of the one
// before, and to branch on whether it crossed a word, which widths that vary
// from value to value made the branch predictor miss. out's words need not be
// zero.
type packer struct {
	out []uint64
	i   int    // words filled
	acc uint64 // the bits of word i so far, the n low ones
	n   uint   // bits in acc, below 64
}

// put appends the widths[k] low bits of vals[k] for every k (each width from 1
// to 64); with BMI2, in packBMI2.
func (pk *packer) put(vals []uint64, widths []uint8) {
	widths = widths[:len(vals)]
	if haveBMI2 && len(vals) > 0 && len(pk.out) > 0 {
		st := [3]uint64{uint64(pk.i), pk.acc, uint64(pk.n)}
		if !packBMI2(&pk.out[0], len(pk.out), &vals[0], len(vals), &widths[0], &st) {
			panic("ot: packed values overflow their message") // unreachable: messages are sized from the widths
		}
		pk.i, pk.acc, pk.n = int(st[0]), st[1], uint(st[2])
		return
	}
	pk.putGo(vals, widths)
}

// putGo is put one value at a time in Go.
func (pk *packer) putGo(vals []uint64, widths []uint8) {
	out, i, acc, n := pk.out, pk.i, pk.acc, pk.n
	for k, v := range vals {
		bits := uint(widths[k])
		v &= ^uint64(0) >> ((64 - bits) & 63)
		acc |= v << (n & 63)
		out[i] = acc
		end := n + bits
		full := uint64(end >> 6) // 1 when word i is full
		// What of v did not fit in word i starts word i+1: v>>(64-n), in two
		// shifts so that n = 0 gives 0.
		acc = acc&(full-1) | v>>1>>((63-n)&63)&-full
		i += int(full)
		n = end & 63
	}
	if n > 0 { // the bits of v that started word i
		out[i] = acc
	}
	pk.i, pk.acc, pk.n = i, acc, n
}

// bits is how many bits have been written.
func (pk *packer) bits() int { return 64*pk.i + int(pk.n) }

// descendingWidths are the widths of an element's product corrections: bit
// k's has 64-k bits.
var descendingWidths = func() (w [64]uint8) {
	for k := range w {
		w[k] = uint8(64 - k)
	}
	return w
}()
