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
	}{
		{"diabetes-linreg-3p.yaml", 3, run.TransportMemory, experiment.PrepPipelined},
		{"diabetes-linreg-3p.yaml", 2, run.TransportMemory, experiment.PrepOfflineFirst},
		{"diabetes-linreg-3p.yaml", 1, run.TransportMemory, experiment.PrepOnDemand},
		{"cancer-mlp-3p.yaml", 2, run.TransportMemory, experiment.PrepPipelined},
		{"cancer-mlp-3p.yaml", 1, run.TransportLibp2p, experiment.PrepPipelined},
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
			if rel := math.Abs(*d.TrainLoss-*f.TrainLoss) / *d.TrainLoss; rel > 1e-3 {
				t.Fatalf("train loss: dealer %v, dealer-free %v", *d.TrainLoss, *f.TrainLoss)
			}
			if rel := math.Abs(*d.TestMSE-*f.TestMSE) / *d.TestMSE; rel > 1e-3 {
				t.Fatalf("test MSE: dealer %v, dealer-free %v", *d.TestMSE, *f.TestMSE)
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
