package train

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
	"gonum.org/v1/gonum/mat"
)

// Metrics of a model at the end of an epoch. For mean squared error TrainLoss is
// the mean over the epoch's batches, each measured before its update; for
// cross-entropy it is the end-of-epoch model's loss over the training rows (absent
// where it cannot be computed without revealing more). Test metrics are absent when
// no rows are held out.
type Metrics struct {
	TrainLoss    *float64 `json:"train_loss,omitempty"`
	TestMSE      *float64 `json:"test_mse,omitempty"`
	TestAccuracy *float64 `json:"test_accuracy,omitempty"`
	TestLoss     *float64 `json:"test_loss,omitempty"`
}

// EpochReport is what a run reports after every epoch.
type EpochReport struct {
	Epoch   int           `json:"epoch"`
	Metrics Metrics       `json:"metrics"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Steps   int           `json:"steps"`
}

// StepReport is what a run reports after every training step.
type StepReport struct {
	Epoch, Epochs int
	Step, Steps   int // within the epoch
	Elapsed       time.Duration
}

// Hooks receive progress; any may be nil.
type Hooks struct {
	Epoch func(EpochReport)
	Step  func(StepReport)
	// Checkpoint receives the state after every step where a checkpoint is due
	// (CheckpointDue), before anything of the step's epoch is opened; training
	// stops with its error.
	Checkpoint func(context.Context, *State) error
}

// Local is what one party holds: its own part of the training set, the public
// layout of the partition, and the (public) evaluation rows.
type Local struct {
	Own    *dataset.Dataset
	Layout experiment.Layout
	Test   *dataset.Dataset
}

// SecureResult is one party's outcome of a secure run.
type SecureResult struct {
	Epochs []EpochReport
	// Model is the trained model, if this party learned it.
	Model *nn.Params
	// Shares is this party's share of the model when it stays shared.
	Shares *ModelShares
	Spec   nn.Spec
	Scaler *dataset.Standardizer
	Scopes []protocol.ScopeCost
	// Openings lists every value the run opened, when and to whom.
	Openings []Opening
}

// PrivateError is a failure whose details describe this party's own data (a row,
// a magnitude): they go to the local operator, and only Public to the peers when
// the party aborts.
type PrivateError struct {
	Public string
	Err    error
}

func (e *PrivateError) Error() string { return e.Err.Error() }
func (e *PrivateError) Unwrap() error { return e.Err }

// WeightLimit is the largest weight magnitude training may reach at precision f:
// about the square root of the real-valued headroom 2^(61-2f) of a product before
// truncation, rounded down to a power of two (16,384 at f = 16, 64 at f = 24). A
// model beyond it stops training with an error rather than letting fixed point
// overflow silently: checked in the clear on a revealed model, and by a secure
// range check that opens one bit when the model stays shared.
func WeightLimit(f int) float64 { return math.Ldexp(1, (61-2*f)/2) }

// initMargin is how far beyond its initial range the headroom check lets the first
// layer's weights grow.
const initMargin = 4

// Secure is one party's secure training: secure feature scaling, input
// sharing, SGD on shares, per-epoch monitoring and the output. Every party calls it
// with the same config and layout.
func Secure(ctx context.Context, cfg *experiment.Config, e *protocol.Engine, local Local, hooks Hooks) (*SecureResult, error) {
	return SecureFrom(ctx, cfg, e, local, hooks, nil)
}

// SecureFrom is Secure continued from a checkpointed state (nil: from the start):
// every party calls it with its own state of the same checkpoint. The training
// set is shared again; the steps up to from.Step are skipped.
func SecureFrom(ctx context.Context, cfg *experiment.Config, e *protocol.Engine, local Local, hooks Hooks, from *State) (*SecureResult, error) {
	self := e.Self()
	in, err := prepareSecure(ctx, cfg, e, local)
	if err != nil {
		return nil, err
	}
	res := &SecureResult{Spec: in.spec, Scaler: in.scaled.Scaler}
	net, err := newNetwork(e, cfg, in.spec, from)
	if err != nil {
		return nil, err
	}
	mo := &monitor{cfg: cfg, e: e, net: net, local: local, in: in, res: res}
	if in.scaled.Scaler != nil {
		res.Openings = append(res.Openings, Opening{What: "feature sums and sums of squares", Values: 2 * local.Layout.Features, To: Everyone})
	}
	prog := newEpochProgress(in.targetCols, res, from)
	sched := experiment.NewSchedule(cfg, local.Layout.Rows)
	for st := range sched.Steps() {
		if st.Done < prog.resumed {
			continue
		}
		if st.Done > prog.resumed { // the step of a resumed state was done before it
			idx := st.Rows
			s, err := net.TrainBatch(ctx, sharing.Gather(in.x, idx), sharing.Gather(in.y, idx), cfg.Optimizer(st.Epoch))
			if err != nil {
				return nil, fmt.Errorf("party %d: epoch %d, step %d: %w", self, st.Epoch+1, st.Index+1, err)
			}
			if s.Len() > 0 {
				sharing.AddInPlace(prog.sse, s)
			}
			prog.rowsSeen += len(idx)
			if err := prog.checkpoint(ctx, cfg, hooks, net, res, st); err != nil {
				return nil, fmt.Errorf("party %d: %w", self, err)
			}
			if hooks.Step != nil {
				hooks.Step(StepReport{Epoch: st.Epoch + 1, Epochs: cfg.Training.Epochs, Step: st.Index + 1, Steps: sched.StepsPerEpoch(), Elapsed: time.Since(prog.start)})
			}
		}
		if !st.LastOfEpoch {
			continue
		}
		r := EpochReport{Epoch: st.Epoch + 1, Steps: st.Done}
		mo.epoch = r.Epoch
		if err := mo.endEpoch(ctx, prog.sse, prog.rowsSeen, &r.Metrics); err != nil {
			return nil, fmt.Errorf("party %d: epoch %d: %w", self, st.Epoch+1, err)
		}
		r.Elapsed = time.Since(prog.start)
		res.Epochs = append(res.Epochs, r)
		if hooks.Epoch != nil {
			hooks.Epoch(r)
		}
		prog.sse, prog.rowsSeen = sharing.Zeros(1, in.targetCols), 0
	}
	if err := mo.output(ctx); err != nil {
		return nil, fmt.Errorf("party %d: output: %w", self, err)
	}
	res.Scopes = e.ScopeCosts()
	return res, nil
}

// secureInputs is what secure training starts from: the network, this party's
// scaled features, and the shared training set.
type secureInputs struct {
	spec       nn.Spec
	targetCols int
	scaled     experiment.ScaledFeatures
	// x, y are this party's shares of the whole training set, computed a batch at a
	// time: its own rows minus its peers' masks, a peer's rows from a seed.
	x, y sharing.RowSource
}

// prepareSecure checks this party's data against the layout and the model,
// scales the features securely, checks their headroom and shares the training set.
func prepareSecure(ctx context.Context, cfg *experiment.Config, e *protocol.Engine, local Local) (secureInputs, error) {
	self := e.Self()
	lay := local.Layout
	if lay.Parties() != e.Parties() {
		return secureInputs{}, fmt.Errorf("party %d: layout for %d parties, engine has %d", self, lay.Parties(), e.Parties())
	}
	if err := checkOwn(self, lay, local.Own); err != nil {
		return secureInputs{}, err
	}
	in := secureInputs{targetCols: experiment.TargetColumns(local.Own.Task, local.Own.Classes)}
	var err error
	if in.spec, err = cfg.Spec(lay.Features); err != nil {
		return in, err
	}
	if err := experiment.CheckModelFits(cfg, lay.Features, in.targetCols); err != nil {
		return in, err
	}
	var testX [][]float64
	if local.Test != nil && local.Test.Rows() > 0 {
		testX = local.Test.X
	}
	firstCol := 0
	if lay.Vertical {
		firstCol = colOffset(lay, self)
	}
	fit := func() (dataset.Standardizer, error) { return secureStandardizer(ctx, e, local.Own, lay) }
	if in.scaled, err = experiment.Scale(cfg, fit, local.Own.X, firstCol, testX); err != nil {
		return in, fmt.Errorf("party %d: feature scaling: %w", self, err)
	}
	ownTargets := experiment.Targets(local.Own)
	if err := checkHeadroom(cfg, in.spec, self, in.scaled.Own, ownTargets, !lay.Vertical || self == lay.LabelHolder); err != nil {
		return in, &PrivateError{Public: fmt.Sprintf("party %d: its data does not fit precision %d", self, cfg.Precision), Err: err}
	}
	if in.x, in.y, err = shareTrainingSet(ctx, e, lay, in.scaled.Own, ownTargets, in.targetCols); err != nil {
		return in, fmt.Errorf("party %d: %w", self, err)
	}
	return in, nil
}

func checkOwn(self int, lay experiment.Layout, own *dataset.Dataset) error {
	if lay.Vertical {
		if own.Rows() != lay.Rows || own.Features() != lay.ColsPerParty[self] {
			return fmt.Errorf("party %d: holds %d rows x %d columns, the layout says %d x %d", self, own.Rows(), own.Features(), lay.Rows, lay.ColsPerParty[self])
		}
		return nil
	}
	if own.Rows() != lay.RowsPerParty[self] || own.Features() != lay.Features {
		return fmt.Errorf("party %d: holds %d rows x %d columns, the layout says %d x %d", self, own.Rows(), own.Features(), lay.RowsPerParty[self], lay.Features)
	}
	return nil
}

func colOffset(lay experiment.Layout, p int) int {
	off := 0
	for i := 0; i < p; i++ {
		off += lay.ColsPerParty[i]
	}
	return off
}

// checkHeadroom fails fast, before any share moves, when this party's data would
// overflow the ring: a product before truncation must stay below 2^62 ring units,
// i.e. 2^(62-2f) in real terms.
func checkHeadroom(cfg *experiment.Config, spec nn.Spec, self int, x, targets [][]float64, holdsLabels bool) error {
	f := cfg.Precision
	limit := math.Ldexp(1, 61-2*f)
	maxX, row := 0.0, 0
	for i, r := range x {
		for _, v := range r {
			if math.Abs(v) > maxX {
				maxX, row = math.Abs(v), i
			}
		}
	}
	initW := initMargin * nn.InitParams(spec, cfg.InitSeed()).MaxAbs()
	if acc := float64(spec.Inputs) * maxX * initW; acc > limit {
		return fmt.Errorf("party %d: precision %d leaves %.3g of headroom for a product, but row %d has a feature of magnitude %.3g (times %d inputs and weights up to %.3g): use a lower precision or scale the data", self, f, limit, row, maxX, spec.Inputs, initW)
	}
	if holdsLabels && !spec.CrossEntropy() {
		maxY := 0.0
		for i, r := range targets {
			for _, v := range r {
				if math.Abs(v) > maxY {
					maxY, row = math.Abs(v), i
				}
			}
		}
		if sq := 4 * maxY * maxY; sq > limit {
			return fmt.Errorf("party %d: precision %d leaves %.3g of headroom for a product, but target row %d has magnitude %.3g (squared error up to %.3g): use precision <= %d or scale the targets", self, f, limit, row, maxY, sq, int(61-math.Log2(sq))/2)
		}
	}
	return nil
}

// shareTrainingSet secret-shares every party's part and assembles the training set
// from the parts, row sources that hold no part whole (protocol.Engine.InputRows).
func shareTrainingSet(ctx context.Context, e *protocol.Engine, lay experiment.Layout, ownX, ownY [][]float64, targetCols int) (x, y sharing.RowSource, err error) {
	codec := e.Codec()
	self := e.Self()
	width := lay.Features
	if lay.Vertical {
		width = lay.ColsPerParty[self]
	}
	// Encoded a row at a time when a batch reads it: ownX and ownY stay as they are.
	mineX, err := sharing.EncodedRows(codec, ownX, width)
	if err != nil {
		return x, y, &PrivateError{Public: "its training data does not fit fixed point", Err: fmt.Errorf("training data %w", err)}
	}
	var mineY sharing.RowSource
	if !lay.Vertical || self == lay.LabelHolder {
		if mineY, err = sharing.EncodedRows(codec, ownY, targetCols); err != nil {
			return x, y, &PrivateError{Public: "its training targets do not fit fixed point", Err: fmt.Errorf("training targets %w", err)}
		}
	}
	var xs, ys []sharing.RowSource
	for p := 0; p < lay.Parties(); p++ {
		var vx, vy sharing.RowSource
		if p == self {
			vx, vy = mineX, mineY
		}
		rows, cols := lay.Rows, lay.Features
		if lay.Vertical {
			cols = lay.ColsPerParty[p]
		} else {
			rows = lay.RowsPerParty[p]
		}
		sx, err := e.InputRows(ctx, p, vx, rows, cols)
		if err != nil {
			return x, y, fmt.Errorf("sharing party %d's rows: %w", p, err)
		}
		xs = append(xs, sx)
		if lay.Vertical && p != lay.LabelHolder {
			continue
		}
		sy, err := e.InputRows(ctx, p, vy, rows, targetCols)
		if err != nil {
			return x, y, fmt.Errorf("sharing party %d's targets: %w", p, err)
		}
		ys = append(ys, sy)
	}
	if lay.Vertical {
		return sharing.StackCols(xs...), ys[0], nil
	}
	return sharing.StackRows(xs...), sharing.StackRows(ys...), nil
}

// secureStandardizer computes the global mean and standard deviation per feature:
// each party shares its column sums and sums of squares (zeros for columns it does
// not hold), the parties add them and open only the totals. Rows and per-party
// statistics stay private.
func secureStandardizer(ctx context.Context, e *protocol.Engine, own *dataset.Dataset, lay experiment.Layout) (dataset.Standardizer, error) {
	codec := e.Codec()
	features := lay.Features
	sum, sumSq := make([]float64, features), make([]float64, features)
	s, sq := dataset.ColumnSums(own.X)
	off := 0
	if lay.Vertical {
		off = colOffset(lay, e.Self())
	}
	copy(sum[off:], s)
	copy(sumSq[off:], sq)
	mine, err := codec.EncodeTensor(append(sum, sumSq...), 2, features)
	if err != nil {
		return dataset.Standardizer{}, &PrivateError{Public: "its column statistics do not fit fixed point", Err: err}
	}
	total, err := openSum(ctx, e, mine)
	if err != nil {
		return dataset.Standardizer{}, err
	}
	vals := codec.DecodeTensor(total)
	return dataset.FitStandardizer(vals[:features], vals[features:], lay.Rows)
}

// openSum opens the sum over all parties of a private tensor each holds (of the
// same public shape): every party inputs its own, and only the total is opened.
func openSum(ctx context.Context, e *protocol.Engine, mine sharing.Tensor) (sharing.Tensor, error) {
	acc := sharing.Zeros(mine.Shape...)
	for p := 0; p < e.Parties(); p++ {
		var v sharing.Tensor
		if p == e.Self() {
			v = mine
		}
		s, err := e.Input(ctx, p, v, mine.Shape...)
		if err != nil {
			return sharing.Tensor{}, err
		}
		sharing.AddInPlace(acc, s)
	}
	opened, err := e.Open(ctx, acc)
	if err != nil {
		return sharing.Tensor{}, err
	}
	return opened[0], nil
}

// evalChunk bounds the rows of one secure inference call, and so the size of the
// preprocessing material it asks for.
const evalChunk = 1024

// predictShared runs the shared model on public rows, evalChunk rows at a time;
// the predictions (rows x outputs) stay shared.
func predictShared(ctx context.Context, e *protocol.Engine, net *nn.Secure, x [][]float64) (sharing.Tensor, error) {
	var parts []sharing.Tensor
	for from := 0; from < len(x); from += evalChunk {
		to := min(from+evalChunk, len(x))
		enc, err := experiment.EncodeRows(e.Codec(), x[from:to], net.Spec.Inputs, "test data")
		if err != nil {
			return sharing.Tensor{}, err
		}
		out, err := net.Forward(ctx, e.Public(enc))
		if err != nil {
			return sharing.Tensor{}, fmt.Errorf("secure inference: %w", err)
		}
		parts = append(parts, out)
	}
	return sharing.ConcatRows(parts...), nil
}

// SecurePredict runs the shared model on public rows and opens the predictions
// to every party: the output of a prediction run, not of training.
func SecurePredict(ctx context.Context, e *protocol.Engine, net *nn.Secure, x [][]float64) (*mat.Dense, error) {
	out, err := predictShared(ctx, e, net, x)
	if err != nil {
		return nil, err
	}
	opened, err := e.Open(ctx, out)
	if err != nil {
		return nil, fmt.Errorf("opening the predictions: %w", err)
	}
	return mat.NewDense(len(x), net.Spec.Outputs(), e.Codec().DecodeTensor(opened[0])), nil
}

// Evaluate sets the test metrics of predictions on the test rows (none without any).
func Evaluate(spec nn.Spec, pred *mat.Dense, test *dataset.Dataset, m *Metrics) {
	if test == nil || test.Rows() == 0 {
		return
	}
	targets := experiment.Targets(test)
	t := experiment.DenseOf(targets, len(targets[0]))
	if spec.CrossEntropy() {
		loss := spec.LossOf(pred, t)
		m.TestLoss = &loss
	} else {
		mse := nn.MSE(pred, t)
		m.TestMSE = &mse
	}
	if test.Task == dataset.Classification {
		if spec.Binary() {
			pred = spec.Probabilities(pred) // logits to probabilities, which Accuracy cuts at 0.5
		}
		acc := nn.Accuracy(pred, t)
		m.TestAccuracy = &acc
	}
}

// ModelShares is one party's additive share of a model that stays secret-shared.
type ModelShares struct {
	Party     int              `json:"party"`
	Parties   int              `json:"parties"`
	Precision int              `json:"precision"`
	W         []sharing.Tensor `json:"weights"`
	B         []sharing.Tensor `json:"biases"`
}
