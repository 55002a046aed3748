package party_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/party"
)

func loadConfig(t testing.TB, name string) *party.Config {
	t.Helper()
	cfg, err := party.LoadConfig(filepath.Join("..", "configs", name))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestDiabetesMatchesPlaintext(t *testing.T) {
	cfg := loadConfig(t, "diabetes-linreg-3p.yaml")
	res, _, err := party.Simulate(context.Background(), cfg, party.SimOptions{})
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
	res, _, err := party.Simulate(context.Background(), cfg, party.SimOptions{})
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
	res, _, err := party.Simulate(context.Background(), cfg, party.SimOptions{})
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

func TestConfigErrors(t *testing.T) {
	if _, err := party.ParseConfig([]byte(validConfig)); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	cases := []struct{ edit, want string }{
		{"parties: 3\nlearning_rat: 2", "learning_rat"},
		{"parties: 1", "parties: need at least 2"},
		{"parties: 3\nprecision: 40", "precision: 40"},
		{"parties: 3\nprecision: 11", "precision: 11"},
		{"parties: 3\npreprocessing: magic", "preprocessing"},
		{"parties: 3\ndataset: {name: mnist2}", "dataset.name"},
	}
	for _, c := range cases {
		raw := strings.Replace(validConfig, "parties: 3", c.edit, 1)
		if strings.Contains(c.edit, "dataset:") {
			raw = strings.Replace(raw, "dataset: {name: diabetes, test_rows: 50}\n", "", 1)
		}
		_, err := party.ParseConfig([]byte(raw))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one naming %q", c.edit, err, c.want)
		}
	}
}

func TestDataErrors(t *testing.T) {
	dir := t.TempDir()
	nan := `{"data": [[1, 2], [3, NaN], [5, 6], [7, 8]], "target": [1, 2, 3, 4], "feature_names": ["a", "b"]}`
	if err := os.WriteFile(filepath.Join(dir, "diabetes.json"), []byte(nan), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := party.ParseConfig([]byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dataset.Dir = dir
	cfg.Dataset.TestRows = 1
	_, _, err = party.Simulate(context.Background(), cfg, party.SimOptions{})
	if err == nil || !strings.Contains(err.Error(), "row 1") || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("NaN in the data: got %v, want an error naming row 1", err)
	}

	cfg.Dataset.Dir = t.TempDir()
	_, _, err = party.Simulate(context.Background(), cfg, party.SimOptions{})
	if err == nil || !strings.Contains(err.Error(), "go mod download") {
		t.Fatalf("missing dataset: got %v, want the download hint", err)
	}

	cfg.Dataset.Dir = ""
	cfg.Model.Layers[0].Units = 3
	_, _, err = party.Simulate(context.Background(), cfg, party.SimOptions{})
	if err == nil || !strings.Contains(err.Error(), "model.layers[0].units") {
		t.Fatalf("layer size mismatch: got %v", err)
	}
}
