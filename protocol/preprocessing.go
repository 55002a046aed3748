package protocol

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tessera-mpc/tessera/sharing"
)

// Source supplies correlated randomness: one party's share of the material a
// request asks for. All parties of a session ask their sources for the same
// material in the same order; a source may rely on that order (the seed-compressed
// dealer numbers requests by it). A source serves the kinds it can make and returns
// an error naming the kind for the others; Router combines sources by kind.
type Source interface {
	Fetch(ctx context.Context, req Request) (Material, error)
}

// ErrUnservedKind is wrapped by the error of a source asked for a kind of material
// it does not make.
var ErrUnservedKind = errors.New("no source here makes this kind of material")

// Kind names a kind of preprocessing material.
type Kind uint8

// The kinds of material, with the components of their Material in order.
const (
	// KindElementwise: A, B, C = A ⊙ B, each of the request's Shape.
	KindElementwise Kind = iota + 1
	// KindMatrix: A (M x K), B (K x N), C = A·B (M x N).
	KindMatrix
	// KindSquare: A, A ⊙ A of the request's Shape.
	KindSquare
	// KindTrunc: R uniform, (R mod 2^63) >> Bits, R >> 63 (an arithmetic share of a
	// bit), each of the request's Shape.
	KindTrunc
	// KindAnd: XOR shares of packed bit triples A, B, C = A AND B, Shape[0] words.
	KindAnd
	// KindDaBit: Shape[0] random bits b shared twice: XOR shares in bit 0 of each
	// word, and additive shares over Z_2^64.
	KindDaBit
	// KindMask: a uniform M x K mask; the Material's ID names it in later requests.
	KindMask
	// KindMaskProduct: op(X)·op(Y) for two masks of earlier KindMask requests; a
	// mask reference with Unfold set stands for the mask's unfolding (im2col), the
	// material of a convolution (ConvMasked).
	KindMaskProduct
	// KindTruncHigh: the high part of a truncation pair: R uniform among the
	// multiples of 2^Bits, RShifted and RMSB, each of the request's Shape,
	// with R = 2^Bits RShifted + 2^63 RMSB (mod 2^64), RMSB in {0, 1} and
	// 2^Bits RShifted below 2^63 + 2^TruncHighSlackBits (a dealer's is R mod
	// 2^63, with no slack); for truncations that never open the low Bits bits
	// of a share (Engine.TruncateEachCompact). A source makes 64 - Bits random
	// bits per element instead of 64, or fewer with the slack (protocol/ot).
	KindTruncHigh
	// KindDaBitTriple: Shape[0] daBits r (XOR shares in bit 0 of each word, and
	// additive shares), a uniform B and C = r*B, additively: the material of a
	// shared bit times a shared value (bitsToArithTimes), made dealer-free with
	// a few OTs of 64-bit strings per element instead of a triple's 64 per pair.
	KindDaBitTriple
	// KindCompare: the lookup material of Shape[0] sign extractions on Bits = 16
	// or 32 bits (compare.go): R, uniform below 2^Bits (additive shares); the
	// one-hot vectors of R's chunks, compareTableWords(Bits) words per element, and
	// one word per element of R's top bit and a multi-input AND's masks and their
	// products (XOR shares). Only a dealer makes it.
	KindCompare
	// KindAnd3: XOR shares of packed bits A, B, C (Shape[0] words each, one
	// component) and of AB, AC, BC, ABC (the second): the material of a
	// three-input AND in one round. Only a dealer makes it.
	KindAnd3
	// KindTruncSign: the material of a truncation by Bits (<= TruncSignMaxBits)
	// whose result's sign is read by comparing with the mask's bits
	// (Engine.TruncateReLU without lookups; a plain 16- or 32-bit sign uses
	// RShifted and its bits alone, see truncsign.go): R uniform among the multiples of
	// 2^Bits below 2^(Bits+33), RShifted = (R mod 2^(Bits+32)) >> Bits and
	// RMSB = bit Bits+32 of R (additive shares, exact modulo 2^64), and XOR
	// shares of RShifted's 32 bits, one word per element. A source makes 33
	// random bits per element instead of a pair's 64.
	KindTruncSign
)

// TruncSignMaxBits is the largest truncation KindTruncSign serves: its mask
// spans Bits+33 <= 64 bits.
const TruncSignMaxBits = 31

// TruncHighSlackBits bounds how far a KindTruncHigh element's 2^Bits RShifted
// may exceed R mod 2^63: by less than 2^TruncHighSlackBits. A source may then
// make R's lower bits as the sum of the parties' own bounded random values
// (protocol/ot), which costs no interaction; the engine's compact truncation
// leaves the room for it in its bound (TruncateEachCompact).
const TruncHighSlackBits = 58

// Kinds lists every kind of material.
var Kinds = []Kind{KindElementwise, KindMatrix, KindSquare, KindTrunc, KindAnd, KindDaBit, KindMask, KindMaskProduct, KindTruncHigh, KindDaBitTriple, KindCompare, KindAnd3, KindTruncSign}

func (k Kind) String() string {
	switch k {
	case KindElementwise:
		return "element-wise triple"
	case KindMatrix:
		return "matrix triple"
	case KindSquare:
		return "square pair"
	case KindTrunc:
		return "truncation pair"
	case KindTruncHigh:
		return "truncation pair (high)"
	case KindTruncSign:
		return "truncation pair (sign)"
	case KindDaBitTriple:
		return "daBit triple"
	case KindAnd:
		return "AND triple"
	case KindDaBit:
		return "daBit"
	case KindMask:
		return "matrix mask"
	case KindMaskProduct:
		return "mask product"
	case KindCompare:
		return "comparison lookup"
	case KindAnd3:
		return "3-input AND"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Request is one ask for material. Element-wise kinds (triples, square pairs,
// truncation pairs) give the tensor Shape, truncation also Bits; AND triples and
// daBits a one-dimensional Shape (words, bits); matrix triples M, K, N; masks M
// rows and K columns; mask products the two masks X and Y and their use.
type Request struct {
	Kind    Kind
	Shape   []int
	M, K, N int
	Bits    int
	X, Y    MaskRef
}

// Constructors of the requests the engine makes.

func ElementwiseRequest(shape []int) Request { return Request{Kind: KindElementwise, Shape: shape} }
func MatrixRequest(m, k, n int) Request      { return Request{Kind: KindMatrix, M: m, K: k, N: n} }
func SquareRequest(shape []int) Request      { return Request{Kind: KindSquare, Shape: shape} }
func TruncRequest(shape []int, bits int) Request {
	return Request{Kind: KindTrunc, Shape: shape, Bits: bits}
}
func TruncHighRequest(shape []int, bits int) Request {
	return Request{Kind: KindTruncHigh, Shape: shape, Bits: bits}
}
func TruncSignRequest(n, bits int) Request {
	return Request{Kind: KindTruncSign, Shape: []int{n}, Bits: bits}
}
func AndRequest(words int) Request            { return Request{Kind: KindAnd, Shape: []int{words}} }
func DaBitRequest(bits int) Request           { return Request{Kind: KindDaBit, Shape: []int{bits}} }
func DaBitTripleRequest(n int) Request        { return Request{Kind: KindDaBitTriple, Shape: []int{n}} }
func MaskRequest(rows, cols int) Request      { return Request{Kind: KindMask, M: rows, K: cols} }
func MaskProductRequest(x, y MaskRef) Request { return Request{Kind: KindMaskProduct, X: x, Y: y} }

// Equal reports whether two requests ask for the same material.
func (r Request) Equal(o Request) bool {
	return r.Kind == o.Kind && slices.Equal(r.Shape, o.Shape) && r.M == o.M && r.K == o.K && r.N == o.N &&
		r.Bits == o.Bits && r.X == o.X && r.Y == o.Y
}

func (r Request) String() string {
	switch r.Kind {
	case KindMatrix:
		return fmt.Sprintf("%s %dx%dx%d", r.Kind, r.M, r.K, r.N)
	case KindMask:
		return fmt.Sprintf("%s %dx%d", r.Kind, r.M, r.K)
	case KindMaskProduct:
		if !r.X.Unfold.IsZero() {
			return fmt.Sprintf("%s of requests %d (unfolded %+v) and %d", r.Kind, r.X.ID, r.X.Unfold, r.Y.ID)
		}
		return fmt.Sprintf("%s of requests %d and %d", r.Kind, r.X.ID, r.Y.ID)
	case KindTrunc, KindTruncHigh, KindTruncSign:
		return fmt.Sprintf("%s %v by %d bits", r.Kind, r.Shape, r.Bits)
	case KindCompare:
		return fmt.Sprintf("%s %v on %d bits", r.Kind, r.Shape, r.Bits)
	}
	return fmt.Sprintf("%s %v", r.Kind, r.Shape)
}

// size is the number of elements of an element-wise, AND or daBit request.
func (r Request) size() int { return sharing.Size(r.Shape) }

// Validate checks that a request is well formed and within MaxMessageElements.
func (r Request) Validate() error {
	for _, d := range append(slices.Clone(r.Shape), r.M, r.K, r.N) {
		if d < 0 || d > MaxMessageElements {
			return fmt.Errorf("protocol: %s of dimension %d is out of range", r.Kind, d)
		}
	}
	switch r.Kind {
	case KindElementwise, KindSquare, KindTrunc, KindTruncHigh, KindAnd, KindDaBit, KindDaBitTriple:
		if (r.Kind == KindAnd || r.Kind == KindDaBit || r.Kind == KindDaBitTriple) && len(r.Shape) != 1 {
			return fmt.Errorf("protocol: %s of shape %v, want one dimension", r.Kind, r.Shape)
		}
		if (r.Kind == KindTrunc || r.Kind == KindTruncHigh) && (r.Bits < 1 || r.Bits > 61) {
			return fmt.Errorf("protocol: truncation by %d bits is out of range", r.Bits)
		}
		size := int64(1)
		for _, d := range r.Shape {
			if size *= int64(d); size > MaxMessageElements {
				return fmt.Errorf("protocol: %s of shape %v exceeds the bound %d", r.Kind, r.Shape, MaxMessageElements)
			}
		}
	case KindCompare:
		if len(r.Shape) != 1 || (r.Bits != 16 && r.Bits != 32) {
			return fmt.Errorf("protocol: %s of shape %v on %d bits, want one dimension and 16 or 32 bits", r.Kind, r.Shape, r.Bits)
		}
		// The dealer's answer holds every component in one message.
		if int64(r.Shape[0])*int64(compareTableWords(r.Bits)+2) > MaxMessageElements {
			return fmt.Errorf("protocol: %s of %d elements exceeds the bound %d", r.Kind, r.Shape[0], MaxMessageElements)
		}
	case KindTruncSign:
		// The dealer's answer holds the four components in one message.
		if len(r.Shape) != 1 || r.Bits < 1 || r.Bits > TruncSignMaxBits || int64(r.Shape[0])*4 > MaxMessageElements {
			return fmt.Errorf("protocol: %s of shape %v by %d bits, want one dimension of at most %d elements and 1 to %d bits", r.Kind, r.Shape, r.Bits, MaxMessageElements/4, TruncSignMaxBits)
		}
	case KindAnd3:
		if len(r.Shape) != 1 || int64(r.Shape[0])*7 > MaxMessageElements {
			return fmt.Errorf("protocol: %s of shape %v, want one dimension of at most %d words", r.Kind, r.Shape, MaxMessageElements/7)
		}
	case KindMatrix:
		if int64(r.M)*int64(r.K) > MaxMessageElements || int64(r.K)*int64(r.N) > MaxMessageElements || int64(r.M)*int64(r.N) > MaxMessageElements {
			return fmt.Errorf("protocol: matrix triple %dx%dx%d is too large", r.M, r.K, r.N)
		}
	case KindMask:
		if int64(r.M)*int64(r.K) > MaxMessageElements {
			return fmt.Errorf("protocol: mask %dx%d is too large", r.M, r.K)
		}
	case KindMaskProduct:
		for _, m := range []MaskRef{r.X, r.Y} {
			if m.Rows < 0 || m.Cols < 0 || int64(m.Rows)*int64(m.Cols) > MaxMessageElements {
				return fmt.Errorf("protocol: mask %dx%d is out of range", m.Rows, m.Cols)
			}
			if err := m.validUnfold(); err != nil {
				return err
			}
		}
		xr, xc := r.X.dims()
		yr, yc := r.Y.dims()
		if xc != yr {
			return fmt.Errorf("protocol: mask product of %dx%d and %dx%d", xr, xc, yr, yc)
		}
		if int64(xr)*int64(yc) > MaxMessageElements {
			return fmt.Errorf("protocol: mask product %dx%d is too large", xr, yc)
		}
	default:
		return fmt.Errorf("protocol: unknown kind of material %d", r.Kind)
	}
	return nil
}

// shapes are the shapes of the request's components, in the Material's order.
func (r Request) shapes() [][]int {
	switch r.Kind {
	case KindMatrix:
		return [][]int{{r.M, r.K}, {r.K, r.N}, {r.M, r.N}}
	case KindSquare, KindDaBit:
		return [][]int{r.Shape, r.Shape}
	case KindDaBitTriple, KindTruncSign:
		return [][]int{r.Shape, r.Shape, r.Shape, r.Shape}
	case KindCompare:
		return [][]int{r.Shape, {r.size() * compareTableWords(r.Bits)}, r.Shape}
	case KindAnd3:
		return [][]int{{3 * r.size()}, {4 * r.size()}}
	case KindMask:
		return [][]int{{r.M, r.K}}
	case KindMaskProduct:
		rows, _ := r.X.dims()
		_, cols := r.Y.dims()
		return [][]int{{rows, cols}}
	default:
		return [][]int{r.Shape, r.Shape, r.Shape}
	}
}

// binaryComponents says which components are XOR-shared rather than additively.
func (r Request) binaryComponents() []bool {
	switch r.Kind {
	case KindMask, KindMaskProduct:
		return []bool{false}
	case KindAnd:
		return []bool{true, true, true}
	case KindDaBit:
		return []bool{true, false}
	case KindDaBitTriple:
		return []bool{true, false, false, false}
	case KindTruncSign:
		return []bool{false, false, false, true}
	case KindCompare:
		return []bool{false, true, true}
	case KindAnd3:
		return []bool{true, true}
	}
	return []bool{false, false, false}
}

// Material is one party's share of what a Request asked for: its components in
// the order the Kind lists them, each of the request's shape, and for masks the
// ID that later mask-product requests name it by.
type Material struct {
	Parts []sharing.Tensor
	ID    uint64
}

// check verifies that m has the components req asks for, so that a faulty source
// is an error and never an out-of-range index in the engine.
func (m Material) check(req Request) error {
	shapes := req.shapes()
	if len(m.Parts) != len(shapes) {
		return fmt.Errorf("protocol: %s: the source gave %d components, want %d", req, len(m.Parts), len(shapes))
	}
	for i, s := range shapes {
		if !slices.Equal(m.Parts[i].Shape, s) || m.Parts[i].Len() != sharing.Size(s) {
			return fmt.Errorf("protocol: %s: component %d has shape %v, want %v", req, i, m.Parts[i].Shape, s)
		}
	}
	return nil
}

// Typed views of a checked Material.

// Triple is one party's share of Beaver material: C = A*B, element-wise or as a
// matrix product depending on how it was asked for.
type Triple struct {
	A, B, C sharing.Tensor
}

// SquarePair is one party's share of (A, A*A element-wise).
type SquarePair struct {
	A, A2 sharing.Tensor
}

// TruncPair is one party's share of the material for wrap-safe probabilistic
// truncation by f bits: R uniform in Z_2^64, RShifted = (R mod 2^63) >> f and
// RMSB = R >> 63 (an arithmetic share of a bit).
type TruncPair struct {
	R, RShifted, RMSB sharing.Tensor
}

// TruncSignPair is one party's share of KindTruncSign material: the pair of a
// truncation by b bits on b+33 bits (R a multiple of 2^b below 2^(b+33),
// RShifted = (R mod 2^(b+32)) >> b, RMSB its bit b+32) and XOR shares of
// RShifted's bits, one word per element.
type TruncSignPair struct {
	TruncPair
	Bits []uint64
}

// BinaryTriple is one party's XOR shares of packed bit triples: C = A & B.
type BinaryTriple struct {
	A, B, C []uint64
}

// DaBits is one party's shares of random bits b: Binary[i] is an XOR share (in bit
// 0) and Arith[i] an additive share of the same b[i].
type DaBits struct {
	Binary []uint64
	Arith  sharing.Tensor
}

// DaBitTriple is one party's shares of daBits r (Binary[i], in bit 0, and
// Arith[i]) with a uniform B and C = r*B, element by element.
type DaBitTriple struct {
	Binary      []uint64
	Arith, B, C sharing.Tensor
}

// MaskShare is one party's share of a matrix mask and the mask's identity within
// the session (the index of the request that made it).
type MaskShare struct {
	ID uint64
	A  sharing.Tensor
}

// MaskRef names a mask of a session and how a product uses it.
type MaskRef struct {
	ID         uint64
	Rows, Cols int    // of the mask as made
	Trans      bool   // use its transpose
	Unfold     Conv2D // if set, use the unfolding of the mask's rows as images (before Trans)
}

// dims are the mask's dimensions as the product uses it.
func (r MaskRef) dims() (rows, cols int) {
	rows, cols = r.Rows, r.Cols
	if !r.Unfold.IsZero() {
		rows, cols = r.Rows*r.Unfold.Patches(), r.Unfold.PatchSize()
	}
	if r.Trans {
		return cols, rows
	}
	return rows, cols
}

func (m Material) Triple() Triple         { return Triple{A: m.Parts[0], B: m.Parts[1], C: m.Parts[2]} }
func (m Material) SquarePair() SquarePair { return SquarePair{A: m.Parts[0], A2: m.Parts[1]} }
func (m Material) TruncPair() TruncPair {
	return TruncPair{R: m.Parts[0], RShifted: m.Parts[1], RMSB: m.Parts[2]}
}
func (m Material) TruncSignPair() TruncSignPair {
	return TruncSignPair{TruncPair: m.TruncPair(), Bits: m.Parts[3].Data}
}
func (m Material) BinaryTriple() BinaryTriple {
	return BinaryTriple{A: m.Parts[0].Data, B: m.Parts[1].Data, C: m.Parts[2].Data}
}
func (m Material) DaBits() DaBits { return DaBits{Binary: m.Parts[0].Data, Arith: m.Parts[1]} }
func (m Material) DaBitTriple() DaBitTriple {
	return DaBitTriple{Binary: m.Parts[0].Data, Arith: m.Parts[1], B: m.Parts[2], C: m.Parts[3]}
}
func (m Material) MaskShare() MaskShare { return MaskShare{ID: m.ID, A: m.Parts[0]} }

// Router serves each kind of material from the source registered for it: the
// dealer-free setup pairs a homomorphic-encryption source, which packs matrix
// products well, with an OT source, which makes random bits well.
type Router map[Kind]Source

// Route registers src for kinds and returns r.
func (r Router) Route(src Source, kinds ...Kind) Router {
	for _, k := range kinds {
		r[k] = src
	}
	return r
}

// Fetch asks the source registered for req's kind.
func (r Router) Fetch(ctx context.Context, req Request) (Material, error) {
	src, ok := r[req.Kind]
	if !ok {
		return Material{}, fmt.Errorf("protocol: %s: %w", req.Kind, ErrUnservedKind)
	}
	return src.Fetch(ctx, req)
}

// SourceFunc adapts a function to Source, for decorators such as timing.
type SourceFunc func(ctx context.Context, req Request) (Material, error)

// Fetch calls f.
func (f SourceFunc) Fetch(ctx context.Context, req Request) (Material, error) { return f(ctx, req) }
