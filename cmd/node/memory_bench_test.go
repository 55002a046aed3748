//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tessera-mpc/tessera/party/experiment"
)

// BenchmarkPeakMemory reports peak resident memory (the kernel's ru_maxrss of each
// finished process), not time: of `node simulate` on the experiment (every party
// and the dealer in one process), and of each process of a deployment of it on
// 127.0.0.1 (one `node run` per party, `node dealer`). The experiment is the
// shipped MNIST config unless TESSERA_MEM_EXPERIMENT names another; it trains for
// its full length (5 epochs: a few minutes per measurement), so run it once:
//
//	go test ./cmd/node -run '^$' -bench PeakMemory -benchtime 1x
func BenchmarkPeakMemory(b *testing.B) {
	exp := os.Getenv("TESSERA_MEM_EXPERIMENT")
	if exp == "" {
		exp = "../../configs/mnist-mlp-3p.yaml"
	}
	exp, err := filepath.Abs(exp)
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		dir := b.TempDir()
		sim := exec.Command(nodeBinary, "simulate", "--config", exp, "--out", filepath.Join(dir, "results.json"))
		b.ReportMetric(peakMiB(b, sim), "simulate-peak-MiB")
		parties, dealer := deployedPeaks(b, exp, dir)
		worst := 0.0
		for i, p := range parties {
			b.Logf("party %d: peak resident %.0f MiB", i, p)
			worst = max(worst, p)
		}
		b.ReportMetric(worst, "party-peak-MiB")
		if dealer > 0 {
			b.ReportMetric(dealer, "dealer-peak-MiB")
		}
	}
}

// peakMiB runs cmd to completion and returns its peak resident memory.
func peakMiB(b *testing.B, cmd *exec.Cmd) float64 {
	b.Helper()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	return maxRSSMiB(cmd)
}

// maxRSSMiB is a finished command's ru_maxrss (kilobytes on Linux) in MiB.
func maxRSSMiB(cmd *exec.Cmd) float64 {
	return float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
}

// memPort is the first port of the benchmark's deployments, away from the tests'.
var memPort = 48700

// deployedPeaks runs the experiment as a deployment (the dealer as the last node
// when the experiment has one) and returns each party's peak and the dealer's (0
// without a dealer).
func deployedPeaks(b *testing.B, exp, dir string) (parties []float64, dealer float64) {
	b.Helper()
	cfg, err := experiment.LoadConfig(exp)
	if err != nil {
		b.Fatal(err)
	}
	n, withDealer := cfg.Parties, cfg.Preprocessing != experiment.PrepHE
	nodes := n
	if withDealer {
		nodes++
	}
	configs := deploymentConfigs(b, exp, dir, n, nodes)
	cmds := make([]*exec.Cmd, nodes)
	outs := make([]strings.Builder, nodes)
	for i := range cmds {
		role := "run"
		if i == n {
			role = "dealer"
		}
		cmds[i] = exec.Command(nodeBinary, role, "--config", configs[i], "--log-level", "warn")
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		if err := cmds[i].Start(); err != nil {
			b.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			b.Fatalf("node %d: %v\n%s", i, err, outs[i].String())
		}
	}
	for i := range n {
		parties = append(parties, maxRSSMiB(cmds[i]))
	}
	if withDealer {
		dealer = maxRSSMiB(cmds[n])
	}
	return parties, dealer
}

// deploymentConfigs makes an identity and a node config per node (parties read
// their slice of the experiment's data; node n is the dealer) and returns the
// configs' paths.
func deploymentConfigs(b *testing.B, exp, dir string, parties, nodes int) []string {
	b.Helper()
	ids := make([]string, nodes)
	ports := make([]int, nodes)
	for i := range nodes {
		out, err := exec.Command(nodeBinary, "init", "--out", filepath.Join(dir, fmt.Sprint(i))).CombinedOutput()
		if err != nil {
			b.Fatalf("node init: %v\n%s", err, out)
		}
		ids[i], ports[i] = strings.TrimSpace(string(out)), memPort
		memPort++
	}
	var paths []string
	for i := range nodes {
		var c strings.Builder
		if i == parties {
			c.WriteString("role: dealer\n")
		} else {
			fmt.Fprintf(&c, "role: party\nparty: %d\ndata: {slice: true}\nresults: results.json\n", i)
		}
		fmt.Fprintf(&c, "identity: identity.key\nlisten: [/ip4/127.0.0.1/tcp/%d]\nexperiment: %s\ntimeout: 120s\nparties:\n", ports[i], exp)
		for p := range parties {
			fmt.Fprintf(&c, "  - {party: %d, id: %s, addrs: [/ip4/127.0.0.1/tcp/%d]}\n", p, ids[p], ports[p])
		}
		if nodes > parties {
			fmt.Fprintf(&c, "dealer: {party: %d, id: %s, addrs: [/ip4/127.0.0.1/tcp/%d]}\n", parties, ids[parties], ports[parties])
		}
		path := filepath.Join(dir, fmt.Sprint(i), "node.yaml")
		if err := os.WriteFile(path, []byte(c.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths
}
