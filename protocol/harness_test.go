package protocol_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"testing"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/ot"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

var partyCounts = []int{2, 3, 5}

// session runs fn on n parties over the in-memory network with a dealer, and
// returns each party's result.
func session[T any](t testing.TB, n int, fracBits int, fn func(ctx context.Context, e *protocol.Engine) (T, error)) []T {
	t.Helper()
	return sessionWith(t, n, protocol.Config{Codec: sharing.Codec{FracBits: fracBits}}, fn)
}

// sessionWith is session with an explicit engine config.
func sessionWith[T any](t testing.TB, n int, cfg protocol.Config, fn func(ctx context.Context, e *protocol.Engine) (T, error)) []T {
	t.Helper()
	return protocoltest.Engines(t, n, cfg, fn)
}

// otSources sets up n dealer-free OT parties (protocol/ot) on their own
// in-memory network: sources of the material dealer-free training uses
// (truncation pairs, AND triples, daBits, element-wise triples). All parties
// must then ask them for the same material in the same order.
func otSources(t testing.TB, n int) []protocol.Source {
	t.Helper()
	ps := protocoltest.MustParties(t, n, func(ctx context.Context, i int, tr protocol.Transport) (*ot.Party, error) {
		return ot.Setup(ctx, tr)
	})
	srcs := make([]protocol.Source, n)
	for i, p := range ps {
		srcs[i] = p
	}
	return srcs
}

// splitAll secret-shares plain values among n parties (test-side dealer of inputs).
func splitAll(t testing.TB, n int, xs ...sharing.Tensor) [][]sharing.Tensor {
	t.Helper()
	out := make([][]sharing.Tensor, n)
	for _, x := range xs {
		shares, err := sharing.Split(rand.Reader, x, n)
		if err != nil {
			t.Fatal(err)
		}
		for i := range shares {
			out[i] = append(out[i], shares[i])
		}
	}
	return out
}

func reconstruct(t testing.TB, shares []sharing.Tensor) sharing.Tensor {
	t.Helper()
	v, err := sharing.Reconstruct(shares)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func randomRing(shape ...int) sharing.Tensor {
	x, err := sharing.Random(rand.Reader, shape...)
	if err != nil {
		panic(err)
	}
	return x
}

// randomFixed returns a tensor of fixed-point values uniform in (-bound, bound).
func randomFixed(codec sharing.Codec, bound float64, shape ...int) (sharing.Tensor, []float64) {
	u := randomRing(shape...)
	xs := make([]float64, u.Len())
	t := sharing.Zeros(shape...)
	for i, v := range u.Data {
		xs[i] = (float64(v>>11)/float64(1<<53)*2 - 1) * bound
		t.Data[i] = codec.MustEncode(xs[i])
		xs[i] = codec.Decode(t.Data[i])
	}
	return t, xs
}

func assertClose(t testing.TB, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst := 0.0
	for i := range got {
		if d := math.Abs(got[i] - want[i]); d > worst {
			worst = d
		}
		if d := math.Abs(got[i] - want[i]); !(d <= tol) {
			t.Fatalf("%s: element %d = %g, want %g (error %g > bound %g)", what, i, got[i], want[i], d, tol)
		}
	}
	_ = fmt.Sprint(worst)
}
