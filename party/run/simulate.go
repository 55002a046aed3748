package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"sync"
	"time"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
	"github.com/tessera-mpc/tessera/party/train"
	"github.com/tessera-mpc/tessera/protocol"
)

// SimOptions tunes a simulation.
type SimOptions struct {
	// Progress receives the per-epoch table and the cost summary; nil for silence.
	Progress io.Writer
	// Bar draws a per-epoch progress bar (steps/s, ETA) on Progress; for terminals.
	Bar bool
	// Log receives structured events; nil discards them.
	Log *slog.Logger
	// Randomness of the dealer and of input sharing: crypto/rand unless a test
	// asks for an insecure fixed seed.
	Randomness Randomness
	// Transport is "memory" (default: in-process queues and dealer) or "libp2p"
	// (real hosts on 127.0.0.1, the dealer as its own node).
	Transport TransportKind
	// CheckpointDir, when set, is where every party saves its checkpoints (in a
	// directory party-I of its own), as the experiment's training.checkpoint_every
	// says.
	CheckpointDir string
	// Resume continues from the newest checkpoint of CheckpointDir every party holds.
	Resume bool

	// afterStep, for tests, sees every step of the reporting party, after its
	// checkpoint (if one is due).
	afterStep func(train.StepReport)
	// Network delays every message as a link of that latency and bandwidth would;
	// the zero value (or network.LinkMemory) does not delay.
	Network network.Link
}

// Simulate runs all parties of cfg as goroutines over the in-memory transport with
// a trusted dealer, beside the plaintext reference, and returns the results. Each
// party goroutine sees only its own part of the data.
func Simulate(ctx context.Context, cfg *experiment.Config, opts SimOptions) (*report.Results, []*train.SecureResult, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	split, err := experiment.LoadSplit(cfg)
	if err != nil {
		return nil, nil, err
	}
	log.Info("data loaded", "dataset", cfg.Dataset.Title(), "train_rows", split.Train.Rows(), "test_rows", split.Test.Rows(), "partition", cfg.Dataset.Partition)
	plainStart := time.Now()
	plain, err := train.Plain(cfg, split, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("plaintext reference: %w", err)
	}
	plainTime := time.Since(plainStart)
	log.Info("plaintext reference trained", "seconds", plainTime.Seconds())
	local, err := train.LocalOnly(cfg, split)
	if err != nil {
		return nil, nil, fmt.Errorf("local-only models: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wiring, err := connectParties(ctx, cfg, opts.Transport, opts.Network, opts.Randomness)
	if err != nil {
		return nil, nil, err
	}
	defer wiring.close()
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	fmt.Fprintf(progress, "simulating %s: %d parties, %s partition %v, %s preprocessing, %d fractional bits\n",
		cfg.Name, cfg.Parties, cfg.Dataset.Partition, partSizes(split.Layout), cfg.Preprocessing, cfg.Precision)
	table := report.NewEpochTable(progress, split.Task == dataset.Classification, true)
	hooks := train.Hooks{Epoch: func(r train.EpochReport) {
		table.Row(r, plain.Epochs[r.Epoch-1])
		log.Info("epoch done", "epoch", r.Epoch, "seconds", r.Elapsed.Seconds())
	}}
	if opts.Bar {
		hooks.Step = table.Bar
	}
	if opts.afterStep != nil {
		bar := hooks.Step
		hooks.Step = func(r train.StepReport) {
			if bar != nil {
				bar(r)
			}
			opts.afterStep(r)
		}
	}
	if opts.Resume && opts.CheckpointDir == "" {
		return nil, nil, errors.New("resume: give the checkpoint directory")
	}
	start := time.Now()
	nodes, results, err := simulateParties(ctx, cfg, split, wiring, opts, hooks, log)
	wall := time.Since(start)
	if err != nil {
		return nil, nil, err
	}
	if err := <-wiring.dealerDone; err != nil {
		return nil, nil, fmt.Errorf("dealer: %w", err)
	}
	if err := sameModels(results); err != nil {
		return nil, nil, err
	}
	res := &report.Results{Config: cfg, Mode: "simulate", Transport: transportName(opts.Transport), Layout: split.Layout, Versions: report.Versions()}
	for k, r := range results[train.Reporter(cfg)].Epochs {
		pm := plain.Epochs[k].Metrics
		res.Epochs = append(res.Epochs, report.EpochResult{Epoch: r.Epoch, Steps: r.Steps, Secure: r.Metrics, Plaintext: &pm, SecureSec: r.Elapsed.Seconds()})
	}
	last := len(res.Epochs) - 1
	res.Final = report.FinalResult{Secure: res.Epochs[last].Secure, Plaintext: res.Epochs[last].Plaintext, Local: local}
	res.Cost = report.Cost{WallSeconds: wall.Seconds(), PlaintextSeconds: plainTime.Seconds()}
	if wiring.dealer != nil {
		res.Cost.DealerBytesSent = wiring.dealer.BytesSent()
	}
	for i, nd := range nodes {
		res.Cost.Parties = append(res.Cost.Parties, nd.cost(results[i].Scopes))
	}
	// An epoch's Steps counts the run's steps so far.
	res.Network = networkResult(opts.Network, wall, res.Epochs[last].Steps, res.Cost.Parties)
	report.PrintLocal(progress, res)
	report.PrintCosts(progress, res)
	return res, results, nil
}

// simulateParties builds every party's node and trains them together; the
// reporting party (train.Reporter) reports progress through hooks.
func simulateParties(ctx context.Context, cfg *experiment.Config, split *experiment.Split, wiring *parties, opts SimOptions, hooks train.Hooks, log *slog.Logger) ([]*node, []*train.SecureResult, error) {
	rnd := opts.Randomness
	var planFor func(context.Context) (*protocol.Plan, error)
	if cfg.Preprocessing == experiment.PrepHE && cfg.PreprocessingMode != experiment.PrepOnDemand {
		planStart := time.Now()
		plan, err := RecordPlan(ctx, cfg, split.Layout, split.Task, split.Classes, split.Test)
		if err != nil {
			return nil, nil, err
		}
		log.Info("preprocessing plan recorded", "requests", plan.Len(), "seconds", time.Since(planStart).Seconds())
		planFor = func(context.Context) (*protocol.Plan, error) { return plan, nil }
	}
	n := cfg.Parties
	nodes := make([]*node, n)
	results := make([]*train.SecureResult, n)
	err := runParties(ctx, n, func(i int) { wiring.links[i].online.Close() }, func(ctx context.Context, i int) error {
		err := func() error {
			ck, err := simCheckpointer(ctx, cfg, split, wiring.links[i], opts, i, log)
			if err != nil {
				return fmt.Errorf("party %d: %w", i, err)
			}
			nd, err := buildNode(ctx, nodeSpec{cfg: cfg, self: i, links: wiring.links[i], material: wiring.material(rnd), plan: planFor, engine: engineConfig(cfg, rnd, i), start: ck.start()})
			if err != nil {
				return fmt.Errorf("party %d: %w", i, err)
			}
			defer nd.close(ctx)
			nodes[i] = nd
			var h train.Hooks
			if i == train.Reporter(cfg) {
				h = hooks
			}
			h.Checkpoint = ck.hook(nd.position)
			results[i], err = train.SecureFrom(ctx, cfg, nd.engine, train.Local{Own: split.Parts[i], Layout: split.Layout, Test: split.Test}, h, ck.state())
			return err
		}()
		if err != nil {
			log.Error("party failed", "party", i, "err", err)
		}
		return err
	})
	return nodes, results, err
}

// simCheckpointer is party i's checkpointing in a simulation (nil without a
// checkpoint directory), agreed with the other parties over its online link as a
// deployment's handshake does.
func simCheckpointer(ctx context.Context, cfg *experiment.Config, split *experiment.Split, l links, opts SimOptions, i int, log *slog.Logger) (*checkpointer, error) {
	if opts.CheckpointDir == "" {
		return nil, nil
	}
	ck, err := newCheckpointer(filepath.Join(opts.CheckpointDir, fmt.Sprintf("party-%d", i)), opts.Resume, i, cfg, nil, split.Parts[i], log.With("party", i))
	if err != nil {
		return nil, err
	}
	e, err := publicEngine(l.online, cfg)
	if err != nil {
		return nil, err
	}
	if err := ck.agree(ctx, e, split.Layout); err != nil {
		return nil, err
	}
	if from := ck.state(); from != nil && i == 0 {
		log.Info("resuming from a checkpoint", "step", from.Step)
	}
	return ck, nil
}

// transport is what a simulation needs of a party's transport.
type transport interface {
	protocol.Transport
	protocol.StatsReporter
	Close() error
}

// closeAll closes transports concurrently: each waits for its peers to end their
// streams, so closing one at a time would wait for the timeout.
func closeAll(ts []*network.Libp2pTransport) {
	var wg sync.WaitGroup
	for _, t := range ts {
		wg.Go(func() { t.Close() })
	}
	wg.Wait()
}

// networkResult is the network a run crossed, its time per step and the least
// time per step its rounds and bytes allow there (for the party where that bound
// is largest).
func networkResult(link network.Link, wall time.Duration, steps int, parties []report.PartyCost) report.Network {
	if link.Name == "" {
		link = network.LinkMemory
	}
	nw := report.Network{Setting: link.Name, RTTSeconds: link.RTT.Seconds(), BitsPerSecond: link.BitsPerSecond}
	if steps < 1 {
		return nw
	}
	var bound time.Duration
	k := float64(steps)
	for _, p := range parties {
		if b := link.LowerBound(p.Rounds, busiestLink(p.Peers)); b > bound || nw.BoundRoundsPerStep == 0 {
			bound = b
			nw.BoundRoundsPerStep, nw.BoundBytesPerStep = float64(p.Rounds)/k, float64(busiestLink(p.Peers))/k
		}
	}
	nw.StepSeconds = wall.Seconds() / k
	nw.LowerBoundStepSeconds = bound.Seconds() / k
	return nw
}

// busiestLink is the most bytes this party sent to one peer.
func busiestLink(peers []protocol.PeerStats) int64 {
	var most int64
	for _, p := range peers {
		most = max(most, p.BytesSent)
	}
	return most
}

func transportName(t TransportKind) string {
	if t == "" {
		return string(TransportMemory)
	}
	return string(t)
}

func partSizes(l experiment.Layout) string {
	if l.Vertical {
		return fmt.Sprintf("(columns %v of %d rows)", l.ColsPerParty, l.Rows)
	}
	return fmt.Sprintf("(rows %v)", l.RowsPerParty)
}

// runParties runs fn for parties 0..n-1 concurrently. The first failure cancels
// the others' context and, through closeParty (if not nil), closes the failed
// party's transport so that peers blocked on it wake; the root cause is returned.
func runParties(ctx context.Context, n int, closeParty func(i int), fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Go(func() {
			if errs[i] = fn(ctx, i); errs[i] != nil {
				cancel()
				if closeParty != nil {
					closeParty(i)
				}
			}
		})
	}
	wg.Wait()
	return firstError(errs)
}

func firstError(errs []error) error {
	// Report a root cause rather than the cancellations it caused in other parties.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, network.ErrClosed) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// sameModels checks that every party that learned the model learned the same one:
// they must, since they open the same shares.
func sameModels(results []*train.SecureResult) error {
	var ref *train.SecureResult
	for i, r := range results {
		if r.Model == nil {
			continue
		}
		if ref == nil {
			ref = r
			continue
		}
		for l := range ref.Model.W {
			if !equalDense(ref.Model.W[l].RawMatrix().Data, r.Model.W[l].RawMatrix().Data) || !equalDense(ref.Model.B[l].RawMatrix().Data, r.Model.B[l].RawMatrix().Data) {
				return fmt.Errorf("party %d revealed a different model than the others (layer %d)", i, l)
			}
		}
	}
	return nil
}

func equalDense(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}
