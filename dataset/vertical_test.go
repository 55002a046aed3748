package dataset

import (
	"reflect"
	"strings"
	"testing"
)

// synthWide is 4 rows x 7 features with X[i][j] = 10*i + j.
func synthWide() *Dataset {
	d := &Dataset{
		Name:         "wide",
		Task:         Classification,
		Classes:      3,
		Y:            []float64{0, 2, 1, 2},
		FeatureNames: []string{"f0", "f1", "f2", "f3", "f4", "f5", "f6"},
	}
	for i := 0; i < 4; i++ {
		row := make([]float64, 7)
		for j := range row {
			row[j] = float64(10*i + j)
		}
		d.X = append(d.X, row)
	}
	return d
}

func TestPartitionColumns(t *testing.T) {
	d := synthWide()
	parts, err := d.PartitionColumns(3)
	if err != nil {
		t.Fatal(err)
	}
	wantNames := [][]string{{"f0", "f1", "f2"}, {"f3", "f4"}, {"f5", "f6"}}
	lo := 0
	for p, part := range parts {
		if err := part.Validate(); err != nil {
			t.Errorf("part %d: %v", p, err)
		}
		if !reflect.DeepEqual(part.FeatureNames, wantNames[p]) {
			t.Errorf("part %d: names %v, want %v", p, part.FeatureNames, wantNames[p])
		}
		if part.Name != "wide" || part.Task != Classification || part.Classes != 3 || !reflect.DeepEqual(part.Y, d.Y) {
			t.Errorf("part %d: header %q %v %d, Y %v", p, part.Name, part.Task, part.Classes, part.Y)
		}
		width := len(wantNames[p])
		for i, row := range part.X {
			if len(row) != width || cap(row) != width {
				t.Fatalf("part %d row %d: len %d cap %d, want %d", p, i, len(row), cap(row), width)
			}
			for k, v := range row {
				if want := float64(10*i + lo + k); v != want {
					t.Errorf("part %d: X[%d][%d] = %v, want %v", p, i, k, v, want)
				}
			}
		}
		lo += width
	}

	// Deep copies: changing a part leaves the original alone.
	parts[1].X[0][0] = -1
	parts[1].Y[0] = 1
	parts[1].FeatureNames[0] = "changed"
	if d.X[0][3] != 3 || d.Y[0] != 0 || d.FeatureNames[3] != "f3" {
		t.Error("a part shares memory with the original")
	}
}

func TestPartitionColumnsErrors(t *testing.T) {
	d := synthWide()
	for _, parties := range []int{0, -1, 8} {
		_, err := d.PartitionColumns(parties)
		if err == nil || !strings.Contains(err.Error(), "need 1 <= parties <= features") || !strings.Contains(err.Error(), "dataset wide") {
			t.Errorf("%d parties: error %v", parties, err)
		}
	}
	if _, err := d.PartitionColumns(7); err != nil {
		t.Errorf("one column each: %v", err)
	}
	d.X[2] = d.X[2][:5]
	if _, err := d.PartitionColumns(2); err == nil || !strings.Contains(err.Error(), "row 2 has 5 values") {
		t.Errorf("ragged: error %v", err)
	}
}

func TestJoinColumnsRoundTrip(t *testing.T) {
	diabetes, err := Load("diabetes", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]*Dataset{"wide": synthWide(), "diabetes": diabetes}
	for name, d := range cases {
		for parties := 1; parties <= d.Features(); parties++ {
			parts, err := d.PartitionColumns(parties)
			if err != nil {
				t.Fatalf("%s, %d parties: %v", name, parties, err)
			}
			widths, sum := make([]int, len(parts)), 0
			for p, part := range parts {
				widths[p] = part.Features()
				sum += widths[p]
				if p > 0 && widths[p] > widths[p-1] {
					t.Errorf("%s: widths %v grow", name, widths)
				}
			}
			if sum != d.Features() || widths[0]-widths[len(widths)-1] > 1 {
				t.Errorf("%s: widths %v for %d features", name, widths, d.Features())
			}
			joined, err := JoinColumns(parts)
			if err != nil {
				t.Fatalf("%s, %d parties: %v", name, parties, err)
			}
			if !reflect.DeepEqual(joined, d) {
				t.Errorf("%s, %d parties: join differs from the original", name, parties)
			}
		}
	}
	parts, _ := diabetes.PartitionColumns(3)
	if w := []int{parts[0].Features(), parts[1].Features(), parts[2].Features()}; !reflect.DeepEqual(w, []int{4, 3, 3}) {
		t.Errorf("diabetes widths %v, want [4 3 3]", w)
	}
}

func TestJoinColumnsLabelHolder(t *testing.T) {
	d := synthWide()
	parts, err := d.PartitionColumns(3)
	if err != nil {
		t.Fatal(err)
	}
	// Only the middle party holds the labels.
	parts[0].Y, parts[2].Y = nil, nil
	joined, err := JoinColumns(parts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(joined, d) {
		t.Errorf("joined %+v, want %+v", joined, d)
	}
	parts[1].Y = nil
	if _, err := JoinColumns(parts); err == nil || !strings.Contains(err.Error(), "no part holds the targets") {
		t.Errorf("no labels: error %v", err)
	}
}

func TestJoinColumnsErrors(t *testing.T) {
	split := func() []*Dataset {
		parts, err := synthWide().PartitionColumns(2)
		if err != nil {
			t.Fatal(err)
		}
		return parts
	}
	tests := []struct {
		name   string
		break_ func([]*Dataset) []*Dataset
		want   string
	}{
		{"no parts", func([]*Dataset) []*Dataset { return nil }, "no parts"},
		{"nil part", func(p []*Dataset) []*Dataset { p[1] = nil; return p }, "part 1 is nil"},
		{"rows", func(p []*Dataset) []*Dataset { p[1].X = p[1].X[:3]; p[1].Y = p[1].Y[:3]; return p }, "part 1 (wide) has 3 rows, part 0 has 4"},
		{"targets", func(p []*Dataset) []*Dataset { p[1].Y[2] = 0; return p }, "row 2: target 0 differs from 1"},
		{"target count", func(p []*Dataset) []*Dataset { p[0].Y = p[0].Y[:2]; return p }, "part 0 (wide) has 2 targets for 4 rows"},
		{"task", func(p []*Dataset) []*Dataset { p[1].Task, p[1].Classes = Regression, 0; return p }, "part 1 (wide) is regression with 0 classes"},
		{"names", func(p []*Dataset) []*Dataset { p[1].FeatureNames = nil; return p }, "part 1 (wide) has no feature names but part 0 has"},
		{"name count", func(p []*Dataset) []*Dataset { p[1].FeatureNames = p[1].FeatureNames[:1]; return p }, "1 feature names for 3 features"},
		{"ragged", func(p []*Dataset) []*Dataset { p[0].X[3] = p[0].X[3][:1]; return p }, "part 0 (wide), row 3 has 1 values, want 4"},
	}
	for _, tt := range tests {
		_, err := JoinColumns(tt.break_(split()))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// A dataset without rows still knows its width from FeatureNames, so it partitions.
func TestPartitionColumnsNoRows(t *testing.T) {
	_, empty, err := synthWide().SplitHoldout(0)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := empty.PartitionColumns(2)
	if err != nil {
		t.Fatal(err)
	}
	if parts[0].Features() != 4 || parts[1].Features() != 3 || parts[0].Rows() != 0 {
		t.Errorf("widths %d and %d, %d rows", parts[0].Features(), parts[1].Features(), parts[0].Rows())
	}
	joined, err := JoinColumns(parts)
	if err != nil {
		t.Fatal(err)
	}
	if joined.Rows() != 0 || joined.Features() != 7 {
		t.Errorf("joined %dx%d", joined.Rows(), joined.Features())
	}
}

func TestPartitionColumnsMNIST(t *testing.T) {
	train, _, err := LoadMNISTSubset(LoadOptions{}, 50, 1)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := train.PartitionColumns(3)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range []int{262, 261, 261} {
		if parts[p].Features() != want || parts[p].Rows() != 50 {
			t.Errorf("part %d: %dx%d, want 50x%d", p, parts[p].Rows(), parts[p].Features(), want)
		}
	}
	if parts[1].FeatureNames[0] != "px262" || parts[2].FeatureNames[0] != "px523" {
		t.Errorf("names start %q and %q", parts[1].FeatureNames[0], parts[2].FeatureNames[0])
	}
	joined, err := JoinColumns(parts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(joined, train) {
		t.Error("join differs from the original")
	}
}
