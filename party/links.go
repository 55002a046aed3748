package party

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/he"
	"github.com/tessera-mpc/tessera/sharing"
)

// links are one party's channels to its peers: the online engine's, and with
// dealer-free preprocessing one each for the HE and the OT source, so that
// preprocessing traffic never interleaves with the engine's.
type links struct {
	online transport
	he, ot protocol.Transport
	// prep reports the preprocessing channels' traffic (nil with a dealer).
	prep []protocol.StatsReporter
}

// timedSource adds the time spent in a preprocessing source to *spent.
type timedSource struct {
	protocol.Source
	spent *time.Duration
}

func (t timedSource) since(start time.Time) { *t.spent += time.Since(start) }

func (t timedSource) ElementwiseTriple(ctx context.Context, shape []int) (protocol.Triple, error) {
	defer t.since(time.Now())
	return t.Source.ElementwiseTriple(ctx, shape)
}

func (t timedSource) MatrixTriple(ctx context.Context, m, k, n int) (protocol.Triple, error) {
	defer t.since(time.Now())
	return t.Source.MatrixTriple(ctx, m, k, n)
}

func (t timedSource) SquarePair(ctx context.Context, shape []int) (protocol.SquarePair, error) {
	defer t.since(time.Now())
	return t.Source.SquarePair(ctx, shape)
}

func (t timedSource) TruncPair(ctx context.Context, shape []int, f int) (protocol.TruncPair, error) {
	defer t.since(time.Now())
	return t.Source.TruncPair(ctx, shape, f)
}

func (t timedSource) AndTriple(ctx context.Context, words int) (protocol.BinaryTriple, error) {
	defer t.since(time.Now())
	return t.Source.AndTriple(ctx, words)
}

func (t timedSource) DaBits(ctx context.Context, n int) (protocol.DaBits, error) {
	defer t.since(time.Now())
	return t.Source.DaBits(ctx, n)
}

func (t timedSource) Mask(ctx context.Context, rows, cols int) (protocol.MaskShare, error) {
	defer t.since(time.Now())
	return t.Source.Mask(ctx, rows, cols)
}

func (t timedSource) MaskProduct(ctx context.Context, x, y protocol.MaskRef) (sharing.Tensor, error) {
	defer t.since(time.Now())
	return t.Source.MaskProduct(ctx, x, y)
}

// dealerFreeSource sets up party self's dealer-free preprocessing: threshold-CKKS
// keys for the arithmetic material and pairwise OTs for the binary material.
func dealerFreeSource(ctx context.Context, l links, rnd Randomness, self int) (protocol.Source, error) {
	var heOpts []he.Option
	if rnd.InsecureSeed != nil {
		heOpts = append(heOpts, he.WithRand(rnd.stream("he", self)))
	}
	arith, err := he.Setup(ctx, l.he, heOpts...)
	if err != nil {
		return nil, fmt.Errorf("HE key setup: %w", err)
	}
	binary, err := newOTSource(ctx, l.ot, rnd, self)
	if err != nil {
		return nil, fmt.Errorf("OT setup: %w", err)
	}
	return protocol.SplitSource{Arith: arith, Binary: binary}, nil
}

// muxedLinks splits each party's transport into the online, HE and OT channels.
func muxedLinks(trs []transport) ([]links, func(), error) {
	var muxes []*network.Mux
	closeMuxes := func() {
		var wg sync.WaitGroup
		for _, m := range muxes {
			wg.Go(func() { m.Close() })
		}
		wg.Wait()
	}
	out := make([]links, len(trs))
	for i, t := range trs {
		m, err := network.NewMux(t, 3)
		if err != nil {
			closeMuxes()
			return nil, nil, err
		}
		muxes = append(muxes, m)
		out[i] = links{online: channelTransport{m.Channel(0), t}, he: m.Channel(1), ot: m.Channel(2),
			prep: []protocol.StatsReporter{m.Channel(1), m.Channel(2)}}
	}
	return out, closeMuxes, nil
}

// channelTransport is a mux channel that closes its underlying transport, so a
// failing party still wakes the peers that wait on it.
type channelTransport struct {
	*network.Channel
	under interface{ Close() error }
}

func (c channelTransport) Close() error { return c.under.Close() }
