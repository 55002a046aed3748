package he

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ldsec/lattigo/v2/ring"
)

// nttInputs returns the test inputs modulo q: uniform below q, uniform below
// 2q (both transforms accept that), and edge cases: zero, every coefficient
// q-1 or 2q-1, and a single nonzero coefficient at either end or inside.
func nttInputs(q uint64, seed uint64) map[string][]uint64 {
	rng := testRand(seed)
	n := RingDegree
	fill := func(f func(j int) uint64) []uint64 {
		v := make([]uint64, n)
		for j := range v {
			v[j] = f(j)
		}
		return v
	}
	in := map[string][]uint64{
		"uniform":    fill(func(int) uint64 { return rng.Uint64N(q) }),
		"uniform<2q": fill(func(int) uint64 { return rng.Uint64N(2 * q) }),
		"zero":       fill(func(int) uint64 { return 0 }),
		"all q-1":    fill(func(int) uint64 { return q - 1 }),
		"all 2q-1":   fill(func(int) uint64 { return 2*q - 1 }),
	}
	for _, pos := range []int{0, 1, 4097, n - 1} {
		for _, v := range []uint64{1, q - 1} {
			in[fmt.Sprintf("x[%d]=%d", pos, v)] = fill(func(j int) uint64 {
				if j == pos {
					return v
				}
				return 0
			})
		}
	}
	return in
}

// checkNTTPrime compares the table of prime i of r with lattigo's transforms
// of that prime, forward, inverse (in place and not) and round trip.
func checkNTTPrime(t *testing.T, r *ring.Ring, i int) {
	tab := newNTTTable(r, i)
	q := r.Modulus[i]
	for name, x := range nttInputs(q, uint64(i)+10) {
		want := make([]uint64, len(x))
		ring.NTT(x, want, r.N, r.NttPsi[i], q, r.MredParams[i], r.BredParams[i])
		got := slices.Clone(x)
		tab.forward(got, 1)
		if !slices.Equal(got, want) {
			t.Fatalf("q=%#x %s: forward differs from lattigo", q, name)
		}
		ring.InvNTT(x, want, r.N, r.NttPsiInv[i], r.NttNInv[i], q, r.MredParams[i])
		out := make([]uint64, len(x))
		tab.inverse(x, out)
		if !slices.Equal(out, want) {
			t.Fatalf("q=%#x %s: inverse differs from lattigo", q, name)
		}
		inPlace := slices.Clone(x)
		tab.inverse(inPlace, inPlace)
		if !slices.Equal(inPlace, want) {
			t.Fatalf("q=%#x %s: in-place inverse differs from lattigo", q, name)
		}
		tab.inverse(got, got)
		for j, v := range x {
			if got[j] != v%q {
				t.Fatalf("q=%#x %s: round trip gives %#x at %d, want %#x", q, name, got[j], j, v%q)
			}
		}
	}
}

// forEachKernelPath runs f with the Go code, then with the AVX-512 kernels
// where the CPU has them.
func forEachKernelPath(t *testing.T, f func(t *testing.T)) {
	defer func(v bool) { useAVX512 = v }(useAVX512)
	for _, vec := range []bool{false, true} {
		if vec && !haveAVX512 {
			t.Log("no AVX-512: only the Go code is tested")
			continue
		}
		useAVX512 = vec
		t.Run(fmt.Sprintf("avx512=%v", vec), f)
	}
}

// TestNTTMatchesLattigo checks our transforms against lattigo's for every
// prime the package uses: Q (whose prefixes are Q' and the query modulus)
// and the special primes P.
func TestNTTMatchesLattigo(t *testing.T) {
	forEachKernelPath(t, func(t *testing.T) {
		for _, moduli := range [][]uint64{moduliQ, moduliP} {
			r, err := ring.NewRing(RingDegree, moduli)
			if err != nil {
				t.Fatal(err)
			}
			for i := range moduli {
				checkNTTPrime(t, r, i)
			}
		}
	})
}

// TestSuiteNTTMatchesLattigo checks the polynomial entry points of every
// suite (Q, Q', the query modulus) against the lattigo calls they replace.
func TestSuiteNTTMatchesLattigo(t *testing.T) {
	forEachKernelPath(t, checkSuiteNTT)
}

func checkSuiteNTT(t *testing.T) {
	for _, st := range []*suite{getSuite(), getSuite().low, getQuerySuite()} {
		r, err := ring.NewRing(RingDegree, st.q)
		if err != nil {
			t.Fatal(err)
		}
		rng := testRand(uint64(len(st.q)))
		p := r.NewPoly()
		for i, q := range st.q {
			for j := range p.Coeffs[i] {
				p.Coeffs[i][j] = rng.Uint64N(q)
			}
		}
		for level := range st.q {
			want, got := r.NewPoly(), p.CopyNew()
			r.NTTLvl(level, p, want)
			st.nttLvl(level, got)
			for i := 0; i <= level; i++ {
				if !slices.Equal(got.Coeffs[i], want.Coeffs[i]) {
					t.Fatalf("%d primes, level %d: nttLvl row %d differs", len(st.q), level, i)
				}
			}
			r.InvNTTLvl(level, p, want)
			st.invNTTLvl(level, p, got)
			for i := 0; i <= level; i++ {
				if !slices.Equal(got.Coeffs[i], want.Coeffs[i]) {
					t.Fatalf("%d primes, level %d: invNTTLvl row %d differs", len(st.q), level, i)
				}
			}
		}
		want, got := r.NewPoly(), p.CopyNew()
		r.NTT(p, want)
		st.ntt(got)
		if !r.Equal(got, want) {
			t.Fatalf("%d primes: ntt differs", len(st.q))
		}
		r.InvNTT(p, want)
		st.invNTT(p, got)
		if !r.Equal(got, want) {
			t.Fatalf("%d primes: invNTT differs", len(st.q))
		}
	}
}
