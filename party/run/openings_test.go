package run_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/run"
	"github.com/tessera-mpc/tessera/party/train"
)

// Every value a run opens, per output mode, is exactly the list in
// docs/security.md: with reveal-to and shared the model's test predictions, which
// with enough test rows pin the model down, are never opened to everyone.
func TestOpeningsPerOutputMode(t *testing.T) {
	type want struct {
		what string
		to   int // train.Everyone or the output party
		one  bool
	}
	const out = 2
	perEpoch := map[experiment.OutputModel][]want{
		experiment.OutputReveal: {{"training loss total", train.Everyone, true}, {"model", train.Everyone, false}},
		experiment.OutputRevealTo: {{"training loss total", out, true}, {"weight range bit", train.Everyone, true},
			{"test predictions", out, false}},
		experiment.OutputShared: {{"training loss total", train.Everyone, true}, {"weight range bit", train.Everyone, true},
			{"test squared-error total", train.Everyone, true}, {"test correct count", train.Everyone, true}},
	}
	for mode, list := range perEpoch {
		cfg := loadConfig(t, "cancer-mlp-3p.yaml")
		cfg.Training.Epochs = 2
		cfg.Output = experiment.OutputConfig{Model: mode, Party: out}
		res, rs, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		var expect []string
		expect = append(expect, fmt.Sprintf("0 feature sums and sums of squares %d", train.Everyone))
		for epoch := 1; epoch <= 2; epoch++ {
			for _, w := range list {
				expect = append(expect, fmt.Sprintf("%d %s %d", epoch, w.what, w.to))
			}
		}
		if mode == experiment.OutputRevealTo {
			expect = append(expect, fmt.Sprintf("2 model %d", out))
		}
		for i, r := range rs {
			var got []string
			for _, o := range r.Openings {
				got = append(got, fmt.Sprintf("%d %s %d", o.Epoch, o.What, o.To))
				if o.To == train.Everyone && o.Values > 1 && mode != experiment.OutputReveal && o.Epoch > 0 {
					t.Errorf("%s: party %d: %d values of %q opened to everyone", mode, i, o.Values, o.What)
				}
			}
			if strings.Join(got, "; ") != strings.Join(expect, "; ") {
				t.Fatalf("%s: party %d opened\n  %s\nwant\n  %s", mode, i, strings.Join(got, "; "), strings.Join(expect, "; "))
			}
			// With reveal-to the other parties learn none of the metrics.
			m := r.Epochs[len(r.Epochs)-1].Metrics
			learned := m.TrainLoss != nil || m.TestMSE != nil || m.TestAccuracy != nil
			if mode == experiment.OutputRevealTo && learned != (i == out) {
				t.Fatalf("reveal-to party %d: party %d learned metrics %v", out, i, learned)
			}
		}
		// The aggregates agree with the plaintext twin as the revealed model does.
		if d := math.Abs(*res.Final.Secure.TestMSE - *res.Final.Plaintext.TestMSE); d > 1e-3 {
			t.Fatalf("%s: secure test MSE %v, plaintext %v", mode, *res.Final.Secure.TestMSE, *res.Final.Plaintext.TestMSE)
		}
		if *res.Final.Secure.TestAccuracy != *res.Final.Plaintext.TestAccuracy {
			t.Fatalf("%s: secure test accuracy %v, plaintext %v", mode, *res.Final.Secure.TestAccuracy, *res.Final.Plaintext.TestAccuracy)
		}
	}
}

// A shared model whose weights grow past the fixed-point range stops the run with
// an error, found by the secure range check, instead of training on silently
// wrong truncations.
func TestSharedModelDivergenceStops(t *testing.T) {
	for _, mode := range []experiment.OutputModel{experiment.OutputShared, experiment.OutputRevealTo} {
		cfg := loadConfig(t, "diabetes-linreg-3p.yaml")
		cfg.Training.LearningRate = 3
		cfg.Training.Epochs = 20
		cfg.Output = experiment.OutputConfig{Model: mode, Party: 1}
		_, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
		if err == nil || !strings.Contains(err.Error(), "secure range check") {
			t.Fatalf("%s: a diverging run ended with %v", mode, err)
		}
	}
}
