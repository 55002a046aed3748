package run_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/run"
	"github.com/tessera-mpc/tessera/sharing"
)

// writeClinicCSV writes a synthetic table: two numeric features, a categorical
// site, a yes/no outcome from a noisy logistic model, a three-way string class and
// a real-valued score.
func writeClinicCSV(t *testing.T, dir, name string, rows int, seed byte) {
	t.Helper()
	prg := sharing.NewPRG(sharing.Seed{seed}, 0)
	uniform := func() float64 { return float64(prg.Uint64()>>11) / (1 << 53) }
	sites := []string{"north", "south", "east"}
	var b strings.Builder
	b.WriteString("age,dose,site,outcome,grade,score\n")
	for range rows {
		age, dose, site := 20+60*uniform(), 4*uniform()-2, int(prg.Uint64()%3)
		z := 0.08*(age-50) + 1.5*dose + float64(site) - 1 + 0.8*(uniform()-0.5)
		outcome := "no"
		if z > 0 {
			outcome = "yes"
		}
		grade := []string{"low", "mid", "high"}[min(2, int((z+4)/3)&3)]
		score := 3*age - 20*dose + 10*float64(site) + 5*(uniform()-0.5)
		fmt.Fprintf(&b, "%.3f,%.4f,%s,%s,%s,%.3f\n", age, dose, sites[site], outcome, grade, score)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

const csvExperiment = `
name: clinics
parties: %d
seed: 5
dataset:
  csv:
    file: clinics.csv
    target: %s
    task: %s
    features: [age, dose, site]
    categories:
      site: [north, south, east]
%s
  test_rows: 60
  partition: random
model:
  layers:
    - units: %d
      activation: identity
training:
  epochs: 4
  batch_size: 16
  learning_rate: %v
  shuffle: true
`

func csvConfig(t *testing.T, dir string, parties int, target, task, classes string, outputs int, lr float64) *experiment.Config {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("exp-%d-%s.yaml", parties, target))
	if err := os.WriteFile(path, fmt.Appendf(nil, csvExperiment, parties, target, task, classes, outputs, lr), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := experiment.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestCSVExperimentMatchesPlaintext(t *testing.T) {
	dir := t.TempDir()
	writeClinicCSV(t, dir, "clinics.csv", 300, 1)
	seed := uint64(7)
	opts := run.SimOptions{Randomness: run.Randomness{InsecureSeed: &seed}}
	for _, n := range []int{2, 4, 7} {
		t.Run(fmt.Sprintf("logistic/parties=%d", n), func(t *testing.T) {
			cfg := csvConfig(t, dir, n, "outcome", "binary", "    classes: [no, yes]", 1, 0.5)
			res, _, err := run.Simulate(context.Background(), cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			sec, pl := *res.Final.Secure.TestAccuracy, *res.Final.Plaintext.TestAccuracy
			if math.Abs(sec-pl) > 0.01 || pl < 0.8 {
				t.Fatalf("test accuracy secure %.3f, plaintext %.3f: want within 1 point, and the twin above 0.8", sec, pl)
			}
			t.Logf("accuracy secure %.3f, plaintext %.3f, party 0 alone %.3f; %d steps", sec, pl, *res.Final.Local[0].TestAccuracy, res.Epochs[len(res.Epochs)-1].Steps)
			if len(res.Final.Local) != n {
				t.Fatalf("%d local-only results for %d parties", len(res.Final.Local), n)
			}
		})
		t.Run(fmt.Sprintf("regression/parties=%d", n), func(t *testing.T) {
			cfg := csvConfig(t, dir, n, "score", "regression", "", 1, 0.05)
			res, _, err := run.Simulate(context.Background(), cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			sec, pl := *res.Final.Secure.TestMSE, *res.Final.Plaintext.TestMSE
			if rel := math.Abs(sec-pl) / pl; rel > 0.01 {
				t.Fatalf("test MSE secure %.4f, plaintext %.4f: %.3f%% apart (> 1%%)", sec, pl, 100*rel)
			}
		})
	}
	t.Run("multiclass strings", func(t *testing.T) {
		cfg := csvConfig(t, dir, 3, "grade", "multiclass", "    classes: [low, mid, high]", 3, 0.3)
		res, _, err := run.Simulate(context.Background(), cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		sec, pl := *res.Final.Secure.TestAccuracy, *res.Final.Plaintext.TestAccuracy
		if math.Abs(sec-pl) > 0.01 || pl < 0.6 {
			t.Fatalf("test accuracy secure %.3f, plaintext %.3f", sec, pl)
		}
	})
}

// A vertical partition by named column groups: each party holds the columns its
// group names (in any order of the file, categorical columns expanded), and the
// joint model matches its twin.
func TestCSVVerticalColumnGroups(t *testing.T) {
	dir := t.TempDir()
	writeClinicCSV(t, dir, "clinics.csv", 300, 2)
	groups := "    column_groups: [[dose], [site, age]]\n"
	raw := fmt.Sprintf(csvExperiment, 2, "score", "regression", groups, 1, 0.05)
	raw = strings.Replace(raw, "    features: [age, dose, site]\n", "", 1)
	raw = strings.Replace(raw, "partition: random", "partition: vertical", 1)
	path := filepath.Join(dir, "vertical.yaml")
	if err := os.WriteFile(path, []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := experiment.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	split, err := experiment.LoadSplit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(split.Layout.ColsPerParty); got != "[1 4]" {
		t.Fatalf("columns per party %s, want [1 4] (dose; three sites and age)", got)
	}
	if got := fmt.Sprint(split.Parts[0].FeatureNames, split.Parts[1].FeatureNames); !strings.HasPrefix(got, "[dose] [site") || !strings.HasSuffix(got, "age]") {
		t.Fatalf("parts hold %s", got)
	}
	// A deployed party reads only its own columns, and gets what the simulation
	// hands it.
	for i := range 2 {
		own, test, err := experiment.LoadOwnCSV(cfg, i)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(own.X, own.FeatureNames) != fmt.Sprint(split.Parts[i].X, split.Parts[i].FeatureNames) ||
			fmt.Sprint(test.X, test.Y) != fmt.Sprint(split.Test.X, split.Test.Y) {
			t.Fatalf("party %d reads other data than the simulation gives it", i)
		}
	}
	res, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec, pl := *res.Final.Secure.TestMSE, *res.Final.Plaintext.TestMSE
	if rel := math.Abs(sec-pl) / pl; rel > 0.01 {
		t.Fatalf("test MSE secure %.4f, plaintext %.4f", sec, pl)
	}
	// Groups that leave a feature out, or name a column twice, are refused.
	for _, bad := range []string{"[[dose], [site, dose]]", "[[dose], []]", "[[dose, age, site]]"} {
		b := strings.Replace(raw, "[[dose], [site, age]]", bad, 1)
		if _, err := experiment.ParseConfig([]byte(b)); err == nil || !strings.Contains(err.Error(), "column_groups") {
			t.Errorf("groups %s: %v", bad, err)
		}
	}
}
