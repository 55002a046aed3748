package experiment

import (
	"fmt"
	"strings"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/sharing"
	"gonum.org/v1/gonum/mat"
)

// Layout is the public shape of a partition: who holds which rows or columns.
type Layout struct {
	Vertical     bool  `json:"vertical"`
	RowsPerParty []int `json:"rows_per_party,omitempty"` // horizontal
	ColsPerParty []int `json:"cols_per_party,omitempty"` // vertical
	Rows         int   `json:"rows"`                     // training rows in all
	Features     int   `json:"features"`
	LabelHolder  int   `json:"label_holder"` // vertical: the party holding the labels
}

// Parties is the number of parties in the layout.
func (l Layout) Parties() int {
	if l.Vertical {
		return len(l.ColsPerParty)
	}
	return len(l.RowsPerParty)
}

// Split is an experiment's data as the parties hold it: each party's own part of
// the training set, the whole training set (for the plaintext reference, which
// only a simulation can run) and the test rows the model is evaluated on.
type Split struct {
	Task    dataset.Task
	Classes int
	Parts   []*dataset.Dataset
	Train   *dataset.Dataset
	Test    *dataset.Dataset
	Layout  Layout
}

// LoadSplit loads the configured dataset, splits off the test rows and partitions
// the rest among the parties (split by rows, the parts of a named dataset share the
// rows of Train, which must not be written to). A deployed party loads only its
// own part with LoadOwnPart.
func LoadSplit(cfg *Config) (*Split, error) {
	var train, test *dataset.Dataset
	var parts []*dataset.Dataset
	var err error
	if cfg.Dataset.CSV != nil {
		train, test, parts, err = loadCSVSplit(cfg)
	} else {
		train, test, err = loadTrainTest(cfg)
	}
	if err != nil {
		return nil, err
	}
	s := &Split{Task: train.Task, Classes: train.Classes, Train: train, Test: test}
	if cfg.Dataset.Partition == PartitionVertical {
		if train.Features() < cfg.Parties {
			return nil, fmt.Errorf("dataset.partition: %d feature columns cannot be split among %d parties", train.Features(), cfg.Parties)
		}
		if cfg.Dataset.CSV != nil && len(cfg.Dataset.CSV.ColumnGroups) > 0 {
			s.Parts, err = train.PartitionColumnWidths(cfg.Dataset.CSV.groupWidths())
		} else {
			s.Parts, err = train.PartitionColumns(cfg.Parties)
		}
		if err != nil {
			return nil, fmt.Errorf("dataset.partition: %w", err)
		}
		s.Layout = Layout{Vertical: true, Rows: train.Rows(), Features: train.Features(), LabelHolder: cfg.Dataset.LabelHolder}
		for _, p := range s.Parts {
			s.Layout.ColsPerParty = append(s.Layout.ColsPerParty, p.Features())
		}
	} else {
		if train.Rows() < cfg.Parties {
			return nil, fmt.Errorf("dataset %s: %d training rows cannot be split among %d parties", train.Name, train.Rows(), cfg.Parties)
		}
		// The parts share the training set's rows (nobody writes to them), so that a
		// simulation holds the data once for the parties and the plaintext reference.
		switch {
		case parts != nil:
			s.Parts = parts
		case cfg.Dataset.Partition == PartitionRandom:
			s.Train = train.SubsetView(dealtOrder(cfg, train.Rows())) // the plaintext twin sees the rows in the parties' order
			s.Parts, err = s.Train.PartitionContiguousView(cfg.Parties)
		default:
			s.Parts, err = train.PartitionContiguousView(cfg.Parties)
		}
		if err != nil {
			return nil, fmt.Errorf("dataset.partition: %w", err)
		}
		s.Layout = Layout{Rows: train.Rows(), Features: train.Features()}
		for _, p := range s.Parts {
			s.Layout.RowsPerParty = append(s.Layout.RowsPerParty, p.Rows())
		}
	}
	if err := CheckModelFits(cfg, train.Features(), TargetColumns(train.Task, train.Classes)); err != nil {
		return nil, err
	}
	return s, nil
}

func loadTrainTest(cfg *Config) (train, test *dataset.Dataset, err error) {
	if cfg.Dataset.CSV != nil {
		train, test, _, err = loadCSVSplit(cfg)
		return train, test, err
	}
	opts := dataset.LoadOptions{Dir: cfg.Dataset.Dir}
	if isMNIST(cfg) {
		trainRows, testRows := mnistRows(cfg)
		train, test, err = dataset.LoadMNISTSubset(opts, trainRows, testRows)
		if err != nil {
			return nil, nil, err
		}
	} else {
		d, err := dataset.Load(cfg.Dataset.Name, opts)
		if err != nil {
			return nil, nil, err
		}
		if err := d.Validate(); err != nil {
			return nil, nil, err
		}
		if cfg.Dataset.ShuffleRows {
			d = d.Subset(publicPermutation(cfg, d.Rows()))
		}
		if train, test, err = d.SplitHoldout(cfg.Dataset.TestRows); err != nil {
			return nil, nil, fmt.Errorf("dataset.test_rows: %w", err)
		}
		if cfg.Dataset.TrainRows > 0 && cfg.Dataset.TrainRows < train.Rows() {
			train = train.Subset(seq(cfg.Dataset.TrainRows))
		}
	}
	if err := train.Validate(); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

func isMNIST(cfg *Config) bool { return strings.EqualFold(cfg.Dataset.Name, "mnist") }

// mnistRows is how many training and test images an MNIST experiment reads.
func mnistRows(cfg *Config) (trainRows, testRows int) {
	trainRows, testRows = cfg.Dataset.TrainRows, cfg.Dataset.TestRows
	if trainRows == 0 || trainRows > dataset.MNISTTrainRows {
		trainRows = dataset.MNISTTrainRows
	}
	if testRows == 0 || testRows > dataset.MNISTTestRows {
		testRows = dataset.MNISTTestRows
	}
	return trainRows, testRows
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TargetColumns is the width of the target matrix: one for regression and binary
// classification (a 0/1 column), one-hot otherwise.
func TargetColumns(task dataset.Task, classes int) int {
	if task == dataset.Classification && classes > 2 {
		return classes
	}
	return 1
}

// CheckModelFits fails fast when the model's output does not match the data.
func CheckModelFits(cfg *Config, features, targets int) error {
	last := len(cfg.Model.Layers) - 1
	if units := cfg.Model.Layers[last].Units; units != targets {
		return fmt.Errorf("model.layers[%d].units: the output layer has %d units but dataset %s has %d target column(s)", last, units, cfg.Dataset.Title(), targets)
	}
	if features < 1 {
		return fmt.Errorf("dataset %s has no feature columns", cfg.Dataset.Title())
	}
	return nil
}

// Targets returns the target matrix of d.
func Targets(d *dataset.Dataset) [][]float64 {
	if d.Task == dataset.Classification && d.Classes > 2 {
		return dataset.OneHot(d.Y, d.Classes)
	}
	out := make([][]float64, len(d.Y))
	for i, y := range d.Y {
		out[i] = []float64{y}
	}
	return out
}

// DenseOf copies rows into a matrix; rows must not be empty.
func DenseOf(rows [][]float64, cols int) *mat.Dense {
	m := mat.NewDense(len(rows), cols, nil)
	for i, r := range rows {
		m.SetRow(i, r)
	}
	return m
}

// EncodeRows encodes a table into fixed point; errors name the row and column.
func EncodeRows(codec sharing.Codec, rows [][]float64, cols int, what string) (sharing.Tensor, error) {
	t := sharing.Zeros(len(rows), cols)
	for i, r := range rows {
		for j, v := range r {
			enc, err := codec.Encode(v)
			if err != nil {
				return t, fmt.Errorf("%s row %d, column %d: %w", what, i, j, err)
			}
			t.Data[i*cols+j] = enc
		}
	}
	return t, nil
}

// publicPermutation is a permutation of the dataset's rows drawn from the public
// seed (a stream no epoch order uses).
func publicPermutation(cfg *Config, rows int) []int {
	return permutation(sharing.NewPRG(cfg.InitSeed(), 1<<32), rows)
}

// dealtOrder is the order in which a random partition deals the training rows
// out in contiguous blocks.
func dealtOrder(cfg *Config, rows int) []int {
	return permutation(sharing.NewPRG(cfg.InitSeed(), 1<<32+2), rows)
}

func permutation(prg *sharing.PRG, rows int) []int {
	order := seq(rows)
	for i := rows - 1; i > 0; i-- {
		j := int(prg.Uint64() % uint64(i+1)) // bias below 2^-40 for any real row count
		order[i], order[j] = order[j], order[i]
	}
	return order
}

// LoadTestSet loads only the configured test rows (for evaluating a saved model).
func LoadTestSet(cfg *Config) (*dataset.Dataset, error) {
	_, test, err := loadTrainTest(cfg)
	if err != nil {
		return nil, err
	}
	if test.Rows() == 0 {
		return nil, fmt.Errorf("dataset.test_rows: the experiment holds out no test rows")
	}
	return test, nil
}

// BatchOf gathers a batch's rows and targets into matrices.
func BatchOf(x, targets [][]float64, rows []int) (bx, by *mat.Dense) {
	bx = mat.NewDense(len(rows), len(x[0]), nil)
	by = mat.NewDense(len(rows), len(targets[0]), nil)
	for i, r := range rows {
		bx.SetRow(i, x[r])
		by.SetRow(i, targets[r])
	}
	return bx, by
}
