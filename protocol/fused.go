package protocol

import (
	"context"
	"fmt"

	"github.com/tessera-mpc/tessera/sharing"
)

// Products of truncated values without a round of their own.
//
// A wrap-safe truncation (TruncateEach) opens c = x + r (+ 2^62) and leaves
//
//	y = P + L,  P public (from c),  L = alpha m H - s,
//
// with alpha = 1 - 2 msb(c) public, H = 2^(63-b), and m, s the shared bit
// msb(r) and (r mod 2^63) >> b of the truncation pair. The opening already masks
// y as a Beaver opening would: y1 y2 = P1 P2 + P1 L2 + P2 L1 + L1 L2, and L1 L2
// is a public combination of m1 m2, m1 s2, s1 m2 and s1 s2, products of
// preprocessing material alone. Those are computed with ordinary Beaver
// products, in a round that some earlier opening of the computation already
// takes (their openings depend on no data), so a chain
// "multiply, truncate, multiply, truncate" costs one round per link instead of
// two. Leakage: the material's Beaver openings are masked by fresh triples, and
// the truncation openings are those of TruncateEach; nothing else is opened.

// held is a truncation's output kept in that form, possibly negated and shifted
// by a public constant: pub + sigma L, sigma = -1 when flip.
type held struct {
	pub  []uint64 // P, public: every party holds the same
	neg  []bool   // alpha = -1
	high uint64   // H
	m, s []uint64 // this party's shares of msb(r) and (r mod 2^63) >> b
	flip bool
}

// l returns this party's share of sigma L at element i.
func (h held) l(i int) uint64 {
	v := alphaOf(h, i)*h.m[i]*h.high - h.s[i]
	if h.flip {
		return -v
	}
	return v
}

// alphaOf is alpha at element i: 1, or -1 in the ring.
func alphaOf(h held, i int) uint64 {
	if h.neg[i] {
		return ^uint64(0)
	}
	return 1
}

// share returns this party's additive share of the held value.
func (h held) share(self int) []uint64 {
	out := make([]uint64, len(h.pub))
	for i := range out {
		out[i] = h.l(i)
		if self == 0 {
			out[i] += h.pub[i]
		}
	}
	return out
}

// plus returns h + c for a public ring value c.
func (h held) plus(c uint64) held {
	out := h
	out.pub = make([]uint64, len(h.pub))
	for i, p := range h.pub {
		out.pub[i] = p + c
	}
	return out
}

// negated returns -h.
func (h held) negated() held {
	out := h
	out.pub = make([]uint64, len(h.pub))
	for i, p := range h.pub {
		out.pub[i] = -p
	}
	out.flip = !h.flip
	return out
}

// repeated returns h with every element repeated k times in a row (a column
// broadcast to k columns).
func (h held) repeated(k int) held {
	out := held{high: h.high, flip: h.flip}
	for i := range h.pub {
		for range k {
			out.pub = append(out.pub, h.pub[i])
			out.neg = append(out.neg, h.neg[i])
			out.m = append(out.m, h.m[i])
			out.s = append(out.s, h.s[i])
		}
	}
	return out
}

// fusedTrunc is a truncation by bits with its pair fetched ahead.
type fusedTrunc struct {
	bits int
	pair TruncPair
}

func (e *Engine) fetchTrunc(ctx context.Context, n, bits int) (fusedTrunc, error) {
	mat, err := e.fetch(ctx, TruncRequest([]int{n}, bits))
	if err != nil {
		return fusedTrunc{}, fmt.Errorf("truncation: preprocessing: %w", err)
	}
	return fusedTrunc{bits: bits, pair: mat.TruncPair()}, nil
}

// truncateHeld truncates xs[i] with ts[i], all in one round (the openings of
// TruncateEach), and keeps the results held. The extra tensors are opened in the
// same round and returned.
func (e *Engine) truncateHeld(ctx context.Context, xs [][]uint64, ts []fusedTrunc, extra ...sharing.Tensor) ([]held, []sharing.Tensor, error) {
	const bias = uint64(1) << 62
	masked := make([]sharing.Tensor, len(xs))
	for k, x := range xs {
		if len(x) != ts[k].pair.R.Len() {
			return nil, nil, fmt.Errorf("truncation of %d elements with a pair for %d", len(x), ts[k].pair.R.Len())
		}
		m := sharing.Zeros(len(x))
		for j, v := range x {
			m.Data[j] = v + ts[k].pair.R.Data[j]
			if e.self == 0 {
				m.Data[j] += bias
			}
		}
		masked[k] = m
	}
	opened, err := e.Open(ctx, append(masked, extra...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("truncation: %w", err)
	}
	out := make([]held, len(xs))
	for k, c := range opened[:len(xs)] {
		b := ts[k].bits
		h := held{pub: make([]uint64, c.Len()), neg: make([]bool, c.Len()), high: uint64(1) << (63 - b),
			m: ts[k].pair.RMSB.Data, s: ts[k].pair.RShifted.Data}
		for j, cv := range c.Data {
			cMSB := cv >> 63
			h.neg[j] = cMSB == 1
			h.pub[j] = cMSB*h.high + (cv&^(1<<63))>>b - bias>>b
		}
		out[k] = h
	}
	return out, opened[len(xs):], nil
}

// crossTerms are this party's shares of the material products a held product
// needs: m1 m2, m1 s2, s1 m2, s1 s2 (for a held times a plain sharing x: x m and
// x s in mm and ms).
type crossTerms struct{ mm, ms, sm, ss []uint64 }

// product names the factors of one product to prepare: the outputs of truncations
// a and b (b's elements each repeated repeatB times; square when b is a), or a
// plain sharing x and truncation b's output.
type product struct {
	a, b    fusedTrunc
	x       []uint64
	repeatB int
	square  bool
}

func repeatWords(v []uint64, k int) []uint64 {
	if k <= 1 {
		return v
	}
	out := make([]uint64, 0, k*len(v))
	for _, w := range v {
		for range k {
			out = append(out, w)
		}
	}
	return out
}

// pendingProducts is the Beaver material for the cross terms of some products,
// fetched ahead; its openings join a round of the caller's.
type pendingProducts struct {
	products []product
	triples  []Triple
	squares  []SquarePair // s s of each square
}

// prepareProducts fetches the Beaver material for the cross terms of each
// product and returns it with what to open. A square needs m s (a triple) and
// s s (a square pair), since m m = m for a bit; a product of two truncations all
// four, stacked on one triple; a plain sharing x times a truncation x m and x s.
func (e *Engine) prepareProducts(ctx context.Context, products []product) (*pendingProducts, []sharing.Tensor, error) {
	p := &pendingProducts{products: products}
	var open []sharing.Tensor
	vec := func(d []uint64) sharing.Tensor { return sharing.Tensor{Shape: []int{len(d)}, Data: d} }
	for _, pr := range products {
		m2, s2 := repeatWords(pr.b.pair.RMSB.Data, pr.repeatB), repeatWords(pr.b.pair.RShifted.Data, pr.repeatB)
		var left, right []uint64
		switch {
		case pr.square:
			left, right = m2, s2
		case pr.x != nil:
			left, right = concat(pr.x, pr.x), concat(m2, s2)
		default:
			m1, s1 := pr.a.pair.RMSB.Data, pr.a.pair.RShifted.Data
			left, right = concat(m1, m1, s1, s1), concat(m2, s2, m2, s2)
		}
		mat, err := e.fetch(ctx, ElementwiseRequest([]int{len(left)}))
		if err != nil {
			return nil, nil, fmt.Errorf("held product: preprocessing: %w", err)
		}
		t := mat.Triple()
		p.triples = append(p.triples, t)
		open = append(open, sharing.Sub(vec(left), t.A), sharing.Sub(vec(right), t.B))
		if pr.square {
			if mat, err = e.fetch(ctx, SquareRequest([]int{len(s2)})); err != nil {
				return nil, nil, fmt.Errorf("held product: preprocessing: %w", err)
			}
			sq := mat.SquarePair()
			p.squares = append(p.squares, sq)
			open = append(open, sharing.Sub(vec(s2), sq.A))
		}
	}
	return p, open, nil
}

func concat(parts ...[]uint64) []uint64 {
	var out []uint64
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// finish completes the Beaver products from their opened differences (in the
// order prepareProducts returned them).
func (p *pendingProducts) finish(self int, opened []sharing.Tensor) []crossTerms {
	out := make([]crossTerms, len(p.products))
	next, squares := 0, 0
	beaver := func(a, b, c, d, f []uint64) []uint64 {
		z := make([]uint64, len(c))
		for i := range z {
			z[i] = c[i] + d[i]*b[i] + f[i]*a[i]
			if self == 0 {
				z[i] += d[i] * f[i]
			}
		}
		return z
	}
	for k, pr := range p.products {
		t := p.triples[k]
		z := beaver(t.A.Data, t.B.Data, t.C.Data, opened[next].Data, opened[next+1].Data)
		next += 2
		n := len(z) / 2
		switch {
		case pr.square:
			sq, ds := p.squares[squares], opened[next].Data
			squares++
			next++
			ss := beaver(sq.A.Data, sq.A.Data, sq.A2.Data, ds, ds)
			out[k] = crossTerms{mm: pr.b.pair.RMSB.Data, ms: z, sm: z, ss: ss}
		case pr.x != nil:
			out[k] = crossTerms{mm: z[:n], ms: z[n:]}
		default:
			n = len(z) / 4
			out[k] = crossTerms{mm: z[:n], ms: z[n : 2*n], sm: z[2*n : 3*n], ss: z[3*n:]}
		}
	}
	return out
}

// heldMul returns this party's share of the element-wise ring product of two
// held values, with the cross terms of their truncations: no communication.
//
//	(Pa + sa La)(Pb + sb Lb) = Pa Pb + Pa sb Lb + Pb sa La + sa sb La Lb,
//	La Lb = aa ab Ha Hb mm - aa Ha ms - ab Hb sm + ss.
func heldMul(self int, a, b held, ct crossTerms) []uint64 {
	out := make([]uint64, len(a.pub))
	hh := a.high * b.high
	sigma := uint64(1)
	if a.flip != b.flip {
		sigma = ^uint64(0)
	}
	for i := range out {
		aa, ab := alphaOf(a, i), alphaOf(b, i)
		v := a.pub[i]*b.l(i) + b.pub[i]*a.l(i) + sigma*(aa*ab*hh*ct.mm[i]-aa*a.high*ct.ms[i]-ab*b.high*ct.sm[i]+ct.ss[i])
		if self == 0 {
			v += a.pub[i] * b.pub[i]
		}
		out[i] = v
	}
	return out
}

// sharedMul returns this party's share of x * h for a plain sharing x and a held
// h, with the cross terms x m and x s of h's truncation: x P + sigma (alpha H x m
// - x s).
func sharedMul(x []uint64, h held, ct crossTerms) []uint64 {
	sigma := uint64(1)
	if h.flip {
		sigma = ^uint64(0)
	}
	out := make([]uint64, len(x))
	for i := range out {
		out[i] = h.pub[i]*x[i] + sigma*(alphaOf(h, i)*h.high*ct.mm[i]-ct.ms[i])
	}
	return out
}
