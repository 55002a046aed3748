package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
	"github.com/tessera-mpc/tessera/party/train"
	"github.com/tessera-mpc/tessera/protocol"
)

// NodeOptions tune a deployed node.
type NodeOptions struct {
	Progress   io.Writer
	Bar        bool
	Log        *slog.Logger
	Randomness Randomness
	// Preprocessing, when set, overrides the experiment's (every node must agree).
	Preprocessing experiment.Preprocessing
	// Resume continues from the newest checkpoint every party holds (a party);
	// accepts a session resumed at a later request (the dealer).
	Resume bool
}

// Party is one party's whole life in a deployment: connect and handshake, share
// the layout, fetch preprocessing from the dealer, train, write results. On any
// failure it tells the peers why before returning, so that they stop too.
func Party(ctx context.Context, nc *NodeConfig, opts NodeOptions) (*report.Results, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	cfg, err := nc.loadExperiment(opts)
	if err != nil {
		return nil, err
	}
	cfg.ChooseOpeningFor(true) // a deployment crosses a real network
	self := nc.Party
	if opts.Resume && nc.CheckpointDir == "" {
		return nil, fmt.Errorf("party %d: --resume needs checkpoint_dir in the node config", self)
	}
	own, test, err := nc.loadOwnData(cfg, self)
	if err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	return sessions(ctx, nc, cfg, opts, log, self, partyRejoin(nc), func(tr *network.Libp2pTransport, resume bool) (*report.Results, error) {
		o := opts
		o.Resume = resume
		return deployedParty{cfg: cfg, nc: nc, tr: tr, own: own, test: test, opts: o, progress: progress, log: log}.run(ctx)
	})
}

// withPeers connects this party to its peers, runs fn over the connection and ends
// the session: after a failure of fn it tells the peers why (leave).
func withPeers[T any](ctx context.Context, nc *NodeConfig, cfg *experiment.Config, opts NodeOptions, log *slog.Logger, fn func(*network.Libp2pTransport) (T, error)) (T, error) {
	return sessions(ctx, nc, cfg, opts, log, nc.Party, rejoinPolicy{}, func(tr *network.Libp2pTransport, _ bool) (T, error) { return fn(tr) })
}

// leave ends a failed node's session. If the failure is its own, it tells the peers
// which party failed and where; if it only echoes another party's abort, the peers
// have heard that party already, and a second abort would hide the root cause.
func leave(tr *network.Libp2pTransport, err error) {
	var abort *network.PeerAbortError
	if errors.As(err, &abort) {
		tr.Close()
		return
	}
	var private *train.PrivateError
	if errors.As(err, &private) {
		tr.Abort(private.Public) // the details stay with this party's operator
		return
	}
	tr.Abort(firstLine(err.Error()))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// deployedParty is one party of a deployment, connected to its peers.
type deployedParty struct {
	cfg       *experiment.Config
	nc        *NodeConfig
	tr        *network.Libp2pTransport
	own, test *dataset.Dataset
	opts      NodeOptions
	progress  io.Writer
	log       *slog.Logger
}

// run checks the experiment and exchanges the layout with the peers (before any
// preprocessing: nothing, not even key material, is exchanged before the parties
// agree on the experiment), builds the node, trains and writes the results.
func (p deployedParty) run(ctx context.Context) (*report.Results, error) {
	cfg, self := p.cfg, p.nc.Party
	l, closeLinks, err := nodeLinks(p.tr, cfg.Preprocessing == experiment.PrepHE)
	if err != nil {
		return nil, err
	}
	defer closeLinks()
	var members []string
	for _, peer := range p.nc.Parties {
		members = append(members, peer.ID)
	}
	ck, err := newCheckpointer(p.nc.path(p.nc.CheckpointDir), p.opts.Resume, self, cfg, members, p.own, p.log)
	if err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	lay, err := handshake(ctx, l.online, cfg, p.own, p.test, ck)
	if err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	return p.train(ctx, l, lay, ck)
}

// train builds the node at the agreed checkpoint's position (the start on a fresh
// run), trains from its state and writes the results.
func (p deployedParty) train(ctx context.Context, l links, lay experiment.Layout, ck *checkpointer) (*report.Results, error) {
	cfg, self := p.cfg, p.nc.Party
	dealerFree := cfg.Preprocessing == experiment.PrepHE
	if !dealerFree && self == cfg.Parties-1 && cfg.PreprocessingMode == experiment.PrepOnDemand {
		l = dealerOnDemand(l)
	}
	spec := nodeSpec{cfg: cfg, self: self, links: l, material: material{remote: !dealerFree, parties: cfg.Parties, rnd: p.opts.Randomness}, engine: engineConfig(cfg, p.opts.Randomness, self), start: ck.start()}
	record := func(ctx context.Context) (*protocol.Plan, error) {
		return RecordPlan(ctx, cfg, lay, p.own.Task, p.own.Classes, p.test)
	}
	switch {
	case cfg.PreprocessingMode == experiment.PrepOnDemand:
	case dealerFree:
		spec.plan = record
	case self == cfg.Parties-1:
		// Only the last party asks the dealer's node for material; with the
		// plan it asks ahead, and its round trips leave the online phase.
		start := time.Now()
		plan, err := record(ctx)
		if err != nil {
			return nil, fmt.Errorf("party %d: %w", self, err)
		}
		fmt.Fprintf(p.progress, "party %d: recorded the plan of %d preprocessing requests in %.2fs\n", self, plan.Len(), time.Since(start).Seconds())
		spec.material.plan = plan
		spec.plan = func(context.Context) (*protocol.Plan, error) { return plan, nil }
	}
	nd, err := buildNode(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	defer nd.stop()
	if dealerFree {
		fmt.Fprintf(p.progress, "party %d: dealer-free preprocessing set up in %.2fs\n", self, nd.setup.Seconds())
	}
	if nd.offline > 0 {
		fmt.Fprintf(p.progress, "party %d: offline phase made %d requests' material in %.2fs\n", self, nd.planLen, nd.offline.Seconds())
	}
	fmt.Fprintf(p.progress, "party %d of %d: %s, %s partition %s, %d fractional bits\n", self, cfg.Parties, cfg.Name, cfg.Dataset.Partition, partSizes(lay), cfg.Precision)
	table := report.NewEpochTable(p.progress, p.own.Task == dataset.Classification, false)
	hooks := train.Hooks{Epoch: func(r train.EpochReport) {
		table.Row(r, train.EpochReport{Epoch: r.Epoch})
		p.log.Info("epoch done", "epoch", r.Epoch, "seconds", r.Elapsed.Seconds())
	}}
	if p.opts.Bar {
		hooks.Step = table.Bar
	}
	hooks.Checkpoint = ck.hook(nd.position)
	if from := ck.state(); from != nil {
		fmt.Fprintf(p.progress, "party %d: resuming from the checkpoint of step %d\n", self, from.Step)
	}
	start := time.Now()
	sr, err := train.SecureFrom(ctx, cfg, nd.engine, train.Local{Own: p.own, Layout: lay, Test: p.test}, hooks, ck.state())
	if err != nil {
		return nil, err
	}
	if err := nd.end(ctx); err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	res := &report.Results{Config: cfg, Mode: "run", Transport: string(TransportLibp2p), Layout: lay, Versions: report.Versions()}
	for _, r := range sr.Epochs {
		res.Epochs = append(res.Epochs, report.EpochResult{Epoch: r.Epoch, Steps: r.Steps, Secure: r.Metrics, SecureSec: r.Elapsed.Seconds()})
	}
	res.Final.Secure = res.Epochs[len(res.Epochs)-1].Secure
	res.Cost = report.Cost{WallSeconds: time.Since(start).Seconds(), Parties: []report.PartyCost{nd.cost(sr.Scopes)}}
	report.PrintCosts(p.progress, res)
	return res, p.write(sr, res)
}

// write saves the model (or this party's share of it) and the results, where the
// node config says.
func (p deployedParty) write(sr *train.SecureResult, res *report.Results) error {
	if p.nc.ModelDir != "" {
		results := make([]*train.SecureResult, p.cfg.Parties)
		results[p.nc.Party] = sr
		files, err := report.SaveModels(p.nc.path(p.nc.ModelDir), p.cfg, results)
		if err != nil {
			return err
		}
		for _, f := range files {
			fmt.Fprintf(p.progress, "model written to %s\n", f)
		}
	}
	if p.nc.Results != "" {
		if err := report.WriteJSON(p.nc.path(p.nc.Results), res); err != nil {
			return err
		}
		fmt.Fprintf(p.progress, "results written to %s\n", p.nc.path(p.nc.Results))
	}
	return nil
}

// Dealer is the dealer node's life: connect to the parties, send seeds, answer
// the last party's requests until it ends the session.
func Dealer(ctx context.Context, nc *NodeConfig, opts NodeOptions) error {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := nc.loadExperiment(opts)
	if err != nil {
		return err
	}
	if cfg.Preprocessing != experiment.PrepDealer {
		return fmt.Errorf("the experiment's preprocessing is %q: it needs no dealer", cfg.Preprocessing)
	}
	_, err = sessions(ctx, nc, cfg, opts, log, cfg.Parties, rejoinPolicy{timeout: nc.RejoinTimeout}, func(tr *network.Libp2pTransport, resume bool) (struct{}, error) {
		// A new dealer per session: material is never reused across a resume or
		// a rejoin.
		d, err := protocol.NewDealer(cfg.Parties, opts.Randomness.Dealer())
		if err != nil {
			return struct{}{}, err
		}
		var serve []protocol.ServeOption
		if resume {
			serve = append(serve, protocol.AcceptResumed())
		}
		if err := serveDealerNode(ctx, tr, d, serve...); err != nil {
			return struct{}{}, err
		}
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "dealer: session of %s done, sent %s\n", cfg.Name, report.HumanBytes(d.BytesSent()))
		}
		return struct{}{}, nil
	})
	return err
}
