package party

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
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
	// Progress receives one line per epoch; nil for silence.
	Progress io.Writer
}

// Simulate runs all parties of cfg as goroutines over the in-memory transport with
// a trusted dealer, beside the plaintext reference, and returns the results. Each
// party goroutine sees only its own rows.
func Simulate(ctx context.Context, cfg *Config, opts SimOptions) (*Results, error) {
	split, err := LoadSplit(cfg)
	if err != nil {
		return nil, err
	}
	plainStart := time.Now()
	plain, err := TrainPlain(cfg, split, nil)
	if err != nil {
		return nil, fmt.Errorf("plaintext reference: %w", err)
	}
	plainTime := time.Since(plainStart)

	n := cfg.Parties
	ts, err := network.NewMemoryNetwork(n)
	if err != nil {
		return nil, err
	}
	dealer, err := protocol.NewDealer(n, rand.Reader)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	fmt.Fprintf(progress, "simulating %s: %d parties (rows %v), %s preprocessing, %d fractional bits\n",
		cfg.Name, n, split.RowsPerParty(), cfg.Preprocessing, cfg.Precision)
	header := "epoch  secure loss  plain loss  "
	if split.Task == dataset.Classification {
		header += "secure acc  plain acc"
	} else {
		header += "secure test MSE  plain test MSE"
	}
	fmt.Fprintln(progress, header)

	results := make([]*SecureResult, n)
	errs := make([]error, n)
	engines := make([]*protocol.Engine, n)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = func() error {
				src, err := dealer.Source(i)
				if err != nil {
					return err
				}
				e, err := protocol.NewEngine(ts[i], src, protocol.Config{Codec: sharing.Codec{FracBits: cfg.Precision}})
				if err != nil {
					return err
				}
				engines[i] = e
				var report func(EpochReport)
				if i == 0 {
					report = func(r EpochReport) { printEpoch(progress, r, plain.Epochs[r.Epoch-1]) }
				}
				results[i], err = TrainSecure(ctx, cfg, e, Local{Own: split.Parts[i], RowsPerParty: split.RowsPerParty(), Test: split.Test}, report)
				return err
			}()
			if errs[i] != nil {
				cancel()      // stop the other parties
				ts[i].Close() // and wake any that wait on this one
			}
		}(i)
	}
	wg.Wait()
	wall := time.Since(start)
	if err := firstError(errs); err != nil {
		return nil, err
	}
	if err := sameModels(results); err != nil {
		return nil, err
	}

	res := &Results{Config: cfg, Mode: "simulate", Versions: Versions()}
	for k, r := range results[0].Epochs {
		pm := plain.Epochs[k].Metrics
		res.Epochs = append(res.Epochs, EpochResult{Epoch: r.Epoch, Secure: r.Metrics, Plaintext: &pm, SecureSec: r.Elapsed.Seconds()})
	}
	last := len(res.Epochs) - 1
	res.Final = FinalResult{Secure: res.Epochs[last].Secure, Plaintext: res.Epochs[last].Plaintext}
	res.Cost = Cost{WallSeconds: wall.Seconds(), DealerBytesSent: dealer.BytesSent(), PlaintextSeconds: plainTime.Seconds()}
	for i := 0; i < n; i++ {
		st := ts[i].Stats()
		res.Cost.Parties = append(res.Cost.Parties, PartyCost{
			Party: i, BytesSent: st.BytesSent, BytesReceived: st.BytesReceived, Rounds: st.Rounds,
			Peers: st.Peers, Operations: engines[i].Costs(),
		})
	}
	printCosts(progress, res)
	return res, nil
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

// sameModels checks that every party revealed the same model: they must, since
// they open the same shares.
func sameModels(results []*SecureResult) error {
	ref := results[0].Model
	for i, r := range results[1:] {
		for l := range ref.W {
			if !equalDense(ref.W[l].RawMatrix().Data, r.Model.W[l].RawMatrix().Data) || !equalDense(ref.B[l].RawMatrix().Data, r.Model.B[l].RawMatrix().Data) {
				return fmt.Errorf("party %d revealed a different model than party 0 (layer %d)", i+1, l)
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

func printEpoch(w io.Writer, s, p EpochReport) {
	line := fmt.Sprintf("%5d  %11.5g  %10.5g  ", s.Epoch, s.Metrics.TrainLoss, p.Metrics.TrainLoss)
	switch {
	case s.Metrics.TestAccuracy != nil:
		line += fmt.Sprintf("%9.2f%%  %8.2f%%", 100**s.Metrics.TestAccuracy, 100**p.Metrics.TestAccuracy)
	case s.Metrics.TestMSE != nil:
		line += fmt.Sprintf("%15.6g  %14.6g", *s.Metrics.TestMSE, *p.Metrics.TestMSE)
	}
	fmt.Fprintf(w, "%s  (%.1fs)\n", line, s.Elapsed.Seconds())
}

func printCosts(w io.Writer, r *Results) {
	fmt.Fprintf(w, "secure run: %.2fs wall (plaintext reference %.3fs); dealer sent %s\n",
		r.Cost.WallSeconds, r.Cost.PlaintextSeconds, humanBytes(r.Cost.DealerBytesSent))
	for _, p := range r.Cost.Parties {
		fmt.Fprintf(w, "party %d: sent %s, received %s, %d rounds\n", p.Party, humanBytes(p.BytesSent), humanBytes(p.BytesReceived), p.Rounds)
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
