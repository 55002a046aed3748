package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRejoinAfterKill runs 3 parties (and the dealer) as OS processes with
// checkpoints every 5 steps, kills one party chosen at random (SIGKILL) once it
// has saved a step chosen at random, and restarts it alone, with --resume, a
// moment later (and once, the dealer's node instead). The other nodes must not exit: they wait, admit it again, roll
// back to the newest common checkpoint and finish with exactly the final metrics
// of an uninterrupted simulation under the same test-only seeds (dealer-free,
// where the material after the rejoin is fresh, within the fixed-point bound).
func TestRejoinAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("processes killed and restarted: skipped with -short")
	}
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprintf("dealer/seed%d", seed), func(t *testing.T) {
			rejoinAfterKill(t, seed, "dealer", "cancer-mlp-3p.yaml", 10, 40, "test_accuracy")
		})
	}
	t.Run("he/seed3", func(t *testing.T) { rejoinAfterKill(t, 3, "he", "diabetes-linreg-3p.yaml", 3, 15, "test_mse") })
	t.Run("dealer/dealer-killed", func(t *testing.T) { rejoinAfterKill(t, 4, "dealer", "cancer-mlp-3p.yaml", 10, 40, "test_accuracy") })
}

// checkpointedDeployment writes config with epochs and checkpoints every 5 steps,
// and a deployment of it whose parties keep checkpoints and whose nodes wait up
// to rejoin for a lost peer.
func checkpointedDeployment(t *testing.T, config string, epochs int, timeout, rejoin string) (*deployment, string) {
	base, err := os.ReadFile(filepath.Join("../../configs", config))
	if err != nil {
		t.Fatal(err)
	}
	base = regexp.MustCompile(`epochs: \d+`).ReplaceAll(base, fmt.Appendf(nil, "epochs: %d", epochs))
	exp := filepath.Join(t.TempDir(), "checkpointed.yaml")
	os.WriteFile(exp, append(base, []byte("  checkpoint_every: 5\n")...), 0o644)
	d := newDeployment(t, exp, 3, timeout, func(i int, cfg string) string {
		cfg += "rejoin_timeout: " + rejoin + "\n"
		if i == 3 {
			return cfg
		}
		return cfg + "checkpoint_dir: checkpoints\n"
	})
	return d, exp
}

func rejoinAfterKill(t *testing.T, seed uint64, prep, config string, epochs, lastKill int, metric string) {
	rng := rand.New(rand.NewPCG(seed, 11))
	victim, killAt := rng.IntN(3), 5*(1+rng.IntN(lastKill/5))
	if strings.HasSuffix(t.Name(), "dealer-killed") {
		victim = 3
	}
	t.Logf("killing node %d once party %d has saved step %d", victim, min(victim, 2), killAt)
	d, exp := checkpointedDeployment(t, config, epochs, "5s", "30s")
	flags := []string{"--insecure-seed", "5", "--preprocessing", prep}
	ps := startNodes(d, prep == "dealer", flags...)
	waitForCheckpoint(t, d, ps[min(victim, 2)], min(victim, 2), killAt)
	ps[victim].cmd.Process.Kill()
	<-ps[victim].done
	time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
	ps[victim] = d.start(victim, append(flags, "--resume")...) // the dealer's node: node dealer --resume
	for i, p := range ps {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("node %d exited %d:\n%s", i, code, p.stderr.String())
		}
	}
	for i := range 3 {
		out := ps[i].stdout.String()
		if !strings.Contains(out, "resuming from the checkpoint of step") {
			t.Fatalf("party %d did not roll back to a checkpoint:\n%s", i, out)
		}
		if i != victim && !strings.Contains(out, "waiting up to 30s for every node to rejoin") {
			t.Fatalf("party %d did not say it waits for the lost party:\n%s", i, out)
		}
	}
	matchesUninterrupted(t, d, exp, prep, metric)
}

// waitForCheckpoint waits until party i (running as p) has saved step or later.
func waitForCheckpoint(t *testing.T, d *deployment, p *proc, i, step int) {
	t.Helper()
	dir := filepath.Join(d.nodeDir(i), "checkpoints")
	deadline := time.Now().Add(2 * time.Minute)
	for !hasCheckpointAtLeast(dir, step) {
		select {
		case <-p.done:
			t.Fatalf("party %d exited %d before its checkpoint of step %d:\n%s", i, p.code, step, p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of step %d after 2 minutes; party %d:\n%s", step, i, p.stderr.String())
		}
	}
}

// matchesUninterrupted compares every party's final metrics with those of an
// uninterrupted simulation of exp under the same test-only seed: exactly with a
// dealer, within the fixed-point bound dealer-free (fresh material after a resume).
func matchesUninterrupted(t *testing.T, d *deployment, exp, prep, metric string) {
	t.Helper()
	simOut := filepath.Join(d.dir, "sim.json")
	if out, code := node(t, "simulate", "--config", exp, "--insecure-seed", "5", "--preprocessing", prep, "--out", simOut); code != 0 {
		t.Fatalf("simulate: %s", out)
	}
	want := readFinal(t, simOut)["secure"].(map[string]any)
	for i := 0; i < d.parties; i++ {
		got := readFinal(t, filepath.Join(d.nodeDir(i), "results.json"))["secure"].(map[string]any)
		if prep == "dealer" {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if !bytes.Equal(g, w) {
				t.Fatalf("party %d's final metrics %s differ from the uninterrupted simulation's %s", i, g, w)
			}
			continue
		}
		for _, m := range []string{metric, "train_loss"} {
			if g, w := got[m].(float64), want[m].(float64); math.Abs(g-w) > 1e-3*math.Abs(w) {
				t.Fatalf("party %d's final %s %v, the uninterrupted simulation's %v", i, m, g, w)
			}
		}
	}
}

// TestRejoinTimeoutNamesLostParty kills party 1 after its first checkpoint and
// does not restart it: the other nodes wait rejoin_timeout for it, then exit
// non-zero naming it.
func TestRejoinTimeoutNamesLostParty(t *testing.T) {
	if testing.Short() {
		t.Skip("processes killed: skipped with -short")
	}
	const rejoin = 3 * time.Second
	d, _ := checkpointedDeployment(t, "cancer-mlp-3p.yaml", 10, "5s", rejoin.String())
	ps := startNodes(d, true)
	waitForCheckpoint(t, d, ps[1], 1, 5)
	killed := time.Now()
	ps[1].cmd.Process.Kill()
	for _, i := range []int{0, 2, 3} {
		if code := ps[i].wait(t, rejoin+30*time.Second); code == 0 {
			t.Fatalf("node %d exited 0 without party 1", i)
		}
		took := ps[i].ended.Sub(killed)
		stderr := ps[i].stderr.String()
		t.Logf("node %d stopped %v after the kill: %s", i, took.Round(time.Millisecond), lastLine(stderr))
		if took < rejoin || took > rejoin+10*time.Second {
			t.Errorf("node %d stopped %v after the kill (rejoin_timeout %v)", i, took, rejoin)
		}
		if !strings.Contains(stderr, "peer 1 ("+d.ids[1]+")") || !strings.Contains(stderr, "rejoin_timeout") {
			t.Errorf("node %d's error does not name party 1 and the rejoin timeout:\n%s", i, stderr)
		}
	}
}
