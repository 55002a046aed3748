package run

import (
	"context"
	"fmt"
	"time"

	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// nodeSpec is what one party's node is built from.
type nodeSpec struct {
	cfg      *experiment.Config
	self     int
	links    links
	material material
	// plan, when set, gives the recorded plan once the source is set up; the
	// node then makes material ahead as cfg.PreprocessingMode says.
	plan   func(context.Context) (*protocol.Plan, error)
	engine protocol.Config
	// start is the preprocessing position to start at: a resumed checkpoint's.
	start uint64
}

// node is one party ready to compute: its engine over its online link, with its
// preprocessing source made, pipelined and timed.
type node struct {
	self    int
	engine  *protocol.Engine
	links   links
	planLen int // requests of the plan, when pipelined
	// position is the number of preprocessing requests made, from the start of
	// the run (a resumed run starts at its checkpoint's): what checkpoints record.
	position func() uint64
	// prep is the time spent waiting for material; setup the dealer-free setup;
	// offline an offline-first phase.
	prep, setup, offline time.Duration
	stop                 func()
	end                  func(context.Context) error
}

// engineConfig is the engine setting of party self of cfg. With a dealer's
// preprocessing (in-process or its own node) the engine compares by lookup
// (protocol.KindCompare, which only a dealer makes); dealer-free engines, and
// the dry runs that record their plans (from the same cfg), read 16- and
// 32-bit signs from sign pairs (the binary adder for 64-bit ones, and for all
// at N = 2) and truncate compactly (fewer daBits per truncation pair).
func engineConfig(cfg *experiment.Config, rnd Randomness, self int) protocol.Config {
	dealt := cfg.Preprocessing == experiment.PrepDealer
	return protocol.Config{Codec: sharing.Codec{FracBits: cfg.Precision}, Rand: rnd.Party(self), Parties: cfg.Parties, Opening: cfg.EngineOpening(),
		LookupComparisons: dealt, CompactTruncations: !dealt}
}

// buildNode makes a node's life up to training: make the source, pipeline it,
// time it, make the engine. Every run builds its parties here.
func buildNode(ctx context.Context, spec nodeSpec) (*node, error) {
	nd := &node{self: spec.self, links: spec.links, stop: func() {}}
	opened, err := spec.material.open(ctx, spec.self, spec.links, spec.start)
	if err != nil {
		return nil, fmt.Errorf("preprocessing: %w", err)
	}
	nd.end, nd.setup = opened.end, opened.setup
	src := opened.src
	if spec.plan != nil {
		plan, err := spec.plan(ctx)
		if err != nil {
			nd.close(ctx)
			return nil, err
		}
		if src, nd.offline, nd.stop, err = pipelined(ctx, spec.cfg, src, plan, spec.start); err != nil {
			nd.stop = func() {}
			nd.close(ctx)
			return nil, err
		}
		nd.planLen = plan.Len()
	}
	counted := &countingSource{Source: src, made: spec.start}
	nd.position = func() uint64 { return counted.made }
	if nd.engine, err = protocol.NewEngine(spec.links.online, timedSource{Source: counted, spent: &nd.prep}, spec.engine); err != nil {
		nd.close(ctx)
		return nil, err
	}
	return nd, nil
}

// close stops a pipeline and ends a remote dealer's session.
func (nd *node) close(ctx context.Context) error {
	nd.stop()
	return nd.end(ctx)
}

// cost is the node's traffic and time, with the scope costs of its run.
func (nd *node) cost(scopes []protocol.ScopeCost) report.PartyCost {
	return partyCost(nd.self, nd.links, nd.engine, scopes, nd.prep, nd.setup, nd.offline)
}

// partyCost gathers one party's costs: online traffic from its online channel,
// dealer-free preprocessing traffic from its other channels.
func partyCost(party int, l links, e *protocol.Engine, scopes []protocol.ScopeCost, prep, setup, offline time.Duration) report.PartyCost {
	st := l.online.Stats()
	pc := report.PartyCost{
		Party: party, BytesSent: st.BytesSent, BytesReceived: st.BytesReceived, Rounds: st.Rounds,
		Peers: st.Peers, Operations: e.Costs(), Layers: scopes,
		PreprocessingSeconds: prep.Seconds(), SetupSeconds: setup.Seconds(), OfflineSeconds: offline.Seconds(),
	}
	for _, r := range l.prep {
		pc.PreprocessingBytesSent += r.Stats().BytesSent
	}
	return pc
}
