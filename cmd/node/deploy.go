package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/run"
)

// initNode writes a fresh node identity and prints its peer ID.
func initNode(_ context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory to write identity.key into")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkArgs(fs, map[string]string{"out": *out}); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	key, err := network.GenerateIdentity()
	if err != nil {
		return err
	}
	path := filepath.Join(*out, "identity.key")
	if err := network.SaveIdentity(path, key); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	id, err := network.PeerIDFromKey(key)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, id)
	return nil
}

func runNode(ctx context.Context, name string, args []string, stdout, stderr io.Writer, wantRole run.Role) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "node config (YAML): identity, addresses, peers, experiment, own data")
	logLevel := fs.String("log-level", "info", "log level on stderr: debug, info, warn, error")
	insecureSeed := fs.Int64("insecure-seed", -1, "TESTING ONLY: derive this node's randomness from this seed (makes every share predictable)")
	preprocessing := fs.String("preprocessing", "", "override the experiment's preprocessing: dealer or he (dealer-free; every node must agree)")
	resumeHelp := "continue from the newest checkpoint (checkpoint_dir) every party holds; every party must be started with it"
	if wantRole == run.RoleDealer {
		resumeHelp = "serve parties that resume from a checkpoint (a session that starts at a later request)"
	}
	resume := fs.Bool("resume", false, resumeHelp)
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
	nc, err := run.LoadNodeConfig(*configPath)
	if err != nil {
		return err
	}
	if nc.Role != wantRole {
		return fmt.Errorf("%s: the config is for a %s node", fs.Name(), nc.Role)
	}
	opts := run.NodeOptions{Progress: stdout, Bar: isTerminal(stdout), Log: log, Randomness: randomness(*insecureSeed, stderr), Preprocessing: experiment.Preprocessing(*preprocessing), Resume: *resume}
	if wantRole == run.RoleDealer {
		err = run.Dealer(ctx, nc, opts)
	} else {
		_, err = run.Party(ctx, nc, opts)
	}
	var abort *network.PeerAbortError
	if errors.As(err, &abort) {
		return fmt.Errorf("stopping because party %d failed: %s", abort.Party, abort.Reason)
	}
	return err
}
