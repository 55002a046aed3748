package dataset

import (
	"math"
	"strings"
	"testing"
)

// sequence returns a regression dataset whose row i is {i, 10i} with target i, so
// that any slice of it shows where its rows came from.
func sequence(n int) *Dataset {
	d := &Dataset{Name: "seq", Task: Regression, FeatureNames: []string{"i", "10i"}}
	for i := range n {
		d.X = append(d.X, []float64{float64(i), float64(10 * i)})
		d.Y = append(d.Y, float64(i))
	}
	return d
}

// checkRows verifies that part holds rows lo, lo+1, ... of a sequence dataset.
func checkRows(t *testing.T, part *Dataset, lo, n int) {
	t.Helper()
	if part.Rows() != n || len(part.Y) != n {
		t.Fatalf("%d rows and %d targets, want %d", part.Rows(), len(part.Y), n)
	}
	for k := range n {
		i := float64(lo + k)
		if part.X[k][0] != i || part.X[k][1] != 10*i || part.Y[k] != i {
			t.Errorf("row %d = %v, %v; want original row %v", k, part.X[k], part.Y[k], i)
		}
	}
	if err := part.Validate(); n > 0 && err != nil {
		t.Error(err)
	}
}

func TestValidate(t *testing.T) {
	valid := func() *Dataset {
		return &Dataset{Name: "toy", Task: Classification, Classes: 3,
			X: [][]float64{{1, 2}, {3, 4}}, Y: []float64{0, 2}, FeatureNames: []string{"bmi", "age"}}
	}
	if err := valid().Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(d *Dataset)
		want   string
	}{
		{"NaN", func(d *Dataset) { d.X[1][0] = math.NaN() }, `dataset toy: row 1, column "bmi": NaN`},
		{"Inf", func(d *Dataset) { d.X[0][1] = math.Inf(-1) }, `row 0, column "age": -Inf`},
		{"unnamed column", func(d *Dataset) { d.FeatureNames = nil; d.X[0][1] = math.NaN() }, `row 0, column 1: NaN`},
		{"Y NaN", func(d *Dataset) { d.Y[1] = math.NaN() }, `row 1, target: NaN`},
		{"ragged", func(d *Dataset) { d.X[1] = d.X[1][:1] }, `row 1 has 1 values, want 2`},
		{"label fraction", func(d *Dataset) { d.Y[0] = 1.5 }, `row 0, target: class label 1.5 is not an integer`},
		{"label negative", func(d *Dataset) { d.Y[0] = -1 }, `class label -1 out of range [0, 3)`},
		{"label high", func(d *Dataset) { d.Y[1] = 3 }, `class label 3 out of range [0, 3)`},
		{"no rows", func(d *Dataset) { d.X, d.Y = nil, nil }, `empty dataset: no rows`},
		{"no features", func(d *Dataset) { d.X = [][]float64{{}, {}}; d.FeatureNames = nil }, `row 0 has no features`},
		{"targets", func(d *Dataset) { d.Y = d.Y[:1] }, `2 rows but 1 targets`},
		{"names", func(d *Dataset) { d.FeatureNames = []string{"x"} }, `1 feature names for 2 features`},
		{"task", func(d *Dataset) { d.Task = 0 }, `task not set`},
		{"classes", func(d *Dataset) { d.Classes = 1 }, `Classes >= 2`},
		{"regression classes", func(d *Dataset) { d.Task = Regression }, `regression with Classes = 3`},
		{"unnamed dataset", func(d *Dataset) { d.Name = ""; d.Y[0] = 7 }, `dataset (unnamed): row 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := valid()
			tt.mutate(d)
			if err := d.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestTaskString(t *testing.T) {
	if Regression.String() != "regression" || Classification.String() != "classification" || Task(0).String() != "Task(0)" {
		t.Errorf("got %v, %v, %v", Regression, Classification, Task(0))
	}
}

func TestSubsetDeepCopy(t *testing.T) {
	d := sequence(5)
	s := d.Subset([]int{4, 1, 1})
	if s.Rows() != 3 || s.X[0][0] != 4 || s.X[2][0] != 1 || s.Y[0] != 4 {
		t.Fatalf("got %v %v", s.X, s.Y)
	}
	s.X[1][0], s.Y[1], s.FeatureNames[0] = -1, -1, "changed"
	if d.X[1][0] != 1 || d.Y[1] != 1 || d.FeatureNames[0] != "i" || s.X[2][0] != 1 {
		t.Error("Subset shares memory with its source or between rows")
	}
}

func TestSplitHoldout(t *testing.T) {
	d := sequence(10)
	train, test, err := d.SplitHoldout(3)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, train, 0, 7)
	checkRows(t, test, 7, 3)

	train, test, err = d.SplitHoldout(0)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, train, 0, 10)
	checkRows(t, test, 0, 0)
	if test.Features() != 2 {
		t.Errorf("empty test set has %d features, want 2", test.Features())
	}

	for _, k := range []int{-1, 10, 11} {
		if _, _, err := d.SplitHoldout(k); err == nil {
			t.Errorf("SplitHoldout(%d): no error", k)
		}
	}
}

func TestPartitionContiguous(t *testing.T) {
	tests := []struct {
		rows, parties int
		sizes         []int
	}{
		{10, 1, []int{10}},
		{10, 3, []int{4, 3, 3}},
		{11, 3, []int{4, 4, 3}},
		{12, 3, []int{4, 4, 4}},
		{3, 3, []int{1, 1, 1}},
		{442, 5, []int{89, 89, 88, 88, 88}},
	}
	for _, tt := range tests {
		parts, err := sequence(tt.rows).PartitionContiguous(tt.parties)
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != len(tt.sizes) {
			t.Fatalf("%d rows, %d parties: %d parts", tt.rows, tt.parties, len(parts))
		}
		lo := 0
		for i, p := range parts {
			checkRows(t, p, lo, tt.sizes[i])
			lo += tt.sizes[i]
		}
	}
	for _, p := range []int{-1, 0, 4} {
		if _, err := sequence(3).PartitionContiguous(p); err == nil {
			t.Errorf("PartitionContiguous(%d) of 3 rows: no error", p)
		}
	}
}

func TestOneHot(t *testing.T) {
	got := OneHot([]float64{2, 0, 1}, 3)
	want := [][]float64{{0, 0, 1}, {1, 0, 0}, {0, 1, 0}}
	for i := range want {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("OneHot = %v, want %v", got, want)
			}
		}
	}
	for _, y := range []float64{3, -1, 0.5, math.NaN()} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("OneHot(%v, 3) did not panic", y)
				}
			}()
			OneHot([]float64{y}, 3)
		}()
	}
}
