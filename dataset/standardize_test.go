package dataset

import (
	"math"
	"testing"
)

func TestStandardizerMatchesDirect(t *testing.T) {
	d, err := Load("diabetes", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sum, sumSq := ColumnSums(d.X)
	s, err := FitStandardizer(sum, sumSq, d.Rows())
	if err != nil {
		t.Fatal(err)
	}
	n := float64(d.Rows())
	for j := range d.Features() {
		// Two-pass mean and population standard deviation.
		var mean, ss float64
		for _, row := range d.X {
			mean += row[j]
		}
		mean /= n
		for _, row := range d.X {
			ss += (row[j] - mean) * (row[j] - mean)
		}
		std := math.Sqrt(ss / n)
		if !near(s.Mean[j], mean, 1e-12) || !near(s.Std[j], std, 1e-9) {
			t.Errorf("feature %d: mean %v std %v, want %v %v", j, s.Mean[j], s.Std[j], mean, std)
		}
	}

	z := s.Apply(d.X)
	zsum, zsumSq := ColumnSums(z)
	for j := range zsum {
		if !near(zsum[j]/n, 0, 1e-9) || !near(zsumSq[j]/n, 1, 1e-6) {
			t.Errorf("standardized feature %d: mean %v, mean square %v", j, zsum[j]/n, zsumSq[j]/n)
		}
	}
	if z[0][0] == d.X[0][0] || &z[0][0] == &d.X[0][0] {
		t.Error("Apply did not return new rows")
	}
}

// Sums from disjoint parties add up to the sums of the whole, which is what lets
// parties fit one Standardizer without sharing rows.
func TestColumnSumsAcrossParties(t *testing.T) {
	d, err := Load("wine", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	parts, err := d.PartitionContiguous(3)
	if err != nil {
		t.Fatal(err)
	}
	sum, sumSq := make([]float64, d.Features()), make([]float64, d.Features())
	for _, p := range parts {
		s, sq := ColumnSums(p.X)
		for j := range s {
			sum[j] += s[j]
			sumSq[j] += sq[j]
		}
	}
	wantSum, wantSumSq := ColumnSums(d.X)
	for j := range sum {
		if !near(sum[j], wantSum[j], 1e-12) || !near(sumSq[j], wantSumSq[j], 1e-12) {
			t.Errorf("feature %d: %v %v, want %v %v", j, sum[j], sumSq[j], wantSum[j], wantSumSq[j])
		}
	}
}

func TestStandardizerConstantFeature(t *testing.T) {
	x := [][]float64{{5, 1}, {5, 2}, {5, 3}}
	sum, sumSq := ColumnSums(x)
	s, err := FitStandardizer(sum, sumSq, len(x))
	if err != nil {
		t.Fatal(err)
	}
	if s.Std[0] != 1 || s.Mean[0] != 5 {
		t.Errorf("constant feature: mean %v std %v, want 5 1", s.Mean[0], s.Std[0])
	}
	z := s.Apply(x)
	want := [][]float64{{0, -math.Sqrt(1.5)}, {0, 0}, {0, math.Sqrt(1.5)}}
	for i := range want {
		for j := range want[i] {
			if !near(z[i][j], want[i][j], 1e-12) {
				t.Errorf("z[%d][%d] = %v, want %v", i, j, z[i][j], want[i][j])
			}
		}
	}
	if x[0][0] != 5 {
		t.Error("Apply modified its input")
	}
}

func TestFitStandardizerErrors(t *testing.T) {
	tests := []struct {
		name       string
		sum, sumSq []float64
		count      int
	}{
		{"count", []float64{1}, []float64{1}, 0},
		{"lengths", []float64{1, 2}, []float64{1}, 2},
		{"empty", nil, nil, 2},
		{"NaN", []float64{math.NaN()}, []float64{1}, 2},
		{"negative", []float64{1}, []float64{-1}, 2},
	}
	for _, tt := range tests {
		if _, err := FitStandardizer(tt.sum, tt.sumSq, tt.count); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func TestColumnSumsEmptyAndRagged(t *testing.T) {
	if s, sq := ColumnSums(nil); s != nil || sq != nil {
		t.Errorf("ColumnSums(nil) = %v, %v", s, sq)
	}
	defer func() {
		if recover() == nil {
			t.Error("ragged rows did not panic")
		}
	}()
	ColumnSums([][]float64{{1, 2}, {3}})
}

func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}
