package train

import (
	"time"

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
	all := split.Train
	features := all.Features()
	spec, err := cfg.Spec(features)
	if err != nil {
		return nil, err
	}
	var testX [][]float64
	if split.Test != nil && split.Test.Rows() > 0 {
		testX = split.Test.X
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
			Evaluate(spec, net.Predict(experiment.DenseOf(scaled.Test, features)), split.Test, &m)
		}
		if spec.CrossEntropy() {
			loss := spec.LossOf(net.Predict(experiment.DenseOf(x, features)), experiment.DenseOf(targets, targetCols))
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
