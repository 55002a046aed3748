// Command node runs a Tessera party, or all of them in one process: it writes node
// identities, runs one party or the dealer of a deployment over libp2p, simulates
// every party of an experiment beside the plaintext reference, evaluates saved
// models and times training steps. `node help` lists the commands; the table in
// commands.go is the one list of them.
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

// overrideParties applies a --parties flag (0: keep the config's) to an experiment
// config: the same experiment among another number of parties, for the tables of
// cost against N.
func overrideParties(cfg *experiment.Config, n int) error {
	if n == 0 {
		return nil
	}
	cfg.Parties = n
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("--parties: %w", err)
	}
	return nil
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
