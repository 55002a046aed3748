package main

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
	"github.com/tessera-mpc/tessera/sharing"
	"gonum.org/v1/gonum/mat"
)

// TestServeSharedModelDeployment: three parties train a model that stays
// secret-shared (OS processes, libp2p on 127.0.0.1, the dealer's node), then
// serve it with `node serve` (each with only its own share file); `node
// query` posts encrypted rows to party 2 (forwarded to the leader) and gets
// the model's outputs, checked against the model rebuilt from all shares.
// Stopping the leader stops the other parties. The parties serve with the
// dealer's material, or dealer-free (preprocessing: he, no dealer's node).
func TestServeSharedModelDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("trains and serves over libp2p")
	}
	for _, prep := range []string{"dealer", "he"} {
		t.Run(prep, func(t *testing.T) { serveSharedModel(t, prep) })
	}
}

func serveSharedModel(t *testing.T, prep string) {
	d, base, exp := trainSharedDiabetes(t)
	if prep == "he" { // serve the trained shares dealer-free
		heExp := filepath.Join(t.TempDir(), "shared-he.yaml")
		os.WriteFile(heExp, []byte(strings.Replace(string(base), "preprocessing: dealer", "preprocessing: he", 1)+"output:\n  model: shared\n"), 0o644)
		for i := range 3 {
			path := filepath.Join(d.nodeDir(i), "node.yaml")
			raw, _ := os.ReadFile(path)
			os.WriteFile(path, []byte(strings.Replace(string(raw), exp, heExp, 1)), 0o644)
		}
	}
	servers, fingerprints := startServing(t, d, prep == "dealer")
	rows := servedRows(t, exp, 25)
	input := filepath.Join(t.TempDir(), "rows.csv")
	writeRowsCSV(t, input, rows)
	out := filepath.Join(t.TempDir(), "predictions.csv")
	q := d.startQuery(fmt.Sprintf("https://127.0.0.1:%d", d.ports[2]+100), "--fingerprint", fingerprints[2], "--input", input, "--out", out, "--batch", "10")
	if code := q.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("node query exited %d:\n%s", code, q.stderr.String())
	}
	t.Log(strings.TrimSpace(q.stderr.String()))
	checkServedPredictions(t, d, rows, out)
	servers[0].cmd.Process.Signal(os.Interrupt)
	for i, p := range servers[:3] {
		if code := p.wait(t, time.Minute); code != 0 {
			t.Fatalf("serving party %d exited %d after the leader stopped:\n%s", i, code, p.stderr.String())
		}
	}
}

// startServing starts `node serve` on every party (HTTPS on its libp2p port
// plus 100) and the dealer, and waits for every party's fingerprint.
func startServing(t *testing.T, d *deployment, dealer bool) ([]*proc, []string) {
	t.Helper()
	var ps []*proc
	for i := range 3 {
		ps = append(ps, d.startCommand(i, "serve", "--model", filepath.Join(d.nodeDir(i), "model"),
			"--listen", fmt.Sprintf("127.0.0.1:%d", d.ports[i]+100), "--fingerprint-out", filepath.Join(d.nodeDir(i), "fingerprint")))
	}
	if dealer {
		ps = append(ps, d.start(3))
	}
	fps := make([]string, 3)
	deadline := time.Now().Add(2 * time.Minute)
	for i := range 3 {
		for {
			raw, _ := os.ReadFile(filepath.Join(d.nodeDir(i), "fingerprint"))
			if fps[i] = strings.TrimSpace(string(raw)); fps[i] != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("party %d is not serving; stderr:\n%s", i, ps[i].stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return ps, fps
}

// startQuery runs `node query` against server.
func (d *deployment) startQuery(server string, extra ...string) *proc {
	d.t.Helper()
	return d.startArgs(append([]string{"query", "--server", server}, extra...)...)
}

func servedRows(t *testing.T, exp string, n int) [][]float64 {
	t.Helper()
	cfg, err := experiment.LoadConfig(exp)
	if err != nil {
		t.Fatal(err)
	}
	test, err := experiment.LoadTestSet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return test.X[:min(n, len(test.X))]
}

func writeRowsCSV(t *testing.T, path string, rows [][]float64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	for _, r := range rows {
		var rec []string
		for _, v := range r {
			rec = append(rec, strconv.FormatFloat(v, 'g', -1, 64))
		}
		w.Write(rec)
	}
	w.Flush()
	f.Close()
}

// checkServedPredictions compares the decrypted outputs with the model that
// the three share files sum to.
func checkServedPredictions(t *testing.T, d *deployment, rows [][]float64, out string) {
	t.Helper()
	var shares []*report.ModelFile
	for i := range 3 {
		f, err := report.LoadModel(filepath.Join(d.nodeDir(i), "model", fmt.Sprintf("model-share-%d.json", i)))
		if err != nil {
			t.Fatal(err)
		}
		shares = append(shares, f)
	}
	codec := sharing.Codec{FracBits: shares[0].Shares.Precision}
	var params nn.Params
	for l := range shares[0].Shares.W {
		params.W = append(params.W, sumShares(codec, shares, func(f *report.ModelFile) sharing.Tensor { return f.Shares.W[l] }))
		params.B = append(params.B, sumShares(codec, shares, func(f *report.ModelFile) sharing.Tensor { return f.Shares.B[l] }))
	}
	spec, err := shares[0].Config.Spec(len(rows[0]))
	if err != nil {
		t.Fatal(err)
	}
	x := rows
	if shares[0].Scaler != nil {
		x = shares[0].Scaler.Apply(x)
	}
	want := nn.Predict(spec, params, experiment.DenseOf(x, spec.Inputs))
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(rows)+1 {
		t.Fatalf("%d prediction lines for %d rows", len(recs)-1, len(rows))
	}
	for i, rec := range recs[1:] {
		got, _ := strconv.ParseFloat(rec[1], 64)
		if w := want.At(i, 0); math.Abs(got-w) > 1e-3*math.Max(1, math.Abs(w)) {
			t.Fatalf("row %d: the service answered %v, the model says %v", i, got, w)
		}
	}
}

func sumShares(codec sharing.Codec, files []*report.ModelFile, pick func(*report.ModelFile) sharing.Tensor) *mat.Dense {
	sum := sharing.Zeros(pick(files[0]).Shape...)
	for _, f := range files {
		sharing.AddInPlace(sum, pick(f))
	}
	return mat.NewDense(sum.Shape[0], sum.Shape[1], codec.DecodeTensor(sum))
}

// startArgs starts the node binary with args, killed at the end of the test.
func (d *deployment) startArgs(args ...string) *proc {
	d.t.Helper()
	p := &proc{cmd: exec.Command(nodeBinary, args...), stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = 1
		}
		close(p.done)
	}()
	d.t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}
