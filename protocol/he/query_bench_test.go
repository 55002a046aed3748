package he

import (
	"context"
	"testing"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
)

// Per-ciphertext costs of the query steps (3 parties, a full ciphertext of
// RingDegree values, e.g. 20.9 MNIST rows).
func benchQuery(b *testing.B) ([]*QueryParty, *Ciphertext, []uint64) {
	b.Helper()
	net, err := network.NewMemoryNetwork(3)
	if err != nil {
		b.Fatal(err)
	}
	qs, err := protocoltest.Concurrently(context.Background(), 3, func(ctx context.Context, i int) (*QueryParty, error) {
		p, err := Setup(ctx, net[i], WithWorkers(1))
		if err != nil {
			return nil, err
		}
		return NewQueryParty(p, nil)
	})
	if err != nil {
		b.Fatal(err)
	}
	values := edgeWords(MaxValues)
	ct, err := EncryptQuery(qs[0].Key(), values, nil)
	if err != nil {
		b.Fatal(err)
	}
	return qs, ct, values
}

func BenchmarkEncryptQuery(b *testing.B) {
	qs, _, values := benchQuery(b)
	key := qs[0].Key()
	b.SetBytes(int64(QueryCiphertextBytes()))
	for b.Loop() {
		if _, err := EncryptQuery(key, values, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMaskQuery(b *testing.B) {
	qs, ct, _ := benchQuery(b)
	for b.Loop() {
		qs[1].masked.Store(0) // the budget is not what is measured
		if _, _, err := qs[1].MaskQuery(ct, MaxValues); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAggregateQuery(b *testing.B) {
	qs, ct, _ := benchQuery(b)
	masked := make([][]byte, 3)
	for i := 1; i < 3; i++ {
		var err error
		if masked[i], _, err = qs[i].MaskQuery(ct, MaxValues); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := qs[0].AggregateQuery(ct, MaxValues, masked); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncryptAnswer(b *testing.B) {
	qs, _, values := benchQuery(b)
	client, err := NewClientKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := qs[0].EncryptAnswer(client.Public(), values); err != nil {
			b.Fatal(err)
		}
	}
}
