package he

import (
	"fmt"
	"testing"

	"github.com/ldsec/lattigo/v2/ring"
)

// TestSumProductsMatchesLattigo: the lazily reduced sums equal lattigo's
// product-by-product Montgomery accumulation, for 1 to 300 terms (past the
// fold every 128) and residues at q-1.
func TestSumProductsMatchesLattigo(t *testing.T) {
	forEachKernelPath(t, checkSumProducts)
}

func checkSumProducts(t *testing.T) {
	st, w := getSuite(), testWorker(t)
	rng := testRand(7)
	randPoly := func(top bool) *ring.Poly {
		p := w.rq.NewPoly()
		for i, q := range st.q {
			for j := range p.Coeffs[i] {
				p.Coeffs[i][j] = rng.Uint64() % q
				if top {
					p.Coeffs[i][j] = q - 1
				}
			}
		}
		return p
	}
	for _, n := range []int{1, 2, 25, 129, 300} {
		for _, top := range []bool{false, true} {
			var terms []term
			var enc, crp, plains []*ring.Poly
			for k := 0; k < n; k++ {
				e := k % 7
				if k < 7 {
					enc, crp = append(enc, randPoly(top)), append(crp, randPoly(top))
				}
				if k < 5 {
					plains = append(plains, randPoly(top))
				}
				terms = append(terms, term{enc: e, plain: k % 5})
			}
			want0, want1 := w.rq.NewPoly(), w.rq.NewPoly()
			for _, tm := range terms {
				w.rq.MulCoeffsMontgomeryAndAdd(enc[tm.enc], plains[tm.plain], want0)
				w.rq.MulCoeffsMontgomeryAndAdd(crp[tm.enc], plains[tm.plain], want1)
			}
			got0, got1 := w.rq.NewPoly(), w.rq.NewPoly()
			st.sumProducts(terms, enc, crp, plains, got0, got1)
			if !w.rq.Equal(got0, want0) || !w.rq.Equal(got1, want1) {
				t.Fatalf("%d terms (residues at q-1: %v): sums differ", n, top)
			}
		}
	}
}

func BenchmarkSumProducts(b *testing.B) {
	st, w := getSuite(), testWorker(b)
	const n = 25
	enc, crp, plains := make([]*ring.Poly, n), make([]*ring.Poly, n), make([]*ring.Poly, n)
	var terms []term
	for k := range enc {
		enc[k], crp[k], plains[k] = w.rq.NewPoly(), w.rq.NewPoly(), w.rq.NewPoly()
		terms = append(terms, term{enc: k, plain: k})
	}
	acc0, acc1 := w.rq.NewPoly(), w.rq.NewPoly()
	b.Run(fmt.Sprintf("lattigo/%d", n), func(b *testing.B) {
		for range b.N {
			acc0.Zero()
			acc1.Zero()
			for _, tm := range terms {
				w.rq.MulCoeffsMontgomeryAndAdd(enc[tm.enc], plains[tm.plain], acc0)
				w.rq.MulCoeffsMontgomeryAndAdd(crp[tm.enc], plains[tm.plain], acc1)
			}
		}
	})
	b.Run(fmt.Sprintf("lazy/%d", n), func(b *testing.B) {
		for range b.N {
			st.sumProducts(terms, enc, crp, plains, acc0, acc1)
		}
	})
}
