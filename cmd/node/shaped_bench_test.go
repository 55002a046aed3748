package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
)

// BenchmarkShapedDeployment runs an experiment as a deployment of OS processes on
// loopback libp2p (`node run` per party, `node dealer` when it has a dealer), every
// connection through a shaping proxy of the network setting, and `node simulate
// --network` of the same experiment beside it. It reports the deployed step time,
// the simulated one and the lower bound the deployment's rounds and bytes imply on
// that network, and fails if the deployment beats that bound (the shaping was
// bypassed) or, where the network dominates the step, strays from the
// simulation by more than a factor of 3.
//
//	go test ./cmd/node -run '^$' -bench ShapedDeployment -benchtime 1x
//
// TESSERA_BENCH_EXPERIMENT names the experiment (the cancer config by default),
// TESSERA_BENCH_NETWORKS the settings (lan,wan by default) and TESSERA_BENCH_NODE
// another node binary to run (an older build, for a before/after).
func BenchmarkShapedDeployment(b *testing.B) {
	exp := envOr("TESSERA_BENCH_EXPERIMENT", "../../configs/cancer-mlp-3p.yaml")
	if bin := os.Getenv("TESSERA_BENCH_NODE"); bin != "" {
		nodeBinary = bin
	}
	cfg, err := experiment.LoadConfig(exp)
	if err != nil {
		b.Fatal(err)
	}
	for _, setting := range strings.Split(envOr("TESSERA_BENCH_NETWORKS", "lan,wan"), ",") {
		link, err := network.ParseLink(setting)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(setting, func(b *testing.B) {
			for range b.N {
				sim := simulatedNetwork(b, exp, setting)
				dep := shapedDeployment(b, exp, cfg, link)
				b.Logf("%s on %s: deployed %.3f s/step, simulated %.3f s/step, lower bound %.3f s/step; %.1f rounds and %.0f bytes on the busiest link per step (simulation: %.1f, %.0f)",
					cfg.Name, link, dep.StepSeconds, sim.StepSeconds, dep.LowerBoundStepSeconds, dep.BoundRoundsPerStep, dep.BoundBytesPerStep, sim.BoundRoundsPerStep, sim.BoundBytesPerStep)
				b.ReportMetric(dep.StepSeconds, "deployed-s/step")
				b.ReportMetric(sim.StepSeconds, "simulated-s/step")
				b.ReportMetric(dep.LowerBoundStepSeconds, "bound-s/step")
				b.ReportMetric(dep.BoundRoundsPerStep, "rounds/step")
				b.ReportMetric(dep.StepSeconds/sim.StepSeconds, "deployed/simulated")
				if link.Shaped() && dep.StepSeconds < 0.9*dep.LowerBoundStepSeconds {
					b.Errorf("the deployment took %.3f s per step, under the network's lower bound of %.3f s: its connections bypassed the shaping", dep.StepSeconds, dep.LowerBoundStepSeconds)
				}
				// Where the network dominates the step, the model must predict the
				// real path; where computing does, the ratio measures the costs of
				// processes and sockets the model leaves out, and is only reported.
				r := dep.StepSeconds / sim.StepSeconds
				if sim.LowerBoundStepSeconds >= sim.StepSeconds/2 && (r > 3 || r < 1.0/3) {
					b.Errorf("the deployment's %.3f s per step is %.2fx the simulation's %.3f s", dep.StepSeconds, r, sim.StepSeconds)
				}
			}
		})
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// simulatedNetwork is `node simulate --network setting`'s network result.
func simulatedNetwork(b *testing.B, exp, setting string) report.Network {
	b.Helper()
	out := filepath.Join(b.TempDir(), "sim.json")
	if text, code := node(b, "simulate", "--config", exp, "--network", setting, "--out", out); code != 0 {
		b.Fatalf("simulate --network %s: %s", setting, text)
	}
	var res report.Results
	readJSON(b, out, &res)
	return res.Network
}

// shapedDeployment runs exp's nodes as processes, each reached by its peers through
// a shaping proxy of link, and returns the network result of the run: the slowest
// party's wall time per step and the largest lower bound among the parties.
func shapedDeployment(b *testing.B, exp string, cfg *experiment.Config, link network.Link) report.Network {
	b.Helper()
	withDealer := cfg.Preprocessing != experiment.PrepHE
	first := nextPort
	proxies := make(map[int]int) // a node's port -> its proxy's (none on an unshaped link)
	for port := first; port <= first+cfg.Parties && link.Shaped(); port++ {
		p, err := network.NewShapingProxy(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), link)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Close() })
		proxies[port] = p.Addr().Port
	}
	d := newDeployment(b, exp, cfg.Parties, "120s", func(_ int, text string) string {
		return throughProxies(b, text, proxies)
	})
	for i, p := range startNodes(d, withDealer) {
		if code := p.wait(b, 30*time.Minute); code != 0 {
			b.Fatalf("node %d exited %d:\n%s", i, code, p.stderr.String())
		}
		if m := planLine.FindString(p.stdout.String()); m != "" {
			b.Log(m) // before training: not in the step time
		}
	}
	var wall float64
	var costs []report.PartyCost
	var steps int
	for i := 0; i < cfg.Parties; i++ {
		var res report.Results
		readJSON(b, filepath.Join(d.nodeDir(i), "results.json"), &res)
		wall = max(wall, res.Cost.WallSeconds)
		costs = append(costs, res.Cost.Parties...)
		steps = res.Epochs[len(res.Epochs)-1].Steps // the run's steps so far
	}
	return deployedNetwork(link, wall, steps, costs)
}

// planLine is the last party's report of recording the plan it asks the dealer
// ahead for.
var planLine = regexp.MustCompile(`party \d+: recorded the plan of .*`)

// peerAddr matches a peer's address in a node config (not its listen address).
var peerAddr = regexp.MustCompile(`addrs: \[/ip4/127\.0\.0\.1/tcp/(\d+)\]`)

// throughProxies points every peer address of a node config at that peer's proxy,
// if it has one.
func throughProxies(b *testing.B, text string, proxies map[int]int) string {
	return peerAddr.ReplaceAllStringFunc(text, func(m string) string {
		port, _ := strconv.Atoi(peerAddr.FindStringSubmatch(m)[1])
		proxy, ok := proxies[port]
		if !ok {
			return m
		}
		return fmt.Sprintf("addrs: [/ip4/127.0.0.1/tcp/%d]", proxy)
	})
}

// deployedNetwork is the network result of a deployment, as the simulation makes
// it: wall time per step, and rounds * RTT/2 + the busiest link's bytes over the
// bandwidth per step for the party where that is largest.
func deployedNetwork(link network.Link, wall float64, steps int, parties []report.PartyCost) report.Network {
	nw := report.Network{Setting: link.Name, RTTSeconds: link.RTT.Seconds(), BitsPerSecond: link.BitsPerSecond}
	k := float64(max(steps, 1))
	var bound time.Duration
	for _, p := range parties {
		var busiest int64
		for _, peer := range p.Peers {
			busiest = max(busiest, peer.BytesSent)
		}
		if lb := link.LowerBound(p.Rounds, busiest); lb >= bound {
			bound = lb
			nw.BoundRoundsPerStep, nw.BoundBytesPerStep = float64(p.Rounds)/k, float64(busiest)/k
		}
	}
	nw.StepSeconds = wall / k
	nw.LowerBoundStepSeconds = bound.Seconds() / k
	return nw
}

func readJSON(b *testing.B, path string, v any) {
	b.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		b.Fatalf("%s: %v", path, err)
	}
}
