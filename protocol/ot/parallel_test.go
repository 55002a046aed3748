package ot

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

// parallelRequests are whole (below 2*minPiece) and cut requests of every kind.
var parallelRequests = []protocol.Request{
	protocol.AndRequest(3), protocol.AndRequest(2*minPiece + 1),
	protocol.DaBitRequest(100), protocol.DaBitRequest(2*minPiece + 3),
	protocol.TruncRequest([]int{5, 7}, 16), protocol.TruncRequest([]int{3, 2*minPiece/3 + 1}, 12),
	protocol.ElementwiseRequest([]int{9}), protocol.ElementwiseRequest([]int{2, minPiece + 1}),
	protocol.SquareRequest([]int{4}), protocol.SquareRequest([]int{2*minPiece + 5}),
}

// TestParallelExact: a Parallel source over two channels makes exact material
// of every kind, whole and cut into pieces, and the pieces travel on both
// channels.
func TestParallelExact(t *testing.T) {
	for _, n := range partyCounts {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			type result struct {
				mats []protocol.Material
				sent [2]int64
			}
			out, errs := protocoltest.Parties(t, n, func(ctx context.Context, i int, tr protocol.Transport) (result, error) {
				var r result
				mux, err := network.NewMux(tr, 2)
				if err != nil {
					return r, err
				}
				defer mux.Close()
				p, err := SetupParallel(ctx, []protocol.Transport{mux.Channel(0), mux.Channel(1)})
				if err != nil {
					return r, err
				}
				base := [2]int64{mux.Channel(0).Stats().BytesSent, mux.Channel(1).Stats().BytesSent}
				for _, req := range parallelRequests[len(parallelRequests)-1:] {
					if _, err := p.Fetch(ctx, req); err != nil {
						return r, err
					}
				}
				for k := range r.sent {
					r.sent[k] = mux.Channel(k).Stats().BytesSent - base[k]
				}
				for _, req := range parallelRequests {
					m, err := p.Fetch(ctx, req)
					if err != nil {
						return r, fmt.Errorf("%s: %w", req, err)
					}
					r.mats = append(r.mats, m)
				}
				return r, nil
			})
			for i, err := range errs {
				if err != nil {
					t.Fatalf("party %d: %v", i, err)
				}
			}
			if out[0].sent[0] == 0 || out[0].sent[1] == 0 {
				t.Fatalf("a cut request sent %v bytes on the two channels", out[0].sent)
			}
			for r, req := range parallelRequests {
				parts := make([][]sharing.Tensor, len(out[0].mats[r].Parts))
				for i := range n {
					m := out[i].mats[r]
					if len(m.Parts) != len(parts) {
						t.Fatalf("%s: party %d has %d parts", req, i, len(m.Parts))
					}
					for j, pt := range m.Parts {
						if want := sharing.Size(req.Shape); pt.Len() != want || len(pt.Shape) != len(req.Shape) {
							t.Fatalf("%s: party %d part %d has shape %v", req, i, j, pt.Shape)
						}
						parts[j] = append(parts[j], pt)
					}
				}
				checkParallelMaterial(t, req, parts)
			}
		})
	}
}

// checkParallelMaterial checks the parties' shares of one request's material
// (parts[j][i]: part j of party i).
func checkParallelMaterial(t *testing.T, req protocol.Request, parts [][]sharing.Tensor) {
	t.Helper()
	xor := func(sh []sharing.Tensor) []uint64 {
		v := make([]uint64, sh[0].Len())
		for _, s := range sh {
			for k, w := range s.Data {
				v[k] ^= w
			}
		}
		return v
	}
	switch req.Kind {
	case protocol.KindAnd:
		a, b, c := xor(parts[0]), xor(parts[1]), xor(parts[2])
		for k := range c {
			if c[k] != a[k]&b[k] {
				t.Fatalf("%s word %d: C != A&B", req, k)
			}
		}
	case protocol.KindDaBit:
		x, s := xor(parts[0]), reconstruct(t, parts[1])
		for k := range x {
			if s.Data[k] > 1 || x[k] != s.Data[k] {
				t.Fatalf("%s bit %d: XOR %d, sum %d", req, k, x[k], s.Data[k])
			}
		}
	case protocol.KindTrunc, protocol.KindTruncHigh:
		rv, sh, msb := reconstruct(t, parts[0]), reconstruct(t, parts[1]), reconstruct(t, parts[2])
		for k, v := range rv.Data {
			if v == 0 && req.Bits < 32 { // probability 2^-64 (2^(b-64) for the high part): an element nobody filled
				t.Fatalf("%s element %d: R = 0", req, k)
			}
			if err := checkTruncElement(req.Kind, req.Bits, v, sh.Data[k], msb.Data[k]); err != nil {
				t.Fatalf("%s element %d: %v", req, k, err)
			}
		}
	case protocol.KindElementwise:
		a, b, c := reconstruct(t, parts[0]), reconstruct(t, parts[1]), reconstruct(t, parts[2])
		for k := range c.Data {
			if c.Data[k] != a.Data[k]*b.Data[k] {
				t.Fatalf("%s element %d: C != A*B", req, k)
			}
		}
	case protocol.KindSquare:
		a, a2 := reconstruct(t, parts[0]), reconstruct(t, parts[1])
		for k := range a2.Data {
			if a2.Data[k] != a.Data[k]*a.Data[k] {
				t.Fatalf("%s element %d: A2 != A*A", req, k)
			}
		}
	}
}

// TestTruncPairsAcrossBatches: truncation pairs of more elements than one daBit
// batch holds are folded batch by batch into the right elements.
func TestTruncPairsAcrossBatches(t *testing.T) {
	req := protocol.TruncRequest([]int{maxDaBitWords + 7}, 16) // 64 daBits per element: two batches
	out := mustSession(t, 2, func(ctx context.Context, p *Party) ([]sharing.Tensor, error) {
		m, err := p.Fetch(ctx, req)
		return m.Parts, err
	})
	checkParallelMaterial(t, req, [][]sharing.Tensor{{out[0][0], out[1][0]}, {out[0][1], out[1][1]}, {out[0][2], out[1][2]}})
}

// TestTruncHighPairsAcrossBatches: the high part of truncation pairs (64 -
// max(b, m) daBits per element) is folded batch by batch into whole elements,
// for 3 parties (m = 56): by 57 bits, 7 daBits an element (a batch of 2^18
// daBits is no multiple of 7); by 35 bits, 8 daBits and the parties' own
// values below bit 56.
func TestTruncHighPairsAcrossBatches(t *testing.T) {
	for _, c := range []struct{ bits, per int }{{57, 7}, {35, 8}} {
		if got := 64 - max(c.bits, localTruncBits(3)); got != c.per {
			t.Fatalf("by %d bits: %d daBits an element, want %d", c.bits, got, c.per)
		}
		req := protocol.TruncHighRequest([]int{64*maxDaBitWords/c.per + 5}, c.bits)
		out := mustSession(t, 3, func(ctx context.Context, p *Party) ([]sharing.Tensor, error) {
			m, err := p.Fetch(ctx, req)
			return m.Parts, err
		})
		parts := make([][]sharing.Tensor, 3)
		for c := range parts {
			for i := range out {
				parts[c] = append(parts[c], out[i][c])
			}
		}
		checkParallelMaterial(t, req, parts)
	}
}

// TestParallelRejects: kinds it does not make and requests out of range are
// refused before any piece is cut or allocated.
func TestParallelRejects(t *testing.T) {
	p := &Parallel{lanes: []*Party{{}, {}}}
	ctx := context.Background()
	if _, err := p.Fetch(ctx, protocol.MatrixRequest(2, 3, 4)); !errors.Is(err, protocol.ErrUnservedKind) {
		t.Fatalf("matrix triple: %v", err)
	}
	for _, req := range []protocol.Request{
		protocol.TruncRequest([]int{protocol.MaxMessageElements/64 + 1}, 16),
		protocol.TruncRequest([]int{4}, 62),
		protocol.AndRequest(protocol.MaxMessageElements + 1),
		protocol.ElementwiseRequest([]int{-1}),
	} {
		if _, err := p.Fetch(ctx, req); err == nil {
			t.Fatalf("%s: accepted", req)
		}
	}
}
