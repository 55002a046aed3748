package protocol

import (
	"context"
	"fmt"
	"io"
	"slices"
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
func (d *Dealer) Source(party int) (Source, error) { return d.SourceAt(party, 0) }

// SourceAt is Source for a session that starts at request start: a run resumed
// from a checkpoint made after start requests. A dealer with fresh seeds gives
// fresh material at any position; a dealer whose seeds repeat (the insecure test
// seed) gives request k the material it gave request k before, which is what
// makes a resumed test run bit-identical to an uninterrupted one.
func (d *Dealer) SourceAt(party int, start uint64) (Source, error) {
	if party < 0 || party >= d.parties {
		return nil, fmt.Errorf("protocol: dealer has no party %d", party)
	}
	if party < d.parties-1 {
		return newSeededSource(d.seeds[party], start), nil
	}
	return &materialSource{requester{next: start, start: start, fetch: func(ctx context.Context, k uint64, req Request) ([]sharing.Tensor, error) {
		return d.corrected(k, req), nil
	}}}, nil
}

// Components of a request: each gets its own AES-CTR stream.
const componentsPerRequest = 4

func streamID(request uint64, component int) uint64 {
	return request*componentsPerRequest + uint64(component)
}

// expand returns the shares a seeded party derives for request k.
func expand(seed sharing.Seed, k uint64, req Request) []sharing.Tensor {
	shapes := req.shapes()
	out := make([]sharing.Tensor, len(shapes))
	for c, shape := range shapes {
		out[c] = sharing.NewPRG(seed, streamID(k, c)).Tensor(shape...)
	}
	if req.Kind == KindDaBit || req.Kind == KindDaBitTriple {
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
func (d *Dealer) corrected(k uint64, req Request) []sharing.Tensor {
	var values []sharing.Tensor
	if req.Kind == KindMaskProduct {
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
	if req.Kind == KindDaBit || req.Kind == KindDaBitTriple {
		maskBits(values[0])
	}
	for _, v := range values {
		d.sent.Add(int64(8 * v.Len()))
	}
	return values
}

// maskValue regenerates a mask made by an earlier request (a mask is the first
// component drawn from its request's stream), unfolded if the reference says so.
func (d *Dealer) maskValue(m MaskRef) sharing.Tensor {
	return m.unfolded(sharing.NewPRG(d.master, m.ID).Tensor(m.Rows, m.Cols))
}

// generate draws the secret values of a request from the dealer's stream.
func (r Request) generate(prg *sharing.PRG) []sharing.Tensor {
	switch r.Kind {
	case KindElementwise:
		a, b := prg.Tensor(r.size()), prg.Tensor(r.size())
		return []sharing.Tensor{a, b, sharing.Hadamard(a, b)}
	case KindMatrix:
		a, b := prg.Tensor(r.M, r.K), prg.Tensor(r.K, r.N)
		return []sharing.Tensor{a, b, sharing.MatMul(a, b)}
	case KindSquare:
		a := prg.Tensor(r.size())
		return []sharing.Tensor{a, sharing.Hadamard(a, a)}
	case KindAnd:
		a, b := prg.Tensor(r.size()), prg.Tensor(r.size())
		c := sharing.Zeros(r.size())
		for i := range c.Data {
			c.Data[i] = a.Data[i] & b.Data[i]
		}
		return []sharing.Tensor{a, b, c}
	case KindMask:
		return []sharing.Tensor{prg.Tensor(r.M, r.K)}
	case KindCompare:
		return generateCompare(prg, r.size(), r.Bits)
	case KindAnd3:
		return generateAnd3(prg, r.size())
	case KindTruncSign:
		return generateTruncSign(prg, r.size(), r.Bits)
	case KindDaBit:
		bits := prg.Tensor(r.size())
		for i := range bits.Data {
			bits.Data[i] &= 1
		}
		return []sharing.Tensor{bits, bits.Clone()}
	case KindDaBitTriple:
		bits := prg.Tensor(r.size())
		for i := range bits.Data {
			bits.Data[i] &= 1
		}
		b := prg.Tensor(r.size())
		return []sharing.Tensor{bits, bits.Clone(), b, sharing.Hadamard(bits, b)}
	default:
		rv := prg.Tensor(r.size())
		if r.Kind == KindTruncHigh {
			for i := range rv.Data {
				rv.Data[i] &^= 1<<r.Bits - 1
			}
		}
		shifted, msb := sharing.Zeros(r.size()), sharing.Zeros(r.size())
		for i, v := range rv.Data {
			shifted.Data[i] = (v &^ (1 << 63)) >> r.Bits
			msb.Data[i] = v >> 63
		}
		return []sharing.Tensor{rv, shifted, msb}
	}
}

// generateTruncSign draws n elements of KindTruncSign material for a
// truncation by b bits: the 33 bits of R >> b, and what the kind derives from
// them (the bits of RShifted are its value, XOR-shared).
func generateTruncSign(prg *sharing.PRG, n, b int) []sharing.Tensor {
	high := prg.Tensor(n)
	rv, shifted, msb := sharing.Zeros(n), sharing.Zeros(n), sharing.Zeros(n)
	for i, v := range high.Data {
		v &= 1<<33 - 1
		rv.Data[i], shifted.Data[i], msb.Data[i] = v<<b, v&(1<<32-1), v>>32
	}
	return []sharing.Tensor{rv, shifted, msb, shifted.Clone()}
}

// requester numbers requests and asks fetch for the components of each, made
// flat (a dealer's streams depend only on element counts), then shapes them.
type requester struct {
	next  uint64
	start uint64 // the session's first request: masks before it are not this session's
	fetch func(ctx context.Context, k uint64, req Request) ([]sharing.Tensor, error)
}

// Fetch implements Source. A mask's ID is its request's number.
func (s *requester) Fetch(ctx context.Context, req Request) (Material, error) {
	if err := ctx.Err(); err != nil {
		return Material{}, err
	}
	if err := req.Validate(); err != nil {
		return Material{}, err
	}
	if req.Kind == KindMaskProduct && (req.X.ID >= s.next || req.Y.ID >= s.next || req.X.ID < s.start || req.Y.ID < s.start) {
		return Material{}, fmt.Errorf("protocol: mask product refers to masks %d and %d, not made in this session (requests %d to %d)", req.X.ID, req.Y.ID, s.start, s.next)
	}
	k := s.next
	s.next++
	parts, err := s.fetch(ctx, k, req.flat())
	if err != nil {
		return Material{}, fmt.Errorf("request %d (%s): %w", k, req.Kind, err)
	}
	for i, shape := range req.shapes() {
		parts[i] = sharing.Tensor{Shape: slices.Clone(shape), Data: parts[i].Data}
	}
	return Material{Parts: parts, ID: k}, nil
}

// seededSource is the source of parties 0..N-2: everything from one seed.
type seededSource struct{ requester }

func newSeededSource(seed sharing.Seed, start uint64) *seededSource {
	s := &seededSource{requester{next: start, start: start}}
	s.fetch = func(_ context.Context, k uint64, req Request) ([]sharing.Tensor, error) {
		return expand(seed, k, req), nil
	}
	return s
}

// materialSource is party N-1's source: corrected shares from the dealer.
type materialSource struct{ requester }
