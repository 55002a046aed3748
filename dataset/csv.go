package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// CSVOptions describes a party's own data file: which column is the target, which
// are features, how categorical columns and string labels are encoded. Everything
// here is public metadata the parties agree on; none of it depends on the rows.
type CSVOptions struct {
	Target  string // name of the target column, as in the header; required
	Task    Task   // required: the zero Task is rejected
	Classes int    // number of classes for Classification, 0 for Regression
	// Labels, for classification, are the class labels as written in the target
	// column, in class-index order (then Classes is len(Labels) or 0). Empty: the
	// labels are the integers 0..Classes-1.
	Labels []string
	// Features are the feature columns, in the order they enter the model; empty
	// means every column but the target, in file order. Other columns are skipped.
	Features []string
	// Categories lists, for each categorical feature column, its categories: the
	// column becomes one 0/1 feature per category ("column=category"), in this
	// order. A cell outside the list is an error.
	Categories map[string][]string
	// Keep, when set, says which data rows (counted from 0) to keep; the others are
	// checked and dropped, so that memory holds only the kept rows.
	Keep func(row int) bool
}

// LoadCSV reads a comma-separated file whose first row names the columns. Every
// numeric cell must be a finite number; the Target column becomes Y and the feature
// columns become X. The dataset is named after the file. Errors about a cell give
// its file line, its row (counted from 0 among the data rows) and its column name.
// The file is read as a stream: memory holds the kept rows only.
func LoadCSV(path string, opts CSVOptions) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	return ReadCSV(f, filepath.Base(path), opts)
}

// CountCSVRows counts the data rows of a CSV file (its records after the header)
// without keeping any: the first pass of cutting one file into parties' slices.
func CountCSVRows(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	rows := -1 // the header
	for {
		_, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return max(rows, 0), nil
		}
		if err != nil {
			return 0, fmt.Errorf("dataset %s: %w", filepath.Base(path), err)
		}
		rows++
	}
}

// column is what one header column becomes.
type column struct {
	name       string
	target     bool
	feature    int      // first output feature index; -1 for a skipped column
	categories []string // one-hot categories of a categorical feature
}

// ReadCSV is LoadCSV for data that is not in a file; name labels the dataset and its
// errors.
func ReadCSV(r io.Reader, name string, opts CSVOptions) (*Dataset, error) {
	if len(opts.Labels) > 0 && opts.Classes == 0 {
		opts.Classes = len(opts.Labels)
	}
	d := &Dataset{Name: name, Task: opts.Task, Classes: opts.Classes}
	// Fail before reading what may be a large file, and so that a bad Classes is not
	// reported as an out-of-range label on the first row.
	if err := checkOptions(opts); err != nil {
		return nil, d.errorf("%v", err)
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // check widths ourselves, to say which line and why
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, d.errorf("empty file: no header row")
	}
	if err != nil {
		return nil, d.errorf("%v", err)
	}
	cols, err := planColumns(d, header, opts)
	if err != nil {
		return nil, err
	}
	if err := readRows(d, cr, cols, opts); err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

func checkOptions(opts CSVOptions) error {
	if err := checkTask(opts.Task, opts.Classes); err != nil {
		return err
	}
	if opts.Target == "" {
		return errors.New("CSVOptions.Target is empty: name the target column")
	}
	if len(opts.Labels) > 0 && (opts.Task != Classification || len(opts.Labels) != opts.Classes) {
		return fmt.Errorf("%d class labels for %v with %d classes", len(opts.Labels), opts.Task, opts.Classes)
	}
	return nil
}

// planColumns reads the header: the target, the features in model order (one-hot
// categories expanded) and the columns to skip. It sets d.FeatureNames.
func planColumns(d *Dataset, header []string, opts CSVOptions) ([]column, error) {
	cols := make([]column, len(header))
	index := make(map[string]int, len(header))
	target := -1
	for j, name := range header {
		if j == 0 {
			name = strings.TrimPrefix(name, "\ufeff") // byte-order mark written by some spreadsheets
		}
		name = strings.TrimSpace(name)
		switch _, dup := index[name]; {
		case name == "":
			return nil, d.errorf("header: column %d has no name", j)
		case dup:
			return nil, d.errorf("header: duplicate column %q", name)
		}
		index[name] = j
		header[j] = name
		cols[j] = column{name: name, feature: -1, target: name == opts.Target}
		if cols[j].target {
			target = j
		}
	}
	if target < 0 {
		return nil, d.errorf("no target column %q; the header has %s", opts.Target, quoteAll(header))
	}
	features := opts.Features
	if len(features) == 0 {
		features = slices.DeleteFunc(slices.Clone(header), func(c string) bool { return c == opts.Target })
	}
	for _, f := range features {
		j, ok := index[f]
		switch {
		case !ok:
			return nil, d.errorf("no feature column %q; the header has %s", f, quoteAll(header))
		case j == target:
			return nil, d.errorf("column %q is the target and cannot be a feature", f)
		case cols[j].feature >= 0:
			return nil, d.errorf("feature column %q listed twice", f)
		}
		cols[j].feature = len(d.FeatureNames)
		cats, categorical := opts.Categories[f]
		if !categorical {
			d.FeatureNames = append(d.FeatureNames, f)
			continue
		}
		cols[j].categories = cats
		for _, c := range cats {
			d.FeatureNames = append(d.FeatureNames, f+"="+c)
		}
	}
	for c := range opts.Categories {
		if j, ok := index[c]; !ok || cols[j].feature < 0 {
			return nil, d.errorf("categorical column %q is not a feature column of the file", c)
		}
	}
	if len(d.FeatureNames) == 0 {
		return nil, d.errorf("no feature columns besides the target %q", opts.Target)
	}
	return cols, nil
}

// readRows reads the data rows, keeping those opts.Keep selects.
func readRows(d *Dataset, cr *csv.Reader, cols []column, opts CSVOptions) error {
	for row := 0; ; row++ {
		record, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return d.errorf("%v", err) // csv.ParseError already names the line
		}
		line, _ := cr.FieldPos(0)
		if len(record) != len(cols) {
			return d.errorf("line %d (row %d): %d fields, the header has %d", line, row, len(record), len(cols))
		}
		x := make([]float64, len(d.FeatureNames))
		var y float64
		for j, cell := range record {
			c := cols[j]
			if err := c.parse(cell, opts, x, &y); err != nil {
				return d.errorf("line %d (row %d), column %q: %v", line, row, c.name, err)
			}
		}
		if opts.Keep != nil && !opts.Keep(row) {
			continue
		}
		d.X = append(d.X, x)
		d.Y = append(d.Y, y)
	}
}

// parse checks one cell and stores it in x or y.
func (c column) parse(cell string, opts CSVOptions, x []float64, y *float64) error {
	switch {
	case c.target && len(opts.Labels) > 0:
		k, err := labelIndex(cell, opts.Labels)
		*y = float64(k)
		return err
	case c.target:
		v, err := parseCSVNumber(cell)
		if err == nil {
			err = checkTarget(v, opts.Task, opts.Classes)
		}
		*y = v
		return err
	case c.feature < 0:
		return nil
	case c.categories != nil:
		s := strings.TrimSpace(cell)
		k := slices.Index(c.categories, s)
		if k < 0 {
			return fmt.Errorf("unknown category %s (known: %s)", strconv.Quote(s), quoteAll(c.categories))
		}
		x[c.feature+k] = 1
		return nil
	}
	v, err := parseCSVNumber(cell)
	x[c.feature] = v
	return err
}

// labelIndex finds a class label: as written, or, for numeric labels, by value
// ("1.0" is the class "1").
func labelIndex(cell string, labels []string) (int, error) {
	s := strings.TrimSpace(cell)
	if k := slices.Index(labels, s); k >= 0 {
		return k, nil
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		for k, l := range labels {
			if w, err := strconv.ParseFloat(l, 64); err == nil && w == v {
				return k, nil
			}
		}
	}
	return 0, fmt.Errorf("class label %s is not one of the classes %s", strconv.Quote(s), quoteAll(labels))
}

// parseCSVNumber rejects non-finite values here rather than in Validate so that the
// error can name the file line.
func parseCSVNumber(cell string) (float64, error) {
	s := strings.TrimSpace(cell)
	if s == "" {
		return 0, errors.New("empty cell")
	}
	v, err := parseFloat(s)
	if err != nil {
		return 0, err
	}
	if !isFinite(v) {
		return 0, errors.New(nonFinite(v))
	}
	return v, nil
}

// parseFloat is strconv.ParseFloat with messages fit for a data file's author.
func parseFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("%q is out of float64 range", s)
	case err != nil:
		return 0, fmt.Errorf("not a number: %q", s)
	}
	return v, nil
}

func quoteAll(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	return strings.Join(quoted, ", ")
}
