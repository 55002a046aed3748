package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// End-to-end tests of liveness versus progress: OS processes over libp2p on
// 127.0.0.1, with timeouts far shorter than the local work between messages.

// writeExperiment writes base with the replacements applied (each must match)
// and returns its path.
func writeExperiment(t *testing.T, base string, replace ...string) string {
	t.Helper()
	cfg, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(replace); i += 2 {
		if !bytes.Contains(cfg, []byte(replace[i])) {
			t.Fatalf("%s has no %q", base, replace[i])
		}
		cfg = bytes.Replace(cfg, []byte(replace[i]), []byte(replace[i+1]), 1)
	}
	path := filepath.Join(t.TempDir(), filepath.Base(base))
	if err := os.WriteFile(path, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDealerFreeBusyPartyShortTimeout trains dealer-free (MNIST, a linear model,
// 2 steps) with a 1 s timeout: party 0 computes its input shares for longer than
// that while the others wait for them, and nothing else moves meanwhile. A busy
// party is not a dead one: all parties must finish, with the same metrics. (With
// a per-message timeout every party failed at "sharing party 0's rows".)
func TestDealerFreeBusyPartyShortTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("dealer-free MNIST deployment (about 15 s): skipped with -short")
	}
	exp := writeExperiment(t, "../../configs/mnist-mlp-3p-short.yaml",
		"preprocessing: dealer", "preprocessing: he",
		"max_steps: 60", "max_steps: 2",
		`    - units: 128
      activation: relu
    - units: 128
      activation: relu
`, "")
	d := newDeployment(t, exp, 3, "1s", nil)
	ps := startNodes(d, false) // no dealer node
	for i, p := range ps {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("party %d exited %d:\n%s", i, code, p.stderr.String())
		}
	}
	ref := readFinal(t, filepath.Join(d.nodeDir(0), "results.json"))
	for i := 1; i < 3; i++ {
		if got := readFinal(t, filepath.Join(d.nodeDir(i), "results.json")); fmt.Sprint(got) != fmt.Sprint(ref) {
			t.Fatalf("party %d's final metrics %v differ from party 0's %v", i, got, ref)
		}
	}
}

// TestFrozenPeerDetected stops party 1 with SIGSTOP mid-training (it neither
// computes nor answers, but its connections stay open): every other node must
// exit non-zero within twice the timeout, naming party 1, with a dealer and
// without one.
func TestFrozenPeerDetected(t *testing.T) {
	const timeout = 2 * time.Second
	for _, prep := range []string{"dealer", "he"} {
		t.Run(prep, func(t *testing.T) {
			exp := writeExperiment(t, "../../configs/diabetes-linreg-3p.yaml",
				"preprocessing: dealer", "preprocessing: "+prep, "epochs: 20", "epochs: 500")
			d := newDeployment(t, exp, 3, timeout.String(), nil)
			ps := startNodes(d, prep == "dealer")
			others := []int{0, 2}
			if prep == "dealer" {
				others = append(others, 3)
			}
			waitForEpoch(t, ps[1])
			frozen := time.Now()
			if err := ps[1].cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			defer ps[1].cmd.Process.Signal(syscall.SIGCONT)
			id1 := d.ids[1]
			for _, i := range others {
				code := ps[i].wait(t, 2*timeout+10*time.Second)
				took := ps[i].ended.Sub(frozen)
				stderr := ps[i].stderr.String()
				t.Logf("node %d stopped %v after the freeze: %s", i, took.Round(time.Millisecond), lastLine(stderr))
				if code == 0 {
					t.Fatalf("node %d exited 0 with party 1 frozen", i)
				}
				if took > 2*timeout {
					t.Errorf("node %d took %v to stop (timeout %v)", i, took, timeout)
				}
				if i != 3 && !strings.Contains(stderr, "peer 1 ("+id1+")") && !strings.Contains(stderr, "party 1") {
					t.Errorf("node %d's error does not name party 1:\n%s", i, stderr)
				}
			}
		})
	}
}

// waitForEpoch waits until p reports its first epoch.
func waitForEpoch(t *testing.T, p *proc) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(p.stdout.String(), "\n    1 ") {
		select {
		case <-p.done:
			t.Fatalf("node %v exited %d before its first epoch:\n%s", p.cmd.Args, p.code, p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %v never finished an epoch:\n%s", p.cmd.Args, p.stderr.String())
		}
	}
}

// TestDeployLocalScript runs configs/deploy-local/run.sh on a dealer config and a
// dealer-free one: the script starts the dealer's node only when the experiment
// needs one, and exits 0 when all parties agree (it used to start a dealer node
// for a dealer-free experiment, which refused to run, and exit 1).
func TestDeployLocalScript(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	for k, prep := range []string{"dealer", "he"} {
		t.Run(prep, func(t *testing.T) {
			exp := writeExperiment(t, "../../configs/diabetes-linreg-3p.yaml",
				"preprocessing: dealer", "preprocessing: "+prep, "epochs: 20", "epochs: 2")
			work := t.TempDir()
			cmd := exec.Command("bash", "../../configs/deploy-local/run.sh", exp)
			cmd.Env = append(os.Environ(), "NODE="+nodeBinary, "WORK="+work,
				fmt.Sprintf("BASE_PORT=%d", 48300+10*k), "TIMEOUT=10s", "INSECURE_SEED=3")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("run.sh: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "all 3 parties finished with the same final metrics") {
				t.Fatalf("run.sh output:\n%s", out)
			}
			_, statErr := os.Stat(filepath.Join(work, "node3"))
			if dealerStarted := statErr == nil; dealerStarted != (prep == "dealer") {
				t.Fatalf("preprocessing %s: dealer node started: %v\n%s", prep, dealerStarted, out)
			}
		})
	}
}
