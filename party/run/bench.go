package run

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
	"gonum.org/v1/gonum/mat"
)

// BenchResult is the cost of training steps of an experiment, per party, beside
// the same steps in plaintext measured in the same run.
type BenchResult struct {
	Config        string                   `json:"config"`
	Transport     string                   `json:"transport"`
	Network       report.Network           `json:"network"`
	Parties       int                      `json:"parties"`
	BatchSize     int                      `json:"batch_size"`
	Steps         int                      `json:"steps"`
	Preprocessing experiment.Preprocessing `json:"preprocessing"`
	// Pipelined: dealer-free material was made ahead from the steps' plan, as
	// training makes it (the config's mode "pipelined", the default): the
	// kinds' times are then those of lanes running at once.
	Pipelined      bool             `json:"pipelined,omitempty"`
	Opening        protocol.Opening `json:"opening"` // the pattern used (auto's pick)
	SecondsPerStep float64          `json:"seconds_per_step"`
	// CPUSecondsPerStep is the process's CPU time (user and system) during
	// the timed steps, per step: every party's, as all run in this process
	// (with libp2p, a remote dealer's node too). Unlike SecondsPerStep it
	// holds on a machine shared with other work. 0 where the platform has no
	// getrusage.
	CPUSecondsPerStep float64 `json:"cpu_seconds_per_step"`
	// Of SecondsPerStep, the time party 1 waited for preprocessing material, and
	// what dealer-free preprocessing sent per step (0 with a dealer).
	PrepSecondsPerStep   float64 `json:"preprocessing_seconds_per_step"`
	PrepBytesSentPerStep float64 `json:"preprocessing_bytes_sent_per_party_per_step"`
	BytesSentPerStep     float64 `json:"bytes_sent_per_party_per_step"`
	RoundsPerStep        float64 `json:"rounds_per_step"`
	PlainSecondsPerStep  float64 `json:"plaintext_seconds_per_step"`
	Ratio                float64 `json:"ratio_to_plaintext"`
	// Scopes is party 1's cost per step of each scope (a layer's forward or
	// backward pass, the loss, the update).
	Scopes []ScopePerStep `json:"scopes"`
	// With dealer-free preprocessing: party 1's cost per step of each kind of
	// material, every party's preprocessing bytes sent per step (the balance),
	// and the same steps with a dealer, measured in the same run.
	Kinds                   []KindPerStep `json:"kinds,omitempty"`
	PrepBytesPerPartyStep   []float64     `json:"preprocessing_bytes_sent_per_step_by_party,omitempty"`
	DealerSecondsPerStep    float64       `json:"dealer_seconds_per_step,omitempty"`
	DealerCPUSecondsPerStep float64       `json:"dealer_cpu_seconds_per_step,omitempty"`
	// With a dealer: what it sent per step (corrected shares for party N-1).
	DealerBytesSentPerStep float64 `json:"dealer_bytes_sent_per_step,omitempty"`
}

// KindPerStep is one kind of material's cost to a party per training step.
type KindPerStep struct {
	Kind      string  `json:"kind"`
	Requests  float64 `json:"requests"`
	Elements  float64 `json:"elements"`
	Seconds   float64 `json:"seconds"`
	BytesSent float64 `json:"bytes_sent"`
	// CPUSeconds is the process's CPU time during the party's requests of the
	// kind, divided by the parties: every party runs in this process and makes
	// the same request at the same time, waiting on each other meanwhile, so
	// this is a party's CPU for the kind. Unlike Seconds it holds on a machine
	// shared with other work. 0 when pipelined (the lanes overlap, so the
	// process CPU during one kind's requests is not that kind's) and where the
	// platform has no getrusage.
	CPUSeconds float64 `json:"cpu_seconds"`
}

// kindMeter accounts a party's dealer-free material by kind: the time in its
// source and the bytes its preprocessing channels sent meanwhile. Benchmarks
// fetch on demand, one request at a time, so the bytes sent during a request are
// that request's.
type kindMeter struct {
	mu      sync.Mutex
	parties int
	costs   map[protocol.Kind]*kindCost
	// gate, when set, holds every request until it is closed: a pipeline
	// then makes nothing before the timed steps start.
	gate <-chan struct{}
}

type kindCost struct {
	requests, elements, bytes int64
	time, cpu                 time.Duration // cpu: the process's, over the parties
}

func newKindMeters(n int) []*kindMeter {
	ms := make([]*kindMeter, n)
	for i := range ms {
		ms[i] = &kindMeter{parties: n, costs: map[protocol.Kind]*kindCost{}}
	}
	return ms
}

// wrap returns src measured by m; prep are the channels its material travels on.
func (m *kindMeter) wrap(src protocol.Source, prep []protocol.StatsReporter) protocol.Source {
	return protocol.SourceFunc(func(ctx context.Context, req protocol.Request) (protocol.Material, error) {
		if err := m.waitGate(ctx); err != nil {
			return protocol.Material{}, err
		}
		b0, t0, cpu0 := bytesSentOn(prep), time.Now(), processCPU()
		mat, err := src.Fetch(ctx, req)
		m.add(req, bytesSentOn(prep)-b0, time.Since(t0), processCPU()-cpu0)
		return mat, err
	})
}

// waitGate holds a request until m's gate, if any, is open.
func (m *kindMeter) waitGate(ctx context.Context) error {
	if m.gate == nil {
		return nil
	}
	select {
	case <-m.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// add counts one request of req's kind with the bytes, time and process CPU it
// cost (the CPU shared over the parties in the process).
func (m *kindMeter) add(req protocol.Request, bytes int64, dt, cpu time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.costs[req.Kind]
	if c == nil {
		c = &kindCost{}
		m.costs[req.Kind] = c
	}
	c.requests++
	c.elements += int64(requestElements(req))
	c.bytes += bytes
	c.time += dt
	c.cpu += cpu / time.Duration(m.parties)
}

// bytesSentOn is what the channels in prep have sent so far.
func bytesSentOn(prep []protocol.StatsReporter) (b int64) {
	for _, r := range prep {
		b += r.Stats().BytesSent
	}
	return b
}

// requestElements is the size of a request's output: entries of C for products,
// bits for AND triples (two- and three-input) and daBits, elements otherwise.
func requestElements(req protocol.Request) int {
	switch req.Kind {
	case protocol.KindMatrix:
		return req.M * req.N
	case protocol.KindMask:
		return req.M * req.K
	case protocol.KindMaskProduct:
		rows, cols := req.X.Rows, req.Y.Cols
		if req.X.Trans {
			rows = req.X.Cols
		}
		if req.Y.Trans {
			cols = req.Y.Rows
		}
		return rows * cols
	case protocol.KindAnd, protocol.KindAnd3:
		return 64 * sharing.Size(req.Shape)
	}
	return sharing.Size(req.Shape)
}

// snapshot copies the costs so far.
func (m *kindMeter) snapshot() map[protocol.Kind]kindCost {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[protocol.Kind]kindCost{}
	for k, c := range m.costs {
		out[k] = *c
	}
	return out
}

// kindsPerStep is each kind's cost between two snapshots, per step, in the
// order of protocol.Kinds.
func kindsPerStep(before, after map[protocol.Kind]kindCost, steps int) []KindPerStep {
	var out []KindPerStep
	k := float64(steps)
	for _, kind := range protocol.Kinds {
		a, ok := after[kind]
		if !ok {
			continue
		}
		b := before[kind]
		out = append(out, KindPerStep{Kind: kind.String(), Requests: float64(a.requests-b.requests) / k,
			Elements: float64(a.elements-b.elements) / k, Seconds: (a.time - b.time).Seconds() / k,
			BytesSent: float64(a.bytes-b.bytes) / k, CPUSeconds: (a.cpu - b.cpu).Seconds() / k})
	}
	return out
}

// ScopePerStep is one scope's cost per training step.
type ScopePerStep struct {
	Name      string  `json:"name"`
	Seconds   float64 `json:"seconds"`
	Rounds    float64 `json:"rounds"`
	BytesSent float64 `json:"bytes_sent"`
}

// sessionOpts are a bench session's options: a plan to pipeline the
// material from, with a gate that holds it back until the steps start; or a
// log of party 0's requests (the dealer twin, whose requests are the plan).
type sessionOpts struct {
	plan *protocol.Plan
	gate <-chan struct{}
	log  *requestLog
	// adder: the dealer twin of a dealer-free run compares and truncates as that
	// run does (its plan is that run's): by the adder, not the dealer's lookups,
	// and compactly.
	adder bool
}

// session is a running set of parties on one machine, ready to train.
type session struct {
	trs     []transport
	prep    [][]protocol.StatsReporter // dealer-free preprocessing channels
	nodes   []*node
	nets    []*nn.Secure
	meters  []*kindMeter     // per party, with dealer-free preprocessing
	dealer  *protocol.Dealer // with a dealer's preprocessing
	xs, ys  []sharing.Tensor // each party's shares of the whole training set
	closeFn func()
}

// startSession connects the parties (in memory, or libp2p on loopback with the
// dealer as its own node), shares the training set and builds the networks. The
// secure scaling step is skipped: benchmarks share pre-scaled data.
func startSession(ctx context.Context, cfg *experiment.Config, split *experiment.Split, transportKind TransportKind, link network.Link, rnd Randomness, opts sessionOpts) (*session, error) {
	n := cfg.Parties
	wiring, err := connectParties(ctx, cfg, transportKind, link, rnd)
	if err != nil {
		return nil, err
	}
	// A node's pipeline lives as long as the session, past the setup below:
	// nodes are built under sessionCtx, which a failed party also cancels.
	sessionCtx, endSession := context.WithCancel(ctx)
	s := &session{}
	s.closeFn = func() {
		for _, nd := range s.nodes {
			if nd != nil {
				nd.stop()
			}
		}
		endSession()
		wiring.close()
	}
	mat := wiring.material(rnd)
	s.dealer = wiring.dealer
	if cfg.Preprocessing == experiment.PrepHE {
		s.meters = newKindMeters(n)
		for _, m := range s.meters {
			m.gate = opts.gate
		}
		mat.meters = s.meters
	}
	var planFor func(context.Context) (*protocol.Plan, error)
	if opts.plan != nil {
		planFor = func(context.Context) (*protocol.Plan, error) { return opts.plan, nil }
	}
	for _, l := range wiring.links {
		s.trs = append(s.trs, l.online)
		s.prep = append(s.prep, l.prep)
	}
	x, err := scaledTrainingSet(cfg, split)
	if err != nil {
		s.closeFn()
		return nil, err
	}
	spec, err := cfg.Spec(split.Train.Features())
	if err != nil {
		s.closeFn()
		return nil, err
	}
	init := nn.InitParams(spec, cfg.InitSeed())
	s.nodes = make([]*node, n)
	s.nets = make([]*nn.Secure, n)
	s.xs, s.ys = make([]sharing.Tensor, n), make([]sharing.Tensor, n)
	codec := sharing.Codec{FracBits: cfg.Precision}
	xt, err := experiment.EncodeRows(codec, x, split.Train.Features(), "training data")
	if err != nil {
		s.closeFn()
		return nil, err
	}
	targets := experiment.Targets(split.Train)
	yt, err := experiment.EncodeRows(codec, targets, len(targets[0]), "training targets")
	if err != nil {
		s.closeFn()
		return nil, err
	}
	err = runParties(ctx, n, func(i int) { endSession(); s.trs[i].Close() }, func(ctx context.Context, i int) error {
		// The remote dealer's session is not ended: closeFn stops the dealer.
		m := mat
		if i == 0 {
			m.logged = opts.log
		}
		engine := engineConfig(cfg, rnd, i)
		engine.LookupComparisons = engine.LookupComparisons && !opts.adder
		engine.CompactTruncations = engine.CompactTruncations || opts.adder
		nd, err := buildNode(sessionCtx, nodeSpec{cfg: cfg, self: i, links: wiring.links[i], material: m, plan: planFor, engine: engine})
		if err != nil {
			return err
		}
		s.nodes[i] = nd
		e := nd.engine
		var vx, vy sharing.Tensor
		if i == 0 {
			vx, vy = xt, yt
		}
		if s.xs[i], err = e.Input(ctx, 0, vx, xt.Shape...); err != nil {
			return err
		}
		if s.ys[i], err = e.Input(ctx, 0, vy, yt.Shape...); err != nil {
			return err
		}
		s.nets[i], err = nn.NewSecure(e, spec, init)
		return err
	})
	if err != nil {
		s.closeFn()
		return nil, err
	}
	return s, nil
}

// stepsCost is a party's rounds and per-peer traffic between two snapshots.
func stepsCost(before, after protocol.Stats) report.PartyCost {
	pc := report.PartyCost{Rounds: after.Rounds - before.Rounds, BytesSent: after.BytesSent - before.BytesSent}
	for p := range after.Peers {
		d := after.Peers[p]
		if p < len(before.Peers) {
			d.BytesSent -= before.Peers[p].BytesSent
			d.BytesReceived -= before.Peers[p].BytesReceived
			d.MessagesSent -= before.Peers[p].MessagesSent
			d.MessagesRecv -= before.Peers[p].MessagesRecv
		}
		pc.Peers = append(pc.Peers, d)
	}
	return pc
}

// scopesPerStep is each scope's cost between two snapshots, per step.
func scopesPerStep(before, after []protocol.ScopeCost, steps int) []ScopePerStep {
	prev := map[string]protocol.ScopeCost{}
	for _, sc := range before {
		prev[sc.Name] = sc
	}
	var out []ScopePerStep
	for _, sc := range after {
		b := prev[sc.Name]
		k := float64(steps)
		out = append(out, ScopePerStep{Name: sc.Name, Seconds: (sc.Time - b.Time).Seconds() / k,
			Rounds: float64(sc.Rounds-b.Rounds) / k, BytesSent: float64(sc.BytesSent-b.BytesSent) / k})
	}
	return out
}

func scaledTrainingSet(cfg *experiment.Config, split *experiment.Split) ([][]float64, error) {
	scaled, err := experiment.Scale(cfg, experiment.FitInTheClear(split.Train.X), split.Train.X, 0, nil)
	return scaled.Own, err
}

// BenchSteps times the first `steps` secure training steps of cfg (continuing past
// the configured epochs and max_steps if needed) on the given link and the same
// steps in plaintext; with dealer-free preprocessing also the same steps with a
// dealer, and the cost of each kind of material. Dealer-free material is made
// as training makes it: pipelined from the plan of the steps (recorded from
// the dealer twin, which runs first), unless the config's mode says
// otherwise; the pipeline starts with the timed steps.
func BenchSteps(ctx context.Context, cfg *experiment.Config, transportKind TransportKind, link network.Link, steps int) (*BenchResult, error) {
	split, err := experiment.LoadSplit(cfg)
	if err != nil {
		return nil, err
	}
	var opts sessionOpts
	var dealerSeconds, dealerCPU float64
	if cfg.Preprocessing == experiment.PrepHE {
		dealt := *cfg
		dealt.Preprocessing = experiment.PrepDealer
		pipelined := cfg.PreprocessingMode == "" || cfg.PreprocessingMode == experiment.PrepPipelined
		var log *requestLog
		if pipelined {
			log = &requestLog{ids: map[uint64]uint64{}}
		}
		d, _, err := benchSecure(ctx, &dealt, split, transportKind, link, steps, sessionOpts{log: log, adder: true})
		if err != nil {
			return nil, fmt.Errorf("the dealer twin: %w", err)
		}
		dealerSeconds, dealerCPU = d.SecondsPerStep, d.CPUSecondsPerStep
		if pipelined {
			if opts.plan, err = toPlan(ctx, log.reqs); err != nil {
				return nil, fmt.Errorf("the plan of the steps: %w", err)
			}
		}
	}
	res, batches, err := benchSecure(ctx, cfg, split, transportKind, link, steps, opts)
	if err != nil {
		return nil, err
	}
	res.DealerSecondsPerStep, res.DealerCPUSecondsPerStep = dealerSeconds, dealerCPU
	// The plaintext twin on the same batches, in the same process.
	x, err := scaledTrainingSet(cfg, split)
	if err != nil {
		return nil, err
	}
	spec, _ := cfg.Spec(split.Train.Features())
	plain := nn.NewPlain(spec, nn.InitParams(spec, cfg.InitSeed()))
	targets := experiment.Targets(split.Train)
	bx := make([]*mat.Dense, steps)
	by := make([]*mat.Dense, steps)
	for k, b := range batches {
		bx[k], by[k] = experiment.BatchOf(x, targets, b.Rows)
	}
	pstart := time.Now()
	for k, b := range batches {
		plain.TrainBatch(bx[k], by[k], cfg.Optimizer(b.Epoch))
	}
	res.PlainSecondsPerStep = time.Since(pstart).Seconds() / float64(steps)
	res.Ratio = res.SecondsPerStep / res.PlainSecondsPerStep
	return res, nil
}

// benchSecure times the secure steps of BenchSteps and returns their batches.
func benchSecure(ctx context.Context, cfg *experiment.Config, split *experiment.Split, transportKind TransportKind, link network.Link, steps int, opts sessionOpts) (*BenchResult, []experiment.Step, error) {
	var gate chan struct{}
	if opts.plan != nil {
		gate = make(chan struct{})
		opts.gate = gate
	}
	s, err := startSession(ctx, cfg, split, transportKind, link, Randomness{}, opts)
	if err != nil {
		return nil, nil, err
	}
	defer s.closeFn()
	n := cfg.Parties
	rows := split.Train.Rows()
	bs := min(cfg.Training.BatchSize, rows)
	sched := experiment.NewSchedule(cfg, rows)
	sched.Epochs, sched.MaxSteps = math.MaxInt, steps
	batches := slices.Collect(sched.Steps())
	before := make([]protocol.Stats, n)
	for i, t := range s.trs {
		before[i] = t.Stats()
	}
	prepBytes := func(i int) (b int64) {
		for _, r := range s.prep[i] {
			b += r.Stats().BytesSent
		}
		return b
	}
	prepBefore := make([]int64, n)
	for i := range n {
		prepBefore[i] = prepBytes(i)
	}
	dealerBytes := func() int64 {
		if s.dealer == nil {
			return 0
		}
		return s.dealer.BytesSent()
	}
	dealerBefore := dealerBytes()
	prepTimeBefore := s.nodes[1].prep
	scopesBefore := s.nodes[1].engine.ScopeCosts()
	var kindsBefore map[protocol.Kind]kindCost
	if s.meters != nil {
		kindsBefore = s.meters[1].snapshot()
	}
	start, cpuStart := time.Now(), processCPU()
	if gate != nil {
		close(gate)
	}
	err = runParties(ctx, n, func(i int) { s.trs[i].Close() }, func(ctx context.Context, i int) error {
		for _, b := range batches {
			if _, err := s.nets[i].TrainBatch(ctx, sharing.GatherRows(s.xs[i], b.Rows), sharing.GatherRows(s.ys[i], b.Rows), cfg.Optimizer(b.Epoch)); err != nil {
				return err
			}
		}
		return nil
	})
	elapsed, cpu := time.Since(start), processCPU()-cpuStart
	if err != nil {
		return nil, nil, err
	}
	after := s.trs[1].Stats()
	var parties []report.PartyCost
	for i, t := range s.trs {
		parties = append(parties, stepsCost(before[i], t.Stats()))
	}
	k := float64(steps)
	res := &BenchResult{
		Network: networkResult(link, elapsed, steps, parties),
		Scopes:  scopesPerStep(scopesBefore, s.nodes[1].engine.ScopeCosts(), steps),
		Config:  cfg.Name, Transport: transportName(transportKind), Parties: n, BatchSize: bs, Steps: steps,
		SecondsPerStep:       elapsed.Seconds() / k,
		CPUSecondsPerStep:    cpu.Seconds() / k,
		BytesSentPerStep:     float64(after.BytesSent-before[1].BytesSent) / k,
		RoundsPerStep:        float64(after.Rounds-before[1].Rounds) / k,
		Preprocessing:        cfg.Preprocessing,
		Pipelined:            opts.plan != nil,
		Opening:              cfg.EngineOpening(),
		PrepSecondsPerStep:   (s.nodes[1].prep - prepTimeBefore).Seconds() / k,
		PrepBytesSentPerStep: float64(prepBytes(1)-prepBefore[1]) / k,
		// Party N-1 may fetch ahead of the steps (a pipeline): a window's worth
		// of material, not a step's, may fall on either side of the count.
		DealerBytesSentPerStep: float64(dealerBytes()-dealerBefore) / k,
	}
	if s.meters != nil {
		res.Kinds = kindsPerStep(kindsBefore, s.meters[1].snapshot(), steps)
		if res.Pipelined {
			for i := range res.Kinds {
				res.Kinds[i].CPUSeconds = 0
			}
		}
		for i := range n {
			res.PrepBytesPerPartyStep = append(res.PrepBytesPerPartyStep, float64(prepBytes(i)-prepBefore[i])/k)
		}
	}
	return res, batches, nil
}
