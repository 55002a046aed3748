package he

import "github.com/ldsec/lattigo/v2/ring"

// Coefficient-wise Montgomery products, the same values as lattigo's
// MulCoeffsMontgomery family (MRed: x*y*2^-64 mod q fully reduced, then
// CRed for the accumulating forms), eight coefficients at a time with
// AVX-512 (kernels_amd64.s) where the CPU has it, lattigo's own loops
// otherwise. lattigo's polynomial forms act on the rows up to the smallest
// level of their operands; so do these.

// montMode is what a product does with its destination.
type montMode int

const (
	montSet montMode = iota // z = x*y
	montAdd                 // z = z + x*y
	montSub                 // z = z - x*y
)

// mulMont is lattigo's r.MulCoeffsMontgomery (montSet), ...AndAdd (montAdd)
// or ...AndSub (montSub) on p3 with p1, p2.
func mulMont(r *ring.Ring, p1, p2, p3 *ring.Poly, mode montMode) {
	level := min(len(p1.Coeffs), len(p2.Coeffs), len(p3.Coeffs)) - 1
	mulMontLvl(r, level, p1, p2, p3, mode)
}

// mulMontLvl is mulMont on rows 0 .. level.
func mulMontLvl(r *ring.Ring, level int, p1, p2, p3 *ring.Poly, mode montMode) {
	for i := 0; i <= level; i++ {
		mulMontVec(p1.Coeffs[i][:r.N], p2.Coeffs[i][:r.N], p3.Coeffs[i][:r.N], r.Modulus[i], r.MredParams[i], mode)
	}
}

// mulMontVec is mulMont on one row.
func mulMontVec(x, y, z []uint64, q, qInv uint64, mode montMode) {
	if useAVX512 && len(x) >= 8 && len(x)%8 == 0 {
		y, z = y[:len(x)], z[:len(x)]
		mulMontAVX512(&x[0], &y[0], &z[0], len(x), q, qInv, int(mode))
		return
	}
	switch mode {
	case montSet:
		ring.MulCoeffsMontgomeryVec(x, y, z, q, qInv)
	case montAdd:
		ring.MulCoeffsMontgomeryAndAddVec(x, y, z, q, qInv)
	case montSub:
		ring.MulCoeffsMontgomeryAndSubVec(x, y, z, q, qInv)
	}
}

// addMulScalarMontVec is lattigo's AddVecNoModAndMulScalarMontgomeryVec:
// z = (x + y)*s (Montgomery), x + y not reduced.
func addMulScalarMontVec(x, y, z []uint64, s, q, qInv uint64) {
	if useAVX512 && len(x) >= 8 && len(x)%8 == 0 {
		y, z = y[:len(x)], z[:len(x)]
		mulScalarMontAVX512(&x[0], &y[0], &z[0], len(x), s, q, qInv, 0)
		return
	}
	ring.AddVecNoModAndMulScalarMontgomeryVec(x, y, z, s, q, qInv)
}

// mulScalarMontAddVec is lattigo's MulScalarMontgomeryAndAddVec: z = z +
// x*s (Montgomery).
func mulScalarMontAddVec(x, z []uint64, s, q, qInv uint64) {
	if useAVX512 && len(x) >= 8 && len(x)%8 == 0 {
		z = z[:len(x)]
		mulScalarMontAVX512(&x[0], nil, &z[0], len(x), s, q, qInv, 1)
		return
	}
	ring.MulScalarMontgomeryAndAddVec(x, z, s, q, qInv)
}
