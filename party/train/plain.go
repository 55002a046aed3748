package train

import (
	"fmt"
	"time"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/experiment"
)

// PlainResult is the plaintext reference run.
type PlainResult struct {
	Epochs []EpochReport
	Model  nn.Params
}

// Plain trains the same network in float64 on the whole training set, in the
// same order, from the same initial model: the reference for Secure.
func Plain(cfg *experiment.Config, split *experiment.Split, report func(EpochReport)) (*PlainResult, error) {
	return PlainOn(cfg, split.Train, split.Test, report)
}

// LocalOnly trains, for every party of a horizontal partition, the same network in
// float64 on that party's rows alone, with the same schedule and initial model,
// standardized with its own statistics, and evaluates it on the same test rows:
// what each party would have had without joining. A vertical partition has no
// local-only model (a party holds only some columns, and one of them the labels):
// nil.
func LocalOnly(cfg *experiment.Config, split *experiment.Split) ([]Metrics, error) {
	if split.Layout.Vertical {
		return nil, nil
	}
	out := make([]Metrics, len(split.Parts))
	for i, part := range split.Parts {
		r, err := PlainOn(cfg, part, split.Test, nil)
		if err != nil {
			return nil, fmt.Errorf("party %d alone: %w", i, err)
		}
		out[i] = r.Epochs[len(r.Epochs)-1].Metrics
	}
	return out, nil
}

// PlainOn is Plain on a given training table.
func PlainOn(cfg *experiment.Config, all, test *dataset.Dataset, report func(EpochReport)) (*PlainResult, error) {
	features := all.Features()
	spec, err := cfg.Spec(features)
	if err != nil {
		return nil, err
	}
	var testX [][]float64
	if test != nil && test.Rows() > 0 {
		testX = test.X
	}
	scaled, err := experiment.Scale(cfg, experiment.FitInTheClear(all.X), all.X, 0, testX)
	if err != nil {
		return nil, err
	}
	x := scaled.Own
	targets := experiment.Targets(all)
	targetCols := len(targets[0])
	net := nn.NewPlain(spec, nn.InitParams(spec, cfg.InitSeed()))
	start := time.Now()
	res := &PlainResult{}
	sse, rowsSeen := 0.0, 0
	for st := range experiment.NewSchedule(cfg, len(x)).Steps() {
		bx, by := experiment.BatchOf(x, targets, st.Rows)
		sse += net.TrainBatch(bx, by, cfg.Optimizer(st.Epoch)) * float64(len(st.Rows)*targetCols)
		rowsSeen += len(st.Rows)
		if !st.LastOfEpoch {
			continue
		}
		var m Metrics
		if scaled.Test != nil {
			Evaluate(spec, predictRows(spec, net.Params, scaled.Test), test, &m)
		}
		if spec.CrossEntropy() {
			loss := spec.LossOf(predictRows(spec, net.Params, x), experiment.DenseOf(targets, targetCols))
			m.TrainLoss = &loss
		} else if rowsSeen > 0 {
			loss := sse / float64(rowsSeen*targetCols)
			m.TrainLoss = &loss
		}
		r := EpochReport{Epoch: st.Epoch + 1, Metrics: m, Elapsed: time.Since(start), Steps: st.Done}
		res.Epochs = append(res.Epochs, r)
		if report != nil {
			report(r)
		}
		sse, rowsSeen = 0, 0
	}
	res.Model = net.Params
	return res, nil
}
