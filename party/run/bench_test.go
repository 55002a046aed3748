package run_test

import (
	"context"
	"testing"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/run"
)

// BenchmarkTrainingStep times one secure training step of the shipped configs over
// the in-memory transport and over libp2p on loopback (3 parties and the dealer on
// this machine), with the plaintext step measured in the same run.
func BenchmarkTrainingStep(b *testing.B) {
	for _, name := range []string{"diabetes-linreg-3p.yaml", "cancer-mlp-3p.yaml"} {
		for _, tr := range []run.TransportKind{run.TransportMemory, run.TransportLibp2p} {
			b.Run(name+"/"+string(tr), func(b *testing.B) {
				cfg := loadConfig(b, name)
				res, err := run.BenchSteps(context.Background(), cfg, tr, network.LinkMemory, b.N)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(res.SecondsPerStep*1e9, "ns/step")
				b.ReportMetric(res.BytesSentPerStep, "sent-B/party/step")
				b.ReportMetric(res.RoundsPerStep, "rounds/step")
				b.ReportMetric(res.Ratio, "x-plaintext")
			})
		}
	}
}

// On a shaped link a step takes at least the time its rounds and bytes need there,
// and the in-memory run is faster than that bound: the link is what delays it.
func TestBenchOnShapedLink(t *testing.T) {
	cfg := loadConfig(t, "diabetes-linreg-3p.yaml")
	link, err := network.ParseLink("10ms,100Mbit/s")
	if err != nil {
		t.Fatal(err)
	}
	shaped, err := run.BenchSteps(context.Background(), cfg, run.TransportMemory, link, 2)
	if err != nil {
		t.Fatal(err)
	}
	nw := shaped.Network
	if nw.Setting != "10ms,100Mbit/s" || nw.RTTSeconds != 0.01 || nw.BitsPerSecond != 100e6 {
		t.Fatalf("network reported as %+v", nw)
	}
	// Every round waits at least 5 ms one way.
	if min := shaped.RoundsPerStep * 0.005; nw.LowerBoundStepSeconds < min || nw.StepSeconds < nw.LowerBoundStepSeconds {
		t.Fatalf("step %.4fs, bound %.4fs, want step >= bound >= %.4fs (%.0f rounds)", nw.StepSeconds, nw.LowerBoundStepSeconds, min, shaped.RoundsPerStep)
	}
	memory, err := run.BenchSteps(context.Background(), cfg, run.TransportMemory, network.LinkMemory, 2)
	if err != nil {
		t.Fatal(err)
	}
	if memory.Network.Setting != "memory" || memory.Network.LowerBoundStepSeconds != 0 || memory.SecondsPerStep >= nw.LowerBoundStepSeconds {
		t.Fatalf("in memory: %+v, %.4fs per step; shaped bound %.4fs", memory.Network, memory.SecondsPerStep, nw.LowerBoundStepSeconds)
	}
	if memory.RoundsPerStep != shaped.RoundsPerStep || memory.BytesSentPerStep != shaped.BytesSentPerStep {
		t.Fatalf("shaping changed the traffic: %v rounds %v bytes in memory, %v and %v shaped", memory.RoundsPerStep, memory.BytesSentPerStep, shaped.RoundsPerStep, shaped.BytesSentPerStep)
	}
	var scopeRounds float64
	for _, sc := range shaped.Scopes {
		scopeRounds += sc.Rounds
	}
	if scopeRounds != shaped.RoundsPerStep {
		t.Fatalf("scopes add up to %v rounds per step, the transport counted %v", scopeRounds, shaped.RoundsPerStep)
	}
}

// A simulation on a shaped link reports the setting, its time per step and the
// bound its rounds and bytes imply, and trains the same model as in memory.
func TestSimulateOnShapedLink(t *testing.T) {
	cfg := loadConfig(t, "diabetes-linreg-3p.yaml")
	cfg.Training.Epochs = 2
	link, err := network.ParseLink("1ms,1Gbit/s")
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(3)
	shaped, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{Network: link, Randomness: run.Randomness{InsecureSeed: &seed}})
	if err != nil {
		t.Fatal(err)
	}
	nw := shaped.Network
	rounds := float64(shaped.Cost.Parties[0].Rounds)
	steps := float64(shaped.Epochs[0].Steps + shaped.Epochs[1].Steps)
	if nw.Setting != "1ms,1Gbit/s" || nw.LowerBoundStepSeconds < rounds*0.0005/steps || nw.StepSeconds < nw.LowerBoundStepSeconds {
		t.Fatalf("network %+v for %v rounds in %v steps", nw, rounds, steps)
	}
	memory, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{Randomness: run.Randomness{InsecureSeed: &seed}})
	if err != nil {
		t.Fatal(err)
	}
	if memory.Network.Setting != "memory" || memory.Network.LowerBoundStepSeconds != 0 {
		t.Fatalf("in memory: %+v", memory.Network)
	}
	if *memory.Final.Secure.TestMSE != *shaped.Final.Secure.TestMSE {
		t.Fatalf("shaping changed the result: test MSE %v in memory, %v shaped", *memory.Final.Secure.TestMSE, *shaped.Final.Secure.TestMSE)
	}
}

// Real libp2p hosts whose every connection crosses a shaping proxy take at least
// the time their rounds and bytes imply on the link, and not much more; the
// parties' own traffic is that of the simulation. (The dealer's node is on the
// network too: its requests add rounds the in-process dealer does not have.)
func TestBenchThroughShapingProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets through a 20 ms link")
	}
	cfg := loadConfig(t, "cancer-mlp-3p.yaml")
	link, err := network.ParseLink("20ms,100Mbit/s")
	if err != nil {
		t.Fatal(err)
	}
	real, err := run.BenchSteps(context.Background(), cfg, run.TransportLibp2p, link, 3)
	if err != nil {
		t.Fatal(err)
	}
	simulated, err := run.BenchSteps(context.Background(), cfg, run.TransportMemory, link, 3)
	if err != nil {
		t.Fatal(err)
	}
	nw := real.Network
	if nw.StepSeconds < nw.LowerBoundStepSeconds || nw.StepSeconds > 2*nw.LowerBoundStepSeconds+0.1 {
		t.Fatalf("through the proxy: %.3fs per step, bound %.3fs (%v rounds)", nw.StepSeconds, nw.LowerBoundStepSeconds, nw.BoundRoundsPerStep)
	}
	if real.RoundsPerStep != simulated.RoundsPerStep || real.BytesSentPerStep != simulated.BytesSentPerStep {
		t.Fatalf("party 1's traffic: %v rounds %v bytes through the proxy, %v and %v simulated", real.RoundsPerStep, real.BytesSentPerStep, simulated.RoundsPerStep, simulated.BytesSentPerStep)
	}
	t.Logf("per step: simulated %.3fs (bound %.3fs, %v rounds), through the proxy %.3fs (bound %.3fs, %v rounds with the dealer's)",
		simulated.Network.StepSeconds, simulated.Network.LowerBoundStepSeconds, simulated.Network.BoundRoundsPerStep, nw.StepSeconds, nw.LowerBoundStepSeconds, nw.BoundRoundsPerStep)
}

// With dealer-free preprocessing the benchmark reports, per kind of material,
// requests, time and bytes per step that add up to the preprocessing totals,
// every party's preprocessing bytes, and the same steps with a dealer. By
// default the material is pipelined from the steps' plan, as in training (the
// kinds' times are then those of the HE and OT lanes, which run at once);
// on demand, one request at a time, they add up to the time spent waiting.
func TestBenchDealerFreeByKind(t *testing.T) {
	if testing.Short() {
		t.Skip("dealer-free preprocessing: skipped with -short")
	}
	for _, mode := range []experiment.PrepMode{"", experiment.PrepOnDemand} {
		cfg := loadConfig(t, "cancer-mlp-3p.yaml")
		cfg.Preprocessing = experiment.PrepHE
		cfg.PreprocessingMode = mode
		res, err := run.BenchSteps(context.Background(), cfg, run.TransportMemory, network.LinkMemory, 2)
		if err != nil {
			t.Fatalf("mode %q: %v", mode, err)
		}
		if res.Pipelined != (mode == "") {
			t.Fatalf("mode %q: pipelined %v", mode, res.Pipelined)
		}
		seconds := checkKindsAddUp(t, res, cfg.Parties)
		lanes := 1.0
		if res.Pipelined {
			lanes = 2
			if seconds > lanes*res.SecondsPerStep*1.01+1e-3 {
				t.Fatalf("kinds add up to %v s per step, more than two lanes busy for the %v s of a step", seconds, res.SecondsPerStep)
			}
		} else if seconds > res.PrepSecondsPerStep*1.01+1e-3 {
			t.Fatalf("kinds add up to %v s per step, more than the %v s spent waiting for material", seconds, res.PrepSecondsPerStep)
		}
	}
}

// checkKindsAddUp checks the kinds' bytes against the channels' and returns
// the kinds' seconds per step.
func checkKindsAddUp(t *testing.T, res *run.BenchResult, parties int) float64 {
	t.Helper()
	if len(res.Kinds) == 0 || res.DealerSecondsPerStep <= 0 || len(res.PrepBytesPerPartyStep) != parties {
		t.Fatalf("kinds %+v, dealer %v s/step, per party %v", res.Kinds, res.DealerSecondsPerStep, res.PrepBytesPerPartyStep)
	}
	var bytes, seconds, cpu float64
	for _, k := range res.Kinds {
		if k.Requests <= 0 || k.Elements <= 0 || k.CPUSeconds < 0 {
			t.Fatalf("kind %+v with no requests or elements, or negative CPU", k)
		}
		bytes += k.BytesSent
		seconds += k.Seconds
		cpu += k.CPUSeconds
	}
	if (cpu > 0) == res.Pipelined {
		t.Fatalf("kinds %+v: CPU time measured %v, pipelined %v (only on demand is a kind's CPU its own)", res.Kinds, cpu, res.Pipelined)
	}
	if bytes != res.PrepBytesSentPerStep || bytes != res.PrepBytesPerPartyStep[1] {
		t.Fatalf("kinds add up to %v bytes per step, the channels counted %v (party 1 of %v)", bytes, res.PrepBytesSentPerStep, res.PrepBytesPerPartyStep)
	}
	return seconds
}
