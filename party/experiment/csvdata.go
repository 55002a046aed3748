package experiment

import (
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/sharing"
)

// CSVData is an experiment on the parties' own tables: where the rows are and the
// schema every party's file follows. The schema (target, features, categories,
// task, classes) is part of the experiment config, so a deployment compares it
// field by field before any share moves; the file paths are node-local and are not
// compared.
//
// The category lists are public metadata written in the config rather than agreed
// from the data: agreeing on them from the parties' files would reveal which
// categories each party holds (or need a private set-union protocol), while a
// list fixed in advance reveals nothing about any party's rows. Cells outside the
// list are errors, not silently dropped.
type CSVData struct {
	// File is one table cut among the parties by the partition.
	File string `yaml:"file,omitempty" json:"file,omitempty"`
	// Files is one table per party, in party order (horizontal partition).
	Files []string `yaml:"files,omitempty" json:"files,omitempty"`
	// TestFile holds public test rows with the same columns. Without it, a single
	// File's test rows are dataset.test_rows from the end or TestFraction of the
	// rows drawn with the public seed.
	TestFile string `yaml:"test_file,omitempty" json:"test_file,omitempty"`
	// TestFraction of File's rows, drawn with the public seed, are held out.
	TestFraction float64 `yaml:"test_fraction,omitempty" json:"test_fraction,omitempty"`
	// Target is the column to predict.
	Target string `yaml:"target" json:"target"`
	// Features are the feature columns in model order; empty: all but the target.
	Features []string `yaml:"features,omitempty" json:"features,omitempty"`
	// Categories lists each string-valued feature column's categories: the column
	// becomes one 0/1 feature per category, in this order.
	Categories map[string][]string `yaml:"categories,omitempty" json:"categories,omitempty"`
	// ColumnGroups, with a vertical partition, names the feature columns each party
	// holds (party i the i-th group); the model sees them in this order. Without
	// it, party i holds the i-th contiguous block of the features.
	ColumnGroups [][]string `yaml:"column_groups,omitempty" json:"column_groups,omitempty"`
	// Task is "regression", "binary" or "multiclass".
	Task CSVTask `yaml:"task" json:"task"`
	// Classes are the class labels as written in the target column, in class-index
	// order: integers ([0, 1, 2]) or strings ([setosa, versicolor, virginica]).
	// Binary classification defaults to [0, 1].
	Classes []string `yaml:"classes,omitempty" json:"classes,omitempty"`
	// Shape declares the feature columns, in model order, to be images: [channels,
	// height, width], pixels in row-major (height, width, channel) order. Needed by
	// convolution and pooling layers; the features must number their product.
	Shape []int `yaml:"shape,omitempty" json:"shape,omitempty"`
}

// CSVTask is what the target of a CSV experiment means.
type CSVTask string

// The tasks.
const (
	TaskRegression CSVTask = "regression"
	// TaskBinary is two classes; with loss binary-cross-entropy (the default) the
	// model is a logistic regression when it has one layer.
	TaskBinary CSVTask = "binary"
	// TaskMulticlass is two or more classes, one-hot targets; cross-entropy by default.
	TaskMulticlass CSVTask = "multiclass"
)

var csvTasks = []CSVTask{TaskRegression, TaskBinary, TaskMulticlass}

// csvDefaults fills the class list and the loss from the task.
func (c *Config) csvDefaults() {
	d := c.Dataset.CSV
	if d == nil {
		return
	}
	if d.Task == TaskBinary && len(d.Classes) == 0 {
		d.Classes = []string{"0", "1"}
	}
	if c.Model.Loss == "" {
		switch d.Task {
		case TaskBinary:
			c.Model.Loss = "binary-cross-entropy"
		case TaskMulticlass:
			c.Model.Loss = "cross-entropy"
		}
	}
}

// validateCSV checks the CSV settings and names the first bad field.
func (c *Config) validateCSV() error {
	d, ds := c.Dataset.CSV, c.Dataset
	perParty := len(d.Files) > 0
	tests := 0
	for _, set := range []bool{d.TestFile != "", ds.TestRows > 0, d.TestFraction != 0} {
		if set {
			tests++
		}
	}
	for _, err := range []error{
		check(ds.Name == "", "dataset: give either name (a shipped dataset) or csv (your own files), not both"),
		check((d.File != "") != perParty, "dataset.csv: give either file (one table cut by the partition) or files (one per party)"),
		check(!perParty || len(d.Files) == c.Parties, "dataset.csv.files: %d files for %d parties", len(d.Files), c.Parties),
		check(!perParty || ds.Partition == PartitionContiguous, "dataset.partition: with one file per party the partition is by rows (contiguous), got %s", ds.Partition),
		check(!perParty || (ds.TestRows == 0 && d.TestFraction == 0 && !ds.ShuffleRows && ds.TrainRows == 0), "dataset.csv.files: with one file per party, test rows come from test_file (test_rows, test_fraction, shuffle_rows and train_rows cut a single file)"),
		check(tests <= 1, "dataset: give at most one of csv.test_file, test_rows and csv.test_fraction"),
		check(d.TestFraction >= 0 && d.TestFraction < 1, "dataset.csv.test_fraction: %v is not in [0, 1)", d.TestFraction),
		check(d.Target != "", "dataset.csv.target: name the column to predict"),
		OneOf("dataset.csv.task", d.Task, csvTasks),
		check(d.Task != TaskRegression || len(d.Classes) == 0, "dataset.csv.classes: a regression has no classes"),
		check(d.Task != TaskBinary || len(d.Classes) == 2, "dataset.csv.classes: binary classification needs 2 classes, got %d", len(d.Classes)),
		check(d.Task != TaskMulticlass || len(d.Classes) >= 2, "dataset.csv.classes: multiclass needs the list of class labels (at least 2), got %d", len(d.Classes)),
		noDuplicates("dataset.csv.classes", d.Classes),
		noDuplicates("dataset.csv.features", d.Features),
		check(d.Shape == nil || len(d.Shape) == 3 && d.Shape[0] > 0 && d.Shape[1] > 0 && d.Shape[2] > 0, "dataset.csv.shape: %v is not [channels, height, width] of positive sizes", d.Shape),
	} {
		if err != nil {
			return err
		}
	}
	if err := c.validateColumnGroups(); err != nil {
		return err
	}
	for col, cats := range d.Categories {
		if len(cats) == 0 {
			return fmt.Errorf("dataset.csv.categories.%s: no categories", col)
		}
		if err := noDuplicates("dataset.csv.categories."+col, cats); err != nil {
			return err
		}
	}
	return nil
}

// validateColumnGroups checks that named column groups give every party at least
// one feature column and every feature to exactly one party.
func (c *Config) validateColumnGroups() error {
	d := c.Dataset.CSV
	if len(d.ColumnGroups) == 0 {
		return nil
	}
	all := slices.Concat(d.ColumnGroups...)
	for _, err := range []error{
		check(c.Dataset.Partition == PartitionVertical, "dataset.csv.column_groups: only with partition: vertical"),
		check(len(d.ColumnGroups) == c.Parties, "dataset.csv.column_groups: %d groups for %d parties", len(d.ColumnGroups), c.Parties),
		noDuplicates("dataset.csv.column_groups", all),
		check(!slices.Contains(all, d.Target), "dataset.csv.column_groups: the target %q is not a feature", d.Target),
	} {
		if err != nil {
			return err
		}
	}
	for i, g := range d.ColumnGroups {
		if len(g) == 0 {
			return fmt.Errorf("dataset.csv.column_groups[%d]: party %d holds no column", i, i)
		}
	}
	if len(d.Features) > 0 {
		for _, f := range d.Features {
			if !slices.Contains(all, f) {
				return fmt.Errorf("dataset.csv.column_groups: feature %q is in no group", f)
			}
		}
		if len(all) != len(d.Features) {
			return fmt.Errorf("dataset.csv.column_groups: %d columns in the groups, %d features", len(all), len(d.Features))
		}
	}
	return nil
}

// groupWidths are the model columns of each column group: one per numeric
// column, one per category of a categorical column.
func (d *CSVData) groupWidths() []int {
	var widths []int
	for _, g := range d.ColumnGroups {
		w := 0
		for _, col := range g {
			if cats, ok := d.Categories[col]; ok {
				w += len(cats)
			} else {
				w++
			}
		}
		widths = append(widths, w)
	}
	return widths
}

func noDuplicates(field string, list []string) error {
	for i, v := range list {
		if slices.Contains(list[:i], v) {
			return fmt.Errorf("%s: %q is listed twice", field, v)
		}
	}
	return nil
}

// csvOptions is the reader's view of the schema.
func (d *CSVData) csvOptions() dataset.CSVOptions {
	features := d.Features
	if len(d.ColumnGroups) > 0 {
		features = slices.Concat(d.ColumnGroups...) // the model's column order
	}
	opts := dataset.CSVOptions{Target: d.Target, Task: dataset.Regression, Features: features, Categories: d.Categories}
	if d.Task != TaskRegression {
		opts.Task, opts.Labels, opts.Classes = dataset.Classification, d.Classes, len(d.Classes)
	}
	return opts
}

// csvPath resolves a path of the config against the dataset directory (the
// config file's directory unless dataset.dir says otherwise).
func (c *Config) csvPath(p string) string {
	if filepath.IsAbs(p) || c.Dataset.Dir == "" {
		return p
	}
	return filepath.Join(c.Dataset.Dir, p)
}

// LoadCSVFile reads one file with the experiment's schema.
func (c *Config) LoadCSVFile(path string, keep func(int) bool) (*dataset.Dataset, error) {
	opts := c.Dataset.CSV.csvOptions()
	opts.Keep = keep
	return dataset.LoadCSV(path, opts)
}

// csvRowPlan says which rows of a single file of n rows are test rows and which
// are each party's, as file row numbers: the one place the cut is decided, for a
// simulation (which reads every row) and a deployed party (which keeps its own).
func csvRowPlan(cfg *Config, n int) (test []int, parts [][]int, err error) {
	ds := cfg.Dataset
	order := seq(n)
	if ds.ShuffleRows {
		order = publicPermutation(cfg, n)
	}
	var train []int
	switch t := ds.TestRows; {
	case t >= n:
		return nil, nil, fmt.Errorf("dataset.test_rows: cannot hold out %d of %d rows", t, n)
	case t > 0:
		train, test = order[:n-t], order[n-t:]
	case ds.CSV.TestFraction > 0:
		drawn := permutation(sharing.NewPRG(cfg.InitSeed(), 1<<32+1), n)[:int(math.Round(ds.CSV.TestFraction*float64(n)))]
		held := make([]bool, n)
		for _, r := range drawn {
			held[r] = true
		}
		for _, r := range order {
			if held[r] {
				test = append(test, r)
			} else {
				train = append(train, r)
			}
		}
	default:
		train = order
	}
	if ds.TrainRows > 0 && ds.TrainRows < len(train) {
		train = train[:ds.TrainRows]
	}
	if ds.Partition == PartitionVertical {
		return test, [][]int{train}, nil
	}
	if len(train) < cfg.Parties {
		return nil, nil, fmt.Errorf("dataset.csv.file: %d training rows cannot be split among %d parties", len(train), cfg.Parties)
	}
	if ds.Partition == PartitionRandom {
		perm := permutation(sharing.NewPRG(cfg.InitSeed(), 1<<32+2), len(train))
		dealt := make([]int, len(train))
		for i, k := range perm {
			dealt[i] = train[k]
		}
		train = dealt
	}
	return test, contiguousSlices(train, cfg.Parties), nil
}

// contiguousSlices cuts rows as dataset.PartitionContiguous does: sizes differ by
// at most one, the earlier parties taking the extra rows.
func contiguousSlices(rows []int, parties int) [][]int {
	base, extra := len(rows)/parties, len(rows)%parties
	out := make([][]int, parties)
	lo := 0
	for i := range out {
		size := base
		if i < extra {
			size++
		}
		out[i] = rows[lo : lo+size]
		lo += size
	}
	return out
}

// loadCSVSplit is LoadSplit for a CSV experiment: every party's rows, for a
// simulation.
func loadCSVSplit(cfg *Config) (train, test *dataset.Dataset, parts []*dataset.Dataset, err error) {
	d := cfg.Dataset.CSV
	if len(d.Files) > 0 {
		for i, f := range d.Files {
			p, err := cfg.LoadCSVFile(cfg.csvPath(f), nil)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("party %d: %w", i, err)
			}
			parts = append(parts, p)
		}
		if train, err = concatRows(parts); err != nil {
			return nil, nil, nil, err
		}
		test, err = cfg.LoadCSVTest(train)
		return train, test, parts, err
	}
	all, err := cfg.LoadCSVFile(cfg.csvPath(d.File), nil)
	if err != nil {
		return nil, nil, nil, err
	}
	testRows, rows, err := csvRowPlan(cfg, all.Rows())
	if err != nil {
		return nil, nil, nil, err
	}
	for _, r := range rows {
		parts = append(parts, all.Subset(r))
	}
	train = all.Subset(slices.Concat(rows...))
	if d.TestFile != "" {
		test, err = cfg.LoadCSVTest(train)
	} else {
		test = all.Subset(testRows)
	}
	if cfg.Dataset.Partition == PartitionVertical {
		parts = nil // cut by columns in LoadSplit
	}
	return train, test, parts, err
}

// LoadCSVTest reads the test file; without one the test set is empty (with like's
// columns).
func (c *Config) LoadCSVTest(like *dataset.Dataset) (*dataset.Dataset, error) {
	if c.Dataset.CSV.TestFile == "" {
		return like.Subset(nil), nil
	}
	test, err := c.LoadCSVFile(c.csvPath(c.Dataset.CSV.TestFile), nil)
	if err != nil {
		return nil, fmt.Errorf("test file: %w", err)
	}
	return test, nil
}

// LoadOwnCSV reads only party self's rows and the test rows: its own file, or its
// slice of the single file (a first pass counts the rows, the second keeps only
// this party's and the test rows). A vertical partition by column groups reads
// only this party's columns of the training rows (and the public test rows); one
// cut into contiguous blocks reads every column and keeps this party's.
func LoadOwnCSV(cfg *Config, self int) (own, test *dataset.Dataset, err error) {
	d := cfg.Dataset.CSV
	if len(d.Files) > 0 {
		if own, err = cfg.LoadCSVFile(cfg.csvPath(d.Files[self]), nil); err != nil {
			return nil, nil, err
		}
		test, err = cfg.LoadCSVTest(own)
		return own, test, err
	}
	vertical := cfg.Dataset.Partition == PartitionVertical
	if vertical && len(d.ColumnGroups) == 0 {
		split, err := LoadSplit(cfg)
		if err != nil {
			return nil, nil, err
		}
		return split.Parts[self], split.Test, nil
	}
	path := cfg.csvPath(d.File)
	n, err := dataset.CountCSVRows(path)
	if err != nil {
		return nil, nil, err
	}
	testRows, rows, err := csvRowPlan(cfg, n)
	if err != nil {
		return nil, nil, err
	}
	if vertical { // every training row, this party's columns only
		own, err = cfg.loadCSVRows(path, d.ColumnGroups[self], rows[0])
	} else {
		own, err = cfg.loadCSVRows(path, nil, rows[self])
	}
	if err != nil {
		return nil, nil, err
	}
	if d.TestFile != "" || len(testRows) == 0 {
		test, err = cfg.LoadCSVTest(own)
	} else {
		test, err = cfg.loadCSVRows(path, nil, testRows) // public rows, every column
	}
	return own, test, err
}

// loadCSVRows reads the given rows of a file, in that order, keeping only those:
// the columns are features when given, else the experiment's.
func (c *Config) loadCSVRows(path string, features []string, rows []int) (*dataset.Dataset, error) {
	pos := make(map[int]int, len(rows)) // file row -> position among the kept rows
	for _, r := range rows {
		pos[r] = 0
	}
	opts := c.Dataset.CSV.csvOptions()
	if features != nil {
		opts.Features, opts.Categories = features, map[string][]string{}
		for _, col := range features {
			if cats, ok := c.Dataset.CSV.Categories[col]; ok {
				opts.Categories[col] = cats
			}
		}
	}
	opts.Keep = func(r int) bool { _, ok := pos[r]; return ok }
	kept, err := dataset.LoadCSV(path, opts)
	if err != nil {
		return nil, err
	}
	for i, r := range slices.Sorted(maps.Keys(pos)) {
		pos[r] = i
	}
	order := make([]int, len(rows))
	for i, r := range rows {
		order[i] = pos[r]
	}
	return kept.Subset(order), nil
}

// concatRows stacks parties' tables, which must have the same columns.
func concatRows(parts []*dataset.Dataset) (*dataset.Dataset, error) {
	out := parts[0].Subset(nil)
	out.Name = "all parties"
	for i, p := range parts {
		if !slices.Equal(p.FeatureNames, out.FeatureNames) {
			return nil, fmt.Errorf("party %d's file %s has feature columns %v, party 0's %v", i, p.Name, p.FeatureNames, out.FeatureNames)
		}
		out.X = append(out.X, p.X...)
		out.Y = append(out.Y, p.Y...)
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}
