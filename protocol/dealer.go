package protocol

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/tessera-mpc/tessera/sharing"
)

// Dealer is a trusted dealer of correlated randomness, seed-compressed: parties
// 0..N-2 expand their shares locally from a seed the dealer gave them once, and only
// party N-1 receives data, a "corrected" share that makes the sum right. The dealer
// sees no inputs, but it knows every party's shares: it must be trusted not to
// collude. It suits simulation and deployments that accept a dealer.
//
// Every request is numbered by its position in the session (all parties ask in the
// same order), and request k of party i is expanded from AES-CTR stream k of seed i,
// so a Dealer is stateless and safe for concurrent use.
type Dealer struct {
	parties int
	master  sharing.Seed   // the dealer's own randomness for the secret values
	seeds   []sharing.Seed // seeds[i] for parties 0..N-2
	sent    atomic.Int64   // bytes of corrected shares handed to party N-1
}

// NewDealer draws the dealer's seeds from rng (crypto/rand.Reader in production;
// a seeded PRG makes a simulation reproducible).
func NewDealer(parties int, rng io.Reader) (*Dealer, error) {
	if parties < 2 {
		return nil, fmt.Errorf("protocol: a dealer needs at least 2 parties, got %d", parties)
	}
	d := &Dealer{parties: parties, seeds: make([]sharing.Seed, parties-1)}
	var err error
	if d.master, err = sharing.NewSeed(rng); err != nil {
		return nil, err
	}
	for i := range d.seeds {
		if d.seeds[i], err = sharing.NewSeed(rng); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Parties is the number of computing parties the dealer serves.
func (d *Dealer) Parties() int { return d.parties }

// BytesSent is what the dealer has sent so far: N-1 seeds once, plus every
// corrected share for the last party.
func (d *Dealer) BytesSent() int64 {
	return int64(len(d.seeds)*sharing.SeedSize) + d.sent.Load()
}

// Source returns the preprocessing source of one party, for a dealer in the same
// process (simulation).
func (d *Dealer) Source(party int) (Source, error) {
	if party < 0 || party >= d.parties {
		return nil, fmt.Errorf("protocol: dealer has no party %d", party)
	}
	if party < d.parties-1 {
		return newSeededSource(d.seeds[party]), nil
	}
	return &materialSource{requester{fetch: func(ctx context.Context, k uint64, req request) ([]sharing.Tensor, error) {
		return d.corrected(k, req), nil
	}}}, nil
}

// Components of a request: each gets its own AES-CTR stream.
const componentsPerRequest = 4

func streamID(request uint64, component int) uint64 {
	return request*componentsPerRequest + uint64(component)
}

// expand returns the shares a seeded party derives for request k.
func expand(seed sharing.Seed, k uint64, req request) []sharing.Tensor {
	shapes := req.shapes()
	out := make([]sharing.Tensor, len(shapes))
	for c, shape := range shapes {
		out[c] = sharing.NewPRG(seed, streamID(k, c)).Tensor(shape...)
	}
	if req.Kind == kindDaBit {
		maskBits(out[0])
	}
	return out
}

// maskBits keeps bit 0 of every word: a daBit's XOR share lives there alone.
func maskBits(t sharing.Tensor) {
	for i := range t.Data {
		t.Data[i] &= 1
	}
}

// parallelDealerWords is the request size from which the dealer expands the other
// parties' shares concurrently.
const parallelDealerWords = 1 << 15

// corrected returns party N-1's shares of request k: the secret values minus the
// other parties' expansions.
func (d *Dealer) corrected(k uint64, req request) []sharing.Tensor {
	var values []sharing.Tensor
	if req.Kind == kindMaskProduct {
		values = []sharing.Tensor{sharing.MatMulOp(d.maskValue(req.X), req.X.Trans, d.maskValue(req.Y), req.Y.Trans)}
	} else {
		values = req.generate(sharing.NewPRG(d.master, k))
	}
	binary := req.binaryComponents()
	// The other parties' expansions are independent: for large requests they are
	// computed concurrently, so the dealer's work leaves the critical path of the
	// party that waits for it when a core is free.
	expansions := make([][]sharing.Tensor, d.parties-1)
	total := 0
	for _, v := range values {
		total += v.Len()
	}
	if total >= parallelDealerWords && d.parties > 2 {
		var wg sync.WaitGroup
		for i := range expansions {
			wg.Go(func() { expansions[i] = expand(d.seeds[i], k, req) })
		}
		wg.Wait()
	} else {
		for i := range expansions {
			expansions[i] = expand(d.seeds[i], k, req)
		}
	}
	for _, shares := range expansions {
		for c, share := range shares {
			if binary[c] {
				for j, w := range share.Data {
					values[c].Data[j] ^= w
				}
				continue
			}
			sharing.SubInPlace(values[c], share)
		}
	}
	if req.Kind == kindDaBit {
		maskBits(values[0])
	}
	for _, v := range values {
		d.sent.Add(int64(8 * v.Len()))
	}
	return values
}

// maskValue regenerates a mask made by an earlier request: a mask is the first
// component drawn from its request's stream.
func (d *Dealer) maskValue(m MaskRef) sharing.Tensor {
	return sharing.NewPRG(d.master, m.ID).Tensor(m.Rows, m.Cols)
}

// requestKind names the kinds of material.
type requestKind uint8

const (
	kindElementwise requestKind = iota + 1
	kindMatrix
	kindSquare
	kindTrunc
	kindAnd
	kindDaBit
	kindMask
	kindMaskProduct
)

func (k requestKind) String() string {
	switch k {
	case kindElementwise:
		return "element-wise triple"
	case kindMatrix:
		return "matrix triple"
	case kindSquare:
		return "square pair"
	case kindTrunc:
		return "truncation pair"
	case kindAnd:
		return "AND triple"
	case kindDaBit:
		return "daBit"
	case kindMask:
		return "matrix mask"
	case kindMaskProduct:
		return "mask product"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// request is one ask for material. Element-wise kinds use only Size; truncation
// also Bits; matrix triples M, K, N.
type request struct {
	Kind    requestKind
	M, K, N int
	Size    int
	Bits    int
	// Mask products: the two masks (earlier requests) and their use.
	X, Y MaskRef
}

func (r request) validate() error {
	check := func(dims ...int) error {
		total := 0
		for _, d := range dims {
			if d < 0 || d > MaxMessageElements {
				return fmt.Errorf("protocol: %s of dimension %d is out of range", r.Kind, d)
			}
		}
		for _, s := range r.shapes() {
			total += sharing.Size(s)
			if total > MaxMessageElements {
				return fmt.Errorf("protocol: %s of %d elements exceeds the bound %d", r.Kind, total, MaxMessageElements)
			}
		}
		return nil
	}
	switch r.Kind {
	case kindElementwise, kindSquare, kindAnd, kindDaBit:
		return check(r.Size)
	case kindTrunc:
		if r.Bits < 1 || r.Bits > 61 {
			return fmt.Errorf("protocol: truncation by %d bits is out of range", r.Bits)
		}
		return check(r.Size)
	case kindMatrix:
		if int64(r.M)*int64(r.K) > MaxMessageElements || int64(r.K)*int64(r.N) > MaxMessageElements || int64(r.M)*int64(r.N) > MaxMessageElements {
			return fmt.Errorf("protocol: matrix triple %dx%dx%d is too large", r.M, r.K, r.N)
		}
		return check(r.M, r.K, r.N)
	case kindMask:
		if int64(r.M)*int64(r.K) > MaxMessageElements {
			return fmt.Errorf("protocol: mask %dx%d is too large", r.M, r.K)
		}
		return check(r.M, r.K)
	case kindMaskProduct:
		xr, xc := r.X.dims()
		yr, yc := r.Y.dims()
		if xc != yr {
			return fmt.Errorf("protocol: mask product of %dx%d and %dx%d", xr, xc, yr, yc)
		}
		for _, m := range []MaskRef{r.X, r.Y} {
			if int64(m.Rows)*int64(m.Cols) > MaxMessageElements || m.Rows < 0 || m.Cols < 0 {
				return fmt.Errorf("protocol: mask %dx%d is out of range", m.Rows, m.Cols)
			}
		}
		if int64(xr)*int64(yc) > MaxMessageElements {
			return fmt.Errorf("protocol: mask product %dx%d is too large", xr, yc)
		}
		return nil
	}
	return fmt.Errorf("protocol: unknown kind of material %d", r.Kind)
}

func (r request) shapes() [][]int {
	switch r.Kind {
	case kindMatrix:
		return [][]int{{r.M, r.K}, {r.K, r.N}, {r.M, r.N}}
	case kindSquare, kindDaBit:
		return [][]int{{r.Size}, {r.Size}}
	case kindMask:
		return [][]int{{r.M, r.K}}
	case kindMaskProduct:
		rows, _ := r.X.dims()
		_, cols := r.Y.dims()
		return [][]int{{rows, cols}}
	default:
		return [][]int{{r.Size}, {r.Size}, {r.Size}}
	}
}

// binaryComponents says which components are XOR-shared rather than additively.
func (r request) binaryComponents() []bool {
	if r.Kind == kindMask || r.Kind == kindMaskProduct {
		return []bool{false}
	}
	switch r.Kind {
	case kindAnd:
		return []bool{true, true, true}
	case kindDaBit:
		return []bool{true, false}
	}
	return []bool{false, false, false}
}

// generate draws the secret values of a request from the dealer's stream.
func (r request) generate(prg *sharing.PRG) []sharing.Tensor {
	switch r.Kind {
	case kindElementwise:
		a, b := prg.Tensor(r.Size), prg.Tensor(r.Size)
		return []sharing.Tensor{a, b, sharing.Hadamard(a, b)}
	case kindMatrix:
		a, b := prg.Tensor(r.M, r.K), prg.Tensor(r.K, r.N)
		return []sharing.Tensor{a, b, sharing.MatMul(a, b)}
	case kindSquare:
		a := prg.Tensor(r.Size)
		return []sharing.Tensor{a, sharing.Hadamard(a, a)}
	case kindAnd:
		a, b := prg.Tensor(r.Size), prg.Tensor(r.Size)
		c := sharing.Zeros(r.Size)
		for i := range c.Data {
			c.Data[i] = a.Data[i] & b.Data[i]
		}
		return []sharing.Tensor{a, b, c}
	case kindMask:
		return []sharing.Tensor{prg.Tensor(r.M, r.K)}
	case kindDaBit:
		bits := prg.Tensor(r.Size)
		for i := range bits.Data {
			bits.Data[i] &= 1
		}
		return []sharing.Tensor{bits, bits.Clone()}
	default:
		rv := prg.Tensor(r.Size)
		shifted, msb := sharing.Zeros(r.Size), sharing.Zeros(r.Size)
		for i, v := range rv.Data {
			shifted.Data[i] = (v &^ (1 << 63)) >> r.Bits
			msb.Data[i] = v >> 63
		}
		return []sharing.Tensor{rv, shifted, msb}
	}
}

// requester turns the typed Source methods into numbered requests.
type requester struct {
	next  uint64
	fetch func(ctx context.Context, k uint64, req request) ([]sharing.Tensor, error)
}

func (s *requester) get(ctx context.Context, req request) ([]sharing.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	k := s.next
	s.next++
	t, err := s.fetch(ctx, k, req)
	if err != nil {
		return nil, fmt.Errorf("request %d (%s): %w", k, req.Kind, err)
	}
	return t, nil
}

func reshape(t sharing.Tensor, shape []int) sharing.Tensor {
	return sharing.Tensor{Shape: append([]int(nil), shape...), Data: t.Data}
}

func (s *requester) ElementwiseTriple(ctx context.Context, shape []int) (Triple, error) {
	t, err := s.get(ctx, request{Kind: kindElementwise, Size: sharing.Size(shape)})
	if err != nil {
		return Triple{}, err
	}
	return Triple{A: reshape(t[0], shape), B: reshape(t[1], shape), C: reshape(t[2], shape)}, nil
}

func (s *requester) MatrixTriple(ctx context.Context, m, k, n int) (Triple, error) {
	t, err := s.get(ctx, request{Kind: kindMatrix, M: m, K: k, N: n})
	if err != nil {
		return Triple{}, err
	}
	return Triple{A: t[0], B: t[1], C: t[2]}, nil
}

func (s *requester) SquarePair(ctx context.Context, shape []int) (SquarePair, error) {
	t, err := s.get(ctx, request{Kind: kindSquare, Size: sharing.Size(shape)})
	if err != nil {
		return SquarePair{}, err
	}
	return SquarePair{A: reshape(t[0], shape), A2: reshape(t[1], shape)}, nil
}

func (s *requester) TruncPair(ctx context.Context, shape []int, fracBits int) (TruncPair, error) {
	t, err := s.get(ctx, request{Kind: kindTrunc, Size: sharing.Size(shape), Bits: fracBits})
	if err != nil {
		return TruncPair{}, err
	}
	return TruncPair{R: reshape(t[0], shape), RShifted: reshape(t[1], shape), RMSB: reshape(t[2], shape)}, nil
}

func (s *requester) AndTriple(ctx context.Context, words int) (BinaryTriple, error) {
	t, err := s.get(ctx, request{Kind: kindAnd, Size: words})
	if err != nil {
		return BinaryTriple{}, err
	}
	return BinaryTriple{A: t[0].Data, B: t[1].Data, C: t[2].Data}, nil
}

func (s *requester) DaBits(ctx context.Context, n int) (DaBits, error) {
	t, err := s.get(ctx, request{Kind: kindDaBit, Size: n})
	if err != nil {
		return DaBits{}, err
	}
	return DaBits{Binary: t[0].Data, Arith: t[1]}, nil
}

func (s *requester) Mask(ctx context.Context, rows, cols int) (MaskShare, error) {
	id := s.next
	t, err := s.get(ctx, request{Kind: kindMask, M: rows, K: cols})
	if err != nil {
		return MaskShare{}, err
	}
	return MaskShare{ID: id, A: t[0]}, nil
}

func (s *requester) MaskProduct(ctx context.Context, x, y MaskRef) (sharing.Tensor, error) {
	if x.ID >= s.next || y.ID >= s.next {
		return sharing.Tensor{}, fmt.Errorf("protocol: mask product refers to masks %d and %d, not made yet", x.ID, y.ID)
	}
	t, err := s.get(ctx, request{Kind: kindMaskProduct, X: x, Y: y})
	if err != nil {
		return sharing.Tensor{}, err
	}
	return t[0], nil
}

// seededSource is the source of parties 0..N-2: everything from one seed.
type seededSource struct{ requester }

func newSeededSource(seed sharing.Seed) *seededSource {
	s := &seededSource{}
	s.fetch = func(_ context.Context, k uint64, req request) ([]sharing.Tensor, error) {
		return expand(seed, k, req), nil
	}
	return s
}

// materialSource is party N-1's source: corrected shares from the dealer.
type materialSource struct{ requester }
