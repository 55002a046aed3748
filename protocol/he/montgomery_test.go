package he

import (
	"fmt"
	"math/big"
	"slices"
	"testing"

	"github.com/ldsec/lattigo/v2/ring"
)

// montInputs returns pairs of rows below q: uniform, and edge values (0, 1,
// q-1 against uniform and against each other).
func montInputs(q uint64, seed uint64) map[string][2][]uint64 {
	rng := testRand(seed)
	n := RingDegree
	row := func(f func(j int) uint64) []uint64 {
		v := make([]uint64, n)
		for j := range v {
			v[j] = f(j)
		}
		return v
	}
	uniform := func(int) uint64 { return rng.Uint64N(q) }
	edge := func(j int) uint64 { return []uint64{0, 1, q - 1, q - 2}[j%4] }
	return map[string][2][]uint64{
		"uniform":       {row(uniform), row(uniform)},
		"edge*uniform":  {row(edge), row(uniform)},
		"edge*edge":     {row(edge), row(func(j int) uint64 { return edge(j / 4) })},
		"uniform*q-1":   {row(uniform), row(func(int) uint64 { return q - 1 })},
		"(q-1)*(q-1)":   {row(func(int) uint64 { return q - 1 }), row(func(int) uint64 { return q - 1 })},
		"uniform*zeros": {row(uniform), make([]uint64, n)},
	}
}

// TestMontgomeryMatchesLattigo checks the coefficient-wise products against
// lattigo's, in every mode, for every prime of Q and P.
func TestMontgomeryMatchesLattigo(t *testing.T) {
	forEachKernelPath(t, func(t *testing.T) {
		for i, q := range append(slices.Clone(moduliQ), moduliP...) {
			qInv := ring.MRedParams(q)
			for name, in := range montInputs(q, uint64(i)) {
				x, y := in[0], in[1]
				z0 := montInputs(q, uint64(i)+100)["uniform"][0]
				check := func(what string, f, ref func(z []uint64)) {
					got, want := slices.Clone(z0), slices.Clone(z0)
					f(got)
					ref(want)
					if !slices.Equal(got, want) {
						t.Fatalf("q=%#x %s: %s differs from lattigo", q, name, what)
					}
				}
				check("set", func(z []uint64) { mulMontVec(x, y, z, q, qInv, montSet) },
					func(z []uint64) { ring.MulCoeffsMontgomeryVec(x, y, z, q, qInv) })
				check("add", func(z []uint64) { mulMontVec(x, y, z, q, qInv, montAdd) },
					func(z []uint64) { ring.MulCoeffsMontgomeryAndAddVec(x, y, z, q, qInv) })
				check("sub", func(z []uint64) { mulMontVec(x, y, z, q, qInv, montSub) },
					func(z []uint64) { ring.MulCoeffsMontgomeryAndSubVec(x, y, z, q, qInv) })
				for _, s := range []uint64{y[0], y[1], q - 1, 0} {
					check(fmt.Sprintf("add-then-scalar %#x", s), func(z []uint64) { addMulScalarMontVec(x, y, z, s, q, qInv) },
						func(z []uint64) { ring.AddVecNoModAndMulScalarMontgomeryVec(x, y, z, s, q, qInv) })
					check(fmt.Sprintf("scalar-and-add %#x", s), func(z []uint64) { mulScalarMontAddVec(x, z, s, q, qInv) },
						func(z []uint64) { ring.MulScalarMontgomeryAndAddVec(x, z, s, q, qInv) })
				}
			}
		}
	})
}

// TestMulMontLevels: the polynomial form acts on the rows up to the
// smallest level of its operands, as lattigo's.
func TestMulMontLevels(t *testing.T) {
	r, ps := randomPolys(t, 3)
	short := ring.NewPoly(RingDegree, 2) // two rows
	copy(short.Coeffs[1], ps[2].Coeffs[1])
	for _, mode := range []montMode{montSet, montAdd, montSub} {
		for _, ops := range [][3]*ring.Poly{{ps[0], ps[1], ps[2]}, {ps[0], short, ps[2]}, {short, ps[1], ps[2]}, {ps[0], ps[1], short}} {
			got, want := ops[2].CopyNew(), ops[2].CopyNew()
			mulMont(r, ops[0], ops[1], got, mode)
			switch mode {
			case montSet:
				r.MulCoeffsMontgomery(ops[0], ops[1], want)
			case montAdd:
				r.MulCoeffsMontgomeryAndAdd(ops[0], ops[1], want)
			case montSub:
				r.MulCoeffsMontgomeryAndSub(ops[0], ops[1], want)
			}
			if !slices.EqualFunc(got.Coeffs, want.Coeffs, slices.Equal) {
				t.Fatalf("mode %d, rows %d %d %d: differs from lattigo", mode, len(ops[0].Coeffs), len(ops[1].Coeffs), len(ops[2].Coeffs))
			}
		}
	}
}

// TestScaledSmall checks scaledSmall against its definition, 2^64*e mod
// q_i (written, or added to the row), for small and wide signed values and
// lengths that leave a tail past the last group of eight.
func TestScaledSmall(t *testing.T) {
	forEachKernelPath(t, func(t *testing.T) {
		rng := testRand(5)
		two64 := new(big.Int).Lsh(big.NewInt(1), 64)
		for _, st := range []*suite{getSuite(), getSuite().low} {
			for _, n := range []int{1, 7, 8, 13, 64, RingDegree} {
				e := make([]int64, n)
				for j := range e {
					switch j % 3 {
					case 0:
						e[j] = int64(rng.IntN(2*NoiseBound+1)) - NoiseBound
					case 1:
						e[j] = rng.Int64N(1<<59) - 1<<58
					default:
						e[j] = []int64{0, 1, -1, 1<<59 - 1, -(1<<59 - 1)}[j%5]
					}
				}
				_, ps := randomPolys(t, 1)
				for _, add := range []bool{false, true} {
					dst := ps[0].CopyNew()
					st.scaledSmall(e, dst, add)
					for i, q := range st.q {
						bq := new(big.Int).SetUint64(q)
						for j, v := range e {
							want := new(big.Int).Mul(big.NewInt(v), two64)
							if add {
								want.Add(want, new(big.Int).SetUint64(ps[0].Coeffs[i][j]))
							}
							want.Mod(want, bq)
							if dst.Coeffs[i][j] != want.Uint64() {
								t.Fatalf("%d primes, n=%d, add=%v: e=%d at %d mod q_%d: %d, want %v", len(st.q), n, add, v, j, i, dst.Coeffs[i][j], want)
							}
						}
						if !slices.Equal(dst.Coeffs[i][n:], ps[0].Coeffs[i][n:]) {
							t.Fatalf("%d primes, n=%d: coefficients past len(e) changed", len(st.q), n)
						}
					}
				}
			}
		}
	})
}
