// Command node runs a Tessera party, or all of them in one process.
//
//	node simulate --config FILE [--out results.json]
//
// simulate runs every party of an experiment as a goroutine over the in-memory
// transport, beside the plaintext reference, and prints per-epoch metrics and
// per-party costs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tessera-mpc/tessera/party"
)

const usage = `usage: node <command> [flags]

commands:
  simulate --config FILE [--out FILE]   run all parties in one process beside the plaintext reference
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "node:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "simulate":
		return simulate(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func simulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "experiment config (YAML)")
	out := fs.String("out", "", "write results JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("simulate: unexpected argument %q", fs.Arg(0))
	}
	if *configPath == "" {
		return errors.New("simulate: --config is required")
	}
	cfg, err := party.LoadConfig(*configPath)
	if err != nil {
		return err
	}
	res, err := party.Simulate(ctx, cfg, party.SimOptions{Progress: stdout})
	if err != nil {
		return err
	}
	if *out != "" {
		if err := party.WriteJSON(*out, res); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "results written to %s\n", *out)
	}
	return nil
}
