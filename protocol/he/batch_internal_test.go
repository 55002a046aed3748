package he

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/tessera-mpc/tessera/protocol"
)

// TestSharedBinsKeepTargetsClean multiplies the supports of packed products:
// no pair of different products (nor another product's own pair) lands on a
// target, nothing reaches X^N, and every product lands on its own targets.
// It fails if a shift is one too small.
func TestSharedBinsKeepTargetsClean(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := [][3]int{{32, 30, 16}, {32, 16, 1}, {16, 32, 1}, {32, 1, 16}, {30, 32, 16}, {1, 1, 1}, {2, 3, 1}}
	for it := 0; it < 40; it++ {
		shapes = append(shapes, [3]int{1 + rng.IntN(20), 1 + rng.IntN(20), 1 + rng.IntN(8)})
	}
	ps := make([]smallProduct, len(shapes))
	for j, s := range shapes {
		ps[j] = smallProduct{m: s[0], k: s[1], n: s[2]}
	}
	for _, np := range []int{2, 8} {
		bins, err := packBins(ps, np)
		if err != nil {
			t.Fatal(err)
		}
		if len(bins) >= len(ps)/2 {
			t.Errorf("%d parties: %d products in %d ciphertexts", np, len(ps), len(bins))
		}
		for _, bin := range bins {
			checkBin(t, ps, bin)
		}
	}
}

// checkBin records, for every coefficient of a*b, which products' a and b
// (i, j) land there, and checks the targets see only their own pair.
func checkBin(t *testing.T, ps []smallProduct, bin sharedBin) {
	t.Helper()
	owner := map[int][2]int{} // exponent -> (i, j) of some pair landing there; -1 when mixed
	land := func(e, i, j int) {
		if e >= RingDegree {
			t.Fatalf("a term reaches X^%d", e)
		}
		if o, ok := owner[e]; ok && o != [2]int{i, j} {
			owner[e] = [2]int{-1, -1}
		} else if !ok {
			owner[e] = [2]int{i, j}
		}
	}
	for _, pa := range bin.placed {
		a := ps[pa.prod]
		for _, pb := range bin.placed {
			b := ps[pb.prod]
			for r := 0; r < a.m; r++ {
				for kk := 0; kk < a.k; kk++ {
					ea := pa.s + r*a.k*a.n + kk
					for k2 := 0; k2 < b.k; k2++ {
						for c := 0; c < b.n; c++ {
							land(ea+pb.t+c*b.k+b.k-1-k2, pa.prod, pb.prod)
						}
					}
				}
			}
		}
	}
	for _, p := range bin.placed {
		sp := ps[p.prod]
		for r := 0; r < sp.m; r++ {
			for c := 0; c < sp.n; c++ {
				e := p.s + p.t + r*sp.k*sp.n + c*sp.k + sp.k - 1
				if owner[e] != [2]int{p.prod, p.prod} {
					t.Fatalf("target (%d,%d) of product %d at X^%d also gets %v", r, c, p.prod, e, owner[e])
				}
			}
		}
	}
}

// TestFetchBatchChunks forces one shared ciphertext per chunk: the packed
// products of a batch still reconstruct exactly.
func TestFetchBatchChunks(t *testing.T) {
	old := sharedPerChunk
	sharedPerChunk = 1
	defer func() { sharedPerChunk = old }()
	ps, _, _ := setupPair(t)
	type out struct{ x, y, xy, yx []uint64 }
	res := runAll(t, ps, func(ctx context.Context, p *Party) (out, error) {
		x, err := p.Fetch(ctx, protocol.MaskRequest(6, 5))
		if err != nil {
			return out{}, err
		}
		y, err := p.Fetch(ctx, protocol.MaskRequest(5, 6))
		if err != nil {
			return out{}, err
		}
		xr, yr := maskRef(x.ID, 6, 5, false), maskRef(y.ID, 5, 6, false)
		reqs := []protocol.Request{protocol.MaskProductRequest(xr, yr), protocol.MaskProductRequest(yr, xr)}
		for i := 0; i < 40; i++ { // enough small products for several shared ciphertexts
			reqs = append(reqs, protocol.MaskProductRequest(xr, yr))
		}
		ms, err := p.FetchBatch(ctx, reqs)
		if err != nil {
			return out{}, err
		}
		return out{x.Parts[0].Data, y.Parts[0].Data, ms[0].Parts[0].Data, ms[len(ms)-1].Parts[0].Data}, nil
	})
	add := func(f func(o out) []uint64) []uint64 {
		s := append([]uint64(nil), f(res[0])...)
		for i, v := range f(res[1]) {
			s[i] += v
		}
		return s
	}
	x, y := add(func(o out) []uint64 { return o.x }), add(func(o out) []uint64 { return o.y })
	for name, got := range map[string][]uint64{"first": add(func(o out) []uint64 { return o.xy }), "last": add(func(o out) []uint64 { return o.yx })} {
		for i := 0; i < 6; i++ {
			for j := 0; j < 6; j++ {
				var c uint64
				for k := 0; k < 5; k++ {
					c += x[i*5+k] * y[k*6+j]
				}
				if got[i*6+j] != c {
					t.Fatalf("%s product: XY[%d,%d] wrong", name, i, j)
				}
			}
		}
	}
}
