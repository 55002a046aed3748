package run

import (
	"context"
	"math"
	"slices"
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
	Config         string                   `json:"config"`
	Transport      string                   `json:"transport"`
	Network        report.Network           `json:"network"`
	Parties        int                      `json:"parties"`
	BatchSize      int                      `json:"batch_size"`
	Steps          int                      `json:"steps"`
	Preprocessing  experiment.Preprocessing `json:"preprocessing"`
	Opening        protocol.Opening         `json:"opening"` // the pattern used (auto's pick)
	SecondsPerStep float64                  `json:"seconds_per_step"`
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
}

// ScopePerStep is one scope's cost per training step.
type ScopePerStep struct {
	Name      string  `json:"name"`
	Seconds   float64 `json:"seconds"`
	Rounds    float64 `json:"rounds"`
	BytesSent float64 `json:"bytes_sent"`
}

// session is a running set of parties on one machine, ready to train.
type session struct {
	trs     []transport
	prep    [][]protocol.StatsReporter // dealer-free preprocessing channels
	nodes   []*node
	nets    []*nn.Secure
	xs, ys  []sharing.Tensor // each party's shares of the whole training set
	closeFn func()
}

// startSession connects the parties (in memory, or libp2p on loopback with the
// dealer as its own node), shares the training set and builds the networks. The
// secure scaling step is skipped: benchmarks share pre-scaled data.
func startSession(ctx context.Context, cfg *experiment.Config, split *experiment.Split, transportKind TransportKind, link network.Link, rnd Randomness) (*session, error) {
	n := cfg.Parties
	wiring, err := connectParties(ctx, cfg, transportKind, link, rnd)
	if err != nil {
		return nil, err
	}
	s := &session{closeFn: wiring.close}
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
	err = runParties(ctx, n, func(i int) { s.trs[i].Close() }, func(ctx context.Context, i int) error {
		// The remote dealer's session is not ended: closeFn stops the dealer.
		nd, err := buildNode(ctx, nodeSpec{cfg: cfg, self: i, links: wiring.links[i], material: wiring.material(rnd), engine: engineConfig(cfg, rnd, i)})
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
// steps in plaintext.
func BenchSteps(ctx context.Context, cfg *experiment.Config, transportKind TransportKind, link network.Link, steps int) (*BenchResult, error) {
	split, err := experiment.LoadSplit(cfg)
	if err != nil {
		return nil, err
	}
	s, err := startSession(ctx, cfg, split, transportKind, link, Randomness{})
	if err != nil {
		return nil, err
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
	prepBytes := func() int64 {
		var b int64
		for _, r := range s.prep[1] {
			b += r.Stats().BytesSent
		}
		return b
	}
	prepBefore, prepTimeBefore := prepBytes(), s.nodes[1].prep
	scopesBefore := s.nodes[1].engine.ScopeCosts()
	start := time.Now()
	err = runParties(ctx, n, func(i int) { s.trs[i].Close() }, func(ctx context.Context, i int) error {
		for _, b := range batches {
			if _, err := s.nets[i].TrainBatch(ctx, sharing.GatherRows(s.xs[i], b.Rows), sharing.GatherRows(s.ys[i], b.Rows), cfg.Optimizer(b.Epoch)); err != nil {
				return err
			}
		}
		return nil
	})
	elapsed := time.Since(start)
	if err != nil {
		return nil, err
	}
	after := s.trs[1].Stats()
	var parties []report.PartyCost
	for i, t := range s.trs {
		parties = append(parties, stepsCost(before[i], t.Stats()))
	}
	res := &BenchResult{
		Network: networkResult(link, elapsed, steps, parties),
		Scopes:  scopesPerStep(scopesBefore, s.nodes[1].engine.ScopeCosts(), steps),
		Config:  cfg.Name, Transport: transportName(transportKind), Parties: n, BatchSize: bs, Steps: steps,
		SecondsPerStep:       elapsed.Seconds() / float64(steps),
		BytesSentPerStep:     float64(after.BytesSent-before[1].BytesSent) / float64(steps),
		RoundsPerStep:        float64(after.Rounds-before[1].Rounds) / float64(steps),
		Preprocessing:        cfg.Preprocessing,
		Opening:              cfg.EngineOpening(),
		PrepSecondsPerStep:   (s.nodes[1].prep - prepTimeBefore).Seconds() / float64(steps),
		PrepBytesSentPerStep: float64(prepBytes()-prepBefore) / float64(steps),
	}
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
