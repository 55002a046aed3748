package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeCSV(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "party0.csv")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadCSV(t *testing.T) {
	// A byte-order mark, padded cells and the target in the middle are all fine.
	path := writeCSV(t, "\ufeffage, label ,income\n30,1,1200.5\n 45 , 0 , -3e2\n\n22,2,0\n")
	d, err := LoadCSV(path, CSVOptions{Target: "label", Task: Classification, Classes: 3})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "party0.csv" || d.Task != Classification || d.Classes != 3 {
		t.Errorf("got name %q task %v classes %d", d.Name, d.Task, d.Classes)
	}
	if got := strings.Join(d.FeatureNames, "|"); got != "age|income" {
		t.Errorf("feature names %q", got)
	}
	wantX := [][]float64{{30, 1200.5}, {45, -300}, {22, 0}}
	wantY := []float64{1, 0, 2}
	if d.Rows() != len(wantX) || d.Features() != 2 {
		t.Fatalf("shape %dx%d", d.Rows(), d.Features())
	}
	for i := range wantX {
		for j := range wantX[i] {
			if d.X[i][j] != wantX[i][j] {
				t.Errorf("X[%d][%d] = %v, want %v", i, j, d.X[i][j], wantX[i][j])
			}
		}
		if d.Y[i] != wantY[i] {
			t.Errorf("Y[%d] = %v, want %v", i, d.Y[i], wantY[i])
		}
	}
}

func TestLoadCSVRegression(t *testing.T) {
	path := writeCSV(t, "y,x\n0.5,1\n-2.25,2\n")
	d, err := LoadCSV(path, CSVOptions{Target: "y", Task: Regression})
	if err != nil {
		t.Fatal(err)
	}
	if d.Y[1] != -2.25 || d.X[1][0] != 2 || d.Classes != 0 {
		t.Errorf("got %+v", d)
	}
}

func TestLoadCSVErrors(t *testing.T) {
	cls := CSVOptions{Target: "y", Task: Classification, Classes: 2}
	reg := CSVOptions{Target: "y", Task: Regression}
	tests := []struct {
		name string
		body string
		opts CSVOptions
		want string
	}{
		{"unknown target", "a,b\n1,2\n", CSVOptions{Target: "label", Task: Regression},
			`dataset party0.csv: no target column "label"; the header has "a", "b"`},
		{"non-numeric", "a,y\n1,0\n2,0\nabc,1\n", cls,
			`dataset party0.csv: line 4 (row 2), column "a": not a number: "abc"`},
		{"NaN", "a,b,y\n1,2,3\n4,NaN,5\n", reg,
			`line 3 (row 1), column "b": NaN`},
		{"Inf target", "a,y\n1,inf\n", reg,
			`line 2 (row 0), column "y": +Inf`},
		{"overflow", "a,y\n1e999,1\n", reg,
			`column "a": "1e999" is out of float64 range`},
		{"empty cell", "a,y\n1,\n", reg,
			`line 2 (row 0), column "y": empty cell`},
		{"ragged", "a,y\n1,0\n1,0,7\n", cls,
			`line 3 (row 1): 3 fields, the header has 2`},
		{"label range", "a,y\n1,0\n1,2\n", cls,
			`line 3 (row 1), column "y": class label 2 out of range [0, 2)`},
		{"label fraction", "a,y\n1,0.5\n", cls,
			`column "y": class label 0.5 is not an integer`},
		{"header only", "a,y\n", reg, `empty dataset: no rows`},
		{"empty file", "", reg, `empty file: no header row`},
		{"no features", "y\n1\n", reg, `no feature columns besides the target "y"`},
		{"duplicate column", "a,a,y\n1,2,3\n", reg, `duplicate column "a"`},
		{"unnamed column", "a,,y\n1,2,3\n", reg, `column 1 has no name`},
		{"task not set", "a,y\n1,2\n", CSVOptions{Target: "y"}, `task not set`},
		{"classes not set", "a,y\n1,0\n", CSVOptions{Target: "y", Task: Classification}, `classification needs Classes >= 2, got 0`},
		{"classes for regression", "a,y\n1,0\n", CSVOptions{Target: "y", Task: Regression, Classes: 2}, `regression with Classes = 2`},
		{"target not set", "a,y\n1,0\n", CSVOptions{Task: Regression}, `CSVOptions.Target is empty`},
		{"bad quoting", "a,y\n1,\"2\n", reg, `party0.csv`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadCSV(writeCSV(t, tt.body), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadCSVMissingFile(t *testing.T) {
	_, err := LoadCSV(filepath.Join(t.TempDir(), "missing.csv"), CSVOptions{Target: "y", Task: Regression})
	if err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("error %v, want it to name the file", err)
	}
}
