package protocol_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

// dealerSources returns the n parties' sources of a fresh in-process dealer.
func dealerSources(t *testing.T, n int) []protocol.Source {
	t.Helper()
	d, err := protocol.NewDealer(n, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srcs := make([]protocol.Source, n)
	for i := range srcs {
		srcs[i], _ = d.Source(i)
	}
	return srcs
}

// TestDealerMaterialExact reconstructs every kind of material from all parties'
// shares and checks the relation it must satisfy.
func TestDealerMaterialExact(t *testing.T) {
	ctx := context.Background()
	for _, n := range partyCounts {
		t.Run(fmt.Sprint("parties=", n), func(t *testing.T) {
			srcs := dealerSources(t, n)
			const words, bits = 33, 200
			var ands []protocol.BinaryTriple
			var das []protocol.DaBits
			var trs []protocol.TruncPair
			for _, s := range srcs {
				a, err := s.Fetch(ctx, protocol.AndRequest(words))
				if err != nil {
					t.Fatal(err)
				}
				b, err := s.Fetch(ctx, protocol.DaBitRequest(bits))
				if err != nil {
					t.Fatal(err)
				}
				tp, err := s.Fetch(ctx, protocol.TruncRequest([]int{bits}, 13))
				if err != nil {
					t.Fatal(err)
				}
				ands, das, trs = append(ands, a.BinaryTriple()), append(das, b.DaBits()), append(trs, tp.TruncPair())
			}
			xor := func(get func(i int) []uint64) []uint64 {
				out := make([]uint64, len(get(0)))
				for i := 0; i < n; i++ {
					for j, w := range get(i) {
						out[j] ^= w
					}
				}
				return out
			}
			a := xor(func(i int) []uint64 { return ands[i].A })
			b := xor(func(i int) []uint64 { return ands[i].B })
			c := xor(func(i int) []uint64 { return ands[i].C })
			for j := range c {
				if c[j] != a[j]&b[j] {
					t.Fatalf("AND triple word %d: c != a & b", j)
				}
			}
			bin := xor(func(i int) []uint64 { return das[i].Binary })
			var arith []sharing.Tensor
			for _, x := range das {
				arith = append(arith, x.Arith)
			}
			sum := reconstruct(t, arith)
			ones := 0
			for j := range bin {
				if bin[j] > 1 || sum.Data[j] != bin[j] {
					t.Fatalf("daBit %d: binary %d, arithmetic %d", j, bin[j], sum.Data[j])
				}
				ones += int(bin[j])
			}
			if ones == 0 || ones == bits {
				t.Fatalf("daBits are constant")
			}
			var rs, sh, ms []sharing.Tensor
			for _, tp := range trs {
				rs, sh, ms = append(rs, tp.R), append(sh, tp.RShifted), append(ms, tp.RMSB)
			}
			r, shifted, msb := reconstruct(t, rs), reconstruct(t, sh), reconstruct(t, ms)
			for j, v := range r.Data {
				if shifted.Data[j] != (v&^(1<<63))>>13 || msb.Data[j] != v>>63 {
					t.Fatalf("truncation pair %d inconsistent", j)
				}
			}
		})
	}
}

// TestDealerTruncSignPairs reconstructs a dealer's sign pairs for N = 2, 3, 5,
// 8 and truncations by 1, 16 and 31 bits.
func TestDealerTruncSignPairs(t *testing.T) {
	ctx := context.Background()
	for _, n := range partyCounts {
		srcs := dealerSources(t, n)
		for _, b := range []int{1, 16, protocol.TruncSignMaxBits} {
			var shares []protocol.TruncSignPair
			for _, s := range srcs {
				m, err := s.Fetch(ctx, protocol.TruncSignRequest(500, b))
				if err != nil {
					t.Fatal(err)
				}
				shares = append(shares, m.TruncSignPair())
			}
			if err := protocoltest.CheckTruncSignPairs(shares, b); err != nil {
				t.Fatalf("parties=%d b=%d: %v", n, b, err)
			}
		}
	}
}
