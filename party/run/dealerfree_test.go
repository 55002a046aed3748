package run_test

import (
	"context"
	"math"
	"testing"

	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/run"
)

// TestDealerFreeMatchesDealer trains the shipped diabetes and cancer configs with
// dealer-free preprocessing (threshold CKKS for the arithmetic material, OT for the
// bits) and checks the metrics equal the dealer's within the fixed-point bound.
func TestDealerFreeMatchesDealer(t *testing.T) {
	if testing.Short() {
		t.Skip("dealer-free preprocessing: skipped with -short")
	}
	for _, tc := range []struct {
		config    string
		epochs    int
		transport run.TransportKind
		mode      experiment.PrepMode
		tol       float64 // relative, on the train loss and test MSE
	}{
		{"diabetes-linreg-3p.yaml", 3, run.TransportMemory, experiment.PrepPipelined, 1e-3},
		{"diabetes-linreg-3p.yaml", 2, run.TransportMemory, experiment.PrepOfflineFirst, 1e-3},
		{"diabetes-linreg-3p.yaml", 1, run.TransportMemory, experiment.PrepOnDemand, 1e-3},
		{"cancer-mlp-3p.yaml", 2, run.TransportMemory, experiment.PrepPipelined, 1e-3},
		{"cancer-mlp-3p.yaml", 1, run.TransportLibp2p, experiment.PrepPipelined, 1e-3},
		// ReLU: dealer-free engines truncate and compare with sign pairs, the
		// dealer's by lookup, with different roundings (up to N/2 units against
		// 1): two dealer runs already differ by 0.1-0.2% in train loss.
		{"wine-mlp-3p.yaml", 3, run.TransportMemory, experiment.PrepPipelined, 5e-3},
	} {
		t.Run(tc.config+"/"+string(tc.transport)+"/"+string(tc.mode), func(t *testing.T) {
			cfg := loadConfig(t, tc.config)
			cfg.Training.Epochs = tc.epochs
			cfg.PreprocessingMode = tc.mode
			dealer, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
			if err != nil {
				t.Fatal(err)
			}
			cfg.Preprocessing = experiment.PrepHE
			free, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{Transport: tc.transport})
			if err != nil {
				t.Fatal(err)
			}
			d, f := dealer.Final.Secure, free.Final.Secure
			t.Logf("train loss: dealer %v, dealer-free %v, plaintext %v", *d.TrainLoss, *f.TrainLoss, *dealer.Final.Plaintext.TrainLoss)
			if rel := math.Abs(*d.TrainLoss-*f.TrainLoss) / *d.TrainLoss; rel > tc.tol {
				t.Fatalf("train loss: dealer %v, dealer-free %v", *d.TrainLoss, *f.TrainLoss)
			}
			switch {
			case d.TestMSE != nil:
				if rel := math.Abs(*d.TestMSE-*f.TestMSE) / *d.TestMSE; rel > tc.tol {
					t.Fatalf("test MSE: dealer %v, dealer-free %v", *d.TestMSE, *f.TestMSE)
				}
			case math.Abs(*d.TestAccuracy-*f.TestAccuracy) > 0.03: // one test row of 38
				t.Fatalf("test accuracy: dealer %v, dealer-free %v", *d.TestAccuracy, *f.TestAccuracy)
			}
			pc := free.Cost.Parties[1]
			if pc.PreprocessingBytesSent == 0 || pc.SetupSeconds == 0 {
				t.Fatalf("dealer-free costs not reported: %+v", pc)
			}
			if offlineFirst := tc.mode == experiment.PrepOfflineFirst; offlineFirst != (pc.OfflineSeconds > 0) {
				t.Fatalf("mode %s: offline phase %.2fs", tc.mode, pc.OfflineSeconds)
			}
			t.Logf("dealer-free: setup %.2fs, offline phase %.2fs, %.2fs waiting for material during training, %d preprocessing bytes sent by party 1 (online %d)",
				pc.SetupSeconds, pc.OfflineSeconds, pc.PreprocessingSeconds, pc.PreprocessingBytesSent, pc.BytesSent)
		})
	}
}
