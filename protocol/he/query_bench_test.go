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

// BenchmarkPacked60: one residue row of a polynomial (16,384 residues of 60
// bits) packed and read back, by 60-bit blocks and bit by bit.
func BenchmarkPacked60(b *testing.B) {
	q := moduliQ[0]
	vals := randomWords(1, RingDegree)
	for j := range vals {
		vals[j] %= q
	}
	buf := appendPacked(make([]byte, 0, packedLen(RingDegree, blockWidth)+8), vals, blockWidth)
	back := make([]uint64, RingDegree)
	for _, c := range []struct {
		name string
		pack func([]byte, []uint64, uint) []byte
		read func([]byte, []uint64, uint, uint64) ([]byte, error)
	}{{"blocks", appendPacked, readPacked}, {"bits", appendPackedBits, readPackedBits}} {
		b.Run(c.name+"/pack", func(b *testing.B) {
			b.SetBytes(int64(packedLen(RingDegree, blockWidth)))
			for b.Loop() {
				buf = c.pack(buf[:0], vals, blockWidth)
			}
		})
		b.Run(c.name+"/read", func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, err := c.read(buf, back, blockWidth, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
