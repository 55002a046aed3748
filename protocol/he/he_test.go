package he_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/he"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

// setupParties runs Setup for n parties over a fresh in-memory network.
func setupParties(t testing.TB, n int, opts ...he.Option) ([]*he.Party, []*network.Memory) {
	t.Helper()
	ts, err := network.NewMemoryNetwork(n)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ps := make([]*he.Party, n)
	_, err = protocoltest.Concurrently(ctx, n, func(ctx context.Context, i int) (struct{}, error) {
		p, err := he.Setup(ctx, ts[i], opts...)
		ps[i] = p
		return struct{}{}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ps, ts
}

func sum(t testing.TB, shares []sharing.Tensor) sharing.Tensor {
	t.Helper()
	v, err := sharing.Reconstruct(shares)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func checkMatrixTriple(t testing.TB, ts []protocol.Triple, m, k, n int) {
	t.Helper()
	var as, bs, cs []sharing.Tensor
	for _, tr := range ts {
		as, bs, cs = append(as, tr.A), append(bs, tr.B), append(cs, tr.C)
	}
	a, b, c := sum(t, as), sum(t, bs), sum(t, cs)
	if fmt.Sprint(a.Shape, b.Shape, c.Shape) != fmt.Sprint([]int{m, k}, []int{k, n}, []int{m, n}) {
		t.Fatalf("shapes %v %v %v for %dx%dx%d", a.Shape, b.Shape, c.Shape, m, k, n)
	}
	want := sharing.MatMul(a, b)
	bad := 0
	for i := range want.Data {
		if want.Data[i] != c.Data[i] {
			if bad < 3 {
				t.Errorf("%dx%dx%d: C[%d] = %#x, want %#x", m, k, n, i, c.Data[i], want.Data[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%dx%dx%d: %d of %d entries wrong", m, k, n, bad, len(want.Data))
	}
	// shares must not be trivially zero
	if m*k > 0 && as[0].Data[0] == 0 && as[1].Data[0] == 0 {
		t.Fatalf("suspicious zero shares")
	}
}

func TestSetupAgreesOnKey(t *testing.T) {
	for _, n := range []int{2, 3} {
		ps, _ := setupParties(t, n)
		for i, p := range ps {
			if p.PublicKeyDigest() != ps[0].PublicKeyDigest() {
				t.Fatalf("%d parties: party %d has another public key", n, i)
			}
			if p.Self() != i || p.Parties() != n {
				t.Fatalf("party %d reports %d of %d", i, p.Self(), p.Parties())
			}
		}
		// a second session gets a fresh key
		qs, _ := setupParties(t, n)
		if qs[0].PublicKeyDigest() == ps[0].PublicKeyDigest() {
			t.Fatalf("two sessions share a public key")
		}
	}
}

func TestMatrixTriplesExact(t *testing.T) {
	shapes := [][3]int{{1, 1, 1}, {3, 5, 2}, {17, 33, 9}, {64, 100, 10}, {5, 300, 70}, {130, 7, 3}}
	counts := []int{2, 3, 5}
	if !testing.Short() {
		shapes = append(shapes, [3]int{128, 784, 10}, [3]int{1, 2000, 1}, [3]int{64, 784, 128})
	}
	for _, np := range counts {
		ps, _ := setupParties(t, np)
		ctx := context.Background()
		for _, s := range shapes {
			ts, err := protocoltest.Concurrently(ctx, np, func(ctx context.Context, i int) (protocol.Triple, error) {
				return protocoltest.Triple(ctx, ps[i], protocol.MatrixRequest(s[0], s[1], s[2]))
			})
			if err != nil {
				t.Fatalf("%d parties, %v: %v", np, s, err)
			}
			checkMatrixTriple(t, ts, s[0], s[1], s[2])
		}
	}
}

func TestElementwiseAndSquareExact(t *testing.T) {
	for _, np := range []int{2, 3, 5} {
		ps, _ := setupParties(t, np)
		ctx := context.Background()
		for _, shape := range [][]int{{1}, {7, 3}, {384}, {385}, {1000}} {
			ts, err := protocoltest.Concurrently(ctx, np, func(ctx context.Context, i int) (protocol.Triple, error) {
				return protocoltest.Triple(ctx, ps[i], protocol.ElementwiseRequest(shape))
			})
			if err != nil {
				t.Fatal(err)
			}
			var as, bs, cs []sharing.Tensor
			for _, tr := range ts {
				as, bs, cs = append(as, tr.A), append(bs, tr.B), append(cs, tr.C)
			}
			a, b, c := sum(t, as), sum(t, bs), sum(t, cs)
			if want := sharing.Hadamard(a, b); fmt.Sprint(want) != fmt.Sprint(c) {
				t.Fatalf("%d parties, shape %v: C != A*B", np, shape)
			}
			sq, err := protocoltest.Concurrently(ctx, np, func(ctx context.Context, i int) (protocol.SquarePair, error) {
				return protocoltest.SquarePair(ctx, ps[i], shape)
			})
			if err != nil {
				t.Fatal(err)
			}
			as, cs = nil, nil
			for _, s := range sq {
				as, cs = append(as, s.A), append(cs, s.A2)
			}
			a, c = sum(t, as), sum(t, cs)
			if want := sharing.Hadamard(a, a); fmt.Sprint(want) != fmt.Sprint(c) {
				t.Fatalf("%d parties, shape %v: A2 != A*A", np, shape)
			}
		}
	}
}

func TestUnsupportedKinds(t *testing.T) {
	ps, _ := setupParties(t, 2)
	ctx := context.Background()
	if _, err := protocoltest.TruncPair(ctx, ps[0], []int{4}, 16); !errors.Is(err, protocol.ErrUnservedKind) {
		t.Fatalf("TruncPair: %v", err)
	}
	if _, err := protocoltest.AndTriple(ctx, ps[0], 4); !errors.Is(err, protocol.ErrUnservedKind) {
		t.Fatalf("AndTriple: %v", err)
	}
	if _, err := protocoltest.DaBits(ctx, ps[0], 4); !errors.Is(err, protocol.ErrUnservedKind) {
		t.Fatalf("DaBits: %v", err)
	}
	// the source still works afterwards
	ts, err := protocoltest.Concurrently(ctx, 2, func(ctx context.Context, i int) (protocol.Triple, error) {
		return protocoltest.Triple(ctx, ps[i], protocol.MatrixRequest(2, 3, 4))
	})
	if err != nil {
		t.Fatal(err)
	}
	checkMatrixTriple(t, ts, 2, 3, 4)
}
