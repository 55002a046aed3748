package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
	"github.com/tessera-mpc/tessera/party/run"
)

// bench times secure training steps of an experiment beside plaintext ones.
func bench(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "experiment config (YAML)")
	steps := fs.Int("steps", 50, "training steps to time")
	transports := fs.String("transport", "memory,libp2p", "comma-separated transports to measure: memory, libp2p")
	netSettings := fs.String("network", "memory", "networks to measure on, comma-separated: memory, lan (1 Gbit/s, 0.5 ms RTT), wan (100 Mbit/s, 40 ms RTT) or RTT,BANDWIDTH (e.g. memory,lan,wan,10ms,1Gbit/s)")
	out := fs.String("out", "", "write the measurements as JSON to this file")
	preprocessing := fs.String("preprocessing", "", "override the config's preprocessing: dealer or he (dealer-free)")
	parties := fs.Int("parties", 0, "override the config's number of parties (0: the config's)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed steps to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkArgs(fs, map[string]string{"config": *configPath}); err != nil {
		return err
	}
	if *steps < 1 {
		return fmt.Errorf("bench: --steps must be at least 1")
	}
	links, err := parseLinks(*netSettings)
	if err != nil {
		return err
	}
	cfg, err := experiment.LoadConfig(*configPath)
	if err != nil {
		return err
	}
	if err := overridePreprocessing(cfg, *preprocessing); err != nil {
		return err
	}
	if err := overrideParties(cfg, *parties); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d parties, batch %d, %s preprocessing, %d steps per transport (every party shares this machine; prep s/step is included in s/step)\n", cfg.Name, cfg.Parties, cfg.Training.BatchSize, cfg.Preprocessing, *steps)
	fmt.Fprintf(stdout, "%-9s %-16s %10s %12s %16s %8s %14s %10s %14s %16s  %s\n", "transport", "network", "s/step", "bound s/step", "sent/party/step", "rounds", "plaintext s", "ratio", "prep s/step", "prep sent/step", "opening")
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	var results []*run.BenchResult
	for _, tr := range strings.Split(*transports, ",") {
		for _, link := range links {
			r, err := run.BenchSteps(ctx, cfg, run.TransportKind(strings.TrimSpace(tr)), link, *steps)
			if err != nil {
				return err
			}
			results = append(results, r)
			fmt.Fprintf(stdout, "%-9s %-16s %10.5f %12.5f %14.0f B %8.0f %14.6f %9.1fx %14.5f %14.0f B  %s\n", r.Transport, r.Network.Setting, r.SecondsPerStep, r.Network.LowerBoundStepSeconds, r.BytesSentPerStep, r.RoundsPerStep, r.PlainSecondsPerStep, r.Ratio, r.PrepSecondsPerStep, r.PrepBytesSentPerStep, r.Opening)
		}
	}
	for _, r := range results {
		if r.DealerBytesSentPerStep > 0 {
			fmt.Fprintf(stdout, "the dealer sent %.0f B per step (%s, %s)\n", r.DealerBytesSentPerStep, r.Transport, r.Network.Setting)
		}
	}
	printScopes(stdout, results[len(results)-1])
	printKinds(stdout, results[len(results)-1])
	if *out != "" {
		return report.WriteJSON(*out, results)
	}
	return nil
}

// parseLinks reads a comma-separated list of network settings, where a custom
// setting is itself two items: a round-trip time and a bandwidth.
func parseLinks(list string) ([]network.Link, error) {
	items := strings.Split(list, ",")
	var links []network.Link
	for i := 0; i < len(items); i++ {
		item := strings.TrimSpace(items[i])
		if _, err := time.ParseDuration(item); err == nil && i+1 < len(items) {
			item += "," + strings.TrimSpace(items[i+1])
			i++
		}
		l, err := network.ParseLink(item)
		if err != nil {
			return nil, fmt.Errorf("bench: --network: %w", err)
		}
		links = append(links, l)
	}
	return links, nil
}

// printScopes prints party 1's rounds, bytes and time per step by scope.
func printScopes(w io.Writer, r *run.BenchResult) {
	fmt.Fprintf(w, "per step of party 1 by scope (%s, %s):\n", r.Transport, r.Network.Setting)
	fmt.Fprintf(w, "  %-18s %10s %14s %8s\n", "scope", "time", "sent", "rounds")
	for _, sc := range r.Scopes {
		fmt.Fprintf(w, "  %-18s %9.4fs %12.0f B %8.0f\n", sc.Name, sc.Seconds, sc.BytesSent, sc.Rounds)
	}
}

// printKinds prints, with dealer-free preprocessing, party 1's time and bytes per
// step by kind of material, every party's preprocessing bytes and the dealer twin.
func printKinds(w io.Writer, r *run.BenchResult) {
	if len(r.Kinds) == 0 {
		return
	}
	how := "on demand, one request at a time"
	if r.Pipelined {
		how = "pipelined from the steps' plan: the HE and OT lanes run at once"
	}
	fmt.Fprintf(w, "dealer-free material per step of party 1 by kind (%s, %s; %s):\n", r.Transport, r.Network.Setting, how)
	fmt.Fprintf(w, "  %-22s %9s %12s %10s %10s %14s\n", "kind", "requests", "elements", "time", "cpu", "sent")
	for _, k := range r.Kinds {
		cpu := fmt.Sprintf("%9.4fs", k.CPUSeconds)
		if r.Pipelined {
			cpu = fmt.Sprintf("%10s", "-") // the lanes overlap: see run.KindPerStep
		}
		fmt.Fprintf(w, "  %-22s %9.1f %12.0f %9.4fs %s %12.0f B\n", k.Kind, k.Requests, k.Elements, k.Seconds, cpu, k.BytesSent)
	}
	fmt.Fprintf(w, "preprocessing sent per step by party:")
	for i, b := range r.PrepBytesPerPartyStep {
		fmt.Fprintf(w, " %d: %.0f B", i, b)
	}
	fmt.Fprintf(w, "\nthe same steps with a dealer: %.5f s/step (dealer-free %.5f s/step, %.1fx)\n",
		r.DealerSecondsPerStep, r.SecondsPerStep, r.SecondsPerStep/r.DealerSecondsPerStep)
	if r.CPUSecondsPerStep > 0 && r.DealerCPUSecondsPerStep > 0 {
		// Every party runs in this process: its CPU is the whole computation's,
		// steadier than wall time on a busy machine.
		fmt.Fprintf(w, "process CPU per step: %.4f s with a dealer, %.4f s dealer-free (%.1fx)\n",
			r.DealerCPUSecondsPerStep, r.CPUSecondsPerStep, r.CPUSecondsPerStep/r.DealerCPUSecondsPerStep)
	}
}
