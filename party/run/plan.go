package run

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/train"
	"github.com/tessera-mpc/tessera/protocol"
)

// RecordPlan finds the preprocessing requests a run of cfg with this layout will
// make. Requests depend only on public shapes, so a dry run on zero data of the
// same shapes, with an in-process dealer, records them exactly; and every
// training step of the same batch size asks for the same material. So the dry
// run stops after two steps (and two more of the shorter last batch of an epoch,
// if any), and the plan is assembled from shapes: what comes before the steps,
// one recorded step per batch size repeated along the schedule, what comes after
// an epoch, and the output. Every party can compute it alone.
func RecordPlan(ctx context.Context, cfg *experiment.Config, lay experiment.Layout, task dataset.Task, classes int, test *dataset.Dataset) (*protocol.Plan, error) {
	reqs, _, err := planFromShapes(ctx, cfg, lay, task, classes, test)
	if err != nil {
		return nil, fmt.Errorf("recording the preprocessing plan: %w", err)
	}
	return toPlan(ctx, reqs)
}

// planRequest is a recorded request whose mask references are indices in the
// recording.
type planRequest = protocol.Request

// dryRun is the requests of a dry run, with where each training step and each
// epoch's end finished.
type dryRun struct {
	reqs      []planRequest
	stepEnds  []int
	epochEnds []int
}

// planFromShapes assembles the requests of the run of cfg from short dry runs
// (assembled true), or records the whole dry run when the schedule is too short
// to repeat or a step's requests depend on its position.
func planFromShapes(ctx context.Context, cfg *experiment.Config, lay experiment.Layout, task dataset.Task, classes int, test *dataset.Dataset) (reqs []planRequest, assembled bool, err error) {
	sched := experiment.NewSchedule(cfg, lay.Rows)
	steps := slices.Collect(sched.Steps())
	full := func() ([]planRequest, bool, error) {
		d, err := recordDryRun(ctx, cfg, lay, task, classes, test)
		return d.reqs, false, err
	}
	first := stepKey{size: cfg.Training.BatchSize, opt: cfg.Optimizer(0)}
	short, ok := shortConfig(cfg, first, len(steps), lay.Rows)
	if !ok {
		return full()
	}
	d, err := recordDryRun(ctx, short, lay, task, classes, test)
	if err != nil {
		return nil, false, err
	}
	before, step, ok := splitSteps(d)
	if !ok || len(d.epochEnds) != 1 {
		return full()
	}
	// After the last step of an epoch: d.reqs[stepEnds[1]:epochEnds[0]]; the
	// output: the rest.
	afterEpoch := segment{reqs: d.reqs[d.stepEnds[1]:d.epochEnds[0]], start: d.stepEnds[1]}
	output := segment{reqs: d.reqs[d.epochEnds[0]:], start: d.epochEnds[0]}
	templates := map[stepKey]segment{first: step}
	out := slices.Clone(before)
	for _, st := range steps {
		key := stepKey{size: len(st.Rows), opt: cfg.Optimizer(st.Epoch)}
		t, ok := templates[key]
		if !ok {
			// Another batch size or learning rate: two steps of it, without
			// the test rows (a step does not depend on them).
			other, ok := shortConfig(cfg, key, len(steps), lay.Rows)
			if !ok {
				return full()
			}
			od, err := recordDryRun(ctx, other, lay, task, classes, nil)
			if err != nil {
				return nil, false, err
			}
			if _, t, ok = splitSteps(od); !ok {
				return full()
			}
			templates[key] = t
		}
		out = t.appendAt(out)
		if st.LastOfEpoch {
			out = afterEpoch.appendAt(out)
		}
	}
	return output.appendAt(out), true, nil
}

// stepKey is what a training step's requests depend on besides the model: the
// batch size and the optimizer (the learning rate sets truncation widths).
type stepKey struct {
	size int
	opt  nn.Optimizer
}

// shortConfig is cfg stopped after two steps of the key's batch size and
// optimizer: none if the schedule has fewer than three steps or an epoch fewer
// than two such batches.
func shortConfig(cfg *experiment.Config, key stepKey, steps, rows int) (*experiment.Config, bool) {
	if steps < 3 || rows < 2*key.size {
		return nil, false
	}
	short := *cfg
	t := &short.Training
	t.BatchSize, t.MaxSteps = key.size, 2
	t.LearningRate, t.Momentum, t.LRDecay, t.LRDecayEvery = key.opt.LearningRate, key.opt.Momentum, 1, 1
	return &short, true
}

// segment is a run of recorded requests that started at index start.
type segment struct {
	reqs  []planRequest
	start int
}

// appendAt appends the segment to out as if it had been recorded there: mask
// references into the segment (or anything recorded after the steps began)
// move with it, references to material made before it stay.
func (s segment) appendAt(out []planRequest) []planRequest {
	shift := int64(len(out)) - int64(s.start)
	for _, r := range s.reqs {
		r.Shape = slices.Clone(r.Shape)
		if r.Kind == protocol.KindMaskProduct {
			for _, ref := range []*protocol.MaskRef{&r.X, &r.Y} {
				if ref.ID >= uint64(s.start) {
					ref.ID = uint64(int64(ref.ID) + shift)
				}
			}
		}
		out = append(out, r)
	}
	return out
}

// splitSteps cuts a two-step dry run into what came before the steps and one
// step: the second step's requests, checked to equal the first's moved by one
// step, so that a step's requests are known not to depend on its position.
func splitSteps(d dryRun) (before []planRequest, step segment, ok bool) {
	if len(d.stepEnds) != 2 {
		return nil, segment{}, false
	}
	second := segment{reqs: d.reqs[d.stepEnds[0]:d.stepEnds[1]], start: d.stepEnds[0]}
	n := len(second.reqs)
	firstStart := d.stepEnds[0] - n
	if firstStart < 0 {
		return nil, segment{}, false
	}
	moved := second.appendAt(slices.Clone(d.reqs[:firstStart]))[firstStart:]
	for i, r := range moved {
		if !r.Equal(d.reqs[firstStart+i]) {
			return nil, segment{}, false
		}
	}
	return d.reqs[:firstStart], second, true
}

// recordDryRun trains cfg on zero data with an in-process dealer and records
// party 0's requests, with mask references as indices in the recording, and
// where each step and each epoch's end finished.
func recordDryRun(ctx context.Context, cfg *experiment.Config, lay experiment.Layout, task dataset.Task, classes int, test *dataset.Dataset) (dryRun, error) {
	n := lay.Parties()
	ts, err := network.NewMemoryNetwork(n)
	if err != nil {
		return dryRun{}, err
	}
	dealer, err := protocol.NewDealer(n, rand.Reader)
	if err != nil {
		return dryRun{}, err
	}
	log := &requestLog{ids: map[uint64]uint64{}}
	var d dryRun
	hooks := train.Hooks{
		Step:  func(train.StepReport) { d.stepEnds = append(d.stepEnds, log.len()) },
		Epoch: func(train.EpochReport) { d.epochEnds = append(d.epochEnds, log.len()) },
	}
	err = runParties(ctx, n, func(i int) { ts[i].Close() }, func(ctx context.Context, i int) error {
		m := material{dealer: dealer}
		if i == 0 {
			m.logged = log
		}
		nd, err := buildNode(ctx, nodeSpec{cfg: cfg, self: i, links: links{online: ts[i]}, material: m, engine: engineConfig(cfg, Randomness{}, i)})
		if err != nil {
			return err
		}
		h := train.Hooks{}
		if i == 0 {
			h = hooks
		}
		_, err = train.Secure(ctx, cfg, nd.engine, train.Local{Own: zeroPart(lay, i, task, classes), Layout: lay, Test: test}, h)
		return err
	})
	d.reqs = log.reqs
	return d, err
}

// requestLog is a source that records the requests passed on to src, mask IDs
// as indices in the log (as protocol.Recorder does, with the requests at hand).
type requestLog struct {
	mu   sync.Mutex
	src  protocol.Source
	reqs []planRequest
	ids  map[uint64]uint64
}

func (l *requestLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

// Fetch implements protocol.Source.
func (l *requestLog) Fetch(ctx context.Context, req protocol.Request) (protocol.Material, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	index := uint64(len(l.reqs))
	rec := req
	rec.Shape = slices.Clone(req.Shape)
	if req.Kind == protocol.KindMaskProduct {
		x, okx := l.ids[req.X.ID]
		y, oky := l.ids[req.Y.ID]
		if !okx || !oky {
			return protocol.Material{}, fmt.Errorf("plan: mask product of masks %d and %d not recorded", req.X.ID, req.Y.ID)
		}
		rec.X.ID, rec.Y.ID = x, y
	}
	l.reqs = append(l.reqs, rec)
	m, err := l.src.Fetch(ctx, req)
	if err == nil && req.Kind == protocol.KindMask {
		l.ids[m.ID] = index
	}
	return m, err
}

// toPlan turns recorded requests into a protocol.Plan by passing them through a
// protocol.Recorder over a source that makes nothing but mask IDs (the request
// indices, which is what the requests refer to).
func toPlan(ctx context.Context, reqs []planRequest) (*protocol.Plan, error) {
	next := uint64(0)
	ids := protocol.SourceFunc(func(_ context.Context, req protocol.Request) (protocol.Material, error) {
		defer func() { next++ }()
		return protocol.Material{ID: next}, nil
	})
	rec := protocol.NewRecorder(ids)
	for _, r := range reqs {
		if _, err := rec.Fetch(ctx, r); err != nil {
			return nil, err
		}
	}
	return rec.Plan(), nil
}

// zeroPart is party p's part of a layout, filled with zeros.
func zeroPart(lay experiment.Layout, p int, task dataset.Task, classes int) *dataset.Dataset {
	rows, cols := lay.Rows, lay.Features
	if lay.Vertical {
		cols = lay.ColsPerParty[p]
	} else {
		rows = lay.RowsPerParty[p]
	}
	d := &dataset.Dataset{Name: "dry-run", Task: task, Classes: classes, X: make([][]float64, rows), Y: make([]float64, rows)}
	for i := range d.X {
		d.X[i] = make([]float64, cols)
	}
	return d
}
