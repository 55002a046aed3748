package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// netnsLab puts each node in its own network namespace, with its own address on a
// bridge, so that peers reach each other over a network rather than loopback.
type netnsLab struct {
	t      *testing.T
	prefix string
	nodes  int
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// newNetnsLab creates the namespaces, or skips the test saying why it cannot.
func newNetnsLab(t *testing.T, nodes int) *netnsLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root: skipping the multi-host test")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2 (ip) is not installed: skipping the multi-host test")
	}
	lab := &netnsLab{t: t, prefix: fmt.Sprintf("tss%d", os.Getpid()%10000), nodes: nodes}
	bridge := lab.prefix + "br"
	if err := ipCmd("link", "add", bridge, "type", "bridge"); err != nil {
		t.Skipf("cannot create a bridge here (%v): skipping the multi-host test", err)
	}
	t.Cleanup(lab.cleanup)
	steps := [][]string{{"link", "set", bridge, "up"}}
	for i := 0; i < nodes; i++ {
		ns, veth := lab.ns(i), fmt.Sprintf("%sv%d", lab.prefix, i)
		steps = append(steps,
			[]string{"netns", "add", ns},
			[]string{"link", "add", veth, "type", "veth", "peer", "name", veth + "p"},
			[]string{"link", "set", veth, "master", bridge},
			[]string{"link", "set", veth, "up"},
			[]string{"link", "set", veth + "p", "netns", ns},
			[]string{"-n", ns, "addr", "add", lab.addr(i) + "/24", "dev", veth + "p"},
			[]string{"-n", ns, "link", "set", veth + "p", "up"},
			[]string{"-n", ns, "link", "set", "lo", "up"},
		)
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			t.Skipf("cannot set up network namespaces (%v): skipping the multi-host test", err)
		}
	}
	return lab
}

func (l *netnsLab) ns(i int) string   { return fmt.Sprintf("%sn%d", l.prefix, i) }
func (l *netnsLab) addr(i int) string { return fmt.Sprintf("10.213.%d.%d", os.Getpid()%200, i+1) }

func (l *netnsLab) cleanup() {
	for i := 0; i < l.nodes; i++ {
		exec.Command("ip", "netns", "del", l.ns(i)).Run()
	}
	exec.Command("ip", "link", "del", l.prefix+"br").Run()
}

// TestDeploymentAcrossNamespaces runs 3 parties and the dealer, each in its own
// network namespace with its own address.
func TestDeploymentAcrossNamespaces(t *testing.T) {
	const parties = 3
	lab := newNetnsLab(t, parties+1)
	d := newDeployment(t, "../../configs/diabetes-linreg-3p.yaml", parties, "30s", func(i int, cfg string) string {
		for j := 0; j <= parties; j++ {
			cfg = strings.ReplaceAll(cfg, fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", nextPort-parties-1+j), fmt.Sprintf("/ip4/%s/tcp/4001", lab.addr(j)))
		}
		return cfg
	})
	var procs []*exec.Cmd
	outs := make([]*lockedBuffer, parties+1)
	done := make([]chan error, parties+1)
	for i := 0; i <= parties; i++ {
		cmdName := "run"
		if i == parties {
			cmdName = "dealer"
		}
		c := exec.Command("ip", "netns", "exec", lab.ns(i), nodeBinary, cmdName, "--config", filepath.Join(d.nodeDir(i), "node.yaml"), "--log-level", "warn")
		outs[i] = &lockedBuffer{}
		c.Stdout, c.Stderr = outs[i], outs[i]
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, c)
		done[i] = make(chan error, 1)
		go func(i int) { done[i] <- c.Wait() }(i)
	}
	t.Cleanup(func() {
		for _, c := range procs {
			c.Process.Kill()
		}
	})
	for i := range procs {
		select {
		case err := <-done[i]:
			if err != nil {
				t.Fatalf("node %d in namespace %s failed: %v\n%s", i, lab.ns(i), err, outs[i].String())
			}
		case <-time.After(3 * time.Minute):
			t.Fatalf("node %d did not finish:\n%s", i, outs[i].String())
		}
	}
	ref := readFinal(t, filepath.Join(d.nodeDir(0), "results.json"))
	for i := 1; i < parties; i++ {
		if got := readFinal(t, filepath.Join(d.nodeDir(i), "results.json")); fmt.Sprint(got) != fmt.Sprint(ref) {
			t.Fatalf("party %d's final metrics %v differ from party 0's %v", i, got, ref)
		}
	}
	t.Logf("4 namespaces at %s..%s: all parties finished with %v", lab.addr(0), lab.addr(parties), ref)
}
