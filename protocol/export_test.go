package protocol

import (
	"context"
	"slices"

	"github.com/tessera-mpc/tessera/sharing"
)

// MaxRowsOnLanes exposes maxRows with a comparison width to the tests.
func (e *Engine) MaxRowsOnLanes(ctx context.Context, x sharing.Tensor, width int) (sharing.Tensor, error) {
	return e.maxRows(ctx, x, width)
}

// RideForTest queues an additive opening for the next opening round (ride) and
// returns a function that gives its sum once that round has run.
func (e *Engine) RideForTest(words []uint64) func() []uint64 {
	r := e.ride(words)
	return func() []uint64 { return r.sum }
}

// SignBitsForTest exposes signBits (XOR shares of bit width-1, packed).
func (e *Engine) SignBitsForTest(ctx context.Context, x []uint64, width int) ([]uint64, error) {
	return e.signBits(ctx, x, width)
}

// LookupSignForTest runs the lookup sign's local steps for every party of a
// simulated session whose dealer drew r and the masks (low input bits of each
// word) and whose shares come from rng, and returns the sign bits it opens:
// the combine checked on chosen r, without a network.
func LookupSignForTest(x, r, masks []uint64, width, parties int, rng *sharing.PRG) []uint64 {
	oneHot, products := compareValues(r, masks, width)
	n := len(x)
	shares := make([]CompareMaterial, parties)
	restR, restHot, restBits := slices.Clone(r), slices.Clone(oneHot), slices.Clone(products)
	for p := range parties - 1 {
		m := CompareMaterial{R: rng.Tensor(n), OneHot: rng.Tensor(len(oneHot)).Data, Bits: rng.Tensor(n).Data}
		for i := range restR {
			restR[i] -= m.R.Data[i]
			restBits[i] ^= m.Bits[i]
		}
		for i := range restHot {
			restHot[i] ^= m.OneHot[i]
		}
		shares[p] = m
	}
	shares[parties-1] = CompareMaterial{R: sharing.Tensor{Shape: []int{n}, Data: restR}, OneHot: restHot, Bits: restBits}
	c := make([]uint64, n)
	for i := range c {
		for p := range parties {
			c[i] += shares[p].R.Data[i]
		}
		c[i] = (c[i] + x[i]) & (1<<width - 1)
	}
	inputs := compareInputs(width)
	u := make([][]chunkInputs, parties)
	d := make([]uint64, (n*inputs+63)/64)
	for p := range parties {
		u[p] = compareLocalInputs(c, shares[p], width)
		for i, w := range maskInputs(u[p], shares[p].Bits, inputs) {
			d[i] ^= w
		}
	}
	out := make([]uint64, (n+63)/64)
	for p := range parties {
		for i, w := range combineSign(p == 0, c, d, u[p], shares[p].Bits, width) {
			out[i] ^= w
		}
	}
	return out
}

// AndAll3ForTest exposes andAll3 (XOR shares of the AND of all slots).
func (e *Engine) AndAll3ForTest(ctx context.Context, slots [][]uint64) ([]uint64, error) {
	return e.andAll3(ctx, slots)
}

// LessThanPublicForTest exposes lessThanPublic ([a < b] on 31 bits, a public,
// b XOR-shared; packed one bit per element).
func (e *Engine) LessThanPublicForTest(ctx context.Context, a, b []uint64) ([]uint64, error) {
	return e.lessThanPublic(ctx, a, b)
}

// SignPairBitsForTest exposes signBitsBySignPair (XOR shares of bit width-1
// and, with withZero, of [x = 0 mod 2^width], packed).
func (e *Engine) SignPairBitsForTest(ctx context.Context, x []uint64, width int, withZero bool) (sign, zero []uint64, err error) {
	return e.signBitsBySignPair(ctx, x, width, withZero)
}

// AdderSignBitsForTest exposes adderSignBits, the binary adder's sign.
func (e *Engine) AdderSignBitsForTest(ctx context.Context, x []uint64, width int) ([]uint64, error) {
	return e.adderSignBits(ctx, x, width)
}

// AdderSignZeroBitsForTest exposes adderSignZeroBits, the adder's sign and zero
// bits.
func (e *Engine) AdderSignZeroBitsForTest(ctx context.Context, x []uint64, width int) (sign, zero []uint64, err error) {
	return e.adderSignZeroBits(ctx, x, width)
}
