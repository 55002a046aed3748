package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/tessera-mpc/tessera/party/run"
)

// command is one of node's commands. The commands table is the one list of them:
// it drives dispatch, the usage text and help; README's command table is checked
// against it (TestREADMEListsEveryCommand).
type command struct {
	name     string
	synopsis string // the main flags, as the usage text shows them
	summary  string
	run      func(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"init", "--out DIR", "write DIR/identity.key and print the node's peer ID", initNode},
	{"run", "--config NODE.yaml [--resume]", "run one party of a deployment over libp2p", nodeOf(run.RoleParty)},
	{"dealer", "--config NODE.yaml [--resume]", "run the dealer node of a deployment", nodeOf(run.RoleDealer)},
	{"simulate", "--config FILE [--transport memory|libp2p] [--network memory|lan|wan|RTT,BANDWIDTH] [--out FILE] [--model-out DIR] [--report DIR] [--checkpoint-dir DIR [--resume]]",
		"run all parties in one process beside the plaintext reference", simulate},
	{"predict", "--model FILE [--model FILE ...] [--config NODE.yaml] [--dataset NAME] [--out FILE]",
		"evaluate a saved model: plain, all share files, or with --config one party's share as a deployment", predict},
	{"bench", "--config FILE [--steps N] [--transport memory,libp2p] [--network memory,lan,wan] [--out FILE]",
		"time secure training steps beside plaintext ones", bench},
	{"serve", "--config NODE.yaml --model DIR [--listen ADDR] [--tokens FILE] [--metrics ADDR]",
		"serve encrypted predictions of a trained model with the other parties", serveNode},
	{"query", "--server URL --input FILE.csv [--out FILE] [--fingerprint HEX] [--token T]",
		"encrypt rows, query a serving party, decrypt the predictions", queryNode},
}

// nodeOf is the command that runs a deployed node of the given role.
func nodeOf(role run.Role) func(context.Context, string, []string, io.Writer, io.Writer) error {
	return func(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
		return runNode(ctx, name, args, stdout, stderr, role)
	}
}

// usage is the usage text, from the commands table.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: node <command> [flags]\n\ncommands:\n")
	for _, c := range commands {
		line := fmt.Sprintf("  %-8s %s", c.name, c.synopsis)
		if len(line) < 34 {
			fmt.Fprintf(&b, "%-34s%s\n", line, c.summary)
		} else {
			fmt.Fprintf(&b, "%s\n           %s\n", line, c.summary)
		}
	}
	b.WriteString("\nRun \"node <command> -h\" for a command's flags.\n")
	return b.String()
}

// dispatch runs the command args[0] names.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return fmt.Errorf("no command given")
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, c.name, args[1:], stdout, stderr)
		}
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage())
		return nil
	}
	fmt.Fprint(stderr, usage())
	return fmt.Errorf("unknown command %q", args[0])
}
