package protocol

import (
	"context"
	"fmt"
	"io"
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

// BytesSent is what the dealer has sent so far: N-1 seeds once, plus every
// corrected share for the last party.
func (d *Dealer) BytesSent() int64 {
	return int64(len(d.seeds)*sharing.SeedSize) + d.sent.Load()
}

// Source returns the preprocessing source of one party.
func (d *Dealer) Source(party int) (Source, error) {
	if party < 0 || party >= d.parties {
		return nil, fmt.Errorf("protocol: dealer has no party %d", party)
	}
	return &dealerSource{dealer: d, party: party}, nil
}

// Components of a request: each gets its own AES-CTR stream.
const componentsPerRequest = 4

func streamID(request uint64, component int) uint64 {
	return request*componentsPerRequest + uint64(component)
}

// material builds the secret values of request k: component tensors whose shares
// the parties receive. gen draws the random components from prg and derives the
// rest.
type materialGen func(prg *sharing.PRG) []sharing.Tensor

// shares returns party p's shares of request k's components.
func (d *Dealer) shares(p int, k uint64, shapes [][]int, gen materialGen) []sharing.Tensor {
	if p < d.parties-1 {
		out := make([]sharing.Tensor, len(shapes))
		for c, shape := range shapes {
			out[c] = sharing.NewPRG(d.seeds[p], streamID(k, c)).Tensor(shape...)
		}
		return out
	}
	values := gen(sharing.NewPRG(d.master, k))
	for i := 0; i < d.parties-1; i++ {
		for c, shape := range shapes {
			sharing.SubInPlace(values[c], sharing.NewPRG(d.seeds[i], streamID(k, c)).Tensor(shape...))
		}
	}
	for _, v := range values {
		d.sent.Add(int64(8 * v.Len()))
	}
	return values
}

type dealerSource struct {
	dealer *Dealer
	party  int
	next   uint64 // index of the next request in this session
}

func (s *dealerSource) request(ctx context.Context, shapes [][]int, gen materialGen) ([]sharing.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, shape := range shapes {
		if sharing.Size(shape) < 0 {
			return nil, fmt.Errorf("protocol: dealer asked for invalid shape %v", shape)
		}
	}
	k := s.next
	s.next++
	return s.dealer.shares(s.party, k, shapes, gen), nil
}

func (s *dealerSource) ElementwiseTriple(ctx context.Context, shape []int) (Triple, error) {
	t, err := s.request(ctx, [][]int{shape, shape, shape}, func(prg *sharing.PRG) []sharing.Tensor {
		a, b := prg.Tensor(shape...), prg.Tensor(shape...)
		return []sharing.Tensor{a, b, sharing.Hadamard(a, b)}
	})
	if err != nil {
		return Triple{}, err
	}
	return Triple{A: t[0], B: t[1], C: t[2]}, nil
}

func (s *dealerSource) MatrixTriple(ctx context.Context, m, k, n int) (Triple, error) {
	t, err := s.request(ctx, [][]int{{m, k}, {k, n}, {m, n}}, func(prg *sharing.PRG) []sharing.Tensor {
		a, b := prg.Tensor(m, k), prg.Tensor(k, n)
		return []sharing.Tensor{a, b, sharing.MatMul(a, b)}
	})
	if err != nil {
		return Triple{}, err
	}
	return Triple{A: t[0], B: t[1], C: t[2]}, nil
}

func (s *dealerSource) SquarePair(ctx context.Context, shape []int) (SquarePair, error) {
	t, err := s.request(ctx, [][]int{shape, shape}, func(prg *sharing.PRG) []sharing.Tensor {
		a := prg.Tensor(shape...)
		return []sharing.Tensor{a, sharing.Hadamard(a, a)}
	})
	if err != nil {
		return SquarePair{}, err
	}
	return SquarePair{A: t[0], A2: t[1]}, nil
}

func (s *dealerSource) TruncPair(ctx context.Context, shape []int, fracBits int) (TruncPair, error) {
	if fracBits <= 0 || fracBits >= 62 {
		return TruncPair{}, fmt.Errorf("protocol: truncation by %d bits is out of range", fracBits)
	}
	t, err := s.request(ctx, [][]int{shape, shape, shape}, func(prg *sharing.PRG) []sharing.Tensor {
		r := prg.Tensor(shape...)
		shifted, msb := sharing.Zeros(shape...), sharing.Zeros(shape...)
		for i, v := range r.Data {
			shifted.Data[i] = (v &^ (1 << 63)) >> fracBits
			msb.Data[i] = v >> 63
		}
		return []sharing.Tensor{r, shifted, msb}
	})
	if err != nil {
		return TruncPair{}, err
	}
	return TruncPair{R: t[0], RShifted: t[1], RMSB: t[2]}, nil
}
