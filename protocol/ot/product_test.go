package ot

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

// productShapes are the shapes the product tests ask for: tiny, and at N = 3
// one past a batch.
func productShapes(n int) [][]int {
	if n == 3 {
		return [][]int{{1}, {3, 7}, {maxProductElems + 5}}
	}
	return [][]int{{1}, {3, 7}, {130}}
}

func reconstruct(t *testing.T, shares []sharing.Tensor) sharing.Tensor {
	t.Helper()
	v, err := sharing.Reconstruct(shares)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestElementwiseTriples checks that the shares of C reconstruct to A ⊙ B
// exactly over Z_2^64, for N = 2, 3, 5, 8 and across batches.
func TestElementwiseTriples(t *testing.T) {
	for _, n := range partyCounts {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			shapes := productShapes(n)
			out := mustSession(t, n, func(ctx context.Context, p *Party) ([]protocol.Triple, error) {
				var ts []protocol.Triple
				for _, s := range shapes {
					tr, err := protocoltest.Triple(ctx, p, protocol.ElementwiseRequest(s))
					if err != nil {
						return nil, err
					}
					ts = append(ts, tr)
				}
				return ts, nil
			})
			for r := range shapes {
				var as, bs, cs []sharing.Tensor
				for i := range n {
					as, bs, cs = append(as, out[i][r].A), append(bs, out[i][r].B), append(cs, out[i][r].C)
				}
				a, b, c := reconstruct(t, as), reconstruct(t, bs), reconstruct(t, cs)
				for k := range c.Data {
					if c.Data[k] != a.Data[k]*b.Data[k] {
						t.Fatalf("shape %v element %d: C = %x, A*B = %x", shapes[r], k, c.Data[k], a.Data[k]*b.Data[k])
					}
				}
			}
		})
	}
}

// TestSquarePairs checks that the shares of A2 reconstruct to A ⊙ A exactly.
func TestSquarePairs(t *testing.T) {
	for _, n := range partyCounts {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			shapes := productShapes(n)
			out := mustSession(t, n, func(ctx context.Context, p *Party) ([]protocol.SquarePair, error) {
				var ps []protocol.SquarePair
				for _, s := range shapes {
					sp, err := protocoltest.SquarePair(ctx, p, s)
					if err != nil {
						return nil, err
					}
					ps = append(ps, sp)
				}
				return ps, nil
			})
			for r := range shapes {
				var as, a2s []sharing.Tensor
				for i := range n {
					as, a2s = append(as, out[i][r].A), append(a2s, out[i][r].A2)
				}
				a, a2 := reconstruct(t, as), reconstruct(t, a2s)
				for k := range a2.Data {
					if a2.Data[k] != a.Data[k]*a.Data[k] {
						t.Fatalf("shape %v element %d: A2 = %x, A*A = %x", shapes[r], k, a2.Data[k], a.Data[k]*a.Data[k])
					}
				}
			}
		})
	}
}

// TestPackedCorrections checks the bit packing of the corrections of one
// element: 64 values of 64, 63, ..., 1 bits (2080 bits), read back from their
// bytes on the wire.
func TestPackedCorrections(t *testing.T) {
	vals := randWords(64)
	out := make([]uint64, correctionWords(1))
	pk := packer{out: out}
	pk.put(vals, descendingWidths[:])
	if pk.bits() != correctionBits {
		t.Fatalf("%d bits written, want 2080", pk.bits())
	}
	body := make([]byte, 8*len(out))
	sharing.PutWords(body, out)
	un := byteUnpacker{in: body}
	got := make([]uint64, 64)
	un.get(got, descendingWidths[:])
	for k, v := range vals {
		want := v
		if k > 0 {
			want &= 1<<uint(64-k) - 1
		}
		if got := got[k]; got != want {
			t.Fatalf("value %d: %x, want %x", k, got, want)
		}
	}
}

// TestProductMessagesUniform checks what a party receives while making
// element-wise triples and square pairs (u matrices, packed corrections): its
// bytes pass a chi-square test. Corrections are padded by OT outputs the
// receiver cannot tell from random, so any structure of the senders' a (low
// zero bits of a*2^k, the doubled square) would show here.
func TestProductMessagesUniform(t *testing.T) {
	var rec *recorder
	wrap := func(i int, tr protocol.Transport) protocol.Transport {
		if i != 1 {
			return tr
		}
		rec = &recorder{Transport: tr}
		return rec
	}
	_, errs := session(t, 3, wrap, func(ctx context.Context, p *Party) (int, error) {
		if p.self == 1 {
			rec.mu.Lock()
			rec.on = true
			rec.mu.Unlock()
		}
		if _, err := protocoltest.Triple(ctx, p, protocol.ElementwiseRequest([]int{100})); err != nil {
			return 0, err
		}
		_, err := protocoltest.SquarePair(ctx, p, []int{100})
		return 0, err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
	exp := float64(rec.n) / 256
	chi := 0.0
	for _, c := range rec.hist {
		chi += (float64(c) - exp) * (float64(c) - exp) / exp
	}
	t.Logf("%d bytes received, chi^2 = %.1f", rec.n, chi)
	if rec.n < 100000 || chi > 400 {
		t.Fatalf("received bytes not uniform: chi^2 %.1f over %d bytes", chi, rec.n)
	}
}

// TestCorrectionPairs packs the corrections of n elements with
// putCorrections (two elements at a time in packCorrectionPair, an odd last
// one by put), against put value by value, and reads every pair back with
// unpackCorrectionPair against byteUnpacker.get.
func TestCorrectionPairs(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 64, 65} {
		vals := randWords(64 * n)
		got, want := randWords(correctionWords(n)), make([]uint64, correctionWords(n))
		pk := packer{out: got}
		pk.putCorrections(vals[:64*min(n, 3)]) // a call that ends unaligned, if n > 3, then more
		pk.putCorrections(vals[64*min(n, 3):])
		ref := packer{out: want}
		for e := range n {
			ref.putGo(vals[64*e:64*e+64], descendingWidths[:])
		}
		if !slices.Equal(got, want) || pk.bits() != correctionBits*n {
			t.Fatalf("%d elements: putCorrections differs from put", n)
		}
		body := make([]byte, 8*len(got))
		sharing.PutWords(body, got)
		un := byteUnpacker{in: body}
		for e := 0; e+1 < n; e += 2 {
			var pair [128]uint64
			unpackCorrectionPair(&pair, body[8*65*(e/2):])
			ref := make([]uint64, 128)
			un.get(ref, append(descendingWidths[:], descendingWidths[:]...))
			if !slices.Equal(pair[:], ref) {
				t.Fatalf("%d elements: pair %d unpacked differs from get", n, e/2)
			}
		}
	}
}
