package he

import (
	"math/rand/v2"
	"testing"
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
