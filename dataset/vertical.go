package dataset

import (
	"errors"
	"fmt"
	"math"
)

// PartitionColumns splits the features into one contiguous block of columns per party,
// in order, for vertically partitioned experiments: party i gets its columns of every
// row, right after party i-1's. Block widths differ by at most one, the earlier
// parties taking the extra columns. Feature names are split the same way.
//
// Every part keeps a copy of Y, Task and Classes, so that each is a Dataset in its own
// right and the parts can be checked, standardized and joined back. In an actual
// vertical deployment the labels are held by one party only (the label holder); the
// others should drop Y (set it to nil) before training, which JoinColumns accepts.
//
// The parts are deep copies, each with its rows in one backing array. It fails when
// parties is below 1 or above the number of features, or when X is not rectangular.
func (d *Dataset) PartitionColumns(parties int) ([]*Dataset, error) {
	features := d.Features()
	if parties < 1 || parties > features {
		return nil, d.errorf("cannot partition %d features among %d parties: need 1 <= parties <= features", features, parties)
	}
	if len(d.FeatureNames) != 0 && len(d.FeatureNames) != features {
		return nil, d.errorf("%d feature names for %d features", len(d.FeatureNames), features)
	}
	for i, row := range d.X {
		if len(row) != features {
			return nil, d.errorf("row %d has %d values, want %d like row 0", i, len(row), features)
		}
	}
	base, extra := features/parties, features%parties
	widths := make([]int, parties)
	for p := range widths {
		widths[p] = base
		if p < extra {
			widths[p]++
		}
	}
	return d.PartitionColumnWidths(widths)
}

// PartitionColumnWidths is PartitionColumns with given block widths: party p gets
// the next widths[p] columns. The widths must be positive and add up to the number
// of features.
func (d *Dataset) PartitionColumnWidths(widths []int) ([]*Dataset, error) {
	features, total := d.Features(), 0
	for p, w := range widths {
		if w < 1 {
			return nil, d.errorf("party %d would hold %d columns", p, w)
		}
		total += w
	}
	if total != features {
		return nil, d.errorf("column blocks of %v add up to %d, the data has %d features", widths, total, features)
	}
	for i, row := range d.X {
		if len(row) != features {
			return nil, d.errorf("row %d has %d values, want %d like row 0", i, len(row), features)
		}
	}
	parts := make([]*Dataset, len(widths))
	lo := 0
	for p, w := range widths {
		parts[p] = d.columnRange(lo, lo+w)
		lo += w
	}
	return parts, nil
}

// columnRange deep-copies the columns [lo, hi) of every row, with all the targets.
func (d *Dataset) columnRange(lo, hi int) *Dataset {
	width := hi - lo
	out := &Dataset{
		Name:    d.Name,
		Task:    d.Task,
		X:       make([][]float64, len(d.X)),
		Y:       append([]float64(nil), d.Y...),
		Classes: d.Classes,
	}
	if len(d.FeatureNames) != 0 {
		out.FeatureNames = append([]string(nil), d.FeatureNames[lo:hi]...)
	}
	values := make([]float64, len(d.X)*width)
	for i, row := range d.X {
		r := values[i*width : (i+1)*width : (i+1)*width]
		copy(r, row[lo:hi])
		out.X[i] = r
	}
	return out
}

// JoinColumns is the inverse of PartitionColumns: it puts the parts' columns side by
// side, in the order given, into a new Dataset (a deep copy) named after the first
// part. The parts must agree on the number of rows, Task and Classes. A part whose Y
// is empty while it has rows is taken not to hold the labels; at least one part must,
// and all that do must hold the same targets (bit for bit). Feature names are
// concatenated; they must be given for all parts or for none.
func JoinColumns(parts []*Dataset) (*Dataset, error) {
	if len(parts) == 0 {
		return nil, errors.New("dataset: JoinColumns: no parts")
	}
	first := parts[0]
	rows := first.Rows()
	out := &Dataset{Name: first.Name, Task: first.Task, Classes: first.Classes}
	named := len(first.FeatureNames) != 0
	widths := make([]int, len(parts))
	total := 0
	for p, part := range parts {
		if part == nil {
			return nil, fmt.Errorf("dataset: JoinColumns: part %d is nil", p)
		}
		if part.Rows() != rows {
			return nil, fmt.Errorf("dataset: JoinColumns: part %d (%s) has %d rows, part 0 has %d", p, part.label(), part.Rows(), rows)
		}
		if part.Task != first.Task || part.Classes != first.Classes {
			return nil, fmt.Errorf("dataset: JoinColumns: part %d (%s) is %v with %d classes, part 0 is %v with %d",
				p, part.label(), part.Task, part.Classes, first.Task, first.Classes)
		}
		width := part.Features()
		for i, row := range part.X {
			if len(row) != width {
				return nil, fmt.Errorf("dataset: JoinColumns: part %d (%s), row %d has %d values, want %d like row 0",
					p, part.label(), i, len(row), width)
			}
		}
		if (len(part.FeatureNames) != 0) != named {
			return nil, fmt.Errorf("dataset: JoinColumns: part %d (%s) %s feature names but part 0 %s",
				p, part.label(), hasOrNot(len(part.FeatureNames) != 0), hasOrNot(named))
		}
		if named && len(part.FeatureNames) != width {
			return nil, fmt.Errorf("dataset: JoinColumns: part %d (%s) has %d feature names for %d features",
				p, part.label(), len(part.FeatureNames), width)
		}
		if err := joinTargets(out, part, p, rows); err != nil {
			return nil, err
		}
		widths[p] = width
		total += width
	}
	if rows > 0 && out.Y == nil {
		return nil, errors.New("dataset: JoinColumns: no part holds the targets (every Y is empty)")
	}
	if out.Y == nil {
		out.Y = []float64{}
	}
	if named {
		out.FeatureNames = make([]string, 0, total)
		for _, part := range parts {
			out.FeatureNames = append(out.FeatureNames, part.FeatureNames...)
		}
	}
	out.X = make([][]float64, rows)
	values := make([]float64, rows*total)
	for i := range out.X {
		row := values[i*total : (i+1)*total : (i+1)*total]
		at := 0
		for p, part := range parts {
			copy(row[at:], part.X[i])
			at += widths[p]
		}
		out.X[i] = row
	}
	return out, nil
}

// joinTargets takes part p's targets into out.Y, or checks them against the targets
// already taken. A part with rows but no targets is skipped.
func joinTargets(out, part *Dataset, p, rows int) error {
	if len(part.Y) == 0 && rows > 0 {
		return nil
	}
	if len(part.Y) != rows {
		return fmt.Errorf("dataset: JoinColumns: part %d (%s) has %d targets for %d rows", p, part.label(), len(part.Y), rows)
	}
	if out.Y == nil {
		out.Y = append([]float64{}, part.Y...)
		return nil
	}
	for i, y := range part.Y {
		if math.Float64bits(y) != math.Float64bits(out.Y[i]) {
			return fmt.Errorf("dataset: JoinColumns: part %d (%s), row %d: target %v differs from %v in an earlier part",
				p, part.label(), i, y, out.Y[i])
		}
	}
	return nil
}

func hasOrNot(has bool) string {
	if has {
		return "has"
	}
	return "has no"
}
