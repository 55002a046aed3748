package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSubsetViewSharesRows(t *testing.T) {
	d := sequence(5)
	v := d.SubsetView([]int{4, 1, 1})
	if v.Rows() != 3 || v.X[0][0] != 4 || v.X[2][0] != 1 || v.Y[0] != 4 || v.Name != d.Name {
		t.Fatalf("got %v %v", v.X, v.Y)
	}
	if &v.X[0][0] != &d.X[4][0] || &v.X[1][0] != &d.X[1][0] {
		t.Error("SubsetView copied the rows")
	}
	v.FeatureNames[0] = "changed"
	v.Y[0] = -1
	if d.FeatureNames[0] != "i" || d.Y[4] != 4 {
		t.Error("SubsetView shares the header or the targets")
	}
	// A row is capped: appending to it never writes into the next row.
	grown := append(v.X[1], 99)
	if d.X[2][0] != 2 || &grown[0] == &d.X[1][0] {
		t.Error("appending to a viewed row wrote into its source")
	}
}

func TestPartitionContiguousView(t *testing.T) {
	for _, tt := range []struct{ rows, parties int }{{10, 1}, {10, 3}, {11, 3}, {442, 5}} {
		d := sequence(tt.rows)
		copies, err := d.PartitionContiguous(tt.parties)
		if err != nil {
			t.Fatal(err)
		}
		views, err := d.PartitionContiguousView(tt.parties)
		if err != nil {
			t.Fatal(err)
		}
		lo := 0
		for i, v := range views {
			checkRows(t, v, lo, copies[i].Rows())
			if &v.X[0][0] != &d.X[lo][0] {
				t.Errorf("%d rows, %d parties: part %d copied its rows", tt.rows, tt.parties, i)
			}
			lo += v.Rows()
		}
	}
	for _, p := range []int{-1, 0, 4} {
		if _, err := sequence(3).PartitionContiguousView(p); err == nil {
			t.Errorf("PartitionContiguousView(%d) of 3 rows: no error", p)
		}
	}
}

func TestContiguousBlocks(t *testing.T) {
	bounds, err := ContiguousBlocks(11, 3)
	if err != nil || len(bounds) != 4 || bounds[0] != 0 || bounds[1] != 4 || bounds[2] != 8 || bounds[3] != 11 {
		t.Errorf("ContiguousBlocks(11, 3) = %v, %v", bounds, err)
	}
	if _, err := ContiguousBlocks(2, 3); err == nil {
		t.Error("3 parties for 2 rows: no error")
	}
}

func TestLoadMNISTRowsSynthetic(t *testing.T) {
	dir := t.TempDir()
	writeMNIST(t, dir, nil)
	all, allTest, err := LoadMNIST(LoadOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	keep := []int{2, 0, 2}
	part, test, err := LoadMNISTRows(LoadOptions{Dir: dir}, 3, 2, keep)
	if err != nil {
		t.Fatal(err)
	}
	if part.Rows() != len(keep) || part.Classes != 10 || part.Task != Classification || len(part.FeatureNames) != MNISTFeatures {
		t.Fatalf("part: %d rows, %d classes, %d names", part.Rows(), part.Classes, len(part.FeatureNames))
	}
	for k, i := range keep {
		if !equalFloats(part.X[k], all.X[i]) || part.Y[k] != all.Y[i] {
			t.Errorf("kept row %d differs from row %d of the full load", k, i)
		}
	}
	if cap(part.X[0]) != MNISTFeatures {
		t.Errorf("row capacity %d, want %d", cap(part.X[0]), MNISTFeatures)
	}
	for i := range test.X {
		if !equalFloats(test.X[i], allTest.X[i]) || test.Y[i] != allTest.Y[i] {
			t.Errorf("test row %d differs from the full load", i)
		}
	}
	for _, bad := range [][]int{{3}, {-1}} {
		if _, _, err := LoadMNISTRows(LoadOptions{Dir: dir}, 3, 2, bad); err == nil || !strings.Contains(err.Error(), "kept row 0") {
			t.Errorf("keep %v: error %v", bad, err)
		}
	}
	empty, _, err := LoadMNISTRows(LoadOptions{Dir: dir}, 3, 2, nil)
	if err != nil || empty.Rows() != 0 {
		t.Errorf("keeping nothing: %v rows, %v", empty.Rows(), err)
	}
}

// A kept part checks the files as the full load does: a damaged trailer is found
// even though the damaged bytes are not in a kept row.
func TestLoadMNISTRowsChecksFiles(t *testing.T) {
	dir := t.TempDir()
	writeMNIST(t, dir, nil)
	path := filepath.Join(dir, mnistTrainImages)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-8] ^= 0xff // the CRC-32 in the gzip trailer
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadMNISTRows(LoadOptions{Dir: dir}, 3, 2, []int{0}); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("error %v, want a checksum mismatch", err)
	}
}

func TestLoadMNISTRowsReal(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the real MNIST")
	}
	train, test := realMNIST(t)
	keep := []int{59999, 0, 31337, 20000}
	part, subTest, err := LoadMNISTRows(LoadOptions{}, 60000, 100, keep)
	if err != nil {
		t.Fatal(err)
	}
	for k, i := range keep {
		if !equalFloats(part.X[k], train.X[i]) || part.Y[k] != train.Y[i] {
			t.Errorf("kept row %d differs from row %d of the full load", k, i)
		}
	}
	for i := range subTest.X {
		if !equalFloats(subTest.X[i], test.X[i]) {
			t.Fatalf("test row %d differs from the full load", i)
		}
	}
}
