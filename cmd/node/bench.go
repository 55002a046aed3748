package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

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
	out := fs.String("out", "", "write the measurements as JSON to this file")
	preprocessing := fs.String("preprocessing", "", "override the config's preprocessing: dealer or he (dealer-free)")
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
	cfg, err := experiment.LoadConfig(*configPath)
	if err != nil {
		return err
	}
	if err := overridePreprocessing(cfg, *preprocessing); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d parties, batch %d, %s preprocessing, %d steps per transport (every party shares this machine; prep s/step is included in s/step)\n", cfg.Name, cfg.Parties, cfg.Training.BatchSize, cfg.Preprocessing, *steps)
	fmt.Fprintf(stdout, "%-9s %12s %16s %8s %14s %10s %14s %16s\n", "transport", "s/step", "sent/party/step", "rounds", "plaintext s", "ratio", "prep s/step", "prep sent/step")
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
		r, err := run.BenchSteps(ctx, cfg, run.TransportKind(strings.TrimSpace(tr)), *steps)
		if err != nil {
			return err
		}
		results = append(results, r)
		fmt.Fprintf(stdout, "%-9s %12.5f %14.0f B %8.0f %14.6f %9.1fx %14.5f %14.0f B\n", r.Transport, r.SecondsPerStep, r.BytesSentPerStep, r.RoundsPerStep, r.PlainSecondsPerStep, r.Ratio, r.PrepSecondsPerStep, r.PrepBytesSentPerStep)
	}
	if *out != "" {
		return report.WriteJSON(*out, results)
	}
	return nil
}
