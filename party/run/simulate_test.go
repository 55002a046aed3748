package run_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
	"github.com/tessera-mpc/tessera/party/run"
	"github.com/tessera-mpc/tessera/party/train"
)

func loadConfig(t testing.TB, name string) *experiment.Config {
	t.Helper()
	cfg, err := experiment.LoadConfig(filepath.Join("..", "..", "configs", name))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestDiabetesMatchesPlaintext(t *testing.T) {
	cfg := loadConfig(t, "diabetes-linreg-3p.yaml")
	res, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec, pl := *res.Final.Secure.TestMSE, *res.Final.Plaintext.TestMSE
	if rel := math.Abs(sec-pl) / pl; rel > 0.01 {
		t.Fatalf("secure test MSE %.4f differs from plaintext %.4f by %.3f%% (> 1%%)", sec, pl, 100*rel)
	}
	// A model that learned nothing predicts the mean: the test MSE would be ~5,000+.
	if pl > 4000 {
		t.Fatalf("plaintext reference did not learn: test MSE %.1f", pl)
	}
	for _, p := range res.Cost.Parties {
		if p.BytesSent == 0 || p.Rounds == 0 {
			t.Fatalf("party %d: no traffic counted: %+v", p.Party, p)
		}
	}
	t.Logf("test MSE secure %.3f, plaintext %.3f; party 0 sent %d bytes in %d rounds", sec, pl, res.Cost.Parties[0].BytesSent, res.Cost.Parties[0].Rounds)
}

func TestCancerMatchesPlaintext(t *testing.T) {
	cfg := loadConfig(t, "cancer-mlp-3p.yaml")
	res, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec, pl := *res.Final.Secure.TestAccuracy, *res.Final.Plaintext.TestAccuracy
	if math.Abs(sec-pl) > 0.01 {
		t.Fatalf("secure test accuracy %.3f differs from plaintext %.3f by more than 1 point", sec, pl)
	}
	if pl < 0.9 {
		t.Fatalf("plaintext reference did not learn: accuracy %.3f", pl)
	}
	t.Logf("test accuracy secure %.3f, plaintext %.3f", sec, pl)
}

func TestFivePartiesTwelveBits(t *testing.T) {
	cfg := loadConfig(t, "cancer-mlp-3p.yaml")
	cfg.Parties, cfg.Precision, cfg.Training.Epochs = 5, 12, 3
	res, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(*res.Final.Secure.TrainLoss - *res.Final.Plaintext.TrainLoss); d > 0.01 {
		t.Fatalf("5 parties at 12 bits: secure loss %.5f vs plaintext %.5f", *res.Final.Secure.TrainLoss, *res.Final.Plaintext.TrainLoss)
	}
}

const validConfig = `
name: t
parties: 3
seed: 1
dataset: {name: diabetes, test_rows: 50}
model: {layers: [{units: 1, activation: identity}]}
training: {epochs: 1, batch_size: 32, learning_rate: 0.05}
`

func TestDataErrors(t *testing.T) {
	dir := t.TempDir()
	nan := `{"data": [[1, 2], [3, NaN], [5, 6], [7, 8]], "target": [1, 2, 3, 4], "feature_names": ["a", "b"]}`
	if err := os.WriteFile(filepath.Join(dir, "diabetes.json"), []byte(nan), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := experiment.ParseConfig([]byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dataset.Dir = dir
	cfg.Dataset.TestRows = 1
	_, _, err = run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err == nil || !strings.Contains(err.Error(), "row 1") || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("NaN in the data: got %v, want an error naming row 1", err)
	}

	cfg.Dataset.Dir = t.TempDir()
	_, _, err = run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err == nil || !strings.Contains(err.Error(), "go mod download") {
		t.Fatalf("missing dataset: got %v, want the download hint", err)
	}

	cfg.Dataset.Dir = ""
	cfg.Model.Layers[0].Units = 3
	_, _, err = run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err == nil || !strings.Contains(err.Error(), "model.layers[0].units") {
		t.Fatalf("layer size mismatch: got %v", err)
	}
}

// TestVerticalMatchesHorizontal trains the same network on the same rows split by
// rows and by columns: the models must agree to within fixed-point noise.
func TestVerticalMatchesHorizontal(t *testing.T) {
	h := loadConfig(t, "cancer-mlp-3p.yaml")
	v := loadConfig(t, "cancer-mlp-3p-vertical.yaml")
	v.Name = h.Name
	h.Training.Epochs, v.Training.Epochs = 3, 3
	_, hr, err := run.Simulate(context.Background(), h, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, vr, err := run.Simulate(context.Background(), v, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hm, vm := hr[0].Model, vr[0].Model
	worst := 0.0
	for l := range hm.W {
		for _, pair := range [][2][]float64{{hm.W[l].RawMatrix().Data, vm.W[l].RawMatrix().Data}, {hm.B[l].RawMatrix().Data, vm.B[l].RawMatrix().Data}} {
			for i := range pair[0] {
				worst = math.Max(worst, math.Abs(pair[0][i]-pair[1][i]))
			}
		}
	}
	// Both runs compute the same fixed-point arithmetic; only the random truncation
	// carries (one unit, 2^-16) differ, over 45 steps.
	if worst > 1e-3 {
		t.Fatalf("vertical and horizontal models differ by %g", worst)
	}
	t.Logf("max weight difference %.2e", worst)
}

func TestOutputModesAndPredict(t *testing.T) {
	dir := t.TempDir()
	cfg := loadConfig(t, "cancer-mlp-3p.yaml")
	cfg.Training.Epochs = 3

	// reveal: every party learns the model; the saved model predicts what the run
	// reported.
	res, rs, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := report.SaveModels(filepath.Join(dir, "plain"), cfg, rs)
	if err != nil || len(files) != 1 {
		t.Fatalf("saving the revealed model: %v %v", files, err)
	}
	mf, err := report.LoadModel(files[0])
	if err != nil {
		t.Fatal(err)
	}
	test, err := experiment.LoadTestSet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := run.PredictPlain(mf, test)
	if err != nil {
		t.Fatal(err)
	}
	if *pred.Metrics.TestAccuracy != *res.Final.Secure.TestAccuracy {
		t.Fatalf("saved model accuracy %v, run reported %v", *pred.Metrics.TestAccuracy, *res.Final.Secure.TestAccuracy)
	}

	// reveal-to: only party 2 learns it.
	cfg.Output = experiment.OutputConfig{Model: experiment.OutputRevealTo, Party: 2}
	_, rs, err = run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if (r.Model != nil) != (i == 2) {
			t.Fatalf("reveal-to party 2: party %d has model %v", i, r.Model != nil)
		}
	}

	// shared: nobody learns it; each party's share is saved and secure inference
	// over all shares gives the accuracy the run reported.
	cfg.Output = experiment.OutputConfig{Model: experiment.OutputShared}
	res, rs, err = run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.Model != nil || r.Shares == nil {
			t.Fatalf("shared output: party %d learned the model or has no share", i)
		}
	}
	files, err = report.SaveModels(filepath.Join(dir, "shared"), cfg, rs)
	if err != nil || len(files) != 3 {
		t.Fatalf("saving shares: %v %v", files, err)
	}
	var shares []*report.ModelFile
	for _, f := range files {
		m, err := report.LoadModel(f)
		if err != nil {
			t.Fatal(err)
		}
		shares = append(shares, m)
	}
	if _, err := run.PredictShared(context.Background(), shares[:2], test); err == nil {
		t.Fatal("secure inference ran with a missing share")
	}
	pred, err = run.PredictShared(context.Background(), shares, test)
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(*pred.Metrics.TestAccuracy - *res.Final.Secure.TestAccuracy); d > 0.011 {
		t.Fatalf("secure inference accuracy %v, run reported %v", *pred.Metrics.TestAccuracy, *res.Final.Secure.TestAccuracy)
	}
}

// TestLongRunNoWrap trains a ReLU network with softmax cross-entropy for 300 steps
// and checks that the loss never explodes: a wrap-around in truncation or in a
// comparison would show as a huge loss or a diverged weight.
func TestLongRunNoWrap(t *testing.T) {
	if testing.Short() {
		t.Skip("300 secure steps: skipped with -short")
	}
	cfg := loadConfig(t, "mnist-mlp-3p-short.yaml")
	cfg.Model.Layers = []experiment.LayerConfig{{Units: 32, Activation: "relu"}, {Units: 10, Activation: "identity"}}
	cfg.Dataset.TrainRows, cfg.Dataset.TestRows = 6400, 1000
	cfg.Training.BatchSize, cfg.Training.Epochs, cfg.Training.MaxSteps = 64, 3, 0
	res, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if steps := res.Epochs[len(res.Epochs)-1].Steps; steps != 300 {
		t.Fatalf("%d steps, want 300", steps)
	}
	prev := math.Log(10) * 1.2
	for _, e := range res.Epochs {
		sec, pl := *e.Secure.TrainLoss, *e.Plaintext.TrainLoss
		if math.IsNaN(sec) || sec > prev {
			t.Fatalf("epoch %d: secure loss %v exploded (previous %v)", e.Epoch, sec, prev)
		}
		if math.Abs(sec-pl) > 0.05 {
			t.Fatalf("epoch %d: secure loss %v, plaintext %v", e.Epoch, sec, pl)
		}
		prev = sec
	}
	t.Logf("300 steps: secure loss %.4f, plaintext %.4f; accuracy %.3f vs %.3f", *res.Final.Secure.TrainLoss, *res.Final.Plaintext.TrainLoss, *res.Final.Secure.TestAccuracy, *res.Final.Plaintext.TestAccuracy)
}

// TestMNISTAccuracy is the bar: the 784-128-128-10 MLP on MNIST, 3 parties,
// 5 epochs, at least 97.0% test accuracy and within 0.5 points of the plaintext
// reference trained the same way in the same run. About 3-4 minutes on 2 cores.
func TestMNISTAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("full MNIST training: skipped with -short")
	}
	cfg := loadConfig(t, "mnist-mlp-3p.yaml")
	res, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec, pl := *res.Final.Secure.TestAccuracy, *res.Final.Plaintext.TestAccuracy
	t.Logf("MNIST after %d epochs: secure %.2f%%, plaintext %.2f%%, %.1fs", len(res.Epochs), 100*sec, 100*pl, res.Cost.WallSeconds)
	if sec < 0.97 {
		t.Fatalf("secure test accuracy %.4f < 0.97", sec)
	}
	if math.Abs(sec-pl) > 0.005 {
		t.Fatalf("secure %.4f and plaintext %.4f differ by more than 0.5 points", sec, pl)
	}
}

// TestWineMulticlass: three classes, ReLU and softmax cross-entropy on a file sorted
// by class (rows permuted by the public seed first).
func TestWineMulticlass(t *testing.T) {
	cfg := loadConfig(t, "wine-mlp-3p.yaml")
	res, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec, pl := *res.Final.Secure.TestAccuracy, *res.Final.Plaintext.TestAccuracy
	if pl < 0.9 || math.Abs(sec-pl) > 0.03 {
		t.Fatalf("wine: secure accuracy %.3f, plaintext %.3f", sec, pl)
	}
	if d := math.Abs(*res.Final.Secure.TrainLoss - *res.Final.Plaintext.TrainLoss); d > 0.01 {
		t.Fatalf("wine: secure loss %v, plaintext %v", *res.Final.Secure.TrainLoss, *res.Final.Plaintext.TrainLoss)
	}
}

// TestHeadroomFailsFast: diabetes targets (up to 346) do not leave room for squared
// errors at 24 fractional bits; the run must stop before training with an error
// whose public part, the one sent to peers, reveals nothing about the data.
func TestHeadroomFailsFast(t *testing.T) {
	cfg := loadConfig(t, "diabetes-linreg-3p.yaml")
	cfg.Precision = 24
	_, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
	var private *train.PrivateError
	if !errors.As(err, &private) {
		t.Fatalf("got %v, want a PrivateError", err)
	}
	if !strings.Contains(err.Error(), "precision") || !strings.Contains(err.Error(), "row") {
		t.Fatalf("local error does not explain: %v", err)
	}
	if strings.ContainsAny(private.Public, "0123456789.e") && strings.Contains(private.Public, "row") {
		t.Fatalf("public part names data: %q", private.Public)
	}
	t.Logf("local: %v; sent to peers: %q", err, private.Public)
}

// TestSimulateOverLibp2p: the same seeds give the same run in memory and over real
// libp2p hosts on 127.0.0.1 (with the dealer as its own node), bit for bit.
func TestSimulateOverLibp2p(t *testing.T) {
	cfg := loadConfig(t, "cancer-mlp-3p.yaml")
	cfg.Training.Epochs = 2
	seed := uint64(9)
	mem, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{Randomness: run.Randomness{InsecureSeed: &seed}})
	if err != nil {
		t.Fatal(err)
	}
	lp, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{Randomness: run.Randomness{InsecureSeed: &seed}, Transport: run.TransportLibp2p})
	if err != nil {
		t.Fatal(err)
	}
	if *mem.Final.Secure.TrainLoss != *lp.Final.Secure.TrainLoss || *mem.Final.Secure.TestMSE != *lp.Final.Secure.TestMSE {
		t.Fatalf("memory %+v and libp2p %+v runs differ", mem.Final.Secure, lp.Final.Secure)
	}
	if lp.Transport != string(run.TransportLibp2p) || lp.Cost.Parties[0].BytesSent != mem.Cost.Parties[0].BytesSent {
		t.Fatalf("libp2p run: transport %q, party 0 sent %d bytes (memory: %d)", lp.Transport, lp.Cost.Parties[0].BytesSent, mem.Cost.Parties[0].BytesSent)
	}
}
