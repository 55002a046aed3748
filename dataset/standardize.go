package dataset

import (
	"fmt"
	"math"
)

// minStd is the standard deviation below which a feature is treated as constant.
const minStd = 1e-12

// Standardizer maps every feature to zero mean and unit variance: x' = (x - Mean) / Std.
type Standardizer struct {
	Mean []float64
	Std  []float64 // population standard deviation, 1 for constant features
}

// ColumnSums returns the per-feature sums of x and of its squares. These are the
// statistics parties can add up (in the clear or under secret sharing) to fit one
// Standardizer for the union of their rows without exchanging the rows.
// It returns nil slices for empty x and panics on ragged rows.
func ColumnSums(x [][]float64) (sum, sumSq []float64) {
	if len(x) == 0 {
		return nil, nil
	}
	sum = make([]float64, len(x[0]))
	sumSq = make([]float64, len(x[0]))
	for i, row := range x {
		if len(row) != len(sum) {
			panic(fmt.Sprintf("dataset: ColumnSums: row %d has %d values, want %d like row 0", i, len(row), len(sum)))
		}
		for j, v := range row {
			sum[j] += v
			sumSq[j] += v * v
		}
	}
	return sum, sumSq
}

// FitStandardizer computes means and population standard deviations from column sums
// over count rows, as returned by ColumnSums (possibly added up across parties).
// A feature whose standard deviation is below 1e-12 gets Std 1, so that Apply maps it
// to 0 instead of dividing by (almost) zero.
//
// The variance is computed as sumSq/count - mean², which loses precision when a
// feature's mean is large relative to its spread; a slightly negative result from
// that rounding is taken as 0.
func FitStandardizer(sum, sumSq []float64, count int) (Standardizer, error) {
	if count < 1 {
		return Standardizer{}, fmt.Errorf("dataset: FitStandardizer: count = %d, want >= 1", count)
	}
	if len(sum) != len(sumSq) {
		return Standardizer{}, fmt.Errorf("dataset: FitStandardizer: %d sums but %d sums of squares", len(sum), len(sumSq))
	}
	if len(sum) == 0 {
		return Standardizer{}, fmt.Errorf("dataset: FitStandardizer: no features")
	}
	n := float64(count)
	s := Standardizer{Mean: make([]float64, len(sum)), Std: make([]float64, len(sum))}
	for j := range sum {
		if !isFinite(sum[j]) || !isFinite(sumSq[j]) {
			return Standardizer{}, fmt.Errorf("dataset: FitStandardizer: feature %d: sum %v, sum of squares %v", j, sum[j], sumSq[j])
		}
		if sumSq[j] < 0 {
			return Standardizer{}, fmt.Errorf("dataset: FitStandardizer: feature %d: negative sum of squares %v", j, sumSq[j])
		}
		mean := sum[j] / n
		std := math.Sqrt(max(sumSq[j]/n-mean*mean, 0))
		if std < minStd {
			std = 1
		}
		s.Mean[j], s.Std[j] = mean, std
	}
	return s, nil
}

// Apply returns standardized copies of the rows of x; x is left untouched. It panics
// if a row's width differs from the number of features s was fitted on.
func (s Standardizer) Apply(x [][]float64) [][]float64 {
	out := make([][]float64, len(x))
	for i, row := range x {
		if len(row) != len(s.Mean) {
			panic(fmt.Sprintf("dataset: Standardizer.Apply: row %d has %d values, fitted on %d", i, len(row), len(s.Mean)))
		}
		out[i] = make([]float64, len(row))
		for j, v := range row {
			out[i][j] = (v - s.Mean[j]) / s.Std[j]
		}
	}
	return out
}
