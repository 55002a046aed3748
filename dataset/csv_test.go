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

func TestLoadCSVSchema(t *testing.T) {
	// Features chosen and reordered, one skipped ("id"), a categorical column one-hot
	// encoded from its public list, string labels, and only odd rows kept.
	body := "id,colour,size,species\n7,red,1.5,cat\n8,blue,2,dog\n9,green,-1,bird\n10,blue,4,cat\n"
	opts := CSVOptions{
		Target: "species", Task: Classification, Labels: []string{"bird", "cat", "dog"},
		Features:   []string{"size", "colour"},
		Categories: map[string][]string{"colour": {"red", "green", "blue"}},
		Keep:       func(row int) bool { return row%2 == 1 },
	}
	d, err := LoadCSV(writeCSV(t, body), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.FeatureNames, "|"); got != "size|colour=red|colour=green|colour=blue" {
		t.Errorf("feature names %q", got)
	}
	if d.Classes != 3 || d.Rows() != 2 {
		t.Fatalf("classes %d, rows %d", d.Classes, d.Rows())
	}
	want := [][]float64{{2, 0, 0, 1}, {4, 0, 0, 1}}
	for i := range want {
		for j := range want[i] {
			if d.X[i][j] != want[i][j] {
				t.Errorf("X[%d] = %v, want %v", i, d.X[i], want[i])
				break
			}
		}
	}
	if d.Y[0] != 2 || d.Y[1] != 1 {
		t.Errorf("Y = %v, want [2 1] (dog, cat)", d.Y)
	}
}

func TestLoadCSVNumericLabels(t *testing.T) {
	d, err := LoadCSV(writeCSV(t, "a,y\n1,1.0\n2,0\n"), CSVOptions{Target: "y", Task: Classification, Labels: []string{"0", "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Y[0] != 1 || d.Y[1] != 0 {
		t.Errorf("Y = %v", d.Y)
	}
}

func TestLoadCSVSchemaErrors(t *testing.T) {
	labels := CSVOptions{Target: "y", Task: Classification, Labels: []string{"no", "yes"}}
	cats := CSVOptions{Target: "y", Task: Regression, Categories: map[string][]string{"c": {"a", "b"}}}
	tests := []struct {
		name string
		body string
		opts CSVOptions
		want string
	}{
		{"unknown category", "c,y\na,1\nz,2\n", cats, `line 3 (row 1), column "c": unknown category "z" (known: "a", "b")`},
		{"unknown label", "x,y\n1,yes\n2,maybe\n", labels, `line 3 (row 1), column "y": class label "maybe" is not one of the classes "no", "yes"`},
		{"missing feature", "x,y\n1,2\n", CSVOptions{Target: "y", Task: Regression, Features: []string{"x", "w"}}, `no feature column "w"; the header has "x", "y"`},
		{"target as feature", "x,y\n1,2\n", CSVOptions{Target: "y", Task: Regression, Features: []string{"y"}}, `column "y" is the target`},
		{"category of no column", "x,y\n1,2\n", CSVOptions{Target: "y", Task: Regression, Categories: map[string][]string{"c": {"a"}}}, `categorical column "c" is not a feature`},
		{"numeric in categorical file", "c,x,y\na,1,2\nb,oops,3\n", cats, `line 3 (row 1), column "x": not a number: "oops"`},
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

func TestCountCSVRows(t *testing.T) {
	for body, want := range map[string]int{"": 0, "a,y\n": 0, "a,y\n1,2\n3,4\n\n5,6": 3} {
		n, err := CountCSVRows(writeCSV(t, body))
		if err != nil || n != want {
			t.Errorf("CountCSVRows(%q) = %d, %v; want %d", body, n, err, want)
		}
	}
}
