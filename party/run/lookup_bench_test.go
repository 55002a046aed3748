package run_test

import (
	"context"
	"testing"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/run"
)

// TestBenchDealerFreeTwinComparesByAdder: the dealer twin of a dealer-free bench
// records the plan the dealer-free run's pipeline follows, so it compares as that
// run does, by the adder (dealer-free sources make no lookup material): a ReLU
// network's bench fails otherwise. The same network with a dealer compares by
// lookup, and the bench reports what the dealer sent.
func TestBenchDealerFreeTwinComparesByAdder(t *testing.T) {
	if testing.Short() {
		t.Skip("dealer-free preprocessing: skipped with -short")
	}
	cfg := loadConfig(t, "cancer-mlp-3p.yaml")
	cfg.Model.Layers[0].Activation = "relu"
	dealt, err := run.BenchSteps(context.Background(), cfg, run.TransportMemory, network.LinkMemory, 2)
	if err != nil {
		t.Fatal(err)
	}
	if dealt.DealerBytesSentPerStep <= 0 {
		t.Fatalf("a dealer bench reports %v dealer bytes per step", dealt.DealerBytesSentPerStep)
	}
	cfg.Preprocessing = experiment.PrepHE
	free, err := run.BenchSteps(context.Background(), cfg, run.TransportMemory, network.LinkMemory, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !free.Pipelined || free.DealerBytesSentPerStep != 0 {
		t.Fatalf("dealer-free bench: pipelined %v, dealer bytes %v", free.Pipelined, free.DealerBytesSentPerStep)
	}
	if free.RoundsPerStep <= dealt.RoundsPerStep {
		t.Fatalf("dealer-free steps take %v rounds, the dealer's by lookup %v: want more (the adder)", free.RoundsPerStep, dealt.RoundsPerStep)
	}
}
