package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDeploymentResumesAfterKill runs 3 parties and the dealer as OS processes
// with checkpoints every 5 steps, kills every process (SIGKILL) once party 0 has
// saved step 40, restarts them all with --resume, and checks the parties end with
// exactly the final metrics of an uninterrupted simulation under the same
// test-only seeds: the resumed run continued the same training. Dealer-free, the
// material after the resume is fresh (new keys, new OTs): the metrics match within
// the fixed-point bound.
func TestDeploymentResumesAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("processes killed and restarted: skipped with -short")
	}
	t.Run("dealer", func(t *testing.T) { resumeAfterKill(t, "dealer", "cancer-mlp-3p.yaml", 10, 40, "test_accuracy") })
	t.Run("he", func(t *testing.T) { resumeAfterKill(t, "he", "diabetes-linreg-3p.yaml", 3, 15, "test_mse") })
}

// resumeAfterKill kills a deployment of config (made epochs long) once party 0
// has saved step killAt, resumes it and compares its final metrics with an
// uninterrupted simulation's.
func resumeAfterKill(t *testing.T, prep, config string, epochs, killAt int, metric string) {
	d, exp := checkpointedDeployment(t, config, epochs, "30s", "-1s") // every node is killed: no one waits
	flags := []string{"--insecure-seed", "5", "--preprocessing", prep}
	ps := startNodes(d, prep == "dealer", flags...)
	ckDir := filepath.Join(d.nodeDir(0), "checkpoints")
	deadline := time.Now().Add(2 * time.Minute)
	for !hasCheckpointAtLeast(ckDir, killAt) {
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of step %d after 2 minutes; party 0:\n%s", killAt, ps[0].stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, p := range ps {
		p.cmd.Process.Kill()
		<-p.done
	}
	if _, err := os.Stat(filepath.Join(d.nodeDir(0), "results.json")); err == nil {
		t.Fatal("the run had finished before the kill")
	}
	ps = startNodes(d, prep == "dealer", append(flags, "--resume")...)
	for i, p := range ps {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("node %d exited %d after --resume:\n%s", i, code, p.stderr.String())
		}
	}
	if out := ps[0].stdout.String(); !strings.Contains(out, "resuming from the checkpoint of step") {
		t.Fatalf("party 0 did not say where it resumed:\n%s", out)
	}
	matchesUninterrupted(t, d, exp, prep, metric)
}

func hasCheckpointAtLeast(dir string, step int) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		var s int
		if n, _ := fmt.Sscanf(e.Name(), "step-%d.ckpt", &s); n == 1 && s >= step {
			return true
		}
	}
	return false
}
