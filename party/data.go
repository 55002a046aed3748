package party

import (
	"fmt"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/sharing"
)

// Split is an experiment's data as the parties hold it: each party's own training
// rows, and the held-out test rows used to evaluate the revealed model.
type Split struct {
	Task    dataset.Task
	Classes int
	Parts   []*dataset.Dataset
	Test    *dataset.Dataset
}

// RowsPerParty is public metadata: how many training rows each party holds.
func (s *Split) RowsPerParty() []int {
	out := make([]int, len(s.Parts))
	for i, p := range s.Parts {
		out[i] = p.Rows()
	}
	return out
}

// LoadSplit loads the configured dataset, holds out the test rows and partitions
// the rest among the parties. In a deployment each node keeps only its own part.
func LoadSplit(cfg *Config) (*Split, error) {
	d, err := dataset.Load(cfg.Dataset.Name, dataset.LoadOptions{Dir: cfg.Dataset.Dir})
	if err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	train, test, err := d.SplitHoldout(cfg.Dataset.TestRows)
	if err != nil {
		return nil, fmt.Errorf("dataset.test_rows: %w", err)
	}
	if train.Rows() < cfg.Parties {
		return nil, fmt.Errorf("dataset %s: %d training rows cannot be split among %d parties", d.Name, train.Rows(), cfg.Parties)
	}
	parts, err := train.PartitionContiguous(cfg.Parties)
	if err != nil {
		return nil, fmt.Errorf("dataset.partition: %w", err)
	}
	s := &Split{Task: d.Task, Classes: d.Classes, Parts: parts, Test: test}
	if err := checkModelFits(cfg, d.Features(), TargetColumns(d.Task, d.Classes)); err != nil {
		return nil, err
	}
	return s, nil
}

// TargetColumns is the width of the target matrix: one for regression and binary
// classification (a 0/1 column), one-hot otherwise.
func TargetColumns(task dataset.Task, classes int) int {
	if task == dataset.Classification && classes > 2 {
		return classes
	}
	return 1
}

// checkModelFits fails fast when the model's output does not match the data.
func checkModelFits(cfg *Config, features, targets int) error {
	last := len(cfg.Model.Layers) - 1
	if units := cfg.Model.Layers[last].Units; units != targets {
		return fmt.Errorf("model.layers[%d].units: the output layer has %d units but dataset %s has %d target column(s)", last, units, cfg.Dataset.Name, targets)
	}
	if features < 1 {
		return fmt.Errorf("dataset %s has no feature columns", cfg.Dataset.Name)
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

// denseOf copies rows into a matrix; rows must not be empty.
func denseOf(rows [][]float64, cols int) *mat.Dense {
	m := mat.NewDense(len(rows), cols, nil)
	for i, r := range rows {
		m.SetRow(i, r)
	}
	return m
}

func encodeRows(codec sharing.Codec, rows [][]float64, cols int, what string) (sharing.Tensor, error) {
	flat := make([]float64, 0, len(rows)*cols)
	for _, r := range rows {
		flat = append(flat, r...)
	}
	t, err := codec.EncodeTensor(flat, len(rows), cols)
	if err != nil {
		// EncodeTensor names the flat element; name the row and column instead.
		var idx int
		if _, scanErr := fmt.Sscanf(err.Error(), "element %d:", &idx); scanErr == nil && cols > 0 {
			return t, fmt.Errorf("%s row %d, column %d: %s", what, idx/cols, idx%cols, strings.TrimPrefix(err.Error(), fmt.Sprintf("element %d: ", idx)))
		}
		return t, fmt.Errorf("%s: %w", what, err)
	}
	return t, nil
}

// EpochOrder is the public order in which training rows are visited in an epoch:
// a Fisher-Yates shuffle driven by the config's public seed, or the identity.
func EpochOrder(cfg *Config, epoch, rows int) []int {
	order := make([]int, rows)
	for i := range order {
		order[i] = i
	}
	if !cfg.Training.Shuffle {
		return order
	}
	prg := sharing.NewPRG(cfg.InitSeed(), uint64(1+epoch))
	for i := rows - 1; i > 0; i-- {
		j := int(prg.Uint64() % uint64(i+1)) // bias below 2^-40 for any real row count
		order[i], order[j] = order[j], order[i]
	}
	return order
}
