// Command node runs a Tessera party, or all of them in one process.
//
//	node init     --out DIR
//	node run      --config NODE.yaml
//	node dealer   --config NODE.yaml
//	node simulate --config FILE [--transport memory|libp2p] [--out results.json] [--model-out DIR] [--report DIR]
//	node predict  --model FILE [--model FILE ...] [--dataset NAME] [--out FILE]
//	node bench    --config FILE [--steps N] [--transport memory,libp2p]
//
// init writes a node identity (Ed25519 key, mode 0600) and prints its peer ID. run
// is one party of a deployment: it finds its peers over libp2p, checks they run the
// same experiment, and trains on its own data. dealer runs the trusted dealer's
// node for experiments with preprocessing: dealer.
//
// simulate runs every party of an experiment as a goroutine over the in-memory
// transport, beside the plaintext reference, and prints per-epoch metrics and
// per-party costs. predict evaluates a saved model: a plain model.json, or every
// party's share file of a model that stayed secret-shared (by secure inference).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/run"
)

const usage = `usage: node <command> [flags]

commands:
  init     --out DIR              write DIR/identity.key and print the node's peer ID
  run      --config NODE.yaml     run one party of a deployment over libp2p
  dealer   --config NODE.yaml     run the dealer node of a deployment
  simulate --config FILE [--transport memory|libp2p] [--out FILE] [--model-out DIR] [--report DIR]
           run all parties in one process beside the plaintext reference
  predict  --model FILE [--model FILE ...] [--dataset NAME] [--out FILE]
           evaluate a saved model (plain, or all parties' share files)
  bench    --config FILE [--steps N] [--transport memory,libp2p] [--out FILE]
           time secure training steps beside plaintext ones

Run "node <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "node:", err)
		}
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "simulate":
		return simulate(ctx, args[1:], stdout, stderr)
	case "predict":
		return predict(ctx, args[1:], stdout, stderr)
	case "init":
		return initNode(args[1:], stdout, stderr)
	case "bench":
		return bench(ctx, args[1:], stdout, stderr)
	case "run":
		return runNode(ctx, args[1:], stdout, stderr, run.RoleParty)
	case "dealer":
		return runNode(ctx, args[1:], stdout, stderr, run.RoleDealer)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// newLogger logs structured events to stderr at the given level.
func newLogger(stderr io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", level)
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: l})), nil
}

// isTerminal reports whether w is a character device (a terminal), where a
// progress bar may redraw itself.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func checkArgs(fs *flag.FlagSet, required map[string]string) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	for flagName, value := range required {
		if strings.TrimSpace(value) == "" {
			return fmt.Errorf("%s: --%s is required", fs.Name(), flagName)
		}
	}
	return nil
}

// randomness is crypto/rand, unless a test asked for a fixed seed (seed >= 0).
func randomness(seed int64, stderr io.Writer) run.Randomness {
	if seed < 0 {
		return run.Randomness{}
	}
	s := uint64(seed)
	fmt.Fprintln(stderr, "node: WARNING: --insecure-seed makes every share predictable; for reproducibility tests only")
	return run.Randomness{InsecureSeed: &s}
}

// overridePreprocessing applies a --preprocessing flag to an experiment config.
func overridePreprocessing(cfg *experiment.Config, value string) error {
	if value == "" {
		return nil
	}
	cfg.Preprocessing = experiment.Preprocessing(value)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("--preprocessing: %w", err)
	}
	return nil
}
