package protocol

import (
	"context"

	"github.com/tessera-mpc/tessera/sharing"
)

// Triple is one party's share of Beaver material: C = A*B, element-wise or as a
// matrix product depending on how it was asked for.
type Triple struct {
	A, B, C sharing.Tensor
}

// SquarePair is one party's share of (A, A*A element-wise).
type SquarePair struct {
	A, A2 sharing.Tensor
}

// TruncPair is one party's share of the material for wrap-safe probabilistic
// truncation by f bits: R uniform in Z_2^64, RShifted = (R mod 2^63) >> f and
// RMSB = R >> 63 (an arithmetic share of a bit).
type TruncPair struct {
	R, RShifted, RMSB sharing.Tensor
}

// Source supplies correlated randomness by kind and shape. All parties of a session
// ask their sources for the same material in the same order; a source may rely on
// that order (the seed-compressed dealer does).
type Source interface {
	// ElementwiseTriple returns a triple of tensors of the given shape with C = A ⊙ B.
	ElementwiseTriple(ctx context.Context, shape []int) (Triple, error)
	// MatrixTriple returns A (m x k), B (k x n) and C = A·B (m x n).
	MatrixTriple(ctx context.Context, m, k, n int) (Triple, error)
	// SquarePair returns (A, A ⊙ A) of the given shape.
	SquarePair(ctx context.Context, shape []int) (SquarePair, error)
	// TruncPair returns truncation material for a shift by fracBits.
	TruncPair(ctx context.Context, shape []int, fracBits int) (TruncPair, error)
	// AndTriple returns XOR-shared bit triples packed 64 to a word: C = A AND B.
	AndTriple(ctx context.Context, words int) (BinaryTriple, error)
	// DaBits returns n random bits shared twice: XOR-shared (bit 0 of each word) and
	// additively shared over Z_2^64.
	DaBits(ctx context.Context, n int) (DaBits, error)
	// Mask returns a uniform rows x cols mask, to open a matrix under once and use
	// in many products (see Engine.MaskMatrices).
	Mask(ctx context.Context, rows, cols int) (MaskShare, error)
	// MaskProduct returns shares of op(x)·op(y) for two masks from earlier Mask
	// requests, op transposing where asked.
	MaskProduct(ctx context.Context, x, y MaskRef) (sharing.Tensor, error)
}

// MaskShare is one party's share of a matrix mask and the mask's identity within
// the session (the index of the request that made it).
type MaskShare struct {
	ID uint64
	A  sharing.Tensor
}

// MaskRef names a mask of a session and how a product uses it.
type MaskRef struct {
	ID         uint64
	Rows, Cols int  // of the mask as made
	Trans      bool // use its transpose
}

// dims are the mask's dimensions as the product uses it.
func (r MaskRef) dims() (rows, cols int) {
	if r.Trans {
		return r.Cols, r.Rows
	}
	return r.Rows, r.Cols
}

// BinaryTriple is one party's XOR shares of packed bit triples: C = A & B.
type BinaryTriple struct {
	A, B, C []uint64
}

// DaBits is one party's shares of random bits b: Binary[i] is an XOR share (in bit
// 0) and Arith[i] an additive share of the same b[i].
type DaBits struct {
	Binary []uint64
	Arith  sharing.Tensor
}
