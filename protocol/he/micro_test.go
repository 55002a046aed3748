package he

import (
	"fmt"
	"testing"

	"github.com/ldsec/lattigo/v2/ring"
)

func randomPolys(b testing.TB, g int) (*ring.Ring, []*ring.Poly) {
	st := getSuite()
	r, _ := ring.NewRing(RingDegree, st.q)
	rng := testRand(3)
	mk := func() *ring.Poly {
		p := r.NewPoly()
		for i, q := range st.q {
			for j := range p.Coeffs[i] {
				p.Coeffs[i][j] = rng.Uint64N(q)
			}
		}
		return p
	}
	var ps []*ring.Poly
	for t := 0; t < g; t++ {
		ps = append(ps, mk())
	}
	return r, ps
}

// BenchmarkNTT times our transforms on one polynomial mod Q (full,
// sparse256, inverse: the names lattigo's had before them) next to
// lattigo's (lattigo-full, lattigo-inverse).
func BenchmarkNTT(b *testing.B) {
	st := getSuite()
	r, ps := randomPolys(b, 1)
	p := ps[0]
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"full", func() { st.ntt(p) }},
		{"sparse256", func() { st.nttSparse(p, 256) }},
		{"inverse", func() { st.invNTT(p, p) }},
		{"lattigo-full", func() { r.NTT(p, p) }},
		{"lattigo-inverse", func() { r.InvNTT(p, p) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c.f()
			}
		})
	}
}

func BenchmarkGaussian(b *testing.B) {
	var seed [16]byte
	xs := make([]int64, RingDegree)
	b.Run("search", func(b *testing.B) {
		for i := range b.N {
			newStream(seed, uint64(i)).gaussian(xs)
		}
	})
	b.Run("scan", func(b *testing.B) {
		for i := range b.N {
			newStream(seed, uint64(i)).gaussianScan(xs)
		}
	})
}

// BenchmarkMulMont times a coefficient-wise Montgomery product of two
// polynomials mod Q, set and accumulated, ours next to lattigo's.
func BenchmarkMulMont(b *testing.B) {
	r, ps := randomPolys(b, 3)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"set", func() { mulMont(r, ps[0], ps[1], ps[2], montSet) }},
		{"add", func() { mulMont(r, ps[0], ps[1], ps[2], montAdd) }},
		{"lattigo-set", func() { r.MulCoeffsMontgomery(ps[0], ps[1], ps[2]) }},
		{"lattigo-add", func() { r.MulCoeffsMontgomeryAndAdd(ps[0], ps[1], ps[2]) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c.f()
			}
		})
	}
}

// BenchmarkSampling times a uniform polynomial mod Q (buffer read directly,
// and word by word as before) and 2^64*e mod Q for one row of Gaussian
// noise (AVX-512 and Go).
func BenchmarkSampling(b *testing.B) {
	st := getSuite()
	r, _ := ring.NewRing(RingDegree, st.q)
	p := r.NewPoly()
	var seed [16]byte
	e := make([]int64, RingDegree)
	newStream(seed, 1).gaussian(e)
	for _, c := range []struct {
		name string
		f    func(i int)
	}{
		{"uniformPoly", func(i int) { newStream(seed, uint64(i)).uniformPoly(st.q, p) }},
		{"uniformPoly-next", func(i int) { newStream(seed, uint64(i)).uniformPolyNext(st.q, p) }},
		{"scaledSmall", func(int) { st.scaledSmall(e, p, true) }},
		{"scaledSmall-go", func(int) {
			defer func(v bool) { useAVX512 = v }(useAVX512)
			useAVX512 = false
			st.scaledSmall(e, p, true)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := range b.N {
				c.f(i)
			}
		})
	}
}

// BenchmarkPlainPoly times a plaintext operand of degree below deg: its
// residues, Montgomery form and sparse NTT.
func BenchmarkPlainPoly(b *testing.B) {
	st, w := getSuite(), testWorker(b)
	p := w.rq.NewPoly()
	rng := testRand(9)
	vals := make([]uint64, RingDegree)
	for j := range vals {
		vals[j] = rng.Uint64()
	}
	for _, deg := range []int{256, 2048} {
		fill := func(dst []uint64) { copy(dst[:deg], vals) }
		b.Run(fmt.Sprint(deg), func(b *testing.B) {
			for range b.N {
				st.plainPoly(w, deg, fill, p)
			}
		})
	}
}
