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

// held is a truncation's output kept in that form.
type held struct {
	pub  []uint64 // P, public: every party holds the same
	neg  []bool   // alpha = -1
	high uint64   // H
	m, s []uint64 // this party's shares of msb(r) and (r mod 2^63) >> b
}

// share returns this party's additive share of the held value.
func (h held) share(self int) []uint64 {
	out := make([]uint64, len(h.pub))
	for i := range out {
		v := h.m[i]*h.high - h.s[i]
		if h.neg[i] {
			v = -h.m[i]*h.high - h.s[i]
		}
		if self == 0 {
			v += h.pub[i]
		}
		out[i] = v
	}
	return out
}

// addPublic adds the public ring value c to every element of a held value.
func (h held) addPublic(c uint64) held {
	out := h
	out.pub = make([]uint64, len(h.pub))
	for i, p := range h.pub {
		out.pub[i] = p + c
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
// TruncateEach), and keeps the results held.
func (e *Engine) truncateHeld(ctx context.Context, xs [][]uint64, ts []fusedTrunc) ([]held, error) {
	const bias = uint64(1) << 62
	masked := make([]sharing.Tensor, len(xs))
	for k, x := range xs {
		if len(x) != ts[k].pair.R.Len() {
			return nil, fmt.Errorf("truncation of %d elements with a pair for %d", len(x), ts[k].pair.R.Len())
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
	opened, err := e.Open(ctx, masked...)
	if err != nil {
		return nil, fmt.Errorf("truncation: %w", err)
	}
	out := make([]held, len(xs))
	for k, c := range opened {
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
	return out, nil
}

// crossTerms are this party's shares of the material products a held product
// needs: m1 m2, m1 s2, s1 m2, s1 s2.
type crossTerms struct{ mm, ms, sm, ss []uint64 }

// heldPair names two truncations whose outputs will be multiplied; square when
// it is one truncation's output by itself (then b is a).
type heldPair struct {
	a, b   fusedTrunc
	square bool
}

func squareOf(t fusedTrunc) heldPair { return heldPair{a: t, b: t, square: true} }

// pendingProducts is the Beaver material for the cross terms of some products
// of held values, fetched ahead; its openings join a round of the caller's.
type pendingProducts struct {
	pairs   []heldPair
	triples []Triple
}

// prepareProducts fetches the triples for the cross terms of each held product
// and returns them with what to open.
func (e *Engine) prepareProducts(ctx context.Context, pairs []heldPair) (*pendingProducts, []sharing.Tensor, error) {
	p := &pendingProducts{pairs: pairs}
	var open []sharing.Tensor
	for _, pr := range pairs {
		left, right := crossOperands(pr)
		mat, err := e.fetch(ctx, ElementwiseRequest([]int{len(left)}))
		if err != nil {
			return nil, nil, fmt.Errorf("held product: preprocessing: %w", err)
		}
		t := mat.Triple()
		p.triples = append(p.triples, t)
		l, r := sharing.Tensor{Shape: []int{len(left)}, Data: left}, sharing.Tensor{Shape: []int{len(right)}, Data: right}
		open = append(open, sharing.Sub(l, t.A), sharing.Sub(r, t.B))
	}
	return p, open, nil
}

// crossOperands stacks the factors of the cross terms: for a square (one
// truncation) m s and s s, since m m = m for a bit; otherwise all four.
func crossOperands(pr heldPair) (left, right []uint64) {
	m1, s1 := pr.a.pair.RMSB.Data, pr.a.pair.RShifted.Data
	m2, s2 := pr.b.pair.RMSB.Data, pr.b.pair.RShifted.Data
	if pr.square {
		return concat(m1, s1), concat(s1, s1)
	}
	return concat(m1, m1, s1, s1), concat(m2, s2, m2, s2)
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
	out := make([]crossTerms, len(p.pairs))
	for k, pr := range p.pairs {
		t, d, f := p.triples[k], opened[2*k].Data, opened[2*k+1].Data
		z := make([]uint64, t.C.Len())
		for i := range z {
			z[i] = t.C.Data[i] + d[i]*t.B.Data[i] + f[i]*t.A.Data[i]
			if self == 0 {
				z[i] += d[i] * f[i]
			}
		}
		n := pr.a.pair.R.Len()
		if pr.square {
			out[k] = crossTerms{mm: pr.a.pair.RMSB.Data, ms: z[:n], sm: z[:n], ss: z[n:]}
		} else {
			out[k] = crossTerms{mm: z[:n], ms: z[n : 2*n], sm: z[2*n : 3*n], ss: z[3*n:]}
		}
	}
	return out
}

// heldMul returns this party's share of the element-wise ring product of two
// held values, with the cross terms of their truncations: no communication.
func heldMul(self int, a, b held, ct crossTerms) []uint64 {
	out := make([]uint64, len(a.pub))
	hh := a.high * b.high
	for i := range out {
		la := a.m[i]*a.high - a.s[i]
		alphaA, alphaB := uint64(1), uint64(1)
		if a.neg[i] {
			la, alphaA = -a.m[i]*a.high-a.s[i], ^uint64(0)
		}
		lb := b.m[i]*b.high - b.s[i]
		if b.neg[i] {
			lb, alphaB = -b.m[i]*b.high-b.s[i], ^uint64(0)
		}
		v := a.pub[i]*lb + b.pub[i]*la + alphaA*alphaB*hh*ct.mm[i] - alphaA*a.high*ct.ms[i] - alphaB*b.high*ct.sm[i] + ct.ss[i]
		if self == 0 {
			v += a.pub[i] * b.pub[i]
		}
		out[i] = v
	}
	return out
}
