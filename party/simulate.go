package party

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
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
}

// Simulate runs all parties of cfg as goroutines over the in-memory transport with
// a trusted dealer, beside the plaintext reference, and returns the results. Each
// party goroutine sees only its own part of the data.
func Simulate(ctx context.Context, cfg *Config, opts SimOptions) (*Results, []*SecureResult, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	split, err := LoadSplit(cfg)
	if err != nil {
		return nil, nil, err
	}
	log.Info("data loaded", "dataset", cfg.Dataset.Name, "train_rows", split.Train.Rows(), "test_rows", split.Test.Rows(), "partition", cfg.Dataset.Partition)
	plainStart := time.Now()
	plain, err := TrainPlain(cfg, split, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("plaintext reference: %w", err)
	}
	plainTime := time.Since(plainStart)
	log.Info("plaintext reference trained", "seconds", plainTime.Seconds())

	n := cfg.Parties
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wiring, err := connectParties(ctx, cfg, opts.Transport, opts.Randomness)
	if err != nil {
		return nil, nil, err
	}
	defer wiring.close()
	ls := wiring.links
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	fmt.Fprintf(progress, "simulating %s: %d parties, %s partition %v, %s preprocessing, %d fractional bits\n",
		cfg.Name, n, cfg.Dataset.Partition, partSizes(split.Layout), cfg.Preprocessing, cfg.Precision)
	table := newEpochTable(progress, split.Task == dataset.Classification, true)

	var plan *protocol.Plan
	if cfg.Preprocessing == PrepHE && cfg.PreprocessingMode != PrepOnDemand {
		planStart := time.Now()
		if plan, err = RecordPlan(ctx, cfg, split.Layout, split.Task, split.Classes, split.Test); err != nil {
			return nil, nil, err
		}
		log.Info("preprocessing plan recorded", "requests", plan.Len(), "seconds", time.Since(planStart).Seconds())
	}
	results := make([]*SecureResult, n)
	offline := make([]time.Duration, n)   // an offline-first phase
	setups := make([]time.Duration, n)    // dealer-free key and OT setup
	prepTimes := make([]time.Duration, n) // time spent waiting for preprocessing material
	engines := make([]*protocol.Engine, n)
	start := time.Now()
	err = runParties(ctx, n, func(i int) { ls[i].online.Close() }, func(ctx context.Context, i int) error {
		err := func() error {
			src, end, setup, err := wiring.source(ctx, i, opts.Randomness)
			if err != nil {
				return fmt.Errorf("party %d: preprocessing: %w", i, err)
			}
			defer end(ctx)
			setups[i] = setup
			if plan != nil {
				var stop func()
				if src, offline[i], stop, err = pipelined(ctx, cfg, src, plan); err != nil {
					return fmt.Errorf("party %d: %w", i, err)
				}
				defer stop()
			}
			src = timedSource{Source: src, spent: &prepTimes[i]}
			ecfg := protocol.Config{Codec: sharing.Codec{FracBits: cfg.Precision}, Rand: opts.Randomness.Party(i), Parties: n, Opening: cfg.Opening}
			e, err := protocol.NewEngine(ls[i].online, src, ecfg)
			if err != nil {
				return err
			}
			engines[i] = e
			var hooks Hooks
			if i == 0 {
				hooks.Epoch = func(r EpochReport) {
					table.row(r, plain.Epochs[r.Epoch-1])
					log.Info("epoch done", "epoch", r.Epoch, "seconds", r.Elapsed.Seconds())
				}
				if opts.Bar {
					hooks.Step = table.bar
				}
			}
			results[i], err = TrainSecure(ctx, cfg, e, Local{Own: split.Parts[i], Layout: split.Layout, Test: split.Test}, hooks)
			return err
		}()
		if err != nil {
			log.Error("party failed", "party", i, "err", err)
		}
		return err
	})
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

	res := &Results{Config: cfg, Mode: "simulate", Transport: transportName(opts.Transport), Layout: split.Layout, Versions: Versions()}
	for k, r := range results[0].Epochs {
		pm := plain.Epochs[k].Metrics
		res.Epochs = append(res.Epochs, EpochResult{Epoch: r.Epoch, Steps: r.Steps, Secure: r.Metrics, Plaintext: &pm, SecureSec: r.Elapsed.Seconds()})
	}
	last := len(res.Epochs) - 1
	res.Final = FinalResult{Secure: res.Epochs[last].Secure, Plaintext: res.Epochs[last].Plaintext}
	res.Cost = Cost{WallSeconds: wall.Seconds(), PlaintextSeconds: plainTime.Seconds()}
	if wiring.dealer != nil {
		res.Cost.DealerBytesSent = wiring.dealer.BytesSent()
	}
	for i := 0; i < n; i++ {
		res.Cost.Parties = append(res.Cost.Parties, partyCost(i, ls[i], engines[i], results[i].Scopes, prepTimes[i], setups[i], offline[i]))
	}
	PrintCosts(progress, res)
	return res, results, nil
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

func transportName(t TransportKind) string {
	if t == "" {
		return string(TransportMemory)
	}
	return string(t)
}

func partSizes(l Layout) string {
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
func sameModels(results []*SecureResult) error {
	var ref *SecureResult
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
