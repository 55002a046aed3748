package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// deployment is a set of node configs on 127.0.0.1, written the way a user would.
type deployment struct {
	t       testing.TB
	dir     string
	parties int
	ids     []string // parties, then the dealer
	ports   []int
}

var nextPort = 47500

func newDeployment(t testing.TB, experiment string, parties int, timeout string, edit func(i int, cfg string) string) *deployment {
	t.Helper()
	d := &deployment{t: t, dir: t.TempDir(), parties: parties}
	for i := 0; i <= parties; i++ {
		out, code := node(t, "init", "--out", d.nodeDir(i))
		if code != 0 {
			t.Fatalf("node init: %s", out)
		}
		d.ids = append(d.ids, strings.TrimSpace(out))
		d.ports = append(d.ports, nextPort)
		nextPort++
	}
	exp, err := filepath.Abs(experiment)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= parties; i++ {
		var b strings.Builder
		if i == parties {
			b.WriteString("role: dealer\n")
		} else {
			fmt.Fprintf(&b, "role: party\nparty: %d\ndata: {slice: true}\nresults: results.json\n", i)
		}
		fmt.Fprintf(&b, "identity: identity.key\nlisten: [/ip4/127.0.0.1/tcp/%d]\nexperiment: %s\ntimeout: %s\nconnect_timeout: 20s\nparties:\n", d.ports[i], exp, timeout)
		for p := 0; p < parties; p++ {
			fmt.Fprintf(&b, "  - {party: %d, id: %s, addrs: [/ip4/127.0.0.1/tcp/%d]}\n", p, d.ids[p], d.ports[p])
		}
		fmt.Fprintf(&b, "dealer: {party: %d, id: %s, addrs: [/ip4/127.0.0.1/tcp/%d]}\n", parties, d.ids[parties], d.ports[parties])
		cfg := b.String()
		if edit != nil {
			cfg = edit(i, cfg)
		}
		if err := os.WriteFile(filepath.Join(d.nodeDir(i), "node.yaml"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func (d *deployment) nodeDir(i int) string { return filepath.Join(d.dir, fmt.Sprintf("node%d", i)) }

// proc is a running node process.
type proc struct {
	cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	done   chan struct{}
	code   int
	ended  time.Time
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (d *deployment) start(i int, extra ...string) *proc {
	d.t.Helper()
	cmdName := "run"
	if i == d.parties {
		cmdName = "dealer"
	}
	return d.startCommand(i, cmdName, extra...)
}

// startCommand starts node i with the given command and its node config.
func (d *deployment) startCommand(i int, cmdName string, extra ...string) *proc {
	d.t.Helper()
	args := append([]string{cmdName, "--config", filepath.Join(d.nodeDir(i), "node.yaml"), "--log-level", "warn"}, extra...)
	p := &proc{cmd: exec.Command(nodeBinary, args...), stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.ended = time.Now()
		p.code = 0
		if err != nil {
			p.code = 1
			if ee, ok := err.(*exec.ExitError); ok {
				p.code = ee.ExitCode()
			}
		}
		close(p.done)
	}()
	d.t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *proc) wait(t testing.TB, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(within):
		t.Fatalf("node %v still running after %v; stderr:\n%s", p.cmd.Args, within, p.stderr.String())
	}
	return -1
}

func (d *deployment) startAll(extra ...string) []*proc {
	return startNodes(d, true, extra...)
}

// startNodes starts the parties and, when the experiment uses one, the dealer.
func startNodes(d *deployment, dealer bool, flags ...string) []*proc {
	var ps []*proc
	for i := 0; i < d.parties; i++ {
		ps = append(ps, d.start(i, flags...))
	}
	if dealer {
		ps = append(ps, d.start(d.parties, flags...))
	}
	return ps
}

func readFinal(t testing.TB, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r struct{ Final map[string]any }
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r.Final
}

// TestDeploymentMatchesSimulation runs 3 parties and the dealer as OS processes over
// libp2p on loopback and checks they end with exactly the model metrics of the
// in-memory simulation with the same (insecure, test-only) seeds.
func TestDeploymentMatchesSimulation(t *testing.T) {
	const exp = "../../configs/cancer-mlp-3p.yaml"
	matchesSimulation(t, newDeployment(t, exp, 3, "30s", nil), exp)
}

// matchesSimulation runs every node of d with the same test-only seed and checks
// that every party ends with exactly the final metrics of exp's simulation.
func matchesSimulation(t *testing.T, d *deployment, exp string) {
	t.Helper()
	for i, p := range d.startAll("--insecure-seed", "5") {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("node %d exited %d:\n%s", i, code, p.stderr.String())
		}
	}
	simOut := filepath.Join(d.dir, "sim.json")
	if out, code := node(t, "simulate", "--config", exp, "--insecure-seed", "5", "--out", simOut); code != 0 {
		t.Fatalf("simulate: %s", out)
	}
	want, _ := json.Marshal(readFinal(t, simOut)["secure"])
	for i := 0; i < d.parties; i++ {
		got, _ := json.Marshal(readFinal(t, filepath.Join(d.nodeDir(i), "results.json"))["secure"])
		if !bytes.Equal(got, want) {
			t.Fatalf("party %d's final metrics %s differ from the simulation's %s", i, got, want)
		}
	}
}

// TestCSVDeploymentReadsOwnFile runs the three-hospitals experiment as 3 party
// processes and the dealer's, each party with a copy of the experiment beside which
// only its own hospital's file (and the public test file) exists, and checks they
// end with exactly the simulation's final metrics under the same test-only seeds.
func TestCSVDeploymentReadsOwnFile(t *testing.T) {
	const exp = "../../configs/hospitals-diabetes-3p.yaml"
	raw, err := os.ReadFile(exp)
	if err != nil {
		t.Fatal(err)
	}
	d := newDeployment(t, exp, 3, "30s", func(i int, cfg string) string {
		if i == 3 {
			return cfg
		}
		return regexpReplaceExperiment(cfg, hospitalCopy(t, i, raw, nil))
	})
	matchesSimulation(t, d, exp)
}

// hospitalCopy writes a copy of the hospitals experiment beside which only
// hospital i's file and the test file exist (the test file passed through edit,
// when given) and returns its path.
func hospitalCopy(t *testing.T, i int, raw []byte, edit func([]byte) []byte) string {
	t.Helper()
	own := filepath.Join(t.TempDir(), "experiment")
	os.MkdirAll(filepath.Join(own, "hospitals-diabetes"), 0o755)
	for _, f := range []string{fmt.Sprintf("hospital%d.csv", i), "test.csv"} {
		data, err := os.ReadFile(filepath.Join("../../configs/hospitals-diabetes", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "test.csv" && edit != nil {
			data = edit(data)
		}
		os.WriteFile(filepath.Join(own, "hospitals-diabetes", f), data, 0o644)
	}
	path := filepath.Join(own, "hospitals-diabetes-3p.yaml")
	os.WriteFile(path, raw, 0o644)
	return path
}

// TestDifferentTestRowsCaught gives party 2 a test file with one value changed:
// every party must stop before any share moves, saying the public test rows differ.
func TestDifferentTestRowsCaught(t *testing.T) {
	const exp = "../../configs/hospitals-diabetes-3p.yaml"
	raw, err := os.ReadFile(exp)
	if err != nil {
		t.Fatal(err)
	}
	changeOneValue := func(data []byte) []byte {
		lines := strings.SplitN(string(data), "\n", 3)
		lines[1] = strings.Replace(lines[1], ",", ",1", 1) // the first row's second cell gains a leading 1
		return []byte(strings.Join(lines, "\n"))
	}
	d := newDeployment(t, exp, 3, "10s", func(i int, cfg string) string {
		switch i {
		case 3:
			return cfg
		case 2:
			return regexpReplaceExperiment(cfg, hospitalCopy(t, i, raw, changeOneValue))
		}
		return regexpReplaceExperiment(cfg, hospitalCopy(t, i, raw, nil))
	})
	ps := d.startAll()
	for i := 0; i < 3; i++ {
		if code := ps[i].wait(t, time.Minute); code == 0 {
			t.Fatalf("party %d trained with other parties' test rows", i)
		}
		if msg := ps[i].stderr.String(); !strings.Contains(msg, "public_test_rows") {
			t.Fatalf("party %d's error does not say the test rows differ:\n%s", i, msg)
		}
	}
}

// TestTamperedConfigCaught gives party 2 an experiment with another learning rate:
// every party must stop, saying which field differs, before any share moves.
func TestTamperedConfigCaught(t *testing.T) {
	base, err := os.ReadFile("../../configs/diabetes-linreg-3p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(t.TempDir(), "tampered.yaml")
	os.WriteFile(tampered, bytes.Replace(base, []byte("learning_rate: 0.05"), []byte("learning_rate: 0.07"), 1), 0o644)
	d := newDeployment(t, "../../configs/diabetes-linreg-3p.yaml", 3, "10s", func(i int, cfg string) string {
		if i == 2 {
			return regexpReplaceExperiment(cfg, tampered)
		}
		return cfg
	})
	ps := d.startAll()
	for i := 0; i < 3; i++ {
		code := ps[i].wait(t, time.Minute)
		if code == 0 {
			t.Fatalf("party %d accepted a tampered config", i)
		}
		if msg := ps[i].stderr.String(); !strings.Contains(msg, "learning_rate") {
			t.Fatalf("party %d's error does not say what differs:\n%s", i, msg)
		}
		t.Logf("party %d: %s", i, lastLine(ps[i].stderr.String()))
	}
	if _, err := os.Stat(filepath.Join(d.nodeDir(0), "results.json")); err == nil {
		t.Fatal("results written despite the mismatch")
	}
}

func regexpReplaceExperiment(cfg, path string) string {
	var out []string
	for _, line := range strings.Split(cfg, "\n") {
		if strings.HasPrefix(line, "experiment:") {
			line = "experiment: " + path
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// TestUnknownPeerRefused replaces party 1 by an outsider with its own key: the
// others must refuse it and stop, not train with it.
func TestUnknownPeerRefused(t *testing.T) {
	d := newDeployment(t, "../../configs/diabetes-linreg-3p.yaml", 3, "10s", func(_ int, cfg string) string {
		return strings.Replace(cfg, "connect_timeout: 20s", "connect_timeout: 6s", 1)
	})
	outsider := filepath.Join(d.dir, "outsider")
	out, code := node(t, "init", "--out", outsider)
	if code != 0 {
		t.Fatal(out)
	}
	outsiderID := strings.TrimSpace(out)
	// The outsider's config claims party 1's seat with its own identity.
	cfg, _ := os.ReadFile(filepath.Join(d.nodeDir(1), "node.yaml"))
	cfgS := strings.Replace(string(cfg), "identity: identity.key", "identity: "+filepath.Join(outsider, "identity.key"), 1)
	cfgS = strings.Replace(cfgS, d.ids[1], outsiderID, 1)
	os.WriteFile(filepath.Join(d.nodeDir(1), "node.yaml"), []byte(cfgS), 0o644)
	for i, p := range d.startAll() {
		if code := p.wait(t, time.Minute); code == 0 {
			t.Fatalf("node %v finished with an outsider in the deployment:\n%s", p.cmd.Args, p.stdout.String())
		}
		t.Logf("node %d: %s", i, lastLine(p.stderr.String()))
	}
	if _, err := os.Stat(filepath.Join(d.nodeDir(0), "results.json")); err == nil {
		t.Fatal("party 0 wrote results with an outsider in the deployment")
	}
}

// TestKilledPeerStopsOthers kills party 1 mid-training: the others must exit
// non-zero within twice the message timeout, naming party 1.
func TestKilledPeerStopsOthers(t *testing.T) {
	base, _ := os.ReadFile("../../configs/cancer-mlp-3p.yaml")
	long := filepath.Join(t.TempDir(), "long.yaml")
	os.WriteFile(long, bytes.Replace(base, []byte("epochs: 10"), []byte("epochs: 500"), 1), 0o644)
	const timeout = 3 * time.Second
	d := newDeployment(t, long, 3, timeout.String(), nil)
	ps := d.startAll()
	// Wait for party 1 to report its first epoch, then kill it.
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(ps[1].stdout.String(), "\n    1 ") {
		if time.Now().After(deadline) {
			t.Fatalf("party 1 never finished an epoch:\n%s", ps[1].stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	killed := time.Now()
	ps[1].cmd.Process.Kill()
	for _, i := range []int{0, 2, 3} {
		code := ps[i].wait(t, 2*timeout+5*time.Second)
		if code == 0 {
			t.Fatalf("node %d exited 0 after party 1 was killed", i)
		}
		if took := ps[i].ended.Sub(killed); took > 2*timeout {
			t.Errorf("node %d took %v to stop (timeout %v)", i, took, timeout)
		}
		if i != 3 && !strings.Contains(ps[i].stderr.String(), "party 1") {
			t.Errorf("node %d's error does not name party 1:\n%s", i, ps[i].stderr.String())
		}
		t.Logf("node %d stopped %v after the kill: %s", i, ps[i].ended.Sub(killed).Round(time.Millisecond), strings.TrimSpace(ps[i].stderr.String()))
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestDealerFreeDeployment runs 3 parties as OS processes over libp2p with
// dealer-free preprocessing: no dealer node at all.
func TestDealerFreeDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("dealer-free deployment: skipped with -short")
	}
	base, _ := os.ReadFile("../../configs/diabetes-linreg-3p.yaml")
	exp := filepath.Join(t.TempDir(), "diabetes-he.yaml")
	cfg := bytes.Replace(base, []byte("preprocessing: dealer"), []byte("preprocessing: he"), 1)
	cfg = bytes.Replace(cfg, []byte("epochs: 20"), []byte("epochs: 2"), 1)
	os.WriteFile(exp, cfg, 0o644)
	d := newDeployment(t, exp, 3, "60s", nil)
	ps := startNodes(d, false) // no dealer node
	for i, p := range ps {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("party %d exited %d:\n%s", i, code, p.stderr.String())
		}
		if !strings.Contains(p.stdout.String(), "dealer-free preprocessing set up") {
			t.Fatalf("party %d did not set up dealer-free preprocessing:\n%s", i, p.stdout.String())
		}
	}
	ref := readFinal(t, filepath.Join(d.nodeDir(0), "results.json"))
	for i := 1; i < 3; i++ {
		if got := readFinal(t, filepath.Join(d.nodeDir(i), "results.json")); fmt.Sprint(got) != fmt.Sprint(ref) {
			t.Fatalf("party %d's final metrics %v differ from party 0's %v", i, got, ref)
		}
	}
	t.Logf("dealer-free deployment: %v", ref)
}

// trainSharedDiabetes deploys the diabetes experiment with the model left shared
// (every party writes its share file under its node directory's model/) and
// waits for the training to end; it returns the deployment, the shipped config's
// text and the experiment file the nodes name.
func trainSharedDiabetes(t *testing.T) (d *deployment, base []byte, exp string) {
	t.Helper()
	base, err := os.ReadFile("../../configs/diabetes-linreg-3p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	exp = filepath.Join(t.TempDir(), "shared.yaml")
	os.WriteFile(exp, append(base, []byte("output:\n  model: shared\n")...), 0o644)
	d = newDeployment(t, exp, 3, "30s", func(i int, cfg string) string {
		if i < 3 {
			cfg += "model_dir: model\n"
		}
		return cfg
	})
	for i, p := range d.startAll() {
		if code := p.wait(t, 2*time.Minute); code != 0 {
			t.Fatalf("training: node %d exited %d:\n%s", i, code, p.stderr.String())
		}
	}
	return d, base, exp
}

// TestSharedModelPredictedAsDeployment trains a model that stays shared, then
// evaluates it as a deployment: each party's `node predict --config` loads only
// its own share file, and the test metrics equal those of the training run.
func TestSharedModelPredictedAsDeployment(t *testing.T) {
	d, _, _ := trainSharedDiabetes(t)
	var ps []*proc
	for i := 0; i < 3; i++ {
		share := filepath.Join(d.nodeDir(i), "model", fmt.Sprintf("model-share-%d.json", i))
		ps = append(ps, d.startCommand(i, "predict", "--model", share, "--out", filepath.Join(d.nodeDir(i), "prediction.json")))
	}
	ps = append(ps, d.start(3))
	for i, p := range ps {
		if code := p.wait(t, 2*time.Minute); code != 0 {
			t.Fatalf("prediction: node %d exited %d:\n%s", i, code, p.stderr.String())
		}
	}
	for i := 0; i < 3; i++ {
		trained := readFinal(t, filepath.Join(d.nodeDir(i), "results.json"))["secure"].(map[string]any)["test_mse"].(float64)
		raw, err := os.ReadFile(filepath.Join(d.nodeDir(i), "prediction.json"))
		if err != nil {
			t.Fatal(err)
		}
		var pred struct {
			Metrics struct {
				TestMSE float64 `json:"test_mse"`
			}
		}
		if err := json.Unmarshal(raw, &pred); err != nil {
			t.Fatal(err)
		}
		if d := pred.Metrics.TestMSE - trained; d > 1e-3*trained || d < -1e-3*trained {
			t.Fatalf("party %d: predicted test MSE %v, training ended with %v", i, pred.Metrics.TestMSE, trained)
		}
	}
}

// TestInsecureSeedAnnounced starts one party in the insecure test mode: its peers
// must see it in the handshake and refuse, not train with predictable shares.
func TestInsecureSeedAnnounced(t *testing.T) {
	d := newDeployment(t, "../../configs/diabetes-linreg-3p.yaml", 3, "10s", func(_ int, cfg string) string {
		return strings.Replace(cfg, "connect_timeout: 20s", "connect_timeout: 6s", 1)
	})
	var ps []*proc
	for i := 0; i <= d.parties; i++ {
		var extra []string
		if i == 1 {
			extra = []string{"--insecure-seed", "5"}
		}
		ps = append(ps, d.start(i, extra...))
	}
	for i, p := range ps {
		if code := p.wait(t, time.Minute); code == 0 {
			t.Fatalf("node %d trained beside a node in the insecure test mode:\n%s", i, p.stdout.String())
		}
		if i != 1 && !strings.Contains(p.stderr.String(), "insecure-test-seed") {
			t.Fatalf("node %d's error does not name the test mode:\n%s", i, p.stderr.String())
		}
	}
	if _, err := os.Stat(filepath.Join(d.nodeDir(0), "results.json")); err == nil {
		t.Fatal("party 0 wrote results beside a node in the insecure test mode")
	}
}
