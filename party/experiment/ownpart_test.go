package experiment_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/party/experiment"
)

const mnistPartConfig = `
name: t
parties: 3
seed: 5
dataset: {name: mnist, train_rows: 1001, test_rows: 20, partition: contiguous}
model: {loss: cross-entropy, layers: [{units: 10, activation: identity}]}
training: {epochs: 1, batch_size: 32, learning_rate: 0.05}
`

// A deployed party's own load is bit-identical to its part of a simulation's
// split, for every partition, dataset and party.
func TestLoadOwnPartMatchesSplit(t *testing.T) {
	configs := map[string]string{
		"mnist contiguous": mnistPartConfig,
		"mnist random":     strings.Replace(mnistPartConfig, "partition: contiguous", "partition: random", 1),
		"mnist vertical":   strings.Replace(mnistPartConfig, "partition: contiguous", "partition: vertical", 1),
		"diabetes":         validConfig,
	}
	for name, raw := range configs {
		cfg, err := experiment.ParseConfig([]byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		split, err := experiment.LoadSplit(cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for self := range cfg.Parties {
			own, test, err := experiment.LoadOwnPart(cfg, self)
			if err != nil {
				t.Fatalf("%s, party %d: %v", name, self, err)
			}
			if d := differ(own, split.Parts[self]); d != "" {
				t.Errorf("%s, party %d: own part: %s", name, self, d)
			}
			if d := differ(test, split.Test); d != "" {
				t.Errorf("%s, party %d: test rows: %s", name, self, d)
			}
		}
	}
}

func TestLoadOwnPartErrors(t *testing.T) {
	cfg, err := experiment.ParseConfig([]byte(mnistPartConfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, self := range []int{-1, 3} {
		if _, _, err := experiment.LoadOwnPart(cfg, self); err == nil {
			t.Errorf("party %d of 3: no error", self)
		}
	}
	cfg.Dataset.TrainRows = 2
	if _, _, err := experiment.LoadOwnPart(cfg, 0); err == nil || !strings.Contains(err.Error(), "cannot be split among 3 parties") {
		t.Errorf("2 rows among 3 parties: error %v", err)
	}
}

// differ describes how two datasets differ, bit for bit ("" if they do not).
func differ(a, b *dataset.Dataset) string {
	if a.Name != b.Name || a.Task != b.Task || a.Classes != b.Classes || len(a.FeatureNames) != len(b.FeatureNames) {
		return "headers differ"
	}
	if a.Rows() != b.Rows() || len(a.Y) != len(b.Y) {
		return "row counts differ"
	}
	for i := range a.X {
		if len(a.X[i]) != len(b.X[i]) || math.Float64bits(a.Y[i]) != math.Float64bits(b.Y[i]) {
			return fmt.Sprintf("row %d differs in width or target", i)
		}
		for j := range a.X[i] {
			if math.Float64bits(a.X[i][j]) != math.Float64bits(b.X[i][j]) {
				return fmt.Sprintf("row %d, column %d differs", i, j)
			}
		}
	}
	return ""
}
