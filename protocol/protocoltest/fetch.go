// Package protocoltest helps tests of the protocol packages and of their users:
// typed requests to a preprocessing source, and running N parties together.
package protocoltest

import (
	"context"
	"fmt"
	"math"

	"github.com/tessera-mpc/tessera/protocol"
)

func fetch[T any](ctx context.Context, src protocol.Source, req protocol.Request, view func(protocol.Material) T) (T, error) {
	m, err := src.Fetch(ctx, req)
	if err != nil {
		var zero T
		return zero, err
	}
	return view(m), nil
}

// Triple asks src for an element-wise or matrix triple.
func Triple(ctx context.Context, src protocol.Source, req protocol.Request) (protocol.Triple, error) {
	return fetch(ctx, src, req, protocol.Material.Triple)
}

// SquarePair asks src for a square pair of the given shape.
func SquarePair(ctx context.Context, src protocol.Source, shape []int) (protocol.SquarePair, error) {
	return fetch(ctx, src, protocol.SquareRequest(shape), protocol.Material.SquarePair)
}

// AndTriple asks src for words*64 AND triples.
func AndTriple(ctx context.Context, src protocol.Source, words int) (protocol.BinaryTriple, error) {
	return fetch(ctx, src, protocol.AndRequest(words), protocol.Material.BinaryTriple)
}

// DaBits asks src for n daBits.
func DaBits(ctx context.Context, src protocol.Source, n int) (protocol.DaBits, error) {
	return fetch(ctx, src, protocol.DaBitRequest(n), protocol.Material.DaBits)
}

// TruncPair asks src for truncation material of the given shape and shift.
func TruncPair(ctx context.Context, src protocol.Source, shape []int, bits int) (protocol.TruncPair, error) {
	return fetch(ctx, src, protocol.TruncRequest(shape, bits), protocol.Material.TruncPair)
}

// CheckTruncSignPairs reconstructs the parties' shares of KindTruncSign
// material for a truncation by b bits and returns an error unless every
// element is well formed (R a multiple of 2^b below 2^(b+33), RShifted and
// RMSB its bits b..b+31 and b+32, the XOR shares those of RShifted) and the
// 33 random bits of R are plausibly uniform (each bit set in 40-60% of the
// elements, over at least 200).
func CheckTruncSignPairs(shares []protocol.TruncSignPair, b int) error {
	if len(shares) == 0 {
		return fmt.Errorf("no shares")
	}
	n := shares[0].R.Len()
	ones := make([]int, 33)
	for i := range n {
		var r, sh, msb, bits uint64
		for _, s := range shares {
			if s.R.Len() != n || s.RShifted.Len() != n || s.RMSB.Len() != n || len(s.Bits) != n {
				return fmt.Errorf("shares of different lengths")
			}
			r, sh, msb = r+s.R.Data[i], sh+s.RShifted.Data[i], msb+s.RMSB.Data[i]
			bits ^= s.Bits[i]
		}
		if r&(1<<b-1) != 0 || r>>(b+33) != 0 {
			return fmt.Errorf("element %d: R = %#x is not a multiple of 2^%d below 2^%d", i, r, b, b+33)
		}
		if sh != r>>b&(1<<32-1) || msb != r>>(b+32) || bits&(1<<32-1) != sh {
			return fmt.Errorf("element %d: R = %#x, RShifted %#x, RMSB %#x, bits %#x", i, r, sh, msb, bits&(1<<32-1))
		}
		for j := range ones {
			ones[j] += int(r >> (b + j) & 1)
		}
	}
	for j, c := range ones {
		if n >= 200 && !FairCoin(c, n) {
			return fmt.Errorf("bit %d of R is set in %d of %d elements", b+j, c, n)
		}
	}
	return nil
}

// FairCoin reports whether ones out of n uniform bits is within 5 standard
// deviations of n/2: a check that fails by chance with probability below
// 6e-7, so that a test may make a few hundred of them (a bound of 0.4n..0.6n
// at n = 300 is only 3.5 deviations, and failed about once in 15 runs of a
// test making 132 of them).
func FairCoin(ones, n int) bool {
	return math.Abs(float64(ones)-float64(n)/2) <= 5*math.Sqrt(float64(n))/2
}
