package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readmeCommands lists the commands in README's command table (the rows of the
// table under "## Commands" that start with `node NAME`).
func readmeCommands(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Commands\n")
	if !ok {
		t.Fatal("README.md has no \"## Commands\" section")
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var names []string
	for _, m := range regexp.MustCompile("(?m)^\\| `node ([a-z]+)").FindAllStringSubmatch(section, -1) {
		names = append(names, m[1])
	}
	return names
}

// TestREADMEListsEveryCommand: README's hand-written command table lists exactly
// the commands of the table that drives dispatch and usage.
func TestREADMEListsEveryCommand(t *testing.T) {
	inREADME := readmeCommands(t)
	var inTable []string
	for _, c := range commands {
		inTable = append(inTable, c.name)
		if !slices.Contains(inREADME, c.name) {
			t.Errorf("command %q is missing from README's command table", c.name)
		}
	}
	for _, name := range inREADME {
		if !slices.Contains(inTable, name) {
			t.Errorf("README's command table lists %q, which node does not have", name)
		}
	}
}

// TestHelpListsEveryCommand: help prints the usage text, with every command and
// its summary; an unknown command fails with the same text.
func TestHelpListsEveryCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := dispatch(context.Background(), []string{"help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, c := range commands {
		if !strings.Contains(out.String(), "  "+c.name+" ") || !strings.Contains(out.String(), c.summary) {
			t.Errorf("help lacks %q:\n%s", c.name, out.String())
		}
	}
	if err := dispatch(context.Background(), []string{"frobnicate"}, &out, &errOut); err == nil || errOut.String() != out.String() {
		t.Errorf("unknown command: error %v, usage on stderr %q", err, errOut.String())
	}
}
