package run_test

import (
	"context"
	"math"
	"testing"

	"github.com/tessera-mpc/tessera/party/run"
)

// The network result's per-step figures divide by the run's steps: an epoch's
// Steps already counts the epochs before it.
func TestNetworkResultPerStepOverEpochs(t *testing.T) {
	cfg := loadConfig(t, "cancer-mlp-3p.yaml")
	cfg.Training.Epochs = 3
	res, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	steps := res.Epochs[len(res.Epochs)-1].Steps
	if steps != 3*res.Epochs[0].Steps {
		t.Fatalf("epochs end after %d, %d, ... steps: not a running count", res.Epochs[0].Steps, res.Epochs[1].Steps)
	}
	var rounds int64
	for _, p := range res.Cost.Parties {
		rounds = max(rounds, p.Rounds)
	}
	if got, want := res.Network.BoundRoundsPerStep, float64(rounds)/float64(steps); math.Abs(got-want) > 0.01*want {
		t.Fatalf("%v rounds per step, want %v (%d rounds over %d steps)", got, want, rounds, steps)
	}
	if got, want := res.Network.StepSeconds, res.Cost.WallSeconds/float64(steps); math.Abs(got-want) > 1e-9 {
		t.Fatalf("%v s per step, want %v", got, want)
	}
}
