package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CSVOptions describes a party's own data file.
type CSVOptions struct {
	Target  string // name of the target column, as in the header; required
	Task    Task   // required: the zero Task is rejected
	Classes int    // number of classes for Classification, 0 for Regression
}

// LoadCSV reads a comma-separated file whose first row names the columns. Every other
// cell must be a finite number; the Target column becomes Y and the remaining columns,
// in file order, become X. The dataset is named after the file. Errors about a cell
// give its file line, its row (counted from 0, as in X) and its column name.
func LoadCSV(path string, opts CSVOptions) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	return ReadCSV(f, filepath.Base(path), opts)
}

// ReadCSV is LoadCSV for data that is not in a file; name labels the dataset and its
// errors.
func ReadCSV(r io.Reader, name string, opts CSVOptions) (*Dataset, error) {
	d := &Dataset{Name: name, Task: opts.Task, Classes: opts.Classes}
	// Fail before reading what may be a large file, and so that a bad Classes is not
	// reported as an out-of-range label on the first row.
	if err := checkTask(opts.Task, opts.Classes); err != nil {
		return nil, d.errorf("%v", err)
	}
	if opts.Target == "" {
		return nil, d.errorf("CSVOptions.Target is empty: name the target column")
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
	target := -1
	seen := make(map[string]bool, len(header))
	for j, col := range header {
		if j == 0 {
			col = strings.TrimPrefix(col, "\ufeff") // byte-order mark written by some spreadsheets
		}
		col = strings.TrimSpace(col)
		switch {
		case col == "":
			return nil, d.errorf("header: column %d has no name", j)
		case seen[col]:
			return nil, d.errorf("header: duplicate column %q", col)
		}
		seen[col] = true
		if col == opts.Target {
			target = j
		} else {
			d.FeatureNames = append(d.FeatureNames, col)
		}
		header[j] = col
	}
	if target < 0 {
		return nil, d.errorf("no target column %q; the header has %s", opts.Target, quoteAll(header))
	}
	if len(d.FeatureNames) == 0 {
		return nil, d.errorf("no feature columns besides the target %q", opts.Target)
	}

	for row := 0; ; row++ {
		record, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, d.errorf("%v", err) // csv.ParseError already names the line
		}
		line, _ := cr.FieldPos(0)
		if len(record) != len(header) {
			return nil, d.errorf("line %d (row %d): %d fields, the header has %d", line, row, len(record), len(header))
		}
		x := make([]float64, 0, len(d.FeatureNames))
		for j, cell := range record {
			v, err := parseCSVNumber(cell)
			if j == target && err == nil {
				err = checkTarget(v, opts.Task, opts.Classes)
			}
			if err != nil {
				return nil, d.errorf("line %d (row %d), column %q: %v", line, row, header[j], err)
			}
			if j == target {
				d.Y = append(d.Y, v)
			} else {
				x = append(x, v)
			}
		}
		d.X = append(d.X, x)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
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
