package he

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"sync"

	"github.com/ldsec/lattigo/v2/ring"
	"github.com/ldsec/lattigo/v2/rlwe"
)

// The parameter set. See doc.go for the security check.
const (
	// LogN is log2 of the ring degree: R = Z[X]/(X^N + 1), N = 16384.
	LogN = 14
	// RingDegree is N.
	RingDegree = 1 << LogN
	// Sigma is the standard deviation of every fresh Gaussian error.
	Sigma = 3.2
	// NoiseBound truncates the Gaussian errors at floor(6 * Sigma).
	NoiseBound = 19
	// StatLambda is the statistical security of every E2S mask, in bits: a
	// mask is at least 2^StatLambda times wider than the worst-case magnitude
	// of the value it hides, so one masked coefficient is within statistical
	// distance 2^-StatLambda of a simulation.
	StatLambda = 80
	// MaxMaskedCoefficients bounds the coefficients one key setup may mask:
	// the distances add up, to at most 2^(40 - StatLambda) = 2^-40 in total
	// (lambda = 40 + log2(masked coefficients)). Past it the source refuses
	// and a new Setup is needed.
	MaxMaskedCoefficients = 1 << (StatLambda - 40)
	// HEStandardMaxLogQP is the largest log2(QP) the homomorphic encryption
	// security standard (Albrecht et al., 2018, table 1) admits at N = 2^14
	// for 128-bit classical security with a ternary (or Gaussian) secret.
	HEStandardMaxLogQP = 438
)

// moduliQ is the ciphertext modulus chain: four 60-bit NTT-friendly primes
// (q = 1 mod 2N, below 2^60), log2(Q) = 239.99. moduliP are the two special
// primes; they are only used by the collective public-key generation
// (lattigo's CKG works in Z_QP), never in a key switch.
var (
	moduliQ = []uint64{0xffffffffffe8001, 0xffffffffffd8001, 0xffffffffffc0001, 0xffffffffff28001}
	moduliP = []uint64{0xfffffffffe38001, 0xfffffffff9b8001}
)

// ParamInfo describes the parameter set, for documentation and checks.
type ParamInfo struct {
	LogN          int
	Q, P          []uint64
	LogQ, LogQP   float64 // exact log2 of the products
	LogQSwitched  float64 // log2 of Q' = Q/q_L, the modulus after the product (modswitch.go)
	Sigma         float64
	NoiseBound    int
	PlainModulus  string // "2^64"
	StatLambda    int
	HEStandardMax int
}

// Parameters returns the parameter set of the package.
func Parameters() ParamInfo {
	s := getSuite()
	return ParamInfo{
		LogN:          LogN,
		Q:             append([]uint64(nil), moduliQ...),
		P:             append([]uint64(nil), moduliP...),
		LogQ:          s.logQ,
		LogQSwitched:  s.low.logQ,
		LogQP:         s.logQP,
		Sigma:         Sigma,
		NoiseBound:    NoiseBound,
		PlainModulus:  "2^64",
		StatLambda:    StatLambda,
		HEStandardMax: HEStandardMaxLogQP,
	}
}

// MaskBits is the width b of the uniform masks of the encryption-to-shares
// step with np parties: the largest b with (np-1)*2^b <= Q'/8, so that the
// aggregated, masked value stays within (-Q'/4, Q'/4) and is recovered exactly
// from its residues. Q' = Q/q_L is the modulus after the switch (modswitch.go):
// decryption shares travel modulo Q'.
func MaskBits(np int) int {
	return getSuite().low.logQFloor - 3 - ceilLog2(np)
}

// maxLogX is the largest log2 of the worst-case magnitude of a decrypted
// coefficient that a mask of MaskBits(np) bits hides with StatLambda bits.
func maxLogX(np int) float64 { return float64(MaskBits(np) - StatLambda) }

// logXBound is log2 of the worst-case magnitude of a decrypted target
// coefficient x' = c0' + c1'*s (mod Q') of an output ciphertext that sums
// products of an encrypted operand and plaintext operands, with np parties,
// after every party switched its share from Q to Q' (modswitch.go). Before
// the switch, summed over the parties (logProductBound):
//
//   - message: msgTerms products of two sums of np centred shares
//     (|.| <= np*2^63 each): msgTerms * np^2 * 2^126;
//   - encryption noise times the plaintext: the S2E noise is 2^64 * E with
//     |E| <= np*NoiseBound, and each target sums it against plainNNZ
//     plaintext coefficients of magnitude <= np*2^63:
//     2^64 * np*NoiseBound * plainNNZ * np*2^63;
//   - re-randomisation before the switch: np encryptions of zero with noise
//     2^64*(e_pk*u + e1*s), |e_pk| <= np*NoiseBound, |s| <= np:
//     np * 2^64 * NoiseBound * 2*N*np.
//
// The switch divides that by q_L and adds the rounding of every party's c0
// and c1, |delta0 + delta1*s|/q_L <= 2^63 (1 + ||s||_1), ||s||_1 <= np*N; the
// re-randomisation's e0 joins after it, at the targets: np * 2^64 * NoiseBound.
func logXBound(np int, msgTerms, plainNNZ float64) float64 {
	n := float64(np)
	x := math.Exp2(logProductBound(np, msgTerms, plainNNZ)) / float64(getSuite().sw.qL)
	x += n * math.Ldexp(1+n*RingDegree, 63)
	x += n * math.Ldexp(NoiseBound, 64)
	return math.Log2(x)
}

// logProductBound is log2 of the worst-case magnitude of the same
// coefficient before the switch (see logXBound), summed over the parties;
// every party's own share is below it too. It must stay below Q/2 for the
// switch to be exact: a bound within the mask budget after the switch is
// below q_L * 2^maxLogX, which Setup checks against Q.
func logProductBound(np int, msgTerms, plainNNZ float64) float64 {
	n := float64(np)
	x := n * n * (math.Ldexp(msgTerms, 126) + math.Ldexp(NoiseBound*plainNNZ, 127))
	x += n * math.Ldexp(NoiseBound*2*RingDegree*n, 64)
	return math.Log2(x)
}

// switchFits reports whether np parties fit the modulus: masks of
// MaskBits(np) bits leave room for StatLambda bits above an output share's
// 64, and every coefficient admitted after the switch (logXBound <=
// maxLogX) was below q_L * 2^maxLogX before it (logXBound includes
// logProductBound - log2 q_L), which must be below Q/4 so that the switch
// divides the true integer.
func switchFits(np int) bool {
	st := getSuite()
	return MaskBits(np) > 64+StatLambda && math.Log2(float64(st.sw.qL))+maxLogX(np)+1 <= st.logQ-2
}

func ceilLog2(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

// suite holds read-only precomputations shared by all parties and workers.
// Nothing in it is mutated after construction, so sharing it is safe.
type suite struct {
	params      rlwe.Parameters
	q           []uint64
	qWidth      []uint // bits.Len64(q_i): wire width of a residue
	qInv        []uint64
	bred        [][]uint64
	tMont       []uint64 // (2^64 mod q_i) in Montgomery form: MRed(x, tMont) = x*2^64 mod q_i
	logQ, logQP float64
	logQFloor   int // floor(log2 Q)
	polyBytes   int // wire size of one polynomial mod Q

	// CRT reconstruction of an integer y with |y| < Q/4 modulo 2^64.
	qHatInv  []uint64 // (Q/q_i)^-1 mod q_i
	qHatLow  []uint64 // Q/q_i mod 2^64
	qLow     uint64   // Q mod 2^64
	halfQ    []uint64 // floor(Q/2) mod q_i
	halfQLow uint64   // floor(Q/2) mod 2^64

	fingerprint [32]byte

	// Of the full suite only (nil in the others): the suite modulo Q' = Q/q_L
	// and the constants of the switch to it (modswitch.go).
	low *suite
	sw  *modSwitch

	nttOnce sync.Once
	nttTabs []*nttTable // see nttTables
}

var getSuite = sync.OnceValue(func() *suite {
	s, err := newSuite()
	if err != nil {
		panic(fmt.Sprintf("he: invalid built-in parameters: %v", err)) // unreachable: constants
	}
	return s
})

func newSuite() (*suite, error) {
	s, err := newSuiteOf(moduliQ)
	if err != nil {
		return nil, err
	}
	if s.low, err = newSuiteOf(moduliQ[:switchedModuli]); err != nil {
		return nil, err
	}
	if s.sw, err = newModSwitch(s); err != nil {
		return nil, err
	}
	return s, nil
}

// newSuiteOf is the suite of the ring modulo the product of qs (moduliQ, or
// its first primes: the encrypted queries' smaller modulus, query.go).
func newSuiteOf(qs []uint64) (*suite, error) {
	params, err := rlwe.NewParameters(LogN, qs, moduliP, Sigma, ring.Standard)
	if err != nil {
		return nil, err
	}
	s := &suite{params: params, q: params.Q()}
	rq := params.RingQ()
	bigQ := params.QBigInt()
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	for i, q := range s.q {
		w := uint(bits.Len64(q))
		s.qWidth = append(s.qWidth, w)
		s.polyBytes += (RingDegree*int(w) + 7) / 8
		s.qInv = append(s.qInv, rq.MredParams[i])
		s.bred = append(s.bred, rq.BredParams[i])
		t := (-q) % q // 2^64 mod q
		s.tMont = append(s.tMont, ring.MForm(t, q, rq.BredParams[i]))

		bq := new(big.Int).SetUint64(q)
		hat := new(big.Int).Quo(bigQ, bq)
		inv := new(big.Int).ModInverse(new(big.Int).Mod(hat, bq), bq)
		if inv == nil {
			return nil, fmt.Errorf("moduli are not coprime")
		}
		s.qHatInv = append(s.qHatInv, inv.Uint64())
		s.qHatLow = append(s.qHatLow, new(big.Int).Mod(hat, two64).Uint64())
	}
	half := new(big.Int).Rsh(bigQ, 1)
	for _, q := range s.q {
		s.halfQ = append(s.halfQ, new(big.Int).Mod(half, new(big.Int).SetUint64(q)).Uint64())
	}
	s.qLow = new(big.Int).Mod(bigQ, two64).Uint64()
	s.halfQLow = new(big.Int).Mod(half, two64).Uint64()
	s.logQFloor = bigQ.BitLen() - 1
	fq, _ := new(big.Float).SetInt(bigQ).Float64()
	fqp, _ := new(big.Float).SetInt(params.QPBigInt()).Float64()
	s.logQ, s.logQP = math.Log2(fq), math.Log2(fqp)
	if s.logQP > HEStandardMaxLogQP {
		return nil, fmt.Errorf("log2(QP) = %.2f exceeds the 128-bit bound %d", s.logQP, HEStandardMaxLogQP)
	}
	if len(moduliP) < 2 {
		return nil, fmt.Errorf("need at least 2 special primes")
	}
	if 6*Sigma > float64(s.q[0]) {
		return nil, fmt.Errorf("noise bound above the smallest prime")
	}

	h := sha256.New()
	h.Write([]byte("tessera/he/params/v1"))
	var b [8]byte
	for _, v := range [][]uint64{moduliQ, moduliP, {LogN, math.Float64bits(Sigma), NoiseBound, StatLambda}} {
		for _, x := range v {
			binary.LittleEndian.PutUint64(b[:], x)
			h.Write(b[:])
		}
	}
	copy(s.fingerprint[:], h.Sum(nil))
	return s, nil
}

// mulMod returns a*b mod q for a, b < q.
func mulMod(a, b, q uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	_, r := bits.Div64(hi, lo, q)
	return r
}

// crtMod64 returns y mod 2^64 for the integer y with |y| < Q/4 whose residues
// are res[i] = y mod q_i. It shifts y by floor(Q/2) so that z = y + Q/2 lies in
// (Q/4, 3Q/4): the CRT quotient floor(sum v_i/q_i) is then computed exactly
// in float64, whose error (< 2^-49) is far from the fractional part z/Q.
func (s *suite) crtMod64(res []uint64) uint64 {
	var frac float64
	var acc uint64
	for i, q := range s.q {
		z := res[i] + s.halfQ[i]
		if z >= q {
			z -= q
		}
		v := mulMod(z, s.qHatInv[i], q)
		frac += float64(v) / float64(q)
		acc += v * s.qHatLow[i]
	}
	k := uint64(frac)
	return acc - k*s.qLow - s.halfQLow
}
