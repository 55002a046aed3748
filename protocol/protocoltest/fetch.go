// Package protocoltest helps tests of the protocol packages and of their users:
// typed requests to a preprocessing source, and running N parties together.
package protocoltest

import (
	"context"

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
