package dataset

import (
	"fmt"
	"math"
	"strconv"
)

// Task says what the target Y means.
//
// The zero value is deliberately not a valid task, so that a party that forgets to
// set CSVOptions.Task gets an error instead of silently training a regression on
// class indices.
type Task int

const (
	// Regression: Y holds real-valued targets and Classes is 0.
	Regression Task = iota + 1
	// Classification: Y holds class indices 0..Classes-1 stored as float64.
	Classification
)

func (t Task) String() string {
	switch t {
	case Regression:
		return "regression"
	case Classification:
		return "classification"
	}
	return "Task(" + strconv.Itoa(int(t)) + ")"
}

// Dataset is an in-memory table: one row of features per example plus its target.
type Dataset struct {
	Name         string
	Task         Task
	X            [][]float64 // rows x features
	Y            []float64   // regression target, or class index as float
	FeatureNames []string
	Classes      int // 0 for regression
}

// Rows returns the number of examples.
func (d *Dataset) Rows() int { return len(d.X) }

// Features returns the number of feature columns. A dataset without rows (such as
// the test half of SplitHoldout(0)) still knows its width through FeatureNames.
func (d *Dataset) Features() int {
	if len(d.X) > 0 {
		return len(d.X[0])
	}
	return len(d.FeatureNames)
}

// Validate checks that d is usable for training: a known task, at least one row and
// one feature, rectangular X, one target per row, finite values everywhere, and for
// classification integral labels in [0, Classes). Rows are counted from 0, as the
// index into X.
func (d *Dataset) Validate() error {
	if err := checkTask(d.Task, d.Classes); err != nil {
		return d.errorf("%v", err)
	}
	if len(d.X) == 0 {
		return d.errorf("empty dataset: no rows")
	}
	features := len(d.X[0])
	if features == 0 {
		return d.errorf("empty dataset: row 0 has no features")
	}
	if len(d.FeatureNames) != 0 && len(d.FeatureNames) != features {
		return d.errorf("%d feature names for %d features", len(d.FeatureNames), features)
	}
	if len(d.Y) != len(d.X) {
		return d.errorf("%d rows but %d targets", len(d.X), len(d.Y))
	}
	for i, row := range d.X {
		if len(row) != features {
			return d.errorf("row %d has %d values, want %d like row 0", i, len(row), features)
		}
		for j, v := range row {
			if !isFinite(v) {
				return d.errorf("row %d, column %s: %s", i, d.column(j), nonFinite(v))
			}
		}
	}
	for i, y := range d.Y {
		if err := checkTarget(y, d.Task, d.Classes); err != nil {
			return d.errorf("row %d, target: %v", i, err)
		}
	}
	return nil
}

func checkTask(task Task, classes int) error {
	switch task {
	case Regression:
		if classes != 0 {
			return fmt.Errorf("regression with Classes = %d, want 0", classes)
		}
	case Classification:
		if classes < 2 {
			return fmt.Errorf("classification needs Classes >= 2, got %d", classes)
		}
	default:
		return fmt.Errorf("task not set (got %v), want Regression or Classification", task)
	}
	return nil
}

// checkTarget is shared by Validate and LoadCSV, which reports the file line instead
// of the row index.
func checkTarget(y float64, task Task, classes int) error {
	if !isFinite(y) {
		return fmt.Errorf("%s", nonFinite(y))
	}
	if task != Classification {
		return nil
	}
	if y != math.Trunc(y) {
		return fmt.Errorf("class label %v is not an integer", y)
	}
	if y < 0 || y >= float64(classes) {
		return fmt.Errorf("class label %v out of range [0, %d)", y, classes)
	}
	return nil
}

// errorf prefixes messages with the dataset name so that errors from several parties'
// files can be told apart.
func (d *Dataset) errorf(format string, args ...any) error {
	return fmt.Errorf("dataset %s: %s", d.label(), fmt.Sprintf(format, args...))
}

func (d *Dataset) label() string {
	if d.Name == "" {
		return "(unnamed)"
	}
	return d.Name
}

// column names feature j by its quoted name when known, by index otherwise.
func (d *Dataset) column(j int) string {
	if j < len(d.FeatureNames) {
		return strconv.Quote(d.FeatureNames[j])
	}
	return strconv.Itoa(j)
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func nonFinite(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Subset returns a deep copy of d holding the given rows, in the given order.
// Repeated indices are allowed; an index out of range panics, as slice indexing does.
func (d *Dataset) Subset(rows []int) *Dataset {
	out := d.header()
	out.X = make([][]float64, len(rows))
	out.Y = make([]float64, len(rows))
	for k, i := range rows {
		out.X[k] = append([]float64(nil), d.X[i]...)
		out.Y[k] = d.Y[i]
	}
	return out
}

// SubsetView is Subset without the copy: the result's rows are d's rows (the same
// slices, each capped at its length so that appending to one copies it), in the
// given order. Writing to a value of a row writes to both datasets; use it where
// nobody does, to hold a large table once.
func (d *Dataset) SubsetView(rows []int) *Dataset {
	out := d.header()
	out.X = make([][]float64, len(rows))
	out.Y = make([]float64, len(rows))
	for k, i := range rows {
		out.X[k] = d.X[i][:len(d.X[i]):len(d.X[i])]
		out.Y[k] = d.Y[i]
	}
	return out
}

// rowRange is Subset for the contiguous rows [lo, hi).
func (d *Dataset) rowRange(lo, hi int) *Dataset { return d.Subset(seq(lo, hi)) }

// seq is lo, lo+1, ..., hi-1.
func seq(lo, hi int) []int {
	rows := make([]int, hi-lo)
	for k := range rows {
		rows[k] = lo + k
	}
	return rows
}

// header copies everything but the rows.
func (d *Dataset) header() *Dataset {
	return &Dataset{
		Name:         d.Name,
		Task:         d.Task,
		FeatureNames: append([]string(nil), d.FeatureNames...),
		Classes:      d.Classes,
	}
}

// SplitHoldout holds out the last testRows rows as the test set. It never shuffles,
// so every party computes the same split without coordinating a seed; shuffle the
// data beforehand if its order is meaningful. Both halves are deep copies.
func (d *Dataset) SplitHoldout(testRows int) (train, test *Dataset, err error) {
	n := d.Rows()
	if testRows < 0 || testRows >= n {
		return nil, nil, d.errorf("cannot hold out %d of %d rows: need 0 <= testRows < rows", testRows, n)
	}
	return d.rowRange(0, n-testRows), d.rowRange(n-testRows, n), nil
}

// PartitionContiguous splits the rows into one contiguous block per party, in order:
// party i gets the rows after party i-1's. Sizes differ by at most one, the earlier
// parties taking the extra rows. The blocks are deep copies.
func (d *Dataset) PartitionContiguous(parties int) ([]*Dataset, error) {
	return d.partitionContiguous(parties, d.rowRange)
}

// PartitionContiguousView is PartitionContiguous whose blocks share d's rows
// instead of copying them (see SubsetView): for data nobody writes to, such as a
// simulation's parts of the training set it also trains the plaintext reference on.
func (d *Dataset) PartitionContiguousView(parties int) ([]*Dataset, error) {
	return d.partitionContiguous(parties, func(lo, hi int) *Dataset { return d.SubsetView(seq(lo, hi)) })
}

func (d *Dataset) partitionContiguous(parties int, block func(lo, hi int) *Dataset) ([]*Dataset, error) {
	bounds, err := ContiguousBlocks(d.Rows(), parties)
	if err != nil {
		return nil, d.errorf("%v", err)
	}
	parts := make([]*Dataset, parties)
	for i := range parts {
		parts[i] = block(bounds[i], bounds[i+1])
	}
	return parts, nil
}

// ContiguousBlocks is how PartitionContiguous cuts rows among parties: party i
// gets the rows [bounds[i], bounds[i+1]). Sizes differ by at most one, the earlier
// parties taking the extra rows.
func ContiguousBlocks(rows, parties int) (bounds []int, err error) {
	if parties < 1 || parties > rows {
		return nil, fmt.Errorf("cannot partition %d rows among %d parties: need 1 <= parties <= rows", rows, parties)
	}
	base, extra := rows/parties, rows%parties
	bounds = make([]int, parties+1)
	for i := range parties {
		size := base
		if i < extra {
			size++
		}
		bounds[i+1] = bounds[i] + size
	}
	return bounds, nil
}

// OneHot encodes class indices as rows of 0s with a single 1. It panics on a label
// that is not an integer in [0, classes): labels are checked by Validate, so a bad
// one here is a programming error.
func OneHot(y []float64, classes int) [][]float64 {
	out := make([][]float64, len(y))
	for i, v := range y {
		if err := checkTarget(v, Classification, classes); err != nil {
			panic(fmt.Sprintf("dataset: OneHot: row %d: %v", i, err))
		}
		out[i] = make([]float64, classes)
		out[i][int(v)] = 1
	}
	return out
}
