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

// pendingProducts is the Beaver material for the cross terms of the squares of
// some truncations' outputs, fetched ahead; its openings join a round of the
// caller's.
type pendingProducts struct {
	truncs  []fusedTrunc
	triples []Triple     // m s
	squares []SquarePair // s s
}

// prepareSquares fetches the Beaver material for the cross terms of the square
// of each truncation's output, m s and s s (m m = m for a bit), and returns it
// with what to open.
func (e *Engine) prepareSquares(ctx context.Context, truncs []fusedTrunc) (*pendingProducts, []sharing.Tensor, error) {
	p := &pendingProducts{truncs: truncs}
	var open []sharing.Tensor
	for _, t := range truncs {
		m, s := t.pair.RMSB, t.pair.RShifted
		mat, err := e.fetch(ctx, ElementwiseRequest(m.Shape))
		if err != nil {
			return nil, nil, fmt.Errorf("held square: preprocessing: %w", err)
		}
		tr := mat.Triple()
		if mat, err = e.fetch(ctx, SquareRequest(s.Shape)); err != nil {
			return nil, nil, fmt.Errorf("held square: preprocessing: %w", err)
		}
		sq := mat.SquarePair()
		p.triples, p.squares = append(p.triples, tr), append(p.squares, sq)
		open = append(open, sharing.Sub(m, tr.A), sharing.Sub(s, tr.B), sharing.Sub(s, sq.A))
	}
	return p, open, nil
}

// finish completes the Beaver products from their opened differences (in the
// order prepareSquares returned them).
func (p *pendingProducts) finish(self int, opened []sharing.Tensor) []crossTerms {
	out := make([]crossTerms, len(p.truncs))
	for k, t := range p.truncs {
		tr, sq := p.triples[k], p.squares[k]
		d, f, ds := opened[3*k].Data, opened[3*k+1].Data, opened[3*k+2].Data
		ms, ss := make([]uint64, len(d)), make([]uint64, len(d))
		for i := range ms {
			ms[i] = tr.C.Data[i] + d[i]*tr.B.Data[i] + f[i]*tr.A.Data[i]
			ss[i] = sq.A2.Data[i] + 2*ds[i]*sq.A.Data[i]
			if self == 0 {
				ms[i] += d[i] * f[i]
				ss[i] += ds[i] * ds[i]
			}
		}
		out[k] = crossTerms{mm: t.pair.RMSB.Data, ms: ms, sm: ms, ss: ss}
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
