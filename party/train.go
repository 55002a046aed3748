package party

import (
	"context"
	"fmt"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// Metrics of a model at the end of an epoch. TrainLoss is the mean squared error
// over the epoch's batches, each measured before its update. Test metrics are
// absent when no rows are held out.
type Metrics struct {
	TrainLoss    float64  `json:"train_loss"`
	TestMSE      *float64 `json:"test_mse,omitempty"`
	TestAccuracy *float64 `json:"test_accuracy,omitempty"`
}

// EpochReport is what a run reports after every epoch.
type EpochReport struct {
	Epoch   int           `json:"epoch"`
	Metrics Metrics       `json:"metrics"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Local is what one party holds: its own training rows, the public number of rows
// every party holds, and the rows it evaluates the revealed model on.
type Local struct {
	Own          *dataset.Dataset
	RowsPerParty []int
	Test         *dataset.Dataset
}

// SecureResult is one party's outcome of a secure run.
type SecureResult struct {
	Epochs []EpochReport
	Model  nn.Params
	Scaler *dataset.Standardizer
}

// TrainSecure is one party's secure training: secure feature scaling, input
// sharing, SGD on shares, and per epoch one opened loss and the revealed model
// evaluated on the party's test rows. Every party calls it with the same config
// and public metadata.
func TrainSecure(ctx context.Context, cfg *Config, e *protocol.Engine, local Local, report func(EpochReport)) (*SecureResult, error) {
	codec := e.Codec()
	self := e.Self()
	if len(local.RowsPerParty) != e.Parties() {
		return nil, fmt.Errorf("party %d: row counts for %d parties, engine has %d", self, len(local.RowsPerParty), e.Parties())
	}
	if local.RowsPerParty[self] != local.Own.Rows() {
		return nil, fmt.Errorf("party %d: declared %d rows but holds %d", self, local.RowsPerParty[self], local.Own.Rows())
	}
	features := local.Own.Features()
	targetCols := TargetColumns(local.Own.Task, local.Own.Classes)
	spec, err := cfg.Spec(features)
	if err != nil {
		return nil, err
	}
	if err := checkModelFits(cfg, features, targetCols); err != nil {
		return nil, err
	}
	total := 0
	for _, r := range local.RowsPerParty {
		total += r
	}
	res := &SecureResult{}
	ownX, testX := local.Own.X, [][]float64(nil)
	if local.Test != nil {
		testX = local.Test.X
	}
	if cfg.Dataset.Scaling == "standardize" {
		scaler, err := secureStandardizer(ctx, e, local.Own, total)
		if err != nil {
			return nil, fmt.Errorf("party %d: feature scaling: %w", self, err)
		}
		res.Scaler = &scaler
		ownX = scaler.Apply(ownX)
		if testX != nil {
			testX = scaler.Apply(testX)
		}
	}
	mineX, err := encodeRows(codec, ownX, features, "training data")
	if err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	mineY, err := encodeRows(codec, Targets(local.Own), targetCols, "training targets")
	if err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	var xs, ys []sharing.Tensor
	for p, rows := range local.RowsPerParty {
		var vx, vy sharing.Tensor
		if p == self {
			vx, vy = mineX, mineY
		}
		sx, err := e.Input(ctx, p, vx, rows, features)
		if err != nil {
			return nil, fmt.Errorf("party %d: sharing party %d's rows: %w", self, p, err)
		}
		sy, err := e.Input(ctx, p, vy, rows, targetCols)
		if err != nil {
			return nil, fmt.Errorf("party %d: sharing party %d's targets: %w", self, p, err)
		}
		xs, ys = append(xs, sx), append(ys, sy)
	}
	allX, allY := sharing.ConcatRows(xs...), sharing.ConcatRows(ys...)

	net, err := nn.NewSecure(e, spec, nn.InitParams(spec, cfg.InitSeed()))
	if err != nil {
		return nil, err
	}
	start := time.Now()
	for epoch := 0; epoch < cfg.Training.Epochs; epoch++ {
		order := EpochOrder(cfg, epoch, total)
		sse := sharing.Zeros(1, targetCols)
		for from := 0; from < total; from += cfg.Training.BatchSize {
			idx := order[from:min(from+cfg.Training.BatchSize, total)]
			s, err := net.TrainBatch(ctx, sharing.GatherRows(allX, idx), sharing.GatherRows(allY, idx), cfg.Training.LearningRate)
			if err != nil {
				return nil, fmt.Errorf("party %d: epoch %d, batch at row %d: %w", self, epoch+1, from, err)
			}
			sharing.AddInPlace(sse, s)
		}
		opened, err := e.Open(ctx, sse)
		if err != nil {
			return nil, fmt.Errorf("party %d: epoch %d: opening the loss: %w", self, epoch+1, err)
		}
		loss := 0.0
		for _, v := range codec.DecodeTensor(opened[0]) {
			loss += v
		}
		params, err := net.Reveal(ctx)
		if err != nil {
			return nil, fmt.Errorf("party %d: epoch %d: %w", self, epoch+1, err)
		}
		m := evaluate(spec, params, testX, local.Test)
		m.TrainLoss = loss / float64(total*targetCols)
		r := EpochReport{Epoch: epoch + 1, Metrics: m, Elapsed: time.Since(start)}
		res.Epochs = append(res.Epochs, r)
		res.Model = params
		if report != nil {
			report(r)
		}
	}
	return res, nil
}

// secureStandardizer computes the global mean and standard deviation per feature:
// each party shares its column sums and sums of squares, the parties add them and
// open only the totals. Individual rows and per-party statistics stay private.
func secureStandardizer(ctx context.Context, e *protocol.Engine, own *dataset.Dataset, total int) (dataset.Standardizer, error) {
	codec := e.Codec()
	features := own.Features()
	sum, sumSq := dataset.ColumnSums(own.X)
	mine, err := codec.EncodeTensor(append(append([]float64(nil), sum...), sumSq...), 2, features)
	if err != nil {
		return dataset.Standardizer{}, fmt.Errorf("column statistics too large for fixed point: %w", err)
	}
	acc := sharing.Zeros(2, features)
	for p := 0; p < e.Parties(); p++ {
		var v sharing.Tensor
		if p == e.Self() {
			v = mine
		}
		s, err := e.Input(ctx, p, v, 2, features)
		if err != nil {
			return dataset.Standardizer{}, err
		}
		sharing.AddInPlace(acc, s)
	}
	opened, err := e.Open(ctx, acc)
	if err != nil {
		return dataset.Standardizer{}, err
	}
	vals := codec.DecodeTensor(opened[0])
	return dataset.FitStandardizer(vals[:features], vals[features:], total)
}

func evaluate(spec nn.Spec, params nn.Params, x [][]float64, test *dataset.Dataset) Metrics {
	var m Metrics
	if test == nil || test.Rows() == 0 {
		return m
	}
	targets := Targets(test)
	pred := nn.Predict(spec, params, denseOf(x, spec.Inputs))
	t := denseOf(targets, len(targets[0]))
	mse := nn.MSE(pred, t)
	m.TestMSE = &mse
	if test.Task == dataset.Classification {
		acc := nn.Accuracy(pred, t)
		m.TestAccuracy = &acc
	}
	return m
}

// PlainResult is the plaintext reference run.
type PlainResult struct {
	Epochs []EpochReport
	Model  nn.Params
}

// TrainPlain trains the same network in float64 on the union of the parties' rows,
// in the same order, from the same initial model: the reference for TrainSecure.
func TrainPlain(cfg *Config, split *Split, report func(EpochReport)) (*PlainResult, error) {
	all := &dataset.Dataset{Name: cfg.Dataset.Name, Task: split.Task, Classes: split.Classes}
	for _, p := range split.Parts {
		all.X = append(all.X, p.X...)
		all.Y = append(all.Y, p.Y...)
	}
	features := split.Parts[0].Features()
	spec, err := cfg.Spec(features)
	if err != nil {
		return nil, err
	}
	x := all.X
	var testX [][]float64
	if split.Test != nil {
		testX = split.Test.X
	}
	if cfg.Dataset.Scaling == "standardize" {
		sum, sumSq := dataset.ColumnSums(x)
		scaler, err := dataset.FitStandardizer(sum, sumSq, len(x))
		if err != nil {
			return nil, err
		}
		x = scaler.Apply(x)
		if testX != nil {
			testX = scaler.Apply(testX)
		}
	}
	targets := Targets(all)
	targetCols := len(targets[0])
	net := nn.NewPlain(spec, nn.InitParams(spec, cfg.InitSeed()))
	total := len(x)
	start := time.Now()
	res := &PlainResult{}
	for epoch := 0; epoch < cfg.Training.Epochs; epoch++ {
		order := EpochOrder(cfg, epoch, total)
		sse := 0.0
		for from := 0; from < total; from += cfg.Training.BatchSize {
			idx := order[from:min(from+cfg.Training.BatchSize, total)]
			bx := mat.NewDense(len(idx), features, nil)
			by := mat.NewDense(len(idx), targetCols, nil)
			for i, r := range idx {
				bx.SetRow(i, x[r])
				by.SetRow(i, targets[r])
			}
			sse += net.TrainBatch(bx, by, cfg.Training.LearningRate) * float64(len(idx)*targetCols)
		}
		m := evaluate(spec, net.Params, testX, split.Test)
		m.TrainLoss = sse / float64(total*targetCols)
		r := EpochReport{Epoch: epoch + 1, Metrics: m, Elapsed: time.Since(start)}
		res.Epochs = append(res.Epochs, r)
		if report != nil {
			report(r)
		}
	}
	res.Model = net.Params
	return res, nil
}
