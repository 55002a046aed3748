package experiment_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/party/experiment"
)

const csvConfig = `
name: t
parties: 2
seed: 1
dataset:
  csv:
    files: [a.csv, b.csv]
    test_file: test.csv
    target: y
    task: binary
    classes: [no, yes]
    categories:
      site: [north, south]
model:
  layers:
    - units: 1
      activation: identity
training:
  epochs: 1
  batch_size: 2
  learning_rate: 0.1
  shuffle: false
`

const goodCSV = "x,site,y\n1,north,yes\n2,south,no\n"

// loadWith writes the three files (a missing body: no file) and loads the split.
func loadWith(t *testing.T, a, b, test string) error {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"a.csv": a, "b.csv": b, "test.csv": test} {
		if body == "<missing>" {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := filepath.Join(dir, "exp.yaml")
	if err := os.WriteFile(cfgPath, []byte(csvConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := experiment.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	_, err = experiment.LoadSplit(cfg)
	return err
}

func TestCSVBadInput(t *testing.T) {
	if err := loadWith(t, goodCSV, goodCSV, goodCSV); err != nil {
		t.Fatalf("good files: %v", err)
	}
	tests := []struct {
		name, b, test, want string
	}{
		{"missing file", "<missing>", goodCSV, "b.csv: no such file"},
		{"empty file", "", goodCSV, "dataset b.csv: empty file: no header row"},
		{"header only", "x,site,y\n", goodCSV, "dataset b.csv: empty dataset: no rows"},
		{"duplicate column", "x,x,site,y\n1,2,north,no\n", goodCSV, `dataset b.csv: header: duplicate column "x"`},
		{"ragged row", "x,site,y\n1,north,no\n2,south\n", goodCSV, "dataset b.csv: line 3 (row 1): 2 fields, the header has 3"},
		{"non-numeric", "x,site,y\n1,north,no\nten,south,yes\n", goodCSV, `dataset b.csv: line 3 (row 1), column "x": not a number: "ten"`},
		{"NaN", "x,site,y\nNaN,north,no\n", goodCSV, `dataset b.csv: line 2 (row 0), column "x": NaN`},
		{"Inf", "x,site,y\n1,north,no\n-Inf,north,no\n", goodCSV, `dataset b.csv: line 3 (row 1), column "x": -Inf`},
		{"unknown category", "x,site,y\n1,west,no\n", goodCSV, `dataset b.csv: line 2 (row 0), column "site": unknown category "west" (known: "north", "south")`},
		{"label out of range", "x,site,y\n1,north,maybe\n", goodCSV, `dataset b.csv: line 2 (row 0), column "y": class label "maybe" is not one of the classes "no", "yes"`},
		{"target missing", "x,site\n1,north\n", goodCSV, `dataset b.csv: no target column "y"; the header has "x", "site"`},
		{"bad test file", goodCSV, "x,site,y\n1,north,2\n", `test file: dataset test.csv: line 2 (row 0), column "y": class label "2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := loadWith(t, goodCSV, tt.b, tt.test)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCSVConfigErrors(t *testing.T) {
	tests := []struct{ old, new, want string }{
		{"    files: [a.csv, b.csv]\n", "    files: [a.csv]\n", "dataset.csv.files: 1 files for 2 parties"},
		{"    files: [a.csv, b.csv]\n", "", "dataset.csv: give either file"},
		{"    target: y\n", "", "dataset.csv.target: name the column"},
		{"    task: binary\n", "    task: ranking\n", `dataset.csv.task: "ranking" is not supported`},
		{"    classes: [no, yes]\n", "    classes: [no, yes, maybe]\n", "binary classification needs 2 classes, got 3"},
		{"      site: [north, south]\n", "      site: [north, north]\n", `dataset.csv.categories.site: "north" is listed twice`},
		{"dataset:\n", "dataset:\n  name: diabetes\n", "give either name (a shipped dataset) or csv"},
		{"dataset:\n", "dataset:\n  test_rows: 3\n", "with one file per party, test rows come from test_file"},
		{"    - units: 1\n", "    - units: 2\n", "binary cross-entropy needs exactly 1 output"},
	}
	for _, tt := range tests {
		raw := strings.Replace(csvConfig, tt.old, tt.new, 1)
		if raw == csvConfig {
			t.Fatalf("%q not in the config", tt.old)
		}
		_, err := experiment.ParseConfig([]byte(raw))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s -> %s: error %v, want it to contain %q", strings.TrimSpace(tt.old), strings.TrimSpace(tt.new), err, tt.want)
		}
	}
}

// TestCSVSchemaDifferences: the parties' configs are compared field by field
// before any share moves (run.checkSameExperiment); the schema is part of the
// config, so a difference names the column, while paths (node-local) are not
// compared.
func TestCSVSchemaDifferences(t *testing.T) {
	ours, err := experiment.ParseConfig([]byte(csvConfig))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := experiment.ParseConfig([]byte(strings.NewReplacer("site: [north, south]", "site: [north, south, east]", "a.csv", "/data/mine.csv").Replace(csvConfig)))
	if err != nil {
		t.Fatal(err)
	}
	diffs, err := experiment.DiffConfigs(ours.Canonical(), theirs.Canonical())
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 1 || !strings.HasPrefix(diffs[0], `dataset.csv.categories.site: ours ["north","south"], theirs ["north","south","east"]`) {
		t.Errorf("differences %q, want only the site categories", diffs)
	}
}
