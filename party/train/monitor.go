package train

import (
	"context"
	"fmt"
	"math"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
	"gonum.org/v1/gonum/mat"
)

// What a run opens, per output mode (docs/security.md keeps the same list):
//
//	every mode, once:  the totals of the feature sums and sums of squares (scaling: standardize)
//	reveal, per epoch: the training loss total and the model, to every party (test
//	                   metrics are computed locally from the model)
//	reveal-to:         per epoch the training loss total and the test predictions,
//	                   to the output party only, and one range-check bit to every
//	                   party; at the end the model, to the output party only
//	shared:            per epoch the training loss total, the test squared-error
//	                   total (mean squared error) or correct count (classification),
//	                   and one range-check bit, each one number, to every party
//
// Every opening goes through open, which notes it in the result's Openings, so
// the list is checked by tests rather than only written down.

// Opening is one declared output a run opened.
type Opening struct {
	Epoch  int    `json:"epoch"` // 0: before training
	What   string `json:"what"`
	Values int    `json:"values"`
	To     int    `json:"to"` // a party, or Everyone
}

// Everyone is the To of an opening to all parties.
const Everyone = -1

// monitor opens an epoch's declared outputs, as the output mode allows.
type monitor struct {
	cfg   *experiment.Config
	e     *protocol.Engine
	net   *nn.Secure
	local Local
	in    secureInputs
	res   *SecureResult
	epoch int
}

// open opens x to `to` (Everyone or a party) and notes it; it returns the
// opened value where this party learns it.
func (mo *monitor) open(ctx context.Context, what string, x sharing.Tensor, to int) (sharing.Tensor, bool, error) {
	mo.res.Openings = append(mo.res.Openings, Opening{Epoch: mo.epoch, What: what, Values: x.Len(), To: to})
	if to == Everyone {
		opened, err := mo.e.Open(ctx, x)
		if err != nil {
			return sharing.Tensor{}, false, fmt.Errorf("opening the %s: %w", what, err)
		}
		return opened[0], true, nil
	}
	opened, err := mo.e.OpenTo(ctx, x, to)
	if err != nil {
		return sharing.Tensor{}, false, fmt.Errorf("opening the %s to party %d: %w", what, to, err)
	}
	return opened, mo.e.Self() == to, nil
}

// monitorParty is who learns the per-epoch metrics: the output party with
// reveal-to, every party otherwise.
func monitorParty(cfg *experiment.Config) int {
	if cfg.Output.Model == experiment.OutputRevealTo {
		return cfg.Output.Party
	}
	return Everyone
}

// Reporter is a party that learns every per-epoch metric: the one a simulation
// reports.
func Reporter(cfg *experiment.Config) int {
	if p := monitorParty(cfg); p != Everyone {
		return p
	}
	return 0
}

// endEpoch opens the epoch's training loss (mean squared error: the loss summed
// over its batches, one total) and the test metrics the output mode allows.
func (mo *monitor) endEpoch(ctx context.Context, sse sharing.Tensor, rowsSeen int, m *Metrics) error {
	if !mo.in.spec.CrossEntropy() && rowsSeen > 0 {
		total, learned, err := mo.open(ctx, "training loss total", sumAll(sse), monitorParty(mo.cfg))
		if err != nil {
			return err
		}
		if learned {
			loss := mo.e.Codec().Decode(total.Data[0]) / float64(rowsSeen*mo.in.targetCols)
			m.TrainLoss = &loss
		}
	}
	if mo.cfg.Output.Model == experiment.OutputReveal {
		return mo.revealed(ctx, m)
	}
	if err := mo.checkWeightRange(ctx); err != nil {
		return err
	}
	if mo.in.scaled.Test == nil {
		return nil
	}
	if mo.cfg.Output.Model == experiment.OutputRevealTo {
		return mo.predictionsToOutputParty(ctx, m)
	}
	return mo.aggregateTestMetrics(ctx, m)
}

// revealed opens the model to every party (it is the agreed output anyway),
// checks its range and evaluates it in float64.
func (mo *monitor) revealed(ctx context.Context, m *Metrics) error {
	spec := mo.net.Spec
	mo.res.Openings = append(mo.res.Openings, Opening{Epoch: mo.epoch, What: "model", Values: flatten(mo.net).Len(), To: Everyone})
	params, err := mo.net.Reveal(ctx)
	if err != nil {
		return err
	}
	if w, limit := params.MaxAbs(), WeightLimit(mo.cfg.Precision); w > limit || math.IsNaN(w) {
		return fmt.Errorf("training diverged: a weight reached %.3g (limit %.3g at precision %d); lower the learning rate", w, limit, mo.cfg.Precision)
	}
	mo.res.Model = &params
	if mo.in.scaled.Test != nil {
		Evaluate(spec, predictRows(spec, params, mo.in.scaled.Test), mo.local.Test, m)
	}
	if spec.CrossEntropy() && !mo.local.Layout.Vertical {
		loss, err := mo.aggregateLoss(ctx, params)
		if err != nil {
			return err
		}
		m.TrainLoss = &loss
	}
	return nil
}

// aggregateLoss sums every party's loss over its own rows under the revealed model,
// securely: only the total is opened.
func (mo *monitor) aggregateLoss(ctx context.Context, params nn.Params) (float64, error) {
	spec, ownX := mo.net.Spec, mo.in.scaled.Own
	local := 0.0
	if len(ownX) > 0 {
		ownY := experiment.Targets(mo.local.Own)
		pred := predictRows(spec, params, ownX)
		local = spec.LossOf(pred, experiment.DenseOf(ownY, len(ownY[0]))) * float64(len(ownX))
	}
	codec := mo.e.Codec()
	enc, err := codec.Encode(local)
	if err != nil {
		return 0, &PrivateError{Public: "its training loss does not fit fixed point", Err: err}
	}
	mo.res.Openings = append(mo.res.Openings, Opening{Epoch: mo.epoch, What: "training loss total", Values: 1, To: Everyone})
	total, err := openSum(ctx, mo.e, sharing.Tensor{Shape: []int{1}, Data: []uint64{enc}})
	if err != nil {
		return 0, err
	}
	return codec.Decode(total.Data[0]) / float64(mo.local.Layout.Rows), nil
}

// checkWeightRange stops training when a weight of the shared model reaches
// WeightLimit, past which truncation would silently go wrong: a secure range
// check that opens one bit (any weight out of range, or none).
func (mo *monitor) checkWeightRange(ctx context.Context) error {
	all := flatten(mo.net)
	f := mo.cfg.Precision
	limit := WeightLimit(f)
	mo.res.Openings = append(mo.res.Openings, Opening{Epoch: mo.epoch, What: "weight range bit", Values: 1, To: Everyone})
	outside, err := mo.e.AnyAbsAtLeast(ctx, all, uint64(math.Ldexp(limit, f)))
	if err != nil {
		return fmt.Errorf("weight range check: %w", err)
	}
	if outside {
		return fmt.Errorf("training diverged: a weight of the shared model reached the limit %.3g at precision %d (secure range check); lower the learning rate", limit, f)
	}
	return nil
}

// predictionsToOutputParty opens the test predictions to the output party only,
// who evaluates them; the others learn nothing of this epoch's metrics.
func (mo *monitor) predictionsToOutputParty(ctx context.Context, m *Metrics) error {
	out, err := predictShared(ctx, mo.e, mo.net, mo.in.scaled.Test)
	if err != nil {
		return err
	}
	opened, learned, err := mo.open(ctx, "test predictions", out, mo.cfg.Output.Party)
	if err != nil || !learned {
		return err
	}
	Evaluate(mo.net.Spec, mat.NewDense(len(mo.in.scaled.Test), mo.net.Spec.Outputs(), mo.e.Codec().DecodeTensor(opened)), mo.local.Test, m)
	return nil
}

// aggregateTestMetrics opens only totals of the epoch's test predictions.
func (mo *monitor) aggregateTestMetrics(ctx context.Context, m *Metrics) error {
	opened, err := SharedTestMetrics(ctx, mo.e, mo.net, mo.in.scaled.Test, mo.local.Test, m)
	for _, o := range opened {
		o.Epoch = mo.epoch
		mo.res.Openings = append(mo.res.Openings, o)
	}
	return err
}

// SharedTestMetrics evaluates a shared model on public rows x (scaled as the
// model expects; test holds their targets) and opens only totals, to every party:
// the squared error over the rows (mean squared error loss) and the number of rows
// classified right (classification). It returns what it opened.
func SharedTestMetrics(ctx context.Context, e *protocol.Engine, net *nn.Secure, x [][]float64, test *dataset.Dataset, m *Metrics) ([]Opening, error) {
	out, err := predictShared(ctx, e, net, x)
	if err != nil {
		return nil, err
	}
	targets := experiment.Targets(test)
	t := experiment.DenseOf(targets, len(targets[0]))
	var opened []Opening
	open := func(what string, total sharing.Tensor) (float64, error) {
		opened = append(opened, Opening{What: what, Values: 1, To: Everyone})
		v, err := e.Open(ctx, total)
		if err != nil {
			return 0, fmt.Errorf("opening the %s: %w", what, err)
		}
		return float64(int64(v[0].Data[0])), nil
	}
	if !net.Spec.CrossEntropy() {
		sse, err := nn.SquaredErrorTotal(ctx, e, out, t)
		if err != nil {
			return opened, err
		}
		total, err := open("test squared-error total", sse)
		if err != nil {
			return opened, err
		}
		mse := total / e.Codec().Scale() / float64(test.Rows()*len(targets[0]))
		m.TestMSE = &mse
	}
	if test.Task == dataset.Classification {
		if net.Spec.Binary() {
			// Logits: [logit > 0] = [logit + 1/2 > 1/2], the cut CorrectCount makes.
			out = e.AddScalar(out, e.Codec().MustEncode(0.5))
		}
		correct, err := nn.CorrectCount(ctx, e, out, t)
		if err != nil {
			return opened, err
		}
		count, err := open("test correct count", correct)
		if err != nil {
			return opened, err
		}
		acc := count / float64(test.Rows())
		m.TestAccuracy = &acc
	}
	return opened, nil
}

// output delivers the trained model as configured.
func (mo *monitor) output(ctx context.Context) error {
	switch mo.cfg.Output.Model {
	case experiment.OutputReveal:
		return nil // revealed at the end of the last epoch
	case experiment.OutputRevealTo:
		to := mo.cfg.Output.Party
		mo.res.Openings = append(mo.res.Openings, Opening{Epoch: mo.epoch, What: "model", Values: flatten(mo.net).Len(), To: to})
		params, err := mo.net.RevealTo(ctx, to)
		if err != nil {
			return err
		}
		if mo.e.Self() == to {
			mo.res.Model = &params
		}
		return nil
	default:
		w, b := mo.net.Shares()
		mo.res.Shares = &ModelShares{Party: mo.e.Self(), Parties: mo.e.Parties(), Precision: mo.e.Codec().FracBits, W: w, B: b}
		return nil
	}
}

// flatten is this party's shares of every weight and bias, in one tensor.
func flatten(net *nn.Secure) sharing.Tensor {
	w, b := net.Shares()
	var all []uint64
	for _, t := range append(w, b...) {
		all = append(all, t.Data...)
	}
	return sharing.Tensor{Shape: []int{len(all)}, Data: all}
}

func sumAll(t sharing.Tensor) sharing.Tensor {
	total := sharing.Zeros(1)
	for _, v := range t.Data {
		total.Data[0] += v
	}
	return total
}
