package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
	"github.com/tessera-mpc/tessera/party/run"
)

func simulate(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "experiment config (YAML)")
	out := fs.String("out", "", "write results JSON to this file")
	modelOut := fs.String("model-out", "", "write the trained model (or every party's share of it) to this directory")
	reportDir := fs.String("report", "", "write metrics.csv and loss/accuracy plots (PNG) to this directory")
	logLevel := fs.String("log-level", "warn", "log level on stderr: debug, info, warn, error")
	transport := fs.String("transport", string(run.TransportMemory), "memory (in-process) or libp2p (real hosts on 127.0.0.1, the dealer as its own node)")
	netSetting := fs.String("network", "memory", "delay every message as this network would: memory (none), lan (1 Gbit/s, 0.5 ms RTT), wan (100 Mbit/s, 40 ms RTT) or RTT,BANDWIDTH (e.g. 10ms,1Gbit/s)")
	preprocessing := fs.String("preprocessing", "", "override the config's preprocessing: dealer or he (dealer-free)")
	parties := fs.Int("parties", 0, "override the config's number of parties (0: the config's)")
	insecureSeed := fs.Int64("insecure-seed", -1, "TESTING ONLY: derive the dealer's and input sharing's randomness from this seed (makes every share predictable)")
	checkpointDir := fs.String("checkpoint-dir", "", "save every party's checkpoints here (training.checkpoint_every says how often)")
	resume := fs.Bool("resume", false, "continue from the newest checkpoint in --checkpoint-dir")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkArgs(fs, map[string]string{"config": *configPath}); err != nil {
		return err
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	link, err := network.ParseLink(*netSetting)
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
	opts := run.SimOptions{Progress: stdout, Bar: isTerminal(stdout), Log: log, Transport: run.TransportKind(*transport), Network: link, Randomness: randomness(*insecureSeed, stderr),
		CheckpointDir: *checkpointDir, Resume: *resume}
	res, results, err := run.Simulate(ctx, cfg, opts)
	if err != nil {
		return err
	}
	if *modelOut != "" {
		files, err := report.SaveModels(*modelOut, cfg, results)
		if err != nil {
			return err
		}
		for _, f := range files {
			fmt.Fprintf(stdout, "model written to %s\n", f)
		}
	}
	if *reportDir != "" {
		files, err := report.WriteReport(*reportDir, res)
		if err != nil {
			return err
		}
		for _, f := range files {
			fmt.Fprintf(stdout, "report written to %s\n", f)
		}
	}
	if *out != "" {
		if err := report.WriteJSON(*out, res); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "results written to %s\n", *out)
	}
	return nil
}
