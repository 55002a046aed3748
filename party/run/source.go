package run

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/he"
	"github.com/tessera-mpc/tessera/protocol/ot"
	"github.com/tessera-mpc/tessera/sharing"
)

// Everything here touches the preprocessing interface protocol.Source: where a
// node's material comes from (an in-process dealer, the dealer's node, or
// dealer-free setup), and the decorators the node builder puts around it
// (recording, pipelining, timing).

// material says where a node's preprocessing material comes from: an in-process
// trusted dealer, the dealer's own node (member `parties` of the online link), or,
// with neither, dealer-free setup over the links' HE and OT channels.
type material struct {
	dealer  *protocol.Dealer
	remote  bool
	parties int
	rnd     Randomness // of dealer-free setup
	// plan, with a remote dealer, is the run's recorded plan: party N-1 asks the
	// dealer for it ahead of the computation.
	plan *protocol.Plan
	// meters, when set, account each party's dealer-free material by kind (bench).
	meters []*kindMeter
	// logged, when set, logs the requests (the dry run that finds the plan).
	logged *requestLog
}

// openedSource is a node's own source, before the builder decorates it.
type openedSource struct {
	src   protocol.Source
	end   func(context.Context) error // ends a remote dealer's session (never nil)
	setup time.Duration               // dealer-free key and OT setup
}

// open makes party self's source, starting at request start (a resumed run's
// position; a dealer-free source's material is fresh at any position).
func (m material) open(ctx context.Context, self int, l links, start uint64) (openedSource, error) {
	o := openedSource{end: func(context.Context) error { return nil }}
	var err error
	switch {
	case m.dealer != nil:
		o.src, err = m.dealer.SourceAt(self, start)
	case m.remote && l.dealer == nil:
		err = errors.New("no channel to the dealer's node")
	case m.remote && m.plan != nil:
		o.src, o.end, err = protocol.RemoteDealerSourceAhead(ctx, l.dealer, m.parties, m.plan, start, dealerWindow)
	case m.remote:
		o.src, o.end, err = protocol.RemoteDealerSourceAt(ctx, l.dealer, m.parties, start)
	default:
		start := time.Now()
		var meter *kindMeter
		if self < len(m.meters) {
			meter = m.meters[self]
		}
		var closeLanes func()
		o.src, closeLanes, err = dealerFreeSource(ctx, l, m.rnd, self, meter)
		o.setup = time.Since(start)
		if err == nil {
			o.end = func(context.Context) error { closeLanes(); return nil }
		}
	}
	if err != nil {
		return o, err
	}
	if m.logged != nil {
		m.logged.src = o.src
		o.src = m.logged
	}
	return o, nil
}

// publicEngine is an engine that only exchanges public values (the handshake
// before the parties agree on the experiment): it holds no material.
func publicEngine(tr protocol.Transport, cfg *experiment.Config) (*protocol.Engine, error) {
	return protocol.NewEngine(tr, noMaterial, protocol.Config{Codec: sharing.Codec{FracBits: cfg.Precision}, Parties: cfg.Parties, Opening: cfg.EngineOpening()})
}

// errNoMaterial is what a public-only engine answers if it is asked for material.
var errNoMaterial = errors.New("party: no preprocessing before the parties agree on the experiment")

// noMaterial is the source of a public-only engine.
var noMaterial = protocol.SourceFunc(func(context.Context, protocol.Request) (protocol.Material, error) {
	return protocol.Material{}, errNoMaterial
})

// dealerWindow bounds what party N-1 asks a dealer's node for ahead of the
// computation: far more than a WAN link's bandwidth-delay product (100 Mbit/s
// over 40 ms is 0.5 MB), and a few times the largest request of the MNIST
// network, so that the link stays busy while memory stays bounded.
var dealerWindow = protocol.DealerWindow{Requests: 256, Bytes: 64 << 20}

// pipelineDepth bounds how many requests a pipelined source keeps ready.
const pipelineDepth = 64

// pipelined wraps a dealer-free source, or party N-1's source from a dealer's
// node, as the config's preprocessing mode says; it returns the source to use,
// the time an offline-first phase took, and a stop function.
// A resumed run's pipeline serves the plan from its checkpoint's position.
func pipelined(ctx context.Context, cfg *experiment.Config, src protocol.Source, plan *protocol.Plan, position uint64) (protocol.Source, time.Duration, func(), error) {
	if position > uint64(plan.Len()) {
		return nil, 0, nil, fmt.Errorf("resuming at preprocessing request %d of a plan of %d", position, plan.Len())
	}
	switch cfg.PreprocessingMode {
	case experiment.PrepOnDemand:
		return src, 0, func() {}, nil
	case experiment.PrepOfflineFirst:
		start := time.Now()
		p, err := protocol.NewPipelineAt(ctx, src, plan, 0, int(position))
		if err != nil {
			return nil, 0, nil, err
		}
		if err := p.Wait(ctx); err != nil {
			p.Close()
			return nil, 0, nil, fmt.Errorf("offline phase: %w", err)
		}
		return p, time.Since(start), p.Close, nil
	default:
		p, err := protocol.NewPipelineAt(ctx, src, plan, pipelineDepth, int(position))
		if err != nil {
			return nil, 0, nil, err
		}
		return p, 0, p.Close, nil
	}
}

// countingSource counts the requests made of it: a checkpoint's position.
type countingSource struct {
	protocol.Source
	made uint64
}

// Fetch implements protocol.Source.
func (c *countingSource) Fetch(ctx context.Context, req protocol.Request) (protocol.Material, error) {
	m, err := c.Source.Fetch(ctx, req)
	if err == nil {
		c.made++
	}
	return m, err
}

// timedSource adds the time spent in a preprocessing source to *spent.
type timedSource struct {
	protocol.Source
	spent *time.Duration
}

// Fetch implements protocol.Source.
func (t timedSource) Fetch(ctx context.Context, req protocol.Request) (protocol.Material, error) {
	defer func(start time.Time) { *t.spent += time.Since(start) }(time.Now())
	return t.Source.Fetch(ctx, req)
}

// otChannels is how many channels a party's OT source runs on over the OT
// link: every request is cut into that many pieces made at once (ot.Parallel),
// so that one piece computes while another waits for the peers.
const otChannels = 2

// dealerFreeSource sets up party self's dealer-free preprocessing: threshold-CKKS
// keys for the arithmetic material and pairwise OTs for the binary material,
// each a lane of its own (a pipeline makes both at once). meter, when set,
// accounts each lane's material with its own channel's bytes. The function it returns closes the OT channels.
func dealerFreeSource(ctx context.Context, l links, rnd Randomness, self int, meter *kindMeter) (protocol.Source, func(), error) {
	var heOpts []he.Option
	if rnd.InsecureSeed != nil {
		heOpts = append(heOpts, he.WithRand(rnd.stream("he", self)))
	}
	arith, err := he.Setup(ctx, l.he, heOpts...)
	if err != nil {
		return nil, nil, fmt.Errorf("HE key setup: %w", err)
	}
	measured := func(src protocol.Source, ch protocol.Transport) protocol.Source {
		if meter == nil {
			return src
		}
		prep := channelStats(ch)
		metered := meter.wrap(src, prep)
		if b, ok := src.(protocol.BatchSource); ok {
			return meteredBatches{Source: metered, batch: b, meter: meter, prep: prep}
		}
		return metered
	}
	lanes := protocol.NewLanes().Add(measured(arith, l.he), he.Kinds...)
	mux, err := network.NewMux(l.ot, otChannels)
	if err != nil {
		return nil, nil, fmt.Errorf("OT channels: %w", err)
	}
	closeMux := func() { mux.Close() }
	channels := make([]protocol.Transport, otChannels)
	for k := range channels {
		channels[k] = mux.Channel(k)
	}
	// Base OTs with every peer once per channel, then SoftSpoken extension on
	// demand. The OT lane is added after HE so that element-wise triples and
	// square pairs, which both can make, come from OT (about 1 kB per element
	// and party at N = 3, HE 3.7 kB).
	binary, err := ot.SetupParallel(ctx, channels)
	if err != nil {
		closeMux()
		return nil, nil, fmt.Errorf("OT setup: %w", err)
	}
	lanes.Add(measured(binary, l.ot), ot.Kinds...)
	return lanes, closeMux, nil
}

// channelStats is tr's traffic counter, if it keeps one.
func channelStats(tr protocol.Transport) []protocol.StatsReporter {
	if r, ok := tr.(protocol.StatsReporter); ok {
		return []protocol.StatsReporter{r}
	}
	return nil
}

// meteredBatches is a metered source that keeps its source's batches (the HE
// source packs a batch's small products into shared ciphertexts): a batch's
// time, bytes and CPU are shared among its requests by their elements.
type meteredBatches struct {
	protocol.Source // the metered Fetch
	batch           protocol.BatchSource
	meter           *kindMeter
	prep            []protocol.StatsReporter
}

// Batchable implements protocol.BatchSource.
func (b meteredBatches) Batchable(req protocol.Request) bool { return b.batch.Batchable(req) }

// FetchBatch implements protocol.BatchSource.
func (b meteredBatches) FetchBatch(ctx context.Context, reqs []protocol.Request) ([]protocol.Material, error) {
	m := b.meter
	if err := m.waitGate(ctx); err != nil {
		return nil, err
	}
	b0, t0, cpu0 := bytesSentOn(b.prep), time.Now(), processCPU()
	mats, err := b.batch.FetchBatch(ctx, reqs)
	dt, db, dcpu := time.Since(t0), bytesSentOn(b.prep)-b0, processCPU()-cpu0
	weights := make([]int64, len(reqs))
	var total int64
	for k, req := range reqs {
		weights[k] = max(1, int64(requestElements(req)))
		total += weights[k]
	}
	// part returns request k's share of x, rounded so the shares add up to x
	var cum int64
	part := func(k int, x int64) int64 {
		return x*(cum+weights[k])/total - x*cum/total
	}
	for k, req := range reqs {
		m.add(req, part(k, db), time.Duration(part(k, int64(dt))), time.Duration(part(k, int64(dcpu))))
		cum += weights[k]
	}
	return mats, err
}
