package protocol

import (
	"context"

	"github.com/tessera-mpc/tessera/sharing"
)

// SplitSource serves arithmetic material (triples, square pairs, masks) from one
// source and binary material and truncation pairs from another: the dealer-free
// setup pairs a homomorphic-encryption source, which packs matrix products well,
// with an OT source, which makes random bits well.
type SplitSource struct {
	Arith  Source
	Binary Source
}

var _ Source = SplitSource{}

func (s SplitSource) ElementwiseTriple(ctx context.Context, shape []int) (Triple, error) {
	return s.Arith.ElementwiseTriple(ctx, shape)
}

func (s SplitSource) MatrixTriple(ctx context.Context, m, k, n int) (Triple, error) {
	return s.Arith.MatrixTriple(ctx, m, k, n)
}

func (s SplitSource) SquarePair(ctx context.Context, shape []int) (SquarePair, error) {
	return s.Arith.SquarePair(ctx, shape)
}

func (s SplitSource) Mask(ctx context.Context, rows, cols int) (MaskShare, error) {
	return s.Arith.Mask(ctx, rows, cols)
}

func (s SplitSource) MaskProduct(ctx context.Context, x, y MaskRef) (sharing.Tensor, error) {
	return s.Arith.MaskProduct(ctx, x, y)
}

func (s SplitSource) TruncPair(ctx context.Context, shape []int, fracBits int) (TruncPair, error) {
	return s.Binary.TruncPair(ctx, shape, fracBits)
}

func (s SplitSource) AndTriple(ctx context.Context, words int) (BinaryTriple, error) {
	return s.Binary.AndTriple(ctx, words)
}

func (s SplitSource) DaBits(ctx context.Context, n int) (DaBits, error) {
	return s.Binary.DaBits(ctx, n)
}
